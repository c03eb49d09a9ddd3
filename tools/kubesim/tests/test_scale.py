"""--no-backing at scale: 10,000 clusters, selective queries stay cheap, watch history is bounded."""
import os
import threading
import time
import unittest

from ksim import CNPG, Sim, cluster

N = int(os.environ.get("KUBESIM_TEST_SCALE", "10000"))
CL = CNPG + "/namespaces/daap/clusters"
HEALTHY = "Cluster in healthy state"


class ScaleTests(unittest.TestCase):
    def test_ten_thousand_clusters(self):
        sim = Sim("--ready-delay", "1").start()
        try:
            c = sim.client()
            rv0 = c.get(CL).json["metadata"]["resourceVersion"]
            w = c.watch(CL + "?watch=true&labelSelector=app.kubernetes.io/managed-by%3Ddaap&resourceVersion=" + rv0,
                        timeout=120)
            healthy = set()
            done = threading.Event()

            def count():
                while not done.is_set():
                    ev = w.next(timeout=5)
                    if ev is None:
                        if w.eof:
                            return
                        continue
                    if (ev["object"].get("status") or {}).get("phase") == HEALTHY:
                        healthy.add(ev["object"]["metadata"]["name"])
                        if len(healthy) == N:
                            return
            counter = threading.Thread(target=count, daemon=True)
            counter.start()
            errors = []
            t0 = time.time()

            def create(k, step):
                cc = sim.client()
                for i in range(k, N, step):
                    r = cc.post(CL, cluster("s%05d" % i, {"app.kubernetes.io/managed-by": "daap",
                                                           "daap.dev/database-id": str(i)}))
                    if r.status != 201:
                        errors.append(r)
                cc.close()
            ths = [threading.Thread(target=create, args=(k, 8)) for k in range(8)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            t_create = time.time() - t0
            self.assertEqual(errors, [])
            counter.join(timeout=180)
            done.set()
            t_ready = time.time() - t0
            self.assertEqual(len(healthy), N, "clusters seen healthy through the watch")
            w.close()
            st = sim.admin("GET", "stats").json
            self.assertEqual(st["objects"]["clusters"], N)
            self.assertEqual(st["objects"]["secrets"], N)
            self.assertEqual(st["objects"]["services"], 3 * N)
            # selective requests find exactly their object among N
            t = time.time()
            for i in (7, 4242, N - 1):
                r = c.get(CL + "?labelSelector=daap.dev/database-id%%3D%d" % i)
                self.assertEqual([o["metadata"]["name"] for o in r.json["items"]], ["s%05d" % i])
                r = c.get("/api/v1/namespaces/daap/secrets/s%05d-app" % i)
                self.assertEqual(r.status, 200)
                r = c.get(CNPG + "/clusters?fieldSelector=metadata.name%%3Ds%05d" % i)
                self.assertEqual(len(r.json["items"]), 1)
            t_small = (time.time() - t) / 9     # printed only: bench/kubesim-load measures speed
            t = time.time()
            r = c.get(CNPG + "/clusters?labelSelector=app.kubernetes.io/managed-by%3Ddaap")
            t_full = time.time() - t
            self.assertEqual(len(r.json["items"]), N)
            r = c.get(CL + "?limit=500")
            self.assertEqual(len(r.json["items"]), 500)
            self.assertTrue(r.json["metadata"]["continue"])
            print("\n    scale: %d clusters created in %.1fs, all healthy after %.1fs, selective request %.1f ms, "
                  "full list %.2fs" % (N, t_create, t_ready, t_small * 1000, t_full))
            c.close()
        finally:
            sim.stop()

    def test_watch_history_is_bounded(self):
        sim = Sim("--watch-history", "1000").start()
        try:
            c = sim.client()
            path = "/api/v1/namespaces/daap/secrets"
            rv0 = c.get(path).json["metadata"]["resourceVersion"]
            for i in range(1400):
                self.assertEqual(c.post(path, {"apiVersion": "v1", "kind": "Secret",
                                               "metadata": {"name": "h%04d" % i}}).status, 201)
            w = c.watch(path + "?watch=true&resourceVersion=" + rv0)
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["code"], ev["object"]["reason"]), ("ERROR", 410, "Expired"))
            w.close()
            rv = c.get(path).json["metadata"]["resourceVersion"]
            w = c.watch(path + "?watch=true&resourceVersion=" + rv)
            c.post(path, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fresh"}})
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "fresh"))
            w.close()
            c.close()
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main()
