"""The HTTP API of DESIGN.md section 6 against a real daap-server, a SQLite
store and kubesim: every route and status, headers, lists, logs, keep-alive
and OpenAPI conformance of every answer."""
import json
import re
import time
import unittest

from daaptest import ServerTestCase, wait_for, OPENAPI_PATH


class ApiTest(ServerTestCase):
    # A long resync proves readiness arrives through the watch, not the resync.
    server_args = ("--resync-period", "60s", "--threads", "2")

    def test_create_201_location_and_get(self):
        r = self.srv.post("/databases", {"name": "orders", "owner_team": "payments", "purpose": "order history"})
        self.assertEqual(r.status, 201, r)
        db = r.json
        self.assertEqual(r.header("Location"), "/databases/" + db["id"])
        self.assertEqual(db["status"], "provisioning")
        self.assertNotIn("connection", db)
        self.assertEqual((db["name"], db["cluster_name"], db["pooler_name"]),
                         ("orders", "daap-orders", "daap-orders-pooler"))
        self.assertEqual((db["instances"], db["storage_size"], db["namespace"]), (1, "1Gi", "daap"))
        got = self.srv.get(r.header("Location"))
        self.assertEqual(got.status, 200)
        self.assertEqual(got.json["id"], db["id"])

    def test_ready_within_a_second_of_cluster_ready(self):
        self.sim.faults(never_ready="daap-watched$")
        try:
            db = self.srv.create("watched")
            time.sleep(1.0)  # the pooler becomes ready; the cluster is held back
            self.assertEqual(self.srv.get("/databases/" + db["id"]).json["status"], "provisioning")
            t0 = time.monotonic()
            self.sim.mark_cluster("daap-watched", "ready")
            ready = self.srv.wait_status(db["id"], "ready", timeout=5)
            elapsed = time.monotonic() - t0
        finally:
            self.sim.clear_faults()
        self.assertLess(elapsed, 1.0, "ready showed %.2fs after the Cluster turned Ready" % elapsed)
        self.assertIsNotNone(ready["ready_at"])

    def test_connection_only_when_ready(self):
        db = self.srv.create("conn-check")
        self.assertNotIn("connection", db)
        ready = self.srv.wait_status(db["id"], "ready", timeout=10)
        conn = ready["connection"]
        self.assertEqual(conn["dbname"], "conn_check")
        self.assertTrue(conn["uri"].startswith("postgresql://conn_check:"))
        self.assertIn(conn["password"], conn["uri"])
        self.assertIn("-rw.", conn["direct"]["host"])
        listed = [d for d in self.srv.list_all() if d["id"] == db["id"]]
        self.assertEqual(len(listed), 1)
        self.assertNotIn("connection", listed[0], "lists never carry credentials")

    def test_duplicate_name_409(self):
        self.srv.create("twice")
        r = self.srv.post("/databases", {"name": "twice", "owner_team": "other", "purpose": "again"})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        self.assertIn("twice", r.json["detail"])

    def test_validation_lists_every_bad_field(self):
        r = self.srv.post("/databases", {"name": "Bad_Name", "owner_team": "", "purpose": "",
                                         "instances": 0, "storage_size": "lots", "color": "red"})
        self.assertEqual(r.status, 400, r)
        fields = {e["field"]: e["code"] for e in r.json["errors"]}
        for f in ("name", "owner_team", "purpose", "instances", "storage_size", "color"):
            self.assertIn(f, fields, r.json)
        self.assertEqual(fields["color"], "unknown_field")
        self.assertEqual(r.json["status"], 400)
        self.assertTrue(r.json["type"].startswith("urn:daap:error:"))

    def test_name_too_long_names_the_derived_object(self):
        r = self.srv.post("/databases", {"name": "a" * 46, "owner_team": "t", "purpose": "p"})
        self.assertEqual(r.status, 400)
        msg = [e for e in r.json["errors"] if e["field"] == "name"][0]["message"]
        self.assertIn("daap-", msg)

    def test_list_filters_and_keyset_pages(self):
        made = []
        for i in range(7):
            team = "alpha" if i % 2 == 0 else "beta"
            made.append(self.srv.create("page-%d" % i, team=team))
        pages, cursor, seen = 0, None, []
        while True:
            r = self.srv.get("/databases?name=page-&limit=3" + ("&cursor=" + cursor if cursor else ""))
            self.assertEqual(r.status, 200, r)
            pages += 1
            self.assertLessEqual(len(r.json["items"]), 3)
            seen += [d["id"] for d in r.json["items"]]
            cursor = r.json["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(seen, [d["id"] for d in made], "stable (created_at, id) order, no duplicates")
        alpha = self.srv.get("/databases?owner_team=alpha&name=page-").json["items"]
        self.assertEqual({d["name"] for d in alpha}, {"page-0", "page-2", "page-4", "page-6"})
        none = self.srv.get("/databases?name=page-&status=deleted").json
        self.assertEqual(none, {"items": [], "next_cursor": None})
        both = self.srv.get("/databases?name=page-&status=provisioning,ready&limit=100").json["items"]
        self.assertEqual(len(both), 7)
        self.assertEqual(self.srv.get("/databases?limit=1&name=page-").json["items"][0]["name"], "page-0")

    def test_bad_queries_are_400(self):
        for q in ("limit=0", "limit=101", "limit=x", "status=gone", "cursor=nope", "colour=red",
                  "limit=1&limit=2", "include_deleted=maybe", "name=UPPER", "name=%ZZ"):
            r = self.srv.get("/databases?" + q)
            self.assertEqual(r.status, 400, q)
            self.assertTrue(r.json["errors"], q)

    def test_include_deleted(self):
        db = self.srv.create("soon-gone", team="gamma")
        self.assertIn(self.srv.delete("/databases/" + db["id"], team="gamma").status, (202, 204))
        names = [d["name"] for d in self.srv.list_all("owner_team=gamma")]
        self.assertNotIn("soon-gone", names)
        deleted = [d for d in self.srv.list_all("owner_team=gamma&include_deleted=true") if d["id"] == db["id"]]
        self.assertEqual(len(deleted), 1)
        self.assertIn(deleted[0]["status"], ("deleting", "deleted"))
        self.assertIsNotNone(deleted[0]["deleted_at"])

    def test_patch_ownership_and_immutability(self):
        db = self.srv.create("patchable", team="owners", purpose="before")
        path = "/databases/" + db["id"]
        self.assertEqual(self.srv.patch(path, {"purpose": "x"}).status, 403)
        self.assertEqual(self.srv.patch(path, {"purpose": "x"}, team="strangers").status, 403)
        # instances and storage_size are a resize (tests/server/test_day2.py), not immutable.
        r = self.srv.patch(path, {"name": "renamed", "pg_version": 16}, team="owners")
        self.assertEqual(r.status, 400, r)
        self.assertEqual({(e["field"], e["code"]) for e in r.json["errors"]},
                         {("name", "immutable"), ("pg_version", "immutable")})
        r = self.srv.patch(path, {"purpose": "x", "flavour": "y"}, team="owners")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json["errors"][0]["code"], "unknown_field")
        r = self.srv.patch(path, {"purpose": "after", "owner_team": "new-owners"}, team="owners",
                           ctype="application/merge-patch+json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["purpose"], r.json["owner_team"]), ("after", "new-owners"))
        self.assertGreater(r.json["revision"], db["revision"])
        self.assertEqual(self.srv.patch(path, {"purpose": "again"}, team="owners").status, 403)
        self.assertEqual(self.srv.patch(path, {"purpose": "again"}, team="new-owners").status, 200)
        self.assertEqual(self.srv.patch("/databases/0190a6c4-0000-7000-8000-000000000000", {"purpose": "x"},
                                        team="owners").status, 404)

    def test_delete_202_then_204_and_404(self):
        db = self.srv.create("deletable", team="del")
        path = "/databases/" + db["id"]
        self.assertEqual(self.srv.delete(path).status, 403)
        self.assertEqual(self.srv.delete(path, team="other").status, 403)
        self.sim.faults(slow_delete_seconds=1.0)  # objects linger: the delete cannot finish in the request
        try:
            r = self.srv.delete(path, team="del")
        finally:
            self.sim.clear_faults()
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["status"], "deleting")
        self.assertEqual(self.srv.get(path).status, 404)
        wait_for(lambda: self.srv.delete(path, team="del").status == 204, 15, interval=0.2,
                 what="a repeated DELETE to say 204 once the objects are gone")
        self.assertNotIn("daap-deletable", self.sim.object_names("clusters"))
        self.assertNotIn("daap-deletable-pooler", self.sim.object_names("poolers"))
        self.assertEqual(self.srv.delete("/databases/0190a6c4-0000-7000-8000-000000000000", team="del").status, 404)

    def test_name_reusable_after_delete(self):
        db = self.srv.create("phoenix", team="fire")
        self.assertIn(self.srv.delete("/databases/" + db["id"], team="fire").status, (202, 204))
        wait_for(lambda: self.srv.delete("/databases/" + db["id"], team="fire").status == 204, 15, interval=0.2)
        again = self.srv.create("phoenix", team="fire")
        self.assertNotEqual(again["id"], db["id"])

    def test_unknown_route_404_and_wrong_method_405(self):
        r = self.srv.get("/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        for method, path, allow in (("PUT", "/databases", "POST, GET, HEAD"), ("DELETE", "/databases", "POST, GET, HEAD"),
                                    ("POST", "/databases/x", "GET, HEAD, PATCH, DELETE"),
                                    ("POST", "/healthz", "GET, HEAD"), ("DELETE", "/openapi.json", "GET, HEAD"),
                                    ("OPTIONS", "/readyz", "GET, HEAD")):
            r = self.srv.request(method, path)
            self.assertEqual(r.status, 405, (method, path))
            self.assertEqual(r.header("Allow"), allow)
            self.assertEqual(r.json["status"], 405)

    def test_unknown_id_404(self):
        for ident in ("0190a6c4-0000-7000-8000-000000000000", "not-a-uuid"):
            r = self.srv.get("/databases/" + ident)
            self.assertEqual(r.status, 404, ident)

    def test_415_and_413(self):
        body = json.dumps({"name": "media", "owner_team": "t", "purpose": "p"}).encode()
        for ctype in (None, "text/plain", "application/json; charset=latin-1", "application/x-www-form-urlencoded",
                      "application/merge-patch+json"):
            headers = {"Content-Type": ctype} if ctype else {}
            r = self.srv.request("POST", "/databases", body, headers=headers, ctype=None)
            self.assertEqual(r.status, 415, ctype)
        r = self.srv.request("POST", "/databases", body, headers={"Content-Type": "Application/JSON; Charset=\"UTF-8\""})
        self.assertEqual(r.status, 201, r)
        big = b'{"name":"big","owner_team":"t","purpose":"' + b"x" * 70000 + b'"}'
        r = self.srv.post("/databases", big)
        self.assertEqual(r.status, 413)
        self.assertEqual(r.json["code"], "payload_too_large")

    def test_request_id_echo(self):
        r = self.srv.get("/healthz", headers={"X-Request-Id": "abc-123.XYZ:7"})
        self.assertEqual(r.header("X-Request-Id"), "abc-123.XYZ:7")
        for bad in ("has space", "x" * 129, "semi;colon"):
            r = self.srv.get("/healthz", headers={"X-Request-Id": bad})
            self.assertRegex(r.header("X-Request-Id"), r"^[0-9a-f]{32}$")
        r = self.srv.get("/nope", headers={"X-Request-Id": "err-1"})
        self.assertEqual(r.header("X-Request-Id"), "err-1", "errors echo the id too")
        a, b = self.srv.get("/healthz"), self.srv.get("/healthz")
        self.assertNotEqual(a.header("X-Request-Id"), b.header("X-Request-Id"))

    def test_keep_alive(self):
        conn = self.srv.connect()
        try:
            r1 = self.srv.get("/healthz", conn=conn)
            sock = conn.sock
            self.assertIsNotNone(sock)
            r2 = self.srv.post("/databases", {"name": "kept-alive", "owner_team": "t", "purpose": "p"}, conn=conn)
            r3 = self.srv.get("/databases/" + r2.json["id"], conn=conn)
            r4 = self.srv.get("/nope", conn=conn)
            self.assertIs(conn.sock, sock, "the connection was reopened")
        finally:
            conn.close()
        self.assertEqual((r1.status, r2.status, r3.status, r4.status), (200, 201, 200, 404))
        for r in (r1, r2, r3, r4):
            self.assertNotEqual((r.header("Connection") or "").lower(), "close")

    def test_one_log_line_per_request_and_no_password(self):
        db = self.srv.create("logged")
        ready = self.srv.wait_status(db["id"], "ready", timeout=10)
        password = ready["connection"]["password"]
        ids = []
        for i in range(3):
            rid = "log-check-%d" % i
            self.srv.get("/databases/" + db["id"], headers={"X-Request-Id": rid})
            ids.append(rid)
        self.srv.get("/nope", headers={"X-Request-Id": "log-check-404"})
        lines = wait_for(lambda: [l for l in self.srv.request_logs() if l["request_id"].startswith("log-check-")]
                         if len([l for l in self.srv.request_logs() if l["request_id"].startswith("log-check-")]) >= 4
                         else None, 5)
        self.assertEqual(sorted(l["request_id"] for l in lines), sorted(ids + ["log-check-404"]))
        for l in lines:
            self.assertEqual(set(l) >= {"ts", "level", "request_id", "method", "path", "status", "duration_ms"}, True, l)
            self.assertIsInstance(l["duration_ms"], (int, float))
            self.assertEqual(l["method"], "GET")
        self.assertEqual([l["status"] for l in lines if l["request_id"] == "log-check-404"], [404])
        text = self.srv.log_text()
        self.assertNotIn(password, text)
        for raw in text.splitlines():
            json.loads(raw)  # every line is one JSON object

    def test_healthz_readyz_openapi(self):
        self.assertEqual(self.srv.get("/healthz").json, {"status": "ok"})
        self.assertEqual(self.srv.get("/readyz").json, {"status": "ready"})
        r = self.srv.get("/openapi.json")
        self.assertEqual(r.status, 200)
        with open(OPENAPI_PATH, "rb") as f:
            self.assertEqual(r.raw, f.read(), "the served document is the one in the repository")
        self.assertEqual(r.json["openapi"][:2], "3.")
        self.assertEqual(self.srv.get("/healthz?verbose=1").status, 400)

    def test_head_answers_as_get_without_a_body(self):
        db = self.srv.create("api-head")
        self.srv.wait_status(db["id"], "ready")  # a settled record: GET and HEAD see the same one
        for path in ("/healthz", "/readyz", "/openapi.json", "/databases?name=api-head",
                     "/databases/" + db["id"], "/databases/0190a6c4-0000-7000-8000-000000000000", "/ui/app.js",
                     "/databases/%s/events" % db["id"]):
            get = self.srv.get(path)
            head = self.srv.request("HEAD", path)
            self.assertEqual(head.status, get.status, path)
            self.assertEqual(head.raw, b"", path)
            self.assertEqual(head.header("Content-Type"), get.header("Content-Type"), path)
            self.assertEqual(head.header("Content-Length"), str(len(get.raw)), path)
            self.assertTrue(head.header("X-Request-Id"), path)

    def test_web_console_files(self):
        # The console's own browser journey is tests/ui; here, its documented operations.
        r = self.srv.get("/ui")
        self.assertEqual((r.status, r.header("Location")), (308, "/ui/"))
        self.assertEqual(self.srv.request("HEAD", "/ui").status, 308)
        for path, ctype in (("/ui/", "text/html"), ("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css")):
            r = self.srv.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.header("Content-Type").startswith(ctype), r.header("Content-Type"))
            self.assertEqual(r.header("Content-Security-Policy"), "default-src 'self'")
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
            head = self.srv.request("HEAD", path)
            self.assertEqual((head.status, head.header("ETag"), head.raw), (200, r.header("ETag"), b""))
            again = self.srv.get(path, headers={"If-None-Match": r.header("ETag")})
            self.assertEqual((again.status, again.raw), (304, b""))
        self.assertEqual(self.srv.get("/ui/no-such-file.js").json["status"], 404)
        self.assertEqual(self.srv.request("HEAD", "/ui/no-such-file.js").status, 404)

    def test_injection_text_is_stored_verbatim(self):
        purpose = "x'); DROP TABLE databases; -- \n kind: Secret {{NAME}} ${HOME} `id` \u00e9\u4e2d"
        r = self.srv.post("/databases", {"name": "verbatim", "owner_team": "t", "purpose": purpose.replace("\n", " ")})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.srv.get("/databases/" + r.json["id"]).json["purpose"], purpose.replace("\n", " "))
        self.assertEqual(self.srv.get("/databases?limit=1").status, 200, "the table is still there")

    def test_event_history_of_a_record(self):
        db = self.srv.create("historic")
        r = self.srv.get("/databases/%s/events?limit=1" % db["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["items"][0]["database_id"], db["id"])
        self.assertEqual(self.srv.get("/databases/%s/events?type=bogus" % db["id"]).status, 400)
        self.assertEqual(self.srv.get("/databases/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/events").status, 404)

    def test_rotate_password_refusals(self):
        # The rotation itself needs a real PostgreSQL behind the pooler: tests/server/test_rotate.py.
        db = self.srv.create("unrotated")
        path = "/databases/%s/rotate-password" % db["id"]
        r = self.srv.post(path, None, headers={"X-Daap-Team": "payments"})
        self.assertEqual(r.status, 409, r)   # still provisioning: kubesim takes ready_delay at least
        self.assertIn("once it is ready", r.json["detail"])
        r = self.srv.post("/databases/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/rotate-password", None,
                          headers={"X-Daap-Team": "payments"})
        self.assertEqual(r.status, 404, r)
        self.assertEqual(self.srv.get(path).status, 405)

    def test_zz_every_documented_operation_was_exercised(self):
        ops = set(self.openapi.operations())
        seen = {(m, t) for m, t, _ in self.openapi.seen}
        self.assertEqual(ops - seen, set(), "operations no test called")


if __name__ == "__main__":
    unittest.main(verbosity=2)
