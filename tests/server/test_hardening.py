"""Hardening from an outside probe (issue 17): what error bodies reveal,
duplicate X-Daap-Team headers, chunked bodies over the limit."""
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import unittest

from daaptest import (SERVER_BIN, SOURCE_DIR, Kubesim, OpenAPI, Server, ServerTestCase, raw_exchange,
                      split_answer, wait_for, work_dir)

PGTMP = os.path.join(SOURCE_DIR, "scripts", "pgtmp")
STORE_DOWN = "the metadata store is unavailable; retry later"


def pgtmp(cmd, d, *extra):
    out = subprocess.run([PGTMP, cmd, d] + list(extra), capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        raise RuntimeError("pgtmp %s failed: %s" % (cmd, out.stderr))
    return out.stdout.strip()


class LeakCheck:
    def assert_reveals_nothing(self, resp, secrets):
        body = resp.raw.decode("utf-8", "replace")
        for s in secrets:
            self.assertNotIn(s, body, "the error body reveals %r: %s" % (s, body))

    def assert_cause_logged(self, srv, request_id, needle):
        """The full cause is in the server log under the request's id."""
        lines = [l for l in srv.log_lines() if l.get("request_id") == request_id and l.get("msg") != "request"]
        self.assertTrue(any(needle in l.get("error", "") for l in lines),
                        "no log line with %r for request %s: %s" % (needle, request_id, lines))


class StoreOutageTest(unittest.TestCase, LeakCheck):
    """A PostgreSQL store of the test's own, stopped while the server runs."""

    @classmethod
    def setUpClass(cls):
        if not SERVER_BIN or not os.path.exists(SERVER_BIN):
            raise unittest.SkipTest("daap-server not built (DAAP_SERVER_BIN)")
        cls.dir = work_dir("daap-hardening-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pgdir = os.path.join(cls.dir, "pg")
        cls.pg_uri = pgtmp("start", cls.pgdir)
        cls.addClassCleanup(pgtmp, "stop", cls.pgdir)
        with open(os.path.join(cls.pgdir, "port")) as f:
            cls.pg_port = f.read().strip()
        cls.sim = Kubesim(os.path.join(cls.dir, "kubesim"))
        os.makedirs(cls.sim.state)
        os.chmod(cls.sim.state, 0o755)
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.srv = Server(cls.dir, cls.pg_uri + "?connect_timeout=2", cls.sim.kubeconfig, openapi=OpenAPI())
        cls.srv.start()
        cls.addClassCleanup(cls.srv.stop_checked)

    def secrets(self):
        return ["127.0.0.1", self.pg_port, "postgres@", "SQLSTATE", "connection to server", "libpq", self.pgdir]

    def test_503_says_only_that_the_store_is_unavailable(self):
        db = self.srv.create("outage-probe")
        pgtmp("stop", self.pgdir)
        try:
            for method, path, body in (("GET", "/databases/" + db["id"], None), ("GET", "/databases", None),
                                       ("POST", "/databases", {"name": "during", "owner_team": "t", "purpose": "p"})):
                r = self.srv.request(method, path, body)
                self.assertEqual(r.status, 503, r)
                self.assertEqual(r.json["detail"], STORE_DOWN)
                self.assertEqual(r.json["request_id"], r.header("X-Request-Id"))
                self.assertTrue((r.header("Retry-After") or "").isdigit(), r.headers)
                self.assert_reveals_nothing(r, self.secrets())
                self.assert_cause_logged(self.srv, r.header("X-Request-Id"), self.pg_port)
            r = self.srv.get("/readyz")
            self.assertEqual(r.status, 503, r)
            self.assert_reveals_nothing(r, self.secrets())
            self.assertTrue(r.header("Retry-After"), r.headers)
        finally:
            pgtmp("start", self.pgdir, self.pg_port)
        wait_for(lambda: self.srv.get("/readyz").status == 200, 30, interval=0.2, what="readyz to recover")


class KubernetesOutageTest(ServerTestCase, LeakCheck):
    def test_readyz_names_no_kubernetes_address(self):
        self.sim.stop()
        try:
            r = self.srv.wait_answer("/readyz", 503, timeout=5)
            self.assertIn("Kubernetes", r.json["detail"])
            self.assert_reveals_nothing(r, ["127.0.0.1", str(self.sim.port), "https://", self.dir, "curl"])
            self.assert_cause_logged(self.srv, r.header("X-Request-Id"), str(self.sim.port))
        finally:
            self.sim.start()
        wait_for(lambda: self.srv.get("/readyz").status == 200, 15, interval=0.2, what="readyz to recover")

    def test_client_errors_keep_their_detail(self):
        r = self.srv.post("/databases", {"name": "Bad Name!", "owner_team": "t", "purpose": "p"})
        self.assertIn(r.status, (400, 422), r)
        self.assertTrue(r.json.get("errors"), r)
        self.assertEqual(r.json["request_id"], r.header("X-Request-Id"))


class TeamHeaderTest(ServerTestCase):
    """One caller, one team: a proxy that appends X-Daap-Team instead of
    replacing it must not let the first value decide."""

    def raw(self, method, path, headers, body=b""):
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1", "Connection: close",
                 "Content-Type: application/json", "Content-Length: %d" % len(body)] + headers
        return raw_exchange(self.srv.port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def test_duplicate_or_listed_team_is_refused(self):
        db = self.srv.create("teamhdr", team="owners")
        path = "/databases/" + db["id"]
        body = b'{"purpose": "changed"}'
        for order in (["owners", "marketing"], ["marketing", "owners"]):
            status, answer = self.raw("PATCH", path, ["X-Daap-Team: " + t for t in order], body)
            self.assertEqual(status, 400, answer)
            self.assertIn(b"more than once", answer)
            status, answer = self.raw("DELETE", path, ["X-Daap-Team: " + t for t in order])
            self.assertEqual(status, 400, answer)
        status, answer = self.raw("PATCH", path, ["X-Daap-Team: owners, marketing"], body)
        self.assertEqual(status, 400, answer)
        self.assertIn(b"list", answer)
        self.assertEqual(self.srv.get(path).json["purpose"], "tests")
        status, answer = self.raw("PATCH", path, ["X-Daap-Team: owners"], body)
        self.assertEqual(status, 200, answer)


def stream_oversize_body(port, chunked, total=100 * 1024 * 1024, piece=64 * 1024):
    """POST a body of `total` bytes, streamed (never held in memory), while a
    second thread reads the answer. Returns (status or None, raw answer)."""
    head = ["POST /databases HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
            "Transfer-Encoding: chunked" if chunked else "Content-Length: %d" % total]
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    answer = []

    def read_answer():
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    return
                answer.append(b)
        except OSError:
            return

    reader = threading.Thread(target=read_answer)
    reader.start()
    data = b"x" * piece
    frame = b"%x\r\n%s\r\n" % (piece, data) if chunked else data
    try:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        for _ in range(total // piece):
            s.sendall(frame)
        if chunked:
            s.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server may stop reading once it has answered
    reader.join(60)
    s.close()
    raw = b"".join(answer)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return (int(m.group(1)) if m else None), raw


class OversizeBodyTest(ServerTestCase):
    """A body far over the limit gets a 413 problem+json before the
    connection closes, chunked or with a declared length."""

    def check_413(self, chunked):
        status, raw = stream_oversize_body(self.srv.port, chunked)
        self.assertEqual(status, 413, raw[:500])
        headers, body = split_answer(raw)
        self.assertEqual(headers.get("content-type"), "application/problem+json", headers)
        doc = json.loads(body)
        self.assertEqual(doc["status"], 413)
        self.assertTrue(headers.get("x-request-id"), headers)
        self.assertEqual(doc["request_id"], headers["x-request-id"])
        self.assertEqual(self.srv.get("/healthz").status, 200)

    def test_chunked_100_mb(self):
        self.check_413(chunked=True)

    def test_declared_100_mb(self):
        self.check_413(chunked=False)


def raw_from(source, port, method, path, headers, body=b"", family=socket.AF_INET):
    """One request from a chosen local source address; (status, raw answer)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost", "Connection: close",
             "Content-Type: application/json", "Content-Length: %d" % len(body)] + headers
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.bind((source, 0))
        s.connect(("::1" if family == socket.AF_INET6 else "127.0.0.1", port))
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    raw = b"".join(chunks)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return (int(m.group(1)) if m else None), raw


class TrustedProxyTest(ServerTestCase):
    """--trusted-proxies: only those peers may say who the caller is; any
    other peer that sends the team header is told so, never silently trusted."""

    server_args = ("--trusted-proxies", "10.9.0.0/16, 127.0.0.2")
    body = b'{"purpose": "changed"}'

    def test_team_only_from_a_trusted_proxy(self):
        db = self.srv.create("proxied", team="owners")
        path = "/databases/" + db["id"]
        status, raw = raw_from("127.0.0.1", self.srv.port, "PATCH", path, ["X-Daap-Team: owners"], self.body)
        self.assertEqual(status, 403, raw)
        headers, doc = split_answer(raw)
        doc = json.loads(doc)
        self.assertEqual(headers["content-type"], "application/problem+json")
        self.assertIn("trusted proxies", doc["detail"])
        self.assertEqual(doc["request_id"], headers["x-request-id"])
        status, raw = raw_from("127.0.0.1", self.srv.port, "DELETE", path, ["X-Daap-Team: owners"])
        self.assertEqual(status, 403, raw)
        self.assertIn(b"trusted proxies", raw)
        self.assertEqual(self.srv.get(path).json["purpose"], "tests")
        status, raw = raw_from("127.0.0.2", self.srv.port, "PATCH", path, ["X-Daap-Team: owners"], self.body)
        self.assertEqual(status, 200, raw)
        # Reads never look at the team, so they need no proxy.
        status, raw = raw_from("127.0.0.1", self.srv.port, "GET", path, ["X-Daap-Team: owners"])
        self.assertEqual(status, 200, raw)

    def test_no_team_from_elsewhere_is_the_usual_refusal(self):
        db = self.srv.create("proxied-none", team="owners")
        status, raw = raw_from("127.0.0.1", self.srv.port, "PATCH", "/databases/" + db["id"], [], self.body)
        self.assertEqual(status, 403, raw)
        self.assertNotIn(b"trusted proxies", raw)


class TeamHeaderNameTest(ServerTestCase):
    """--team-header: the team is read from that header alone."""

    server_args = ("--team-header", "X-Auth-Team")

    def test_only_the_configured_header_counts(self):
        db = self.srv.create("renamed", team="owners")
        path = "/databases/" + db["id"]
        r = self.srv.patch(path, {"purpose": "x"}, headers={"X-Daap-Team": "owners"})
        self.assertEqual(r.status, 403, r)
        r = self.srv.patch(path, {"purpose": "x"}, headers={"X-Auth-Team": "owners"})
        self.assertEqual(r.status, 200, r)
        status, raw = raw_from("127.0.0.1", self.srv.port, "PATCH", path, ["X-Auth-Team: owners", "X-Auth-Team: x"],
                               b'{"purpose": "y"}')
        self.assertEqual(status, 400, raw)
        self.assertIn(b"X-Auth-Team was sent more than once", raw)


class TrustedProxyIPv6Test(ServerTestCase):
    server_args = ("--listen", "[::1]:0", "--trusted-proxies", "::1/128")

    def test_ipv6_proxy(self):
        r = raw_from("::1", self.srv.port, "POST", "/databases", [],
                     b'{"name": "six", "owner_team": "owners", "purpose": "p"}', family=socket.AF_INET6)
        self.assertEqual(r[0], 201, r[1])
        db = json.loads(split_answer(r[1])[1])
        status, raw = raw_from("::1", self.srv.port, "PATCH", "/databases/" + db["id"], ["X-Daap-Team: owners"],
                               b'{"purpose": "changed"}', family=socket.AF_INET6)
        self.assertEqual(status, 200, raw)


class TrustedProxyIPv6RefusedTest(ServerTestCase):
    server_args = ("--listen", "[::1]:0", "--trusted-proxies", "fd00::/8,127.0.0.1")

    def test_ipv6_peer_outside_the_list(self):
        status, raw = raw_from("::1", self.srv.port, "DELETE", "/databases/db_x", ["X-Daap-Team: owners"],
                               family=socket.AF_INET6)
        self.assertEqual(status, 403, raw)
        self.assertIn(b"trusted proxies", raw)


class FileModeTest(unittest.TestCase):
    """Under umask 000 the files daap-server creates (the store, its -wal
    and -shm, the key) are 0600 all the same."""

    def test_files_are_private_under_umask_000(self):
        if not SERVER_BIN or not os.path.exists(SERVER_BIN):
            self.skipTest("daap-server not built (DAAP_SERVER_BIN)")
        top = work_dir("daap-modes-")
        self.addCleanup(shutil.rmtree, top, True)
        data = os.path.join(top, "data")
        os.mkdir(data, 0o700)
        sim = Kubesim(os.path.join(top, "kubesim"))
        os.makedirs(sim.state)
        sim.start()
        self.addCleanup(sim.stop)
        srv = Server(top, "sqlite://" + os.path.join(data, "daap.db"), sim.kubeconfig)
        srv.key_path = os.path.join(data, "secret.key")
        old = os.umask(0)
        try:
            srv.start()
        finally:
            os.umask(old)
        self.addCleanup(srv.stop_checked)
        srv.create("modes")
        names = sorted(os.listdir(data))
        self.assertEqual(names, ["daap.db", "daap.db-shm", "daap.db-wal", "secret.key"])
        for name in names:
            mode = os.stat(os.path.join(data, name)).st_mode & 0o777
            self.assertEqual(mode, 0o600, "%s is %o" % (name, mode))
