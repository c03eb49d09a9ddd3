"""Day-2 changes to a live database over HTTP (issue 13, DESIGN.md section 11):
deletion protection, grow storage and change instances. Every answer is
checked against docs/openapi.json."""
import time
import unittest

from daaptest import ServerTestCase, wait_for

TEAM = "payments"


class DeletionProtectionTest(ServerTestCase):
    def test_default_is_unprotected(self):
        db = self.srv.create("plain")
        self.assertIs(db["deletion_protection"], False)
        r = self.srv.delete("/databases/" + db["id"], team=TEAM)
        self.assertIn(r.status, (202, 204), r)

    def test_protected_at_create_refuses_delete_until_patched_off(self):
        db = self.srv.create("guarded", deletion_protection=True)
        self.assertIs(db["deletion_protection"], True)
        path = "/databases/" + db["id"]
        self.srv.wait_status(db["id"], "ready")

        r = self.srv.delete(path, team=TEAM)
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        self.assertEqual(r.json["code"], "deletion_protected")
        self.assertIn('PATCH {"deletion_protection": false}', r.json["detail"])
        got = self.srv.get(path).json
        self.assertEqual(got["status"], "ready", "a refused delete changed nothing")
        self.assertIsNone(got["deleted_at"])

        # Ownership is checked before protection: a stranger learns nothing.
        self.assertEqual(self.srv.delete(path, team="intruders").status, 403)
        self.assertEqual(self.srv.patch(path, {"deletion_protection": False}, team="intruders").status, 403)

        r = self.srv.patch(path, {"deletion_protection": False}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["deletion_protection"], False)
        self.assertGreater(r.json["revision"], got["revision"])
        r = self.srv.delete(path, team=TEAM)
        self.assertIn(r.status, (202, 204), r)

    def test_patch_turns_it_on(self):
        db = self.srv.create("later")
        path = "/databases/" + db["id"]
        r = self.srv.patch(path, {"deletion_protection": True}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["deletion_protection"], True)
        self.assertIs(self.srv.get(path).json["deletion_protection"], True)
        self.assertEqual(self.srv.delete(path, team=TEAM).status, 409)
        # The list shows it too.
        items = self.srv.get("/databases?name=later").json["items"]
        self.assertIs(items[0]["deletion_protection"], True)

    def test_bad_values_are_400(self):
        db = self.srv.create("typed")
        path = "/databases/" + db["id"]
        for bad in ("yes", 1, None):
            r = self.srv.patch(path, {"deletion_protection": bad}, team=TEAM)
            self.assertEqual(r.status, 400, (bad, r))
            self.assertEqual(r.json["errors"][0]["field"], "deletion_protection")
            self.assertEqual(r.json["errors"][0]["code"], "type")
        r = self.srv.post("/databases", {"name": "typed-2", "owner_team": TEAM, "purpose": "p",
                                         "deletion_protection": "true"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["errors"][0]["field"], "deletion_protection")


class ResizeTest(ServerTestCase):
    ready_delay = 1.0   # kubesim's rollouts last this long: long enough to see
    server_args = ("--max-storage-size", "50Gi")

    def cluster(self, name):
        status, body = self.sim.call("GET", "/apis/postgresql.cnpg.io/v1/namespaces/daap/clusters/daap-" + name)
        self.assertEqual(status, 200, body)
        return body

    def ready_db(self, name, **extra):
        db = self.srv.create(name, **extra)
        self.srv.wait_status(db["id"], "ready")
        return "/databases/" + db["id"]

    def wait_rolled_out(self, path, timeout=30):
        def done():
            got = self.srv.get(path).json
            self.assertEqual(got["status"], "ready", got)
            return got if got["status_reason"] == "the Cluster is healthy and the pooler is serving" else None
        return wait_for(done, timeout, what="the rollout to finish")

    def test_grow_storage_then_scale_stays_ready(self):
        path = self.ready_db("growing")
        r = self.srv.patch(path, {"storage_size": "2Gi"}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["storage_size"], "2Gi")
        self.assertEqual(r.json["status"], "ready")
        self.assertTrue(r.json["status_reason"].startswith("rolling out:"), r.json["status_reason"])

        # One change at a time: a second one while this rolls out is 409.
        second = self.srv.patch(path, {"instances": 2}, team=TEAM)
        self.assertEqual(second.status, 409, second)
        self.assertIn("rolling out", second.json["detail"])

        # The database stays ready (never a new state) while CNPG rolls out.
        seen = set()
        def rolled():
            got = self.srv.get(path).json
            seen.add((got["status"], got["status_reason"].split(" (")[0]))
            return got["status_reason"] == "the Cluster is healthy and the pooler is serving"
        wait_for(rolled, 30, interval=0.05, what="storage rollout")
        self.assertEqual({s for s, _ in seen}, {"ready"}, seen)
        self.assertIn(("ready", "rolling out: 1 instance with 2Gi of storage each"), seen)
        self.assertEqual(self.cluster("growing")["spec"]["storage"]["size"], "2Gi")

        r = self.srv.patch(path, {"instances": 3}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        got = self.wait_rolled_out(path)
        self.assertEqual(got["instances"], 3)
        cluster = self.cluster("growing")
        self.assertEqual(cluster["spec"]["instances"], 3)
        self.assertEqual(cluster["status"]["readyInstances"], 3)
        self.assertIn("connection", got)

        # And back down to one.
        self.assertEqual(self.srv.patch(path, {"instances": 1}, team=TEAM).status, 200)
        self.assertEqual(self.wait_rolled_out(path)["instances"], 1)
        self.assertEqual(self.cluster("growing")["status"]["instances"], 1)

    def test_shrink_and_limits_are_400(self):
        path = self.ready_db("limited", storage_size="5Gi")
        r = self.srv.patch(path, {"storage_size": "2Gi"}, team=TEAM)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["errors"][0]["code"], "shrink")
        self.assertIn("can only grow", r.json["errors"][0]["message"])
        r = self.srv.patch(path, {"storage_size": "60Gi"}, team=TEAM)
        self.assertEqual(r.status, 400, r)
        self.assertIn("at most 50Gi", r.json["errors"][0]["message"])
        for bad in (0, 10, "3"):
            r = self.srv.patch(path, {"instances": bad}, team=TEAM)
            self.assertEqual(r.status, 400, (bad, r))
            self.assertEqual(r.json["errors"][0]["field"], "instances")
        self.assertEqual(self.srv.patch(path, {"storage_size": "lots"}, team=TEAM).status, 400)
        self.assertEqual(self.srv.patch(path, {"instances": 2}, team="intruders").status, 403)
        got = self.srv.get(path).json
        self.assertEqual((got["storage_size"], got["instances"]), ("5Gi", 1), "nothing changed")
        self.assertEqual(self.cluster("limited")["spec"]["storage"]["size"], "5Gi")
        # The same size is no change at all.
        r = self.srv.patch(path, {"storage_size": "5Gi"}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status_reason"], "the Cluster is healthy and the pooler is serving")

    def test_resize_needs_a_ready_database(self):
        self.sim.faults(never_ready="^daap-stuck")
        try:
            db = self.srv.create("stuck")
            r = self.srv.patch("/databases/" + db["id"], {"instances": 2}, team=TEAM)
            self.assertEqual(r.status, 409, r)
            self.assertIn("once it is ready", r.json["detail"])
        finally:
            self.sim.clear_faults()


if __name__ == "__main__":
    unittest.main()
