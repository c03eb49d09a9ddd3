"""Password rotation over HTTP (issue 13, docs/day2.md) against kubesim with a
real PostgreSQL and PgBouncer behind it: POST /databases/{id}/rotate-password,
then the old password stops working and the new one connects, through
PgBouncer and directly to PostgreSQL. GET never shows the pending password,
refusals are 409/403/404, and no password reaches the server's or kubesim's
logs. Every answer is checked against docs/openapi.json."""
import base64
import glob
import os
import shutil
import subprocess
import unittest

from daaptest import ServerTestCase, wait_for

TEAM = "payments"


def psql(host, port, user, password, dbname, sql="select current_user"):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5", PGSSLMODE="prefer")
    return subprocess.run(["psql", "-XAt", "-h", host, "-p", str(port), "-U", user, "-d", dbname, "-c", sql],
                          capture_output=True, text=True, timeout=60, env=env)


class RotatePasswordTest(ServerTestCase):
    backing = True
    ready_delay = 1.0
    server_args = ("--resync-period", "2s", "--log-level", "debug")

    @classmethod
    def setUpClass(cls):
        if shutil.which("psql") is None:
            raise unittest.SkipTest("psql is not installed (scripts/install-deps)")
        super().setUpClass()

    def ready(self, name):
        db = self.srv.create(name)
        return self.srv.wait_status(db["id"], "ready", timeout=90)

    def direct(self, db):
        """PostgreSQL itself: the -rw Service's published address (kubesim backing)."""
        status, svc = self.sim.call("GET", "/api/v1/namespaces/daap/services/%s-rw" % db["cluster_name"])
        self.assertEqual(status, 200, svc)
        return svc["status"]["loadBalancer"]["ingress"][0]["ip"], svc["spec"]["ports"][0]["port"]

    def rotate(self, db_id, team=TEAM):
        return self.srv.post("/databases/%s/rotate-password" % db_id, None, headers={"X-Daap-Team": team})

    def rotated(self, db_id, old_password, timeout=60):
        def done():
            got = self.srv.get("/databases/" + db_id).json
            reason = got["status_reason"] or ""
            return got if not reason.startswith("rotating password:") else None
        got = wait_for(done, timeout, interval=0.2, what="the rotation to finish")
        self.assertEqual(got["status"], "ready")
        self.assertNotEqual(got["connection"]["password"], old_password, "the rotation did not take: %s" % got)
        return got

    def assert_no_password_in_logs(self, *passwords):
        files = [self.srv.log_path] + glob.glob(os.path.join(self.sim.state, "*.log"))
        for path in files:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for pw in passwords:
                self.assertNotIn(pw, text, "a password is in %s" % path)

    def test_rotation_changes_the_password_everywhere(self):
        db = self.ready("rotating")
        path = "/databases/" + db["id"]
        conn = db["connection"]
        old = conn["password"]
        dhost, dport = self.direct(db)
        for host, port in ((conn["host"], conn["port"]), (dhost, dport)):
            r = psql(host, port, conn["user"], old, conn["dbname"])
            self.assertEqual(r.returncode, 0, r.stderr)

        r = self.rotate(db["id"])
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["status"], "ready")
        self.assertTrue(r.json["status_reason"].startswith("rotating password:"), r.json)
        self.assertNotIn("connection", r.json)
        self.assertNotIn("pending", r.raw.decode())
        during = self.srv.get(path)
        self.assertNotIn("pending", during.raw.decode())

        got = self.rotated(db["id"], old)
        new = got["connection"]["password"]
        self.assertEqual(len(new), 64)
        self.assertTrue(new.isalnum())
        self.assertEqual(got["status_reason"], "the Cluster is healthy and the pooler is serving")
        for host, port in ((conn["host"], conn["port"]), (dhost, dport)):   # PgBouncer, then PostgreSQL
            r = psql(host, port, conn["user"], new, conn["dbname"])
            self.assertEqual(r.returncode, 0, "new password at %s:%s: %s" % (host, port, r.stderr))
            self.assertEqual(r.stdout.strip(), conn["user"])
            r = psql(host, port, conn["user"], old, conn["dbname"])
            self.assertNotEqual(r.returncode, 0, "the old password still logs in at %s:%s" % (host, port))

        # the Secret has it, labelled for CNPG, and its URI agrees
        status, secret = self.sim.call("GET", "/api/v1/namespaces/daap/secrets/%s-app" % db["cluster_name"])
        self.assertEqual(status, 200)
        self.assertEqual(secret["metadata"]["labels"]["cnpg.io/reload"], "true")
        self.assertEqual(secret["type"], "kubernetes.io/basic-auth")
        self.assertEqual(base64.b64decode(secret["data"]["password"]).decode(), new)
        self.assertIn(new, base64.b64decode(secret["data"]["uri"]).decode())

        events = self.srv.get(path + "/events").json["items"]
        reasons = [e["reason"] for e in events]
        self.assertIn("PasswordRotated", reasons)
        self.assertIn("PasswordRotationStarted", reasons)
        for e in events:
            self.assertNotIn(new, e["message"])
            self.assertNotIn(old, e["message"])
        listed = self.srv.get("/databases?name=rotating").raw.decode()
        self.assertNotIn(new, listed)
        self.assertNotIn("pending", listed)
        self.assert_no_password_in_logs(old, new)

    def test_refusals(self):
        db = self.srv.create("rot-young")
        r = self.rotate(db["id"])        # still provisioning
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json["code"], "conflict")
        self.assertIn("once it is ready", r.json["detail"])
        ready = self.srv.wait_status(db["id"], "ready", timeout=90)

        self.assertEqual(self.rotate(db["id"], team="intruders").status, 403)
        self.assertEqual(self.rotate("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").status, 404)

        # a resize rolling out holds the database: one change at a time
        r = self.srv.patch("/databases/" + db["id"], {"instances": 2}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        r = self.rotate(db["id"])
        self.assertEqual(r.status, 409, r)
        self.assertIn("one change at a time", r.json["detail"])
        wait_for(lambda: not (self.srv.get("/databases/" + db["id"]).json["status_reason"] or "")
                 .startswith("rolling out"), 60, interval=0.2, what="the resize to finish")

        # Kubernetes refuses the Secret write for now: the rotation stays under way
        self.sim.faults(error_rate={"patch:secrets": 1.0}, error_codes=[503])
        try:
            r = self.rotate(db["id"])
            self.assertEqual(r.status, 202, r)
            second = self.rotate(db["id"])
            self.assertEqual(second.status, 409, second)
            self.assertIn("already rotating", second.json["detail"])
            p = self.srv.patch("/databases/" + db["id"], {"instances": 1}, team=TEAM)
            self.assertEqual(p.status, 409, p)
            self.assertIn("one change at a time", p.json["detail"])
            got = self.srv.get("/databases/" + db["id"]).json
            self.assertEqual(got["status"], "ready")
            self.assertTrue(got["status_reason"].startswith("rotating password:"), got)
            self.assertEqual(got["connection"]["password"], ready["connection"]["password"],
                             "the record keeps the old password until a login with the new one works")
        finally:
            self.sim.clear_faults()
        self.rotated(db["id"], ready["connection"]["password"])

    def test_idempotency_key_replays_the_rotation(self):
        db = self.ready("rot-keyed")
        h = {"X-Daap-Team": TEAM, "Idempotency-Key": '"rotate-rot-keyed-1"'}
        first = self.srv.post("/databases/%s/rotate-password" % db["id"], None, headers=h)
        self.assertEqual(first.status, 202, first)
        again = self.srv.post("/databases/%s/rotate-password" % db["id"], None, headers=h)
        self.assertEqual(again.status, 202, again)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.json["revision"], first.json["revision"], "a replay rotates nothing")
        got = self.rotated(db["id"], db["connection"]["password"])
        self.assert_no_password_in_logs(db["connection"]["password"], got["connection"]["password"])


if __name__ == "__main__":
    unittest.main()
