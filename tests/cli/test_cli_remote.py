"""daapctl against a real daap-server and kubesim: the path developers use.
Skips, saying why, when the daap-server binary is not built."""
import http.client
import json
import os
import pty
import re
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from clitest import DAAPCTL, SERVER, CliTestCase, RemoteStack, clean_env, daapctl

stack = None


def setUpModule():
    global stack
    if not SERVER or not os.access(SERVER, os.X_OK):
        raise unittest.SkipTest("daap-server is not built (%s); remote-mode tests need it" % (SERVER or "no path"))
    stack = RemoteStack(["--never-ready", "^daap-stuck", "--fail-clusters", "^daap-broken"])
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise


def wait_until(pred, timeout):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %ss" % timeout)
        time.sleep(0.1)


def tearDownModule():
    if stack:
        stack.stop()


class RemoteTest(CliTestCase):
    team = "payments"

    def ctl(self, *args, team=None, **kw):
        env = clean_env(DAAP_SERVER=stack.url, DAAP_TEAM=team or self.team)
        return daapctl(*args, env=env, **kw)

    def create_ready(self, name):
        r = self.ctl("create", name, "--purpose", "test " + name, "--wait", "--timeout", "60s")
        self.assertExit(r, 0)
        return self.ctl("get", name, "-o", "json").json()


class CreateWaitTest(RemoteTest):
    def test_create_wait_until_ready(self):
        r = self.ctl("create", "orders", "--purpose", "order history", "--instances", "2", "--wait")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"Status:\s+ready")
        self.assertNotIn("password", r.out.lower().replace("password:    hidden", ""))
        # Not a terminal: plain lines, one per change, ending in ready; no spinner.
        lines = r.err.strip().splitlines()
        self.assertTrue(all(re.match(r"^\[\s*\d+\.\d+s\] \w+", l) for l in lines), r.err)
        self.assertTrue(lines[0].split("] ")[1].startswith("provisioning"), r.err)
        self.assertTrue(lines[-1].split("] ")[1].startswith("ready"), r.err)
        self.assertNotIn("\r", r.err)
        got = self.ctl("get", "orders", "-o", "json").json()
        self.assertEqual((got["status"], got["instances"], got["owner_team"]), ("ready", 2, "payments"))

    def test_wait_on_a_terminal_shows_live_progress(self):
        master, slave = pty.openpty()
        env = clean_env(DAAP_SERVER=stack.url, DAAP_TEAM=self.team)
        proc = subprocess.Popen([DAAPCTL, "create", "live", "--purpose", "p", "--wait"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out = proc.stdout.read().decode()
        self.assertEqual(proc.wait(timeout=120), 0)
        tty = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
        os.close(master)
        self.assertIn(b"\r\x1b[K", tty)  # the spinner line is redrawn in place
        self.assertIn(b"] ready", tty)
        self.assertRegex(out, r"Status:\s+ready")

    def test_wait_timeout(self):
        r = self.ctl("create", "stuck-one", "--purpose", "never ready", "--wait", "--timeout", "2s")
        self.assertExit(r, 2)  # --wait: 0 ready, 1 error, 2 timeout
        self.assertIn("still provisioning", r.err)

    def test_wait_sees_error(self):
        r = self.ctl("create", "broken-one", "--purpose", "fails", "--wait", "--timeout", "60s")
        self.assertExit(r, 1)
        self.assertIn("went to error", r.err)

    def kubesim_faults(self, **doc):
        """POST /kubesim/faults on the stack's kubesim: sets only the faults named."""
        import http.client, ssl
        d = stack.kubesim_dir
        url = open(os.path.join(d, "url")).read().strip()
        token = open(os.path.join(d, "token")).read().strip()
        ctx = ssl.create_default_context(cafile=os.path.join(d, "pki", "ca.crt"))
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=10, context=ctx)
        c.request("POST", "/kubesim/faults", body=json.dumps(doc),
                  headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        self.assertEqual(c.getresponse().status, 200)
        c.close()

    def test_delete_wait_until_gone(self):
        self.create_ready("gone-soon")
        self.kubesim_faults(slow_delete_seconds=1.5)  # so the delete is answered 202, deleting
        self.addCleanup(self.kubesim_faults, slow_delete_seconds=0)
        r = self.ctl("delete", "gone-soon", "--yes", "--wait", "--timeout", "60s")
        self.assertExit(r, 0)
        self.assertIn("Deleted database gone-soon", r.out)
        self.assertTrue(r.err.strip().splitlines()[-1].split("] ")[1].startswith("deleted"), r.err)
        self.assertExit(self.ctl("get", "gone-soon"), 3)

    def test_delete_wait_timeout_is_2(self):
        r = self.ctl("create", "stuck-del", "--purpose", "never ready")
        self.assertExit(r, 0)
        r = self.ctl("delete", "stuck-del", "--yes", "--wait", "--timeout", "0s")
        self.assertIn(r.rc, (0, 2), r.err)  # 0 only when the delete finished at once
        if r.rc == 2:
            self.assertIn("still deleting", r.err)

    def test_create_json_without_wait(self):
        r = self.ctl("create", "plain-json", "--purpose", "p", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["status"], "provisioning")

    def test_field_errors_travel_back(self):
        r = self.ctl("create", "Bad_Name", "--purpose", "", "--instances", "50")
        self.assertExit(r, 5)
        fields = set(re.findall(r"^  - (\w+): ", r.err, re.M))
        self.assertEqual(fields, {"name", "purpose", "instances"})
        r = self.ctl("create", "Bad_Name", "--purpose", "", "-o", "json")
        self.assertEqual({e["field"] for e in json.loads(r.err)["errors"]}, {"name", "purpose"})

    def test_exists(self):
        self.assertExit(self.ctl("create", "twice", "--purpose", "p"), 0)
        self.assertExit(self.ctl("create", "twice", "--purpose", "p"), 4)


class EventsTest(RemoteTest):
    def test_events_over_http_and_follow(self):
        self.create_ready("evented")
        r = self.ctl("events", "evented", "-o", "json")
        self.assertExit(r, 0)
        items = r.json()["items"]
        self.assertEqual((items[0]["reason"], items[0]["actor"]), ("Ready", "reconciler"))
        self.assertEqual((items[-1]["reason"], items[-1]["actor"]), ("Created", self.team))
        self.assertIsNotNone(items[-1]["request_id"])
        self.assertExit(self.ctl("update", "evented", "--purpose", "changed"), 0)
        db_id = self.ctl("get", "evented", "-o", "json").json()["id"]
        self.assertExit(self.ctl("delete", "evented", "--yes"), 0)
        followed = self.ctl("events", db_id, "--follow", timeout=60)
        self.assertExit(followed, 0)
        reasons = [l.split()[2] for l in followed.out.splitlines()[1:]]
        self.assertEqual(reasons[-1], "Deleted")
        self.assertIn("PurposeChanged", reasons)
        self.assertIn("DeleteRequested", reasons)


class ListTest(RemoteTest):
    @classmethod
    def setUpClass(cls):
        for i in range(105):  # more than the server's largest page (100)
            stack.post({"name": "page-%03d" % i, "owner_team": "pagers", "purpose": "paging"})

    def test_pages_through_everything(self):
        r = self.ctl("list", "--name", "page-", "-o", "json")
        self.assertExit(r, 0)
        names = [d["name"] for d in r.json()["items"]]
        self.assertEqual(names, ["page-%03d" % i for i in range(105)])
        self.assertIsNone(r.json()["next_cursor"])
        table = self.ctl("list", "--team", "pagers")
        self.assertEqual(len(table.out.splitlines()), 106)

    def test_limit_and_cursor(self):
        first = self.ctl("list", "--name", "page-", "--limit", "101", "-o", "json").json()
        self.assertEqual(len(first["items"]), 101)
        self.assertIsNotNone(first["next_cursor"])
        rest = self.ctl("list", "--name", "page-", "--cursor", first["next_cursor"], "-o", "json").json()
        self.assertEqual([d["name"] for d in rest["items"]], ["page-101", "page-102", "page-103", "page-104"])

    def test_filters(self):
        r = self.ctl("list", "--team", "pagers", "--status", "deleted", "-o", "json")
        self.assertEqual(r.json()["items"], [])
        r = self.ctl("list", "--name", "page-00", "-o", "yaml")
        self.assertEqual(len(re.findall(r"(?m)^- id: ", r.out)), 10)
        self.assertNotIn("connection", r.out)


class RecordTest(RemoteTest):
    @classmethod
    def setUpClass(cls):
        cls.db = None

    def setUp(self):
        if RecordTest.db is None:
            RecordTest.db = self.create_ready("shop")

    def test_get_by_name_and_id(self):
        by_name = self.ctl("get", "shop", "-o", "json").json()
        by_id = self.ctl("get", self.db["id"], "-o", "json").json()
        self.assertEqual(by_name["id"], by_id["id"])
        self.assertEqual(by_name["connection"]["password"], by_id["connection"]["password"])

    def test_table_hides_the_password(self):
        got = self.ctl("get", "shop", "-o", "json").json()
        table = self.ctl("get", "shop")
        self.assertExit(table, 0)
        self.assertNotIn(got["connection"]["password"], table.out)
        self.assertRegex(table.out, r"Endpoint:\s+daap-shop-pooler\.")
        yaml = self.ctl("get", "shop", "-o", "yaml").out
        self.assertIn('password: "%s"' % got["connection"]["password"], yaml)
        self.assertIn('uri: "%s"' % got["connection"]["uri"], yaml)

    def test_url(self):
        got = self.ctl("get", "shop", "-o", "json").json()
        r = self.ctl("url", "shop")
        self.assertExit(r, 0)
        self.assertEqual(r.out.strip(), got["connection"]["uri"])
        r = self.ctl("url", got["id"], "--direct")
        self.assertExit(r, 0)
        self.assertEqual(r.out.strip(), got["connection"]["direct"]["uri"])

    def test_connect_passes_the_password_in_the_environment(self):
        got = self.ctl("get", "shop", "-o", "json").json()
        bindir = tempfile.mkdtemp(prefix="fake-psql-")
        psql = os.path.join(bindir, "psql")
        with open(psql, "w") as f:
            f.write('#!/bin/sh\nprintf "%s\\n" "$@"\necho "PGPASSWORD=$PGPASSWORD"\n')
        os.chmod(psql, stat.S_IRWXU)
        env = clean_env(DAAP_SERVER=stack.url, PATH=bindir + os.pathsep + os.environ["PATH"])
        r = daapctl("connect", "shop", "--", "-c", "select 1", env=env)
        self.assertExit(r, 0)
        args, password = r.out.splitlines()[:-1], r.out.splitlines()[-1]
        self.assertEqual(password, "PGPASSWORD=" + got["connection"]["password"])
        self.assertNotIn(got["connection"]["password"], "\n".join(args))
        self.assertIn("host='daap-shop-pooler.", args[0])
        self.assertEqual(args[1:], ["-c", "select 1"])

    def test_update(self):
        self.create_ready("handover")
        r = self.ctl("update", "handover", "--purpose", "audit", "--as", "intruders")
        self.assertExit(r, 10)
        r = self.ctl("update", "handover", "--purpose", "audit trail", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["purpose"], "audit trail")
        self.assertNotIn("connection", r.json())
        r = self.ctl("update", "handover", "--team", "billing", "--as", "payments")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"Team:\s+billing")
        self.assertExit(self.ctl("update", "handover", "--purpose", "x"), 10)

    def test_delete(self):
        db = self.create_ready("doomed")
        r = self.ctl("delete", "doomed")
        self.assertExit(r, 2)
        self.assertExit(self.ctl("delete", "doomed", "--yes", team="intruders"), 10)
        r = self.ctl("delete", "doomed", "--yes")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"^Delet(ed|ing) database doomed \(%s\)" % db["id"])
        r = self.ctl("get", db["id"])
        self.assertExit(r, 3)

    def test_protect_refuses_delete_until_unprotect(self):
        r = self.ctl("create", "guarded", "--purpose", "kept", "--deletion-protection", "-o", "json")
        self.assertExit(r, 0)
        self.assertIs(r.json()["deletion_protection"], True)
        # A protected database is refused without a prompt: exit 14, and how to lift it.
        r = self.ctl("delete", "guarded", "--yes")
        self.assertExit(r, 14)
        self.assertIn("daapctl unprotect guarded", r.err)
        self.assertExit(self.ctl("unprotect", "guarded", "--as", "intruders"), 10)
        r = self.ctl("unprotect", "guarded", "-o", "json")
        self.assertExit(r, 0)
        self.assertIs(r.json()["deletion_protection"], False)
        r = self.ctl("protect", "guarded")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"Protection:\s+on")
        self.assertExit(self.ctl("delete", "guarded", "--yes"), 14)
        self.assertExit(self.ctl("unprotect", "guarded"), 0)
        self.assertExit(self.ctl("delete", "guarded", "--yes"), 0)

    def test_resize(self):
        self.create_ready("roomy")
        self.assertExit(self.ctl("resize", "roomy"), 2)
        r = self.ctl("resize", "roomy", "--storage", "3Gi", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["storage_size"], "3Gi")
        self.assertEqual(r.json()["status"], "ready")
        self.assertTrue(r.json()["status_reason"].startswith("rolling out:"), r.json())
        # One change at a time (6: conflict), and never smaller (5: invalid, saying why).
        self.assertExit(self.ctl("resize", "roomy", "--instances", "2"), 6)
        def rolled_out():
            got = self.ctl("get", "roomy", "-o", "json").json()
            return not got["status_reason"].startswith("rolling out:")
        wait_until(rolled_out, 60)
        r = self.ctl("resize", "roomy", "--storage", "2Gi")
        self.assertExit(r, 5)
        self.assertIn("can only grow", r.err)
        self.assertExit(self.ctl("resize", "roomy", "--instances", "2", "--as", "intruders"), 10)
        r = self.ctl("resize", "roomy", "--instances", "2")
        self.assertExit(r, 0)
        self.assertIn("Rolling out", r.err)

    def test_not_found(self):
        self.assertExit(self.ctl("get", "no-such-db"), 3)
        self.assertExit(self.ctl("url", "no-such-db"), 3)


class DroppingProxy:
    """Forwards HTTP requests to the server, but swallows the answers to the
    first `drop` POSTs (the request reached the server; the client hears a
    closed connection): the network failure a retried create must survive.
    It records each POST's Idempotency-Key."""

    def __init__(self, target, drop):
        self.target = urllib.parse.urlsplit(target)
        self.drop = drop
        self.keys = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        with conn:
            f = conn.makefile("rb")
            line = f.readline()
            if not line:
                return
            method, path, _ = line.decode().split(" ", 2)
            headers = {}
            while True:
                h = f.readline().decode()
                if h in ("\r\n", "\n", ""):
                    break
                k, v = h.split(":", 1)
                headers[k.strip()] = v.strip()
            body = f.read(int(headers.get("Content-Length", "0")))
            if method == "POST":
                self.keys.append(headers.get("Idempotency-Key"))
            up = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
            fwd = {k: v for k, v in headers.items() if k.lower() not in ("connection", "host")}
            up.request(method, path, body=body, headers=fwd)
            r = up.getresponse()
            data = r.read()
            up.close()
            if method == "POST" and self.drop > 0:
                self.drop -= 1
                return  # the server acted; the client never hears of it
            conn.sendall(b"HTTP/1.1 %d %s\r\n" % (r.status, r.reason.encode()))
            for k, v in r.getheaders():
                if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                    conn.sendall(("%s: %s\r\n" % (k, v)).encode())
            conn.sendall(b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(data) + data)

    def close(self):
        self.sock.close()


class RetriedCreateTest(RemoteTest):
    def ctl_via(self, proxy, *args):
        env = clean_env(DAAP_SERVER=proxy.url, DAAP_TEAM=self.team)
        return daapctl(*args, env=env)

    def test_lost_answers_do_not_make_two_databases(self):
        proxy = DroppingProxy(stack.url, drop=2)
        self.addCleanup(proxy.close)
        r = self.ctl_via(proxy, "create", "retried", "--purpose", "lost answers", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["name"], "retried")
        self.assertGreaterEqual(len(proxy.keys), 3)
        self.assertEqual(len(set(proxy.keys)), 1, proxy.keys)  # one key, resent
        self.assertRegex(proxy.keys[0], r'^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$')
        listed = self.ctl("list", "--name", "retried", "-o", "json").json()["items"]
        self.assertEqual([d["id"] for d in listed], [r.json()["id"]])

    def test_given_key_is_sent_and_fresh_keys_differ(self):
        proxy = DroppingProxy(stack.url, drop=0)
        self.addCleanup(proxy.close)
        self.assertExit(self.ctl_via(proxy, "create", "keyed-a", "--purpose", "x", "--idempotency-key", 'my "key"'), 0)
        self.assertEqual(proxy.keys, ['"my \\"key\\""'])
        # The same key again, with the same request: the first answer, not a name clash.
        again = self.ctl_via(proxy, "create", "keyed-a", "--purpose", "x", "--idempotency-key", 'my "key"', "-o", "json")
        self.assertExit(again, 0)
        self.assertExit(self.ctl_via(proxy, "create", "keyed-b", "--purpose", "x"), 0)
        self.assertExit(self.ctl_via(proxy, "create", "keyed-c", "--purpose", "x"), 0)
        self.assertNotEqual(proxy.keys[2], proxy.keys[3])

    def test_rotation_whose_answer_was_lost_is_sent_again_with_its_key(self):
        self.create_ready("rot-retried")
        proxy = DroppingProxy(stack.url, drop=1)
        self.addCleanup(proxy.close)
        r = self.ctl_via(proxy, "rotate-password", "rot-retried")
        self.assertExit(r, 0)
        self.assertEqual(len(proxy.keys), 2, proxy.keys)  # the lost one, then its repeat
        self.assertEqual(len(set(proxy.keys)), 1, proxy.keys)
        self.assertIsNotNone(proxy.keys[0])
        events = self.ctl("events", "rot-retried", "-o", "json").json()["items"]
        started = [e["count"] for e in events if e["reason"] == "PasswordRotationStarted"]
        self.assertEqual(started, [1], events)  # repeats would fold into a count

    def test_unreachable_server_is_retried_then_given_up(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()  # nothing listens there: every connection is refused
        env = clean_env(DAAP_SERVER="http://127.0.0.1:%d" % port, DAAP_TEAM=self.team)
        r = daapctl("create", "nowhere", "--purpose", "x", env=env)
        self.assertNotEqual(r.rc, 0)
        self.assertEqual(r.err.count("sending the create again with the same Idempotency-Key"), 5, r.err)


if __name__ == "__main__":
    unittest.main()
