"""The event history over HTTP (DESIGN.md section 11): what each call
writes, with its actor and request id; folding; newest-first keyset pages;
the warning filter; the trail of a deleted database; bad parameters. Every
answer is checked against docs/openapi.json."""
import unittest

from daaptest import ServerTestCase, wait_for

TEAM = "payments"


class EventsTest(ServerTestCase):
    server_args = ("--resync-period", "500ms", "--provisioning-deadline", "3s")

    def events(self, db_id, query="", status=200):
        r = self.srv.get("/databases/%s/events%s" % (db_id, query))
        self.assertEqual(r.status, status, r)
        return r.json

    def all_events(self, db_id, limit=2, query=""):
        items, cursor = [], None
        while True:
            page = self.events(db_id, "?limit=%d%s%s" % (limit, query, "&cursor=" + cursor if cursor else ""))
            self.assertLessEqual(len(page["items"]), limit)
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    def test_lifecycle_writes_its_history(self):
        r = self.srv.post("/databases", {"name": "audited", "owner_team": TEAM, "purpose": "events"},
                          headers={"X-Request-Id": "req-create-1", "X-Daap-Team": TEAM})
        self.assertEqual(r.status, 201, r)
        db_id = r.json["id"]
        self.srv.wait_status(db_id, "ready", timeout=20)
        items = self.events(db_id)["items"]
        created, ready = items[-1], items[0]
        self.assertEqual((created["reason"], created["actor"], created["request_id"], created["to_status"]),
                         ("Created", TEAM, "req-create-1", "provisioning"))
        self.assertEqual((ready["reason"], ready["actor"], ready["from_status"], ready["to_status"]),
                         ("Ready", "reconciler", "provisioning", "ready"))
        self.assertIsNone(ready["request_id"])
        self.assertTrue(all(e["reason"] == "Progress" for e in items[1:-1]), [e["reason"] for e in items])
        ids = [e["id"] for e in items]
        self.assertEqual(ids, sorted(ids, reverse=True), "newest first")

        r = self.srv.patch("/databases/" + db_id, {"owner_team": "ledger"}, team=TEAM,
                           headers={"X-Request-Id": "req-patch-1"})
        self.assertEqual(r.status, 200, r)
        changed = self.events(db_id, "?limit=1")["items"][0]
        self.assertEqual((changed["reason"], changed["actor"], changed["request_id"], changed["type"]),
                         ("OwnerChanged", TEAM, "req-patch-1", "normal"))
        self.assertEqual(changed["message"], "owner_team changed from payments to ledger")

        # A repeat folds into the newest event: one row, count 2, last_at moves on.
        for rid in ("req-same-1", "req-same-2"):
            self.assertEqual(self.srv.patch("/databases/" + db_id, {"owner_team": "ledger"}, team="ledger",
                                            headers={"X-Request-Id": rid}).status, 200)
        folded = self.events(db_id, "?limit=1")["items"][0]
        self.assertEqual((folded["reason"], folded["count"], folded["request_id"]), ("Updated", 2, "req-same-1"))
        self.assertGreaterEqual(folded["last_at"], folded["at"])

        r = self.srv.delete("/databases/" + db_id, team="ledger", headers={"X-Request-Id": "req-delete-1"})
        self.assertIn(r.status, (202, 204), r)
        wait_for(lambda: self.events(db_id, "?limit=1")["items"][0]["reason"] == "Deleted", 20,
                 what="the Deleted event")
        self.assertEqual(self.srv.get("/databases/" + db_id).status, 404)
        trail = self.all_events(db_id)
        requested = [e for e in trail if e["reason"] == "DeleteRequested"][0]
        self.assertEqual((requested["actor"], requested["request_id"], requested["from_status"],
                          requested["to_status"]), ("ledger", "req-delete-1", "ready", "deleting"))
        self.assertEqual(trail, self.all_events(db_id, limit=200), "pages add up to the whole history")
        self.assertEqual(len({e["id"] for e in trail}), len(trail), "no event twice across pages")

    def test_warning_filter(self):
        self.sim.faults(never_ready="daap-too-slow$")
        try:
            db = self.srv.create("too-slow")
            self.srv.wait_status(db["id"], "error", timeout=15)
        finally:
            self.sim.clear_faults()
        warnings = self.events(db["id"], "?type=warning")["items"]
        self.assertEqual([e["reason"] for e in warnings], ["DeadlinePassed"])
        self.assertEqual((warnings[0]["type"], warnings[0]["to_status"]), ("warning", "error"))
        self.assertIn("deadline", warnings[0]["message"])
        every = self.events(db["id"])["items"]
        self.assertGreater(len(every), len(warnings))

    def test_bad_parameters_and_unknown_ids(self):
        db = self.srv.create("asked-badly")
        for query, param in (("?limit=0", "limit"), ("?limit=201", "limit"), ("?limit=x", "limit"),
                             ("?cursor=bogus", "cursor"), ("?type=normal", "type"), ("?since=1", "since"),
                             ("?limit=1&limit=2", "limit")):
            problem = self.events(db["id"], query, status=400)
            self.assertEqual([e["field"] for e in problem["errors"]], [param], query)
        other = self.srv.create("asked-elsewhere")
        self.srv.wait_status(other["id"], "ready")  # more than one event: a page of one has a next
        cursor = self.events(other["id"], "?limit=1")["next_cursor"]
        self.assertIsNotNone(cursor)
        self.events(db["id"], "?cursor=" + cursor, status=400)  # a cursor of another database
        self.events("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", status=404)
        self.events("not-a-uuid", status=404)
        r = self.srv.request("POST", "/databases/%s/events" % db["id"], {})
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")


if __name__ == "__main__":
    unittest.main(verbosity=2)
