"""Two daap-server replicas on one PostgreSQL store reconciling one kubesim:
their compare-and-set transitions make every database converge once."""
import json
import os
import shutil
import subprocess
import threading
import time
import unittest
import urllib.parse

from daaptest import SERVER_BIN, Kubesim, OpenAPI, Server, wait_for, work_dir

PG_URI = os.environ.get("DAAP_TEST_PG_URI")
COUNT = 8


def with_database(uri, dbname):
    u = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


@unittest.skipUnless(PG_URI, "DAAP_TEST_PG_URI is not set (scripts/run-tests sets it)")
@unittest.skipUnless(SERVER_BIN and os.path.exists(SERVER_BIN), "daap-server not built")
class ReplicasTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = work_dir("daap-replicas-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.dbname = "daap_replicas_%d" % os.getpid()
        subprocess.run(["psql", PG_URI, "-qc", "DROP DATABASE IF EXISTS %s" % cls.dbname], check=True, capture_output=True)
        subprocess.run(["psql", PG_URI, "-qc", "CREATE DATABASE %s" % cls.dbname], check=True, capture_output=True)
        cls.addClassCleanup(subprocess.run, ["psql", PG_URI, "-qc", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % cls.dbname],
                            capture_output=True)
        cls.sim = Kubesim(os.path.join(cls.dir, "kubesim"), ready_delay=0.5)
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        store = with_database(PG_URI, cls.dbname)
        args = ["--resync-period", "500ms", "--threads", "2"]
        cls.openapi = OpenAPI()
        # The key is made first; then both start at once, so their --migrate
        # runs race and the library's advisory lock must serialise them.
        fd = os.open(os.path.join(cls.dir, "secret.key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32))
        os.close(fd)
        cls.a = Server(cls.dir, store, cls.sim.kubeconfig, args=args, name="a", openapi=cls.openapi).launch()
        cls.addClassCleanup(cls.a.stop_checked)
        cls.b = Server(cls.dir, store, cls.sim.kubeconfig, args=args, name="b", openapi=cls.openapi).launch()
        cls.addClassCleanup(cls.b.stop_checked)
        cls.a.wait_listening()
        cls.b.wait_listening()

    def test_every_database_converges_once(self):
        servers = (self.a, self.b)
        made = [servers[i % 2].create("replica-%d" % i, team="team-%d" % (i % 3)) for i in range(COUNT)]
        for i, db in enumerate(made):
            servers[(i + 1) % 2].wait_status(db["id"], "ready", timeout=30)
        self.assertEqual(self.sim.object_names("clusters"), sorted("daap-replica-%d" % i for i in range(COUNT)))
        self.assertEqual(len(self.sim.object_names("poolers")), COUNT)
        first = {d["id"]: (d["revision"], d["ready_at"], d["status"]) for d in self.a.list_all("name=replica-")}
        time.sleep(2.5)  # several resyncs and watch events on both replicas
        again_a = {d["id"]: (d["revision"], d["ready_at"], d["status"]) for d in self.a.list_all("name=replica-")}
        again_b = {d["id"]: (d["revision"], d["ready_at"], d["status"]) for d in self.b.list_all("name=replica-")}
        self.assertEqual(first, again_a, "a settled record was written again")
        self.assertEqual(again_a, again_b, "the replicas disagree")
        for rev, ready_at, status in first.values():
            self.assertEqual(status, "ready")
            self.assertIsNotNone(ready_at)
        # Credentials sealed by one replica open on the other.
        for db in made:
            ca = self.a.get("/databases/" + db["id"]).json["connection"]
            cb = self.b.get("/databases/" + db["id"]).json["connection"]
            self.assertEqual(ca, cb)

        for i, db in enumerate(made):
            r = servers[i % 2].delete("/databases/" + db["id"], team=db["owner_team"])
            self.assertIn(r.status, (202, 204), r)
        for i, db in enumerate(made):
            wait_for(lambda: servers[(i + 1) % 2].delete("/databases/" + db["id"], team=db["owner_team"]).status == 204,
                     30, interval=0.2, what="%s deleted" % db["name"])
        self.assertEqual(self.sim.object_names("clusters"), [])
        self.assertEqual(self.sim.object_names("poolers"), [])
        gone = [d for d in self.b.list_all("name=replica-&include_deleted=true")]
        self.assertEqual(sorted(d["status"] for d in gone), ["deleted"] * COUNT)
        for srv in servers:
            errors = [l for l in srv.log_lines() if l.get("level") == "error"]
            self.assertEqual(errors, [], srv.log_path)
            self.assertTrue(srv.alive())

    def test_one_key_on_both_replicas_makes_one_database(self):
        """The same Idempotency-Key sent to both replicas at once, many times
        over: exactly one database, and every other answer a replay of the
        first or a 409 while it is in flight."""
        rounds, senders = 10, 6
        for n in range(rounds):
            name = "idem-replica-%d" % n
            body = json.dumps({"name": name, "owner_team": "payments", "purpose": "tests"}).encode()
            headers = {"Idempotency-Key": '"replica-key-%d-%d"' % (os.getpid(), n)}
            start = threading.Barrier(senders)
            answers = [None] * senders

            def send(i):
                start.wait()
                answers[i] = (self.a, self.b)[i % 2].post("/databases", body, headers=headers)

            threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            made = [r for r in answers if r.status == 201 and r.header("Idempotent-Replayed") is None]
            self.assertEqual(len(made), 1, [(r.status, r.header("Idempotent-Replayed")) for r in answers])
            for r in answers:
                if r is made[0]:
                    continue
                if r.status == 201:
                    self.assertEqual(r.header("Idempotent-Replayed"), "true")
                    self.assertEqual(r.header("Location"), made[0].header("Location"))
                    self.assertEqual(r.raw, made[0].raw)
                else:
                    self.assertEqual(r.status, 409, r)
                    self.assertEqual(r.header("Retry-After"), "1")
            # Afterwards both replicas replay the one answer.
            for srv in (self.a, self.b):
                again = srv.post("/databases", body, headers=headers)
                self.assertEqual((again.status, again.header("Location")), (201, made[0].header("Location")))
            self.assertEqual([d["name"] for d in self.a.list_all("name=" + name)], [name])


if __name__ == "__main__":
    unittest.main(verbosity=2)
