"""Every fault switch of kubesim, and the admin endpoint (stats, faults, runtime cluster control)."""
import time
import unittest

from ksim import CNPG, Sim, cluster, cluster_ready, phase, wait_for

NS = "daap"
CL = CNPG + "/namespaces/daap/clusters"
HEALTHY = "Cluster in healthy state"
SETUP = "Setting up primary"
FAILED = "Cluster is unrecoverable and needs manual intervention"


class FaultTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--ready-delay", "0.4", "--pooler-delay", "0.1").start()
        cls.c = cls.sim.client()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.sim.stop()

    def setUp(self):
        r = self.sim.admin("DELETE", "faults")
        self.assertEqual(r.status, 200)

    def faults(self, **kw):
        r = self.sim.admin("POST", "faults", kw)
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_faults_document(self):
        d = self.sim.admin("GET", "faults").json
        for k in ("latency_ms", "error_rate", "error_codes", "retry_after_seconds", "error_next", "watch_drop_seconds",
                  "watch_410_on_resume", "never_ready", "fail_clusters", "slow_delete_seconds"):
            self.assertIn(k, d)
        self.assertEqual(self.sim.admin("POST", "faults", {"bogus": 1}).status, 400)
        self.assertEqual(self.sim.admin("POST", "faults", {"error_rate": {"fly": 0.5}}).status, 400)
        self.assertEqual(self.sim.admin("POST", "faults", {"error_codes": [404]}).status, 400)
        self.assertEqual(self.sim.admin("POST", "faults", {"fail_clusters": "("}).status, 400)
        # POST merges, PUT replaces
        self.faults(latency_ms=5)
        self.faults(slow_delete_seconds=2)
        d = self.sim.admin("GET", "faults").json
        self.assertEqual((d["latency_ms"], d["slow_delete_seconds"]), (5, 2))
        d = self.sim.admin("PUT", "faults", {"slow_delete_seconds": 1}).json
        self.assertEqual((d["latency_ms"], d["slow_delete_seconds"]), (0, 1))

    def test_latency(self):
        t0 = time.time()
        self.c.get(CL)
        fast = time.time() - t0
        self.faults(latency_ms=300)
        t0 = time.time()
        self.assertEqual(self.c.get(CL).status, 200)
        slow = time.time() - t0
        self.assertGreaterEqual(slow, 0.3)
        self.assertLess(fast, 0.3)
        self.faults(latency_ms=0, latency_ms_by_verb={"create": 250})
        t0 = time.time()
        self.c.get(CL)
        self.assertLess(time.time() - t0, 0.25)
        t0 = time.time()
        self.assertEqual(self.c.post(CL, cluster("lat-a")).status, 201)
        self.assertGreaterEqual(time.time() - t0, 0.25)

    def test_error_rate_per_verb_and_codes(self):
        for code, reason in ((503, "ServiceUnavailable"), (429, "TooManyRequests"), (500, "InternalError")):
            self.faults(error_rate={"create": 1.0}, error_codes=[code], retry_after_seconds=2)
            r = self.c.post(CL, cluster("err-a"))
            self.assertEqual((r.status, r.json["reason"], r.json["code"]), (code, reason, code))
            self.assertEqual(r.headers.getheader("Retry-After"), "2")
            self.assertEqual(r.json["details"]["retryAfterSeconds"], 2)
            self.assertEqual(self.c.get(CL).status, 200, "other verbs are not affected")
        self.assertEqual(self.c.get(CL + "/err-a").status, 404, "a failed create must not persist anything")
        # per resource
        self.faults(error_rate={"get:secrets": 1.0}, error_codes=[503])
        self.assertEqual(self.c.get("/api/v1/namespaces/daap/secrets/x").status, 503)
        self.assertEqual(self.c.get(CL + "/x").status, 404)
        # a fraction
        self.faults(error_rate={"list": 0.5}, error_codes=[500, 503, 429])
        codes = [self.c.get(CL).status for _ in range(200)]
        bad = [c for c in codes if c != 200]
        self.assertTrue(50 <= len(bad) <= 150, len(bad))
        self.assertEqual(set(bad), {500, 503, 429})
        st = self.sim.admin("GET", "stats").json
        self.assertGreater(st["injected"].get("error_503", 0), 0)

    def test_error_next(self):
        self.faults(error_next={"get": 2}, error_codes=[429])
        self.assertEqual([self.c.get(CL + "/nope").status for _ in range(3)], [429, 429, 404])

    def test_watch_drop(self):
        rv = self.c.get(CL).json["metadata"]["resourceVersion"]
        self.faults(watch_drop_seconds=1, watch_drop_mode="close")
        t0 = time.time()
        w = self.c.watch(CL + "?watch=true&resourceVersion=" + rv)
        while w.next(5) is not None:
            pass
        dt = time.time() - t0
        self.assertTrue(w.eof)
        self.assertIsNotNone(w.error, "close mode must cut the connection without ending the chunked body")
        self.assertTrue(0.9 <= dt < 3, dt)
        w.close()
        self.faults(watch_drop_mode="end")
        w = self.c.watch(CL + "?watch=true&resourceVersion=" + rv)
        while w.next(5) is not None:
            pass
        self.assertTrue(w.eof)
        self.assertIsNone(w.error, "end mode must end the stream cleanly")
        w.close()
        self.faults(watch_drop_seconds=0)
        w = self.c.watch(CL + "?watch=true&fieldSelector=metadata.name%3Dnobody&resourceVersion=" + rv)
        self.assertIsNone(w.next(2.5))
        self.assertFalse(w.eof, "without the fault a watch stays open")
        w.close()
        self.assertGreaterEqual(self.sim.admin("GET", "stats").json["injected"]["watch_drop"], 2)

    def test_watch_410_on_resume(self):
        rv = self.c.get(CL).json["metadata"]["resourceVersion"]
        self.faults(watch_410_on_resume=True)
        w = self.c.watch(CL + "?watch=true&resourceVersion=" + rv)
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["code"], ev["object"]["reason"]), ("ERROR", 410, "Expired"))
        w.close()
        self.assertEqual(self.c.post(CL, cluster("w410")).status, 201)
        w = self.c.watch(CL + "?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Dw410")
        ev = w.next()
        self.assertEqual(ev["type"], "ADDED", "a watch without a resourceVersion is not a resume")
        w.close()
        self.faults(watch_410_mode="http")
        w = self.c.watch(CL + "?watch=true&resourceVersion=" + rv)
        self.assertEqual(w.status, 410)
        w.close()
        self.faults(watch_410_on_resume=False)
        w = self.c.watch(CL + "?watch=true&resourceVersion=" + rv)
        ev = w.next()
        self.assertEqual(ev["type"], "ADDED")

    def test_never_ready(self):
        self.faults(never_ready=True)
        self.assertEqual(self.c.post(CL, cluster("nr-all")).status, 201)
        time.sleep(1.0)
        self.assertEqual(phase(self.c, NS, "nr-all"), SETUP)
        self.assertFalse(cluster_ready(self.c, NS, "nr-all"))
        self.assertEqual(self.c.get("/api/v1/namespaces/daap/secrets/nr-all-app").status, 200,
                         "CNPG creates the -app Secret before the cluster is ready")
        self.faults(never_ready="^nr-x")
        self.assertEqual(self.c.post(CL, cluster("nr-x1")).status, 201)
        self.assertEqual(self.c.post(CL, cluster("nr-y1")).status, 201)
        wait_for(lambda: cluster_ready(self.c, NS, "nr-y1"), msg="non-matching cluster ready")
        wait_for(lambda: cluster_ready(self.c, NS, "nr-all"), msg="nr-all ready once the regex excludes it")
        self.assertEqual(phase(self.c, NS, "nr-x1"), SETUP)
        self.faults(never_ready=False)
        wait_for(lambda: cluster_ready(self.c, NS, "nr-x1"), msg="ready after the fault is lifted")

    def test_fail_clusters(self):
        self.faults(fail_clusters="^fc-")
        self.assertEqual(self.c.post(CL, cluster("fc-a")).status, 201)
        self.assertEqual(self.c.post(CL, cluster("ok-fc")).status, 201)
        wait_for(lambda: phase(self.c, NS, "fc-a") == FAILED, msg="failed phase")
        st = self.c.get(CL + "/fc-a").json["status"]
        self.assertEqual([c["status"] for c in st["conditions"] if c["type"] == "Ready"], ["False"])
        self.assertIn("initdb", st["phaseReason"])
        wait_for(lambda: cluster_ready(self.c, NS, "ok-fc"))
        self.assertEqual(phase(self.c, NS, "fc-a"), FAILED)
        # a cluster that was Ready before the fault matches it stays Ready
        self.faults(fail_clusters="fc", never_ready=True)
        time.sleep(0.3)
        self.assertTrue(cluster_ready(self.c, NS, "ok-fc"))
        self.assertEqual(phase(self.c, NS, "fc-a"), FAILED)

    def test_slow_delete(self):
        self.assertEqual(self.c.post(CL, cluster("sd-a")).status, 201)
        self.faults(slow_delete_seconds=1.5)
        rv = self.c.get(CL).json["metadata"]["resourceVersion"]
        w = self.c.watch(CL + "?watch=true&fieldSelector=metadata.name%3Dsd-a&resourceVersion=" + rv)
        t0 = time.time()
        r = self.c.delete(CL + "/sd-a")
        self.assertEqual(r.status, 202)
        self.assertIn("deletionTimestamp", r.json["metadata"])
        time.sleep(0.5)
        self.assertEqual(self.c.get(CL + "/sd-a").status, 200)
        ev, _ = w.until(lambda e: e["type"] == "DELETED", timeout=5)
        self.assertIsNotNone(ev)
        self.assertGreaterEqual(time.time() - t0, 1.4)
        self.assertEqual(self.c.get(CL + "/sd-a").status, 404)
        w.close()

    def test_runtime_cluster_marks(self):
        self.assertEqual(self.c.post(CL, cluster("mark-a")).status, 201)
        wait_for(lambda: cluster_ready(self.c, NS, "mark-a"))
        self.assertEqual(self.sim.admin("POST", "clusters/daap/mark-a/fail").status, 200)
        wait_for(lambda: phase(self.c, NS, "mark-a") == FAILED, msg="marked failed")
        self.assertEqual(self.sim.admin("POST", "clusters/daap/mark-a/stuck").status, 200)
        wait_for(lambda: phase(self.c, NS, "mark-a") == SETUP, msg="marked stuck")
        time.sleep(0.6)
        self.assertEqual(phase(self.c, NS, "mark-a"), SETUP)
        self.assertEqual(self.sim.admin("POST", "clusters/daap/mark-a/reset").status, 200)
        wait_for(lambda: cluster_ready(self.c, NS, "mark-a"), msg="ready after reset")
        self.faults(never_ready=True)
        self.assertEqual(self.c.post(CL, cluster("mark-b")).status, 201)
        self.assertEqual(self.sim.admin("POST", "clusters/daap/mark-b/ready").status, 200)
        wait_for(lambda: cluster_ready(self.c, NS, "mark-b"), msg="forced ready despite never_ready")
        self.assertEqual(self.sim.admin("POST", "clusters/daap/nobody/fail").status, 404)
        self.assertEqual(self.sim.admin("POST", "clusters/daap/mark-b/explode").status, 400)

    def test_stats(self):
        self.assertEqual(self.sim.admin("POST", "reset-stats").status, 200)
        for _ in range(3):
            self.c.get(CL + "/x")
        self.c.get(CL)
        self.c.post("/api/v1/namespaces/daap/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                        "metadata": {"name": "stat-s"}})
        st = self.sim.admin("GET", "stats").json
        self.assertEqual(st["by_resource"]["clusters"], {"get": 3, "list": 1})
        self.assertEqual(st["by_resource"]["secrets"], {"create": 1})
        self.assertEqual(st["total"], 5)
        self.assertEqual(st["by_code"], {"404": 3, "200": 1, "201": 1})
        self.assertIn("clusters", st["objects"])
        self.assertEqual(self.sim.admin("POST", "reset-stats").status, 200)
        self.assertEqual(self.sim.admin("GET", "stats").json["total"], 0)
        w = self.c.watch(CL + "?watch=true&fieldSelector=metadata.name%3Dnobody")
        st = wait_for(lambda: self.sim.admin("GET", "stats").json["watches_active"] == 1 and
                      self.sim.admin("GET", "stats").json, msg="open watch visible")
        self.assertEqual(st["by_resource"]["clusters"], {"watch": 1}, "an open watch is counted when it starts")
        w.close()
        wait_for(lambda: self.sim.admin("GET", "stats").json["watches_active"] == 0, msg="watch closed")
        self.assertEqual(self.sim.admin("GET", "stats").json["by_verb"], {"watch": 1})
        # namespaced resources cannot be created through the all-namespaces path
        self.assertEqual(self.c.post(CNPG + "/clusters", cluster("nowhere")).status, 405)


class FaultFlagTests(unittest.TestCase):
    def test_flags_at_start(self):
        sim = Sim("--ready-delay", "0.2", "--latency-ms", "200", "--error-rate", "create=1", "--error-codes", "429",
                  "--retry-after", "3", "--never-ready", "^stuck-", "--fail-clusters", "^bad-",
                  "--watch-drop-seconds", "7", "--watch-410-on-resume", "--slow-delete-seconds", "0.5").start()
        try:
            d = sim.admin("GET", "faults").json
            self.assertEqual((d["latency_ms"], d["error_rate"], d["error_codes"], d["retry_after_seconds"],
                              d["never_ready"], d["fail_clusters"], d["watch_drop_seconds"], d["watch_410_on_resume"],
                              d["slow_delete_seconds"]),
                             (200, {"create": 1.0}, [429], 3, "^stuck-", "^bad-", 7, True, 0.5))
            c = sim.client()
            t0 = time.time()
            r = c.post(CL, cluster("x"))
            self.assertEqual((r.status, r.headers.getheader("Retry-After")), (429, "3"))
            self.assertGreaterEqual(time.time() - t0, 0.2)
            c.close()
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main()
