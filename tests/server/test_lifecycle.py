"""`make test-integration`: the whole lifecycle over HTTP against kubesim with
real PostgreSQL and PgBouncer backing, in the order of issue 5 (1-9), then the
failure paths: a failing cluster, the provisioning deadline, and Kubernetes
down at create time."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from daaptest import ServerTestCase, wait_for

TEAM = "payments"


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


class LifecycleTest(ServerTestCase):
    backing = True
    ready_delay = 1.0
    server_args = ("--resync-period", "2s")

    @classmethod
    def setUpClass(cls):
        for tool in ("psql", "kubectl"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest("%s is not installed (scripts/install-deps)" % tool)
        super().setUpClass()

    def kubectl(self, *args):
        cache = tempfile.mkdtemp(prefix="kubectl-cache-", dir=self.dir)
        out = run(["kubectl", "--kubeconfig", self.sim.kubeconfig, "--cache-dir", cache, "-n", "daap"] + list(args))
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def pooler_of(self, name):
        status, body = self.sim.call("GET", "/kubesim/poolers")
        self.assertEqual(status, 200)
        return [p for p in body["items"] if p.get("name") == "daap-%s-pooler" % name][0]

    def test_lifecycle(self):
        # 1. create: 201 provisioning
        r = self.srv.post("/databases", {"name": "ledger", "owner_team": TEAM, "purpose": "the general ledger"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["status"], "provisioning")
        db_id = r.json["id"]
        path = r.header("Location")
        self.assertEqual(path, "/databases/" + db_id)

        # 2. ready, seen via GET
        ready = self.srv.wait_status(db_id, "ready", timeout=90)

        # 3. GET shows the connection
        conn = ready["connection"]
        for k in ("host", "port", "dbname", "user", "password", "uri", "sslmode"):
            self.assertIn(k, conn)

        # 4. psql with the returned URI runs a query through PgBouncer
        out = run(["psql", conn["uri"], "-XAtc", "select current_user || ':' || current_database() || ':' || 6*7"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "%s:%s:42" % (conn["user"], conn["dbname"]))
        bouncer = self.pooler_of("ledger")
        self.assertEqual((conn["host"], conn["port"]), (bouncer["host"], bouncer["port"]), "not the PgBouncer endpoint")
        self.assertEqual(bouncer["pool_mode"], "transaction")

        # 5. list filters and pagination across several pages
        others = [self.srv.create("ledger-%d" % i, team=TEAM if i % 2 else "audit") for i in range(4)]
        ids, cursor, pages = [], None, 0
        while True:
            page = self.srv.get("/databases?name=ledger&limit=2" + ("&cursor=" + cursor if cursor else "")).json
            pages += 1
            ids += [d["id"] for d in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(ids, [db_id] + [d["id"] for d in others])
        mine = self.srv.get("/databases?owner_team=%s&name=ledger" % TEAM).json["items"]
        self.assertEqual({d["name"] for d in mine}, {"ledger", "ledger-1", "ledger-3"})
        self.assertEqual(len(self.srv.get("/databases?status=ready&name=ledger&limit=100").json["items"]) >= 1, True)

        # 6. PATCH: 403 for the wrong team, 400 for an immutable field, 200 for a good update
        self.assertEqual(self.srv.patch(path, {"purpose": "mine now"}, team="audit").status, 403)
        bad = self.srv.patch(path, {"name": "renamed"}, team=TEAM)
        self.assertEqual(bad.status, 400)
        self.assertEqual(bad.json["errors"][0], {"field": "name", "code": "immutable",
                                                 "message": bad.json["errors"][0]["message"]})
        good = self.srv.patch(path, {"purpose": "ledger and journal"}, team=TEAM)
        self.assertEqual(good.status, 200, good)
        self.assertEqual(good.json["purpose"], "ledger and journal")
        self.assertEqual(good.json["status"], "ready")

        # 7. DELETE: 202 (kubesim keeps the objects a moment, as CNPG would)
        self.sim.faults(slow_delete_seconds=1.0)
        try:
            gone = self.srv.delete(path, team=TEAM)
        finally:
            self.sim.clear_faults()
        self.assertEqual(gone.status, 202, gone)
        self.assertEqual(gone.json["status"], "deleting")

        # 8. kubectl shows the Cluster and the Pooler gone
        def objects_gone():
            clusters = self.kubectl("get", "clusters.postgresql.cnpg.io", "-o", "name")
            poolers = self.kubectl("get", "poolers.postgresql.cnpg.io", "-o", "name")
            return "/daap-ledger\n" not in clusters + "\n" and "/daap-ledger-pooler\n" not in poolers + "\n"
        wait_for(objects_gone, 60, interval=0.5, what="kubectl to show daap-ledger gone")
        self.assertIn("daap-ledger-0", self.kubectl("get", "clusters.postgresql.cnpg.io", "-o", "name"))

        # 9. GET gives 404; the list excludes it, include_deleted shows it
        self.assertEqual(self.srv.get(path).status, 404)
        self.assertNotIn(db_id, [d["id"] for d in self.srv.list_all("name=ledger")])
        deleted = [d for d in self.srv.list_all("name=ledger&include_deleted=true") if d["id"] == db_id]
        self.assertEqual(len(deleted), 1)
        wait_for(lambda: self.srv.delete(path, team=TEAM).status == 204, 30, interval=0.5)
        self.assertEqual([d for d in self.srv.list_all("name=ledger&include_deleted=true")
                          if d["id"] == db_id][0]["status"], "deleted")
        self.assertNotIn(conn["password"], self.srv.log_text())


class FailurePathsTest(ServerTestCase):
    server_args = ("--resync-period", "500ms", "--provisioning-deadline", "3s")

    def test_failing_cluster_goes_to_error_and_recovers(self):
        self.sim.faults(fail_clusters="daap-doomed$")
        try:
            db = self.srv.create("doomed")
            failed = self.srv.wait_status(db["id"], "error", timeout=10)
        finally:
            self.sim.clear_faults()
        self.assertIn("unrecoverable", failed["status_reason"].lower())
        self.assertNotIn("connection", failed)
        # error -> ready when the Cluster becomes healthy again (DESIGN section 4)
        self.sim.mark_cluster("daap-doomed", "ready")
        self.srv.wait_status(db["id"], "ready", timeout=10)

    def test_provisioning_deadline(self):
        self.sim.faults(never_ready="daap-sluggish$")
        try:
            t0 = time.monotonic()
            db = self.srv.create("sluggish")
            failed = self.srv.wait_status(db["id"], "error", timeout=15)
        finally:
            self.sim.clear_faults()
        self.assertGreaterEqual(time.monotonic() - t0, 2.5, "error before the deadline")
        self.assertIn("deadline", failed["status_reason"].lower())


class KubeDownAtCreateTest(ServerTestCase):
    server_args = ("--resync-period", "500ms")

    def test_create_while_kubernetes_is_down(self):
        self.sim.stop()
        try:
            r = self.srv.post("/databases", {"name": "patient", "owner_team": "t", "purpose": "waits for k8s"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["status"], "provisioning")
            # A reconciler worker meets the outage and says so in the record.
            wait_for(lambda: "kubernetes" in self.srv.get("/databases/" + r.json["id"]).json["status_reason"].lower(),
                     10, interval=0.1, what="the reason to name Kubernetes")
            self.assertEqual(self.srv.get("/readyz").status, 503)
        finally:
            self.sim.start()
        ready = self.srv.wait_status(r.json["id"], "ready", timeout=30)
        self.assertIn("daap-patient", self.sim.object_names("clusters"))
        self.assertIsNotNone(ready["connection"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
