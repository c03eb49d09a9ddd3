"""Hostile input never gets past the edge: each case gets a clean 4xx, the
server stays healthy and nothing is written (no record, no revision bump, no
Kubernetes object). Raw sockets, so nothing normalises the bytes we send."""
import json
import socket
import time
import unittest

from daaptest import ServerTestCase, raw_exchange, split_answer, wait_for

UUID0 = "0190a6c4-0000-7000-8000-000000000000"
VALID = {"name": "hostile-ok", "owner_team": "team", "purpose": "p"}
SQLI = "x'; DROP TABLE databases; --"
YAMLI = "a\n  kind: Secret\n  x: y"


def req(method, path, body=None, headers=None, ctype="application/json", chunked=False, version="HTTP/1.1"):
    h = {"Host": "127.0.0.1", "Connection": "close"}
    if ctype and body is not None:
        h["Content-Type"] = ctype
    h.update(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    if isinstance(body, str):
        body = body.encode()
    if body is not None and chunked:
        h["Transfer-Encoding"] = "chunked"
        body = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 4096]), body[i:i + 4096])
                        for i in range(0, len(body), 4096)) + b"0\r\n\r\n"
    elif body is not None and "Content-Length" not in h:
        h["Content-Length"] = str(len(body))
    head = "%s %s %s\r\n" % (method, path, version) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return head.encode("latin-1") + (body or b"")


def create(fields=None, raw=None, **kw):
    if raw is None:
        doc = dict(VALID)
        doc.update(fields or {})
        raw = json.dumps(doc)
    return req("POST", "/databases", raw, **kw)


def nest(depth, kind):
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# (case name, request bytes, acceptable statuses, whether the answer is ours (problem+json))
CASES = [
    # bodies
    ("body over 64 KiB", create({"purpose": "x" * 70000}), {413}, True),
    ("body over 64 KiB, chunked", create({"purpose": "x" * 70000}, chunked=True), {413}, True),
    ("declared length of a terabyte", req("POST", "/databases", b"{}", headers={"Content-Length": "1000000000000"}), {413}, True),
    ("no Content-Type", create(ctype=None), {415}, True),
    ("text/plain", create(ctype="text/plain"), {415}, True),
    ("latin-1 charset", create(ctype="application/json; charset=latin-1"), {415}, True),
    ("unknown media parameter", create(ctype="application/json; boundary=x"), {415}, True),
    ("xml", create(raw="<db name='x'/>", ctype="application/xml"), {415}, True),
    ("empty body", create(raw=""), {400}, True),
    ("malformed JSON", create(raw="{"), {400}, True),
    ("JSON array", create(raw="[1,2]"), {400}, True),
    ("JSON string", create(raw='"db"'), {400}, True),
    ("JSON null", create(raw="null"), {400}, True),
    ("trailing garbage", create(raw=json.dumps(VALID) + " x"), {400}, True),
    ("two documents", create(raw=json.dumps(VALID) + json.dumps(VALID)), {400}, True),
    ("arrays nested 10000 deep", create(raw=nest(10000, "array")), {400}, True),
    ("objects nested 10000 deep", create(raw=nest(10000, "object")), {400}, True),
    ("value nested 10000 deep", create(raw='{"name":' + nest(10000, "array") + "}"), {400}, True),
    ("duplicate keys", create(raw='{"name":"a-b-c","name":"d-e-f","owner_team":"t","purpose":"p"}'), {400}, True),
    ("unknown field", create({"admin": True}), {400}, True),
    ("read-only field", create({"status": "ready"}), {400}, True),
    ("connection given", create({"connection": {"host": "evil"}}), {400}, True),
    ("name is a number", create({"name": 123}), {400}, True),
    ("name is null", create({"name": None}), {400}, True),
    ("owner_team is an object", create({"owner_team": {"a": 1}}), {400}, True),
    ("purpose is an array", create({"purpose": ["a"]}), {400}, True),
    ("instances 1e400", create(raw='{"name":"hostile-ok","owner_team":"t","purpose":"p","instances":1e400}'), {400}, True),
    ("instances 20 digits", create(raw='{"name":"hostile-ok","owner_team":"t","purpose":"p","instances":99999999999999999999}'), {400}, True),
    ("instances 2^31", create({"instances": 2147483648}), {400}, True),
    ("instances -1", create({"instances": -1}), {400}, True),
    ("instances 0", create({"instances": 0}), {400}, True),
    ("instances 1.5", create({"instances": 1.5}), {400}, True),
    ("instances a string", create({"instances": "3"}), {400}, True),
    ("instances true", create({"instances": True}), {400}, True),
    ("pg_version 99", create({"pg_version": 99}), {400}, True),
    ("pg_version -17", create({"pg_version": -17}), {400}, True),
    ("storage_size nonsense", create({"storage_size": "lots"}), {400}, True),
    ("storage_size 1e9Ei", create({"storage_size": "999999999999999999999Ei"}), {400}, True),
    ("raw 0xff byte", create(raw=b'{"name":"hostile-ok","owner_team":"t","purpose":"\xff"}'), {400}, True),
    ("overlong UTF-8", create(raw=b'{"name":"hostile-ok","owner_team":"t","purpose":"\xc0\xaf"}'), {400}, True),
    ("truncated UTF-8", create(raw=b'{"name":"hostile-ok","owner_team":"t","purpose":"\xe4\xb8"}'), {400}, True),
    ("UTF-8 surrogate bytes", create(raw=b'{"name":"hostile-ok","owner_team":"t","purpose":"\xed\xa0\x80"}'), {400}, True),
    ("unpaired surrogate escape", create(raw='{"name":"hostile-ok","owner_team":"t","purpose":"\\ud800"}'), {400}, True),
    ("UTF-16 body", create(raw=json.dumps(VALID).encode("utf-16")), {400}, True),
    ("BOM before JSON", create(raw=b"\xef\xbb\xbf" + json.dumps(VALID).encode()), {400}, True),
    ("raw control character", create(raw=b'{"name":"hostile-ok","owner_team":"t","purpose":"a\x01b"}'), {400}, True),
    ("escaped NUL in name", create(raw='{"name":"hostile\\u0000ok","owner_team":"t","purpose":"p"}'), {400}, True),
    ("escaped NUL in purpose", create(raw='{"name":"hostile-ok","owner_team":"t","purpose":"a\\u0000b"}'), {400}, True),
    ("raw NUL byte", create(raw=b'{"name":"hostile-ok","owner_team":"t","purpose":"a\x00b"}'), {400}, True),
    ("escaped newline in purpose", create({"purpose": "line1\nline2"}), {400}, True),
    ("SQL injection in name", create({"name": SQLI}), {400}, True),
    ("SQL injection in owner_team", create({"owner_team": SQLI}), {400}, True),
    ("SQL injection in storage_size", create({"storage_size": SQLI}), {400}, True),
    ("SQL injection in purpose, bad name", create({"purpose": SQLI, "name": "Bad Name"}), {400}, True),
    ("SQL injection as a key", create(raw='{"name\\"; DROP TABLE databases;--":1}'), {400}, True),
    ("YAML injection in name", create({"name": YAMLI}), {400}, True),
    ("YAML injection in owner_team", create({"owner_team": "t\nkind: Secret"}), {400}, True),
    ("YAML injection in storage_size", create({"storage_size": "1Gi\n  hostPath: /"}), {400}, True),
    ("YAML flow injection in storage_size", create({"storage_size": "{a: b}"}), {400}, True),
    ("template marker in storage_size", create({"storage_size": "{{NAME}}"}), {400}, True),
    ("template marker in name", create({"name": "{{NAME}}"}), {400}, True),
    ("name 46 characters", create({"name": "a" * 46}), {400}, True),
    ("name 10 KiB", create({"name": "a" * 10240}), {400}, True),
    ("name with capitals", create({"name": "Orders"}), {400}, True),
    ("name with a dot", create({"name": "a.b.c"}), {400}, True),
    ("name ending in -rw", create({"name": "orders-rw"}), {400, 201}, True),
    ("owner_team 64 characters", create({"owner_team": "t" * 64}), {400}, True),
    ("purpose 501 bytes", create({"purpose": "p" * 501}), {400}, True),
    ("purpose only spaces", create({"purpose": "   "}), {400}, True),
    # paths and ids
    ("path traversal", req("GET", "/databases/../../etc/passwd"), {404}, True),
    ("encoded traversal", req("GET", "/databases/..%2F..%2Fetc%2Fpasswd"), {404}, True),
    ("encoded NUL id", req("GET", "/databases/%00"), {404}, True),
    ("SQL injection id", req("GET", "/databases/'%20OR%20'1'='1"), {404}, True),
    ("id with a trailing segment", req("GET", "/databases/%s/extra" % UUID0), {404}, True),
    ("trailing slash", req("GET", "/databases/"), {404}, True),
    ("double slash", req("GET", "//databases"), {404}, True),
    ("PATCH bad id", req("PATCH", "/databases/..%2f", {"purpose": "x"}, headers={"X-Daap-Team": "owners"}), {404}, True),
    ("DELETE injection id", req("DELETE", "/databases/1;DROP%20TABLE%20databases", headers={"X-Daap-Team": "owners"}), {404}, True),
    ("raw non-ASCII bytes in the path", b"GET /databases/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400}, True),
    ("raw non-ASCII bytes in the query", b"GET /databases?owner_team=\xc3\xa9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400}, True),
    ("raw control byte in the path", b"GET /databases/\x01 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400}, None),
    ("huge id", req("GET", "/databases/" + "a" * 4000), {404, 414, 431}, None),
    # queries
    ("limit 0", req("GET", "/databases?limit=0"), {400}, True),
    ("limit 101", req("GET", "/databases?limit=101"), {400}, True),
    ("limit -1", req("GET", "/databases?limit=-1"), {400}, True),
    ("limit 20 digits", req("GET", "/databases?limit=99999999999999999999"), {400}, True),
    ("limit hex", req("GET", "/databases?limit=0x10"), {400}, True),
    ("unknown parameter", req("GET", "/databases?drop=table"), {400}, True),
    ("repeated parameter", req("GET", "/databases?status=ready&status=error"), {400}, True),
    ("bad status", req("GET", "/databases?status=ready,gone"), {400}, True),
    ("empty status item", req("GET", "/databases?status=ready,,error"), {400}, True),
    ("garbage cursor", req("GET", "/databases?cursor=AAAA"), {400}, True),
    ("injection cursor", req("GET", "/databases?cursor=1%27%20OR%201=1"), {400}, True),
    ("bad percent-encoding", req("GET", "/databases?name=%ZZ"), {400}, True),
    ("encoded NUL in query", req("GET", "/databases?owner_team=a%00b"), {400}, True),
    ("bad UTF-8 in query", req("GET", "/databases?owner_team=%FF%FE"), {400}, True),
    ("SQL injection in owner_team filter", req("GET", "/databases?owner_team=x%27%20OR%20%271%27=%271"), {400}, True),
    ("long query", req("GET", "/databases?name=" + "a" * 3000), {400}, True),
    ("include_deleted maybe", req("GET", "/databases?include_deleted=maybe"), {400}, True),
    ("query on GET by id", req("GET", "/databases/%s?x=1" % UUID0), {400}, True),
    ("query on healthz", req("GET", "/healthz?debug=true"), {400}, True),
    # methods
    ("PUT on the collection", req("PUT", "/databases", VALID), {405}, True),
    ("TRACE", req("TRACE", "/databases"), {405}, True),
    ("made-up method", req("BREW", "/databases"), {405}, True),
    ("PATCH the collection", req("PATCH", "/databases", VALID), {405}, True),
    # HTTP framing and headers
    # MHD closes the connection without an answer when there is no request line to answer.
    ("garbage request line", b"GARBAGE\r\n\r\n", {400, None}, None),
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", {400}, None),
    ("bad Content-Length", req("POST", "/databases", b"{}", headers={"Content-Length": "abc"}), {400, 413}, None),
    ("header of 40 KiB", req("GET", "/healthz", headers={"X-Junk": "j" * 40000}), {431, 413, 400}, None),
    ("300 headers", req("GET", "/healthz", headers={"X-H%d" % i: "v" * 100 for i in range(300)}), {431, 413, 400}, None),
    ("bad chunked encoding", req("POST", "/databases", None, headers={"Transfer-Encoding": "chunked",
                                                                      "Content-Type": "application/json"}) + b"zz\r\nabc\r\n", {400}, None),
    ("huge X-Daap-Team", req("PATCH", "/databases/" + UUID0, {"purpose": "x"}, headers={"X-Daap-Team": "t" * 8000}), {404, 403}, True),
]


class HostileTest(ServerTestCase):
    server_args = ("--resync-period", "60s", "--connection-timeout", "2s", "--request-timeout", "3s",
                   "--max-connections", "64", "--threads", "2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.victim = cls.srv.create("victim", team="owners")

    def snapshot(self):
        records = self.srv.list_all("include_deleted=true")
        return (json.dumps(records, sort_keys=True), self.sim.object_names("clusters"),
                self.sim.object_names("poolers"))

    def assert_healthy(self, what):
        self.assertTrue(self.srv.alive(), "daap-server died after: %s" % what)
        r = self.srv.get("/healthz")
        self.assertEqual(r.status, 200, what)

    def check_answer(self, name, status, answer, ours):
        headers, body = split_answer(answer)
        if ours is True or (ours is None and headers.get("content-type", "").startswith("application/problem+json")):
            self.assertEqual(headers.get("content-type"), "application/problem+json", name)
            problem = json.loads(body)
            self.openapi.validate({"$ref": "#/components/schemas/Problem"}, problem, name)
            self.assertEqual(problem["status"], status, name)
            self.assertTrue(problem["detail"], name)
            self.assertTrue(headers.get("x-request-id"), name)

    def test_table(self):
        self.assertGreaterEqual(len(CASES), 50)
        before = self.snapshot()
        for name, data, allowed, ours in CASES:
            with self.subTest(case=name):
                status, answer = raw_exchange(self.srv.port, data)
                self.assertIn(status, allowed, "%s: %r" % (name, answer[:300]))
                if status == 201:  # allowed only where a valid spelling of a name may pass
                    db = json.loads(split_answer(answer)[1])
                    self.srv.delete("/databases/" + db["id"], team=db["owner_team"])
                    wait_for(lambda: self.srv.delete("/databases/" + db["id"], team=db["owner_team"]).status == 204, 10)
                    before = self.snapshot()
                    continue
                self.check_answer(name, status, answer, ours)
                self.assert_healthy(name)
                self.assertEqual(self.snapshot(), before, "%s wrote something" % name)

    # An unknown key that is not UTF-8 is echoed back as U+FFFD: the
    # problem body stays valid UTF-8 JSON.
    def test_undecodable_query_key_gives_a_valid_problem(self):
        status, answer = raw_exchange(self.srv.port, req("GET", "/databases?%FF=1"))
        self.assertEqual(status, 400)
        self.check_answer("undecodable key", status, answer, True)

    def test_patch_and_delete_of_a_real_record(self):
        before = self.snapshot()
        path = "/databases/" + self.victim["id"]
        for name, data, allowed in (
                ("immutable name", req("PATCH", path, {"name": "other"}, headers={"X-Daap-Team": "owners"}), {400}),
                ("duplicate keys", req("PATCH", path, '{"purpose":"a","purpose":"b"}', headers={"X-Daap-Team": "owners"}), {400}),
                ("bad UTF-8", req("PATCH", path, b'{"purpose":"\xff"}', headers={"X-Daap-Team": "owners"}), {400}),
                ("deep nesting", req("PATCH", path, '{"purpose":' + nest(10000, "array") + "}", headers={"X-Daap-Team": "owners"}), {400}),
                ("no team", req("PATCH", path, {"purpose": "x"}), {403}),
                ("injection team", req("PATCH", path, {"purpose": "x"}, headers={"X-Daap-Team": "owners' OR '1'='1"}), {403}),
                ("team with a NUL escape", req("DELETE", path, headers={"X-Daap-Team": "owners%00"}), {403}),
                ("wrong type", req("PATCH", path, {"owner_team": 7}, headers={"X-Daap-Team": "owners"}), {400}),
                ("too large", req("PATCH", path, {"purpose": "x" * 70000}, headers={"X-Daap-Team": "owners"}), {413}),
                ("text body", req("PATCH", path, "purpose=x", ctype="text/plain", headers={"X-Daap-Team": "owners"}), {415})):
            with self.subTest(case=name):
                status, answer = raw_exchange(self.srv.port, data)
                self.assertIn(status, allowed, "%s: %r" % (name, answer[:300]))
                self.check_answer(name, status, answer, True)
                self.assertEqual(self.snapshot(), before, name)
        self.assert_healthy("patch cases")

    def test_slowloris_headers_do_not_starve_others(self):
        socks = []
        try:
            for _ in range(16):
                s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
            t_end = time.monotonic() + 3
            while time.monotonic() < t_end:
                for s in socks:
                    try:
                        s.sendall(b"X")  # one byte of a header that never ends
                    except OSError:
                        pass
                t0 = time.monotonic()
                self.assertEqual(self.srv.get("/healthz").status, 200)
                self.assertLess(time.monotonic() - t0, 0.5, "a normal request waited behind slow clients")
                time.sleep(0.3)
        finally:
            for s in socks:
                s.close()
        self.assert_healthy("slowloris")

    def test_stalled_clients_are_disconnected(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and then nothing
            t0 = time.monotonic()
            data = s.recv(100)
            self.assertEqual(data, b"", "the server answered a half request")
            self.assertLess(time.monotonic() - t0, 6, "idle connection not closed by the connection timeout")
        finally:
            s.close()

    def test_slow_body_is_dropped_and_nothing_written(self):
        before = self.snapshot()
        body = json.dumps({"name": "dribble", "owner_team": "t", "purpose": "p" * 200}).encode()
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        try:
            s.sendall(req("POST", "/databases", body)[:-len(body)])
            t0 = time.monotonic()
            answer = b""
            for i in range(len(body)):  # 1 byte every 0.25 s: active, but slower than the request timeout
                try:
                    s.sendall(body[i:i + 1])
                except OSError:
                    break
                time.sleep(0.25)
                if time.monotonic() - t0 > 8:
                    break
            s.settimeout(3)
            try:
                answer = s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            s.close()
        self.assertLess(time.monotonic() - t0, 8, "a slow body was accepted for too long")
        status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/") else None
        self.assertIn(status, (None, 408), answer[:200])
        self.assertEqual(self.snapshot(), before)
        self.assert_healthy("slow body")

    def test_connection_flood_is_capped(self):
        socks = []
        try:
            for _ in range(200):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", self.srv.port), timeout=2))
                except OSError:
                    break
            time.sleep(0.3)
            refused = 0
            for s in socks:
                s.settimeout(0.05)
                try:
                    if s.recv(1) == b"":
                        refused += 1
                except socket.timeout:
                    pass
                except OSError:
                    refused += 1
            self.assertGreater(refused, 0, "no connection beyond --max-connections was refused")
        finally:
            for s in socks:
                s.close()
        wait_for(lambda: self.srv.get("/healthz").status == 200, 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
