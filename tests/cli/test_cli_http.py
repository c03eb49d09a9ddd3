"""The remote client's HTTP behaviour against a scripted fake server: what it
sends (query strings, bodies, X-Daap-Team), which failures it retries, and
how problem documents become exit codes and messages."""
import http.server
import json
import threading
import unittest
import urllib.parse

from clitest import CliTestCase, clean_env, daapctl, testports

RECORD = {
    "id": "01a22037-91e0-713d-9f76-da855c126aaf", "name": "orders", "owner_team": "payments",
    "purpose": "p", "namespace": "daap", "cluster_name": "daap-orders", "pooler_name": "daap-orders-pooler",
    "instances": 1, "storage_size": "1Gi", "pg_version": 17, "status": "provisioning",
    "status_reason": "waiting", "created_at": "2024-05-01T12:00:00.123Z", "updated_at": "2024-05-01T12:00:01Z",
    "ready_at": None, "deleted_at": None, "revision": 2,
}


def problem(status, code, detail, errors=None):
    doc = {"type": "urn:daap:error:" + code, "title": code, "status": status, "code": code, "detail": detail}
    if errors:
        doc["errors"] = errors
    return status, "application/problem+json", json.dumps(doc)


class Fake(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script = []      # (method, path prefix) -> list of responses, consumed in order
    requests = []    # (method, path, headers, body)

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        Fake.requests.append((self.command, self.path, dict(self.headers), body))
        for i, (method, prefix, response) in enumerate(Fake.script):
            if method == self.command and self.path.startswith(prefix):
                del Fake.script[i]
                break
        else:
            response = problem(404, "not_found", "no script for %s %s" % (self.command, self.path))
        status, ctype, text = response
        data = text.encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = answer


class HttpTest(CliTestCase):
    @classmethod
    def setUpClass(cls):
        port = int(testports.listen_address().rsplit(":", 1)[1])     # 0 unless DAAP_TEST_PORT_BASE is set
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Fake)
        cls.thread = threading.Thread(target=cls.httpd.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d" % cls.httpd.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def setUp(self):
        Fake.script = []
        Fake.requests = []

    def expect(self, method, prefix, status, body, ctype="application/json"):
        text = body if isinstance(body, str) else json.dumps(body)
        Fake.script.append((method, prefix, (status, ctype, text)))

    def ctl(self, *args, team="payments"):
        return daapctl(*args, env=clean_env(DAAP_SERVER=self.url, DAAP_TEAM=team))

    def test_list_query_encoding(self):
        self.expect("GET", "/databases", 200, {"items": [RECORD], "next_cursor": None})
        r = self.ctl("list", "--team", "a b&c", "--status", "ready,error", "--name", "ord", "--include-deleted",
                     "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["items"][0]["created_at"], RECORD["created_at"])
        path = urllib.parse.urlsplit(Fake.requests[0][1])
        self.assertEqual(path.path, "/databases")
        self.assertEqual(urllib.parse.parse_qs(path.query), {
            "owner_team": ["a b&c"], "status": ["ready,error"], "name": ["ord"], "limit": ["100"],
            "include_deleted": ["true"]})

    def test_list_follows_cursors(self):
        second = dict(RECORD, id="01a22037-91e0-713d-9f76-da855c126aab", name="second")
        self.expect("GET", "/databases", 200, {"items": [RECORD], "next_cursor": "c/1+="})
        self.expect("GET", "/databases", 200, {"items": [second], "next_cursor": None})
        r = self.ctl("list", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual([d["name"] for d in r.json()["items"]], ["orders", "second"])
        self.assertIn("cursor=c%2F1%2B%3D", Fake.requests[1][1])

    def test_get_retries_unavailable(self):
        self.expect("GET", "/databases/", 503, "busy", "text/plain")
        self.expect("GET", "/databases/", 502, "<html>bad gateway</html>", "text/html")
        self.expect("GET", "/databases/", 200, RECORD)
        r = self.ctl("get", RECORD["id"])
        self.assertExit(r, 0)
        self.assertEqual(len(Fake.requests), 3)

    def test_post_is_repeated_only_with_its_idempotency_key(self):
        # A create carries an Idempotency-Key, so sending it again is safe (docs/idempotency.md).
        self.expect("POST", "/databases", 503, "busy", "text/plain")
        self.expect("POST", "/databases", 201, RECORD)
        r = self.ctl("create", "orders", "--purpose", "p", "--instances", "3", "--storage", "5Gi")
        self.assertExit(r, 0)
        self.assertEqual(len(Fake.requests), 2)
        keys = [req[2].get("Idempotency-Key") for req in Fake.requests]
        self.assertRegex(keys[0], r'^"[0-9a-f-]{36}"$')
        self.assertEqual(keys[0], keys[1])
        for req in Fake.requests:
            self.assertEqual(json.loads(req[3]), {
                "name": "orders", "owner_team": "payments", "purpose": "p", "instances": 3, "storage_size": "5Gi"})

    def test_non_problem_error_shows_the_body(self):
        for _ in range(4):
            self.expect("GET", "/databases/", 502, "<html>bad gateway</html>", "text/html")
        r = self.ctl("get", RECORD["id"])
        self.assertExit(r, 7)
        self.assertIn("HTTP 502", r.err)
        self.assertIn("bad gateway", r.err)

    def test_problem_codes_map_back(self):
        cases = [(problem(409, "conflict", "modified concurrently"), 6),
                 (problem(409, "already_exists", "a database named 'orders' already exists"), 4),
                 (problem(413, "payload_too_large", "request body over 64 KiB"), 5),
                 (problem(500, "crypto", "credentials cannot be decrypted"), 11),
                 (problem(403, "forbidden", "only the owner team can change database orders"), 10)]
        for response, status in cases:
            with self.subTest(code=json.loads(response[2])["code"]):
                # A keyed create is retried after a 500 (which the server would replay).
                Fake.script = [("POST", "/databases", response)] * (4 if response[0] == 500 else 1)
                r = self.ctl("create", "orders", "--purpose", "p")
                self.assertExit(r, status)
                self.assertIn(json.loads(response[2])["detail"], r.err)

    def test_field_errors(self):
        Fake.script = [("POST", "/databases", problem(400, "invalid", "request: 2 fields have errors", [
            {"field": "name", "code": "pattern", "message": "bad name"},
            {"field": "purpose", "code": "required", "message": "purpose is required"}]))]
        r = self.ctl("create", "orders", "--purpose", "p")
        self.assertExit(r, 5)
        self.assertIn("  - name: bad name (pattern)", r.err)
        self.assertIn("  - purpose: purpose is required (required)", r.err)

    def test_update_and_delete_send_the_team(self):
        self.expect("PATCH", "/databases/", 200, dict(RECORD, owner_team="billing"))
        r = self.ctl("update", RECORD["id"], "--team", "billing", "--purpose", 'say "hi"', team="payments")
        self.assertExit(r, 0)
        method, path, headers, body = Fake.requests[-1]
        self.assertEqual((method, path, headers.get("X-Daap-Team")), ("PATCH", "/databases/" + RECORD["id"], "payments"))
        self.assertEqual(json.loads(body), {"owner_team": "billing", "purpose": 'say "hi"'})

        self.expect("GET", "/databases/", 200, RECORD)
        self.expect("DELETE", "/databases/", 204, "")
        r = self.ctl("delete", RECORD["id"], "--yes", "--as", "payments-admins")
        self.assertExit(r, 0)
        self.assertEqual(r.out, "Deleted database orders (%s).\n" % RECORD["id"])
        self.assertEqual(Fake.requests[-1][2].get("X-Daap-Team"), "payments-admins")

    def test_bad_record_json(self):
        self.expect("GET", "/databases/", 200, {"id": RECORD["id"], "name": 5, "status": "ready"})
        r = self.ctl("get", RECORD["id"])
        self.assertExit(r, 1)
        self.assertIn("'name' must be a string", r.err)
        self.expect("GET", "/databases/", 200, "{not json")
        self.assertExit(self.ctl("get", RECORD["id"]), 1)

    def test_ready_record_round_trip(self):
        ready = dict(RECORD, status="ready", ready_at="2024-05-01T12:00:05+02:00", connection={
            "host": "h.svc", "port": 5432, "dbname": "orders", "user": "orders", "password": "p@ss:w/rd",
            "uri": "ignored", "sslmode": "prefer", "direct": {"host": "rw.svc", "port": 5433, "uri": "ignored"}})
        self.expect("GET", "/databases/", 200, ready)
        r = self.ctl("get", RECORD["id"], "-o", "json")
        self.assertExit(r, 0)
        conn = r.json()["connection"]
        self.assertEqual(conn["uri"], "postgresql://orders:p%40ss%3Aw%2Frd@h.svc:5432/orders?sslmode=prefer")
        self.assertEqual(conn["direct"]["uri"], "postgresql://orders:p%40ss%3Aw%2Frd@rw.svc:5433/orders?sslmode=prefer")
        self.assertEqual(r.json()["ready_at"], "2024-05-01T10:00:05.000Z")


if __name__ == "__main__":
    unittest.main()
