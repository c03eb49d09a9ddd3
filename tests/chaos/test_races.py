"""Races. 50 concurrent POSTs of one name give exactly one 201 and 49 409s,
and one Cluster. Concurrent PATCHes and a DELETE on one record end
consistently: the delete wins for good (no PATCH brings the record back),
every PATCH is 200, 404 or 409, the deleted record keeps a purpose that one
answered PATCH (or the create) set, and no objects are left.

Sizes: CHAOS_RACERS (default 50), CHAOS_RACE_ROUNDS (PATCH/DELETE rounds,
default 5)."""
import threading
import unittest

import chaoslib as C

RACERS = C.env_int("CHAOS_RACERS", 50)
ROUNDS = C.env_int("CHAOS_RACE_ROUNDS", 5)


def race(n, fn):
    """Run fn(i) on n threads released at once; returns the results in order."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        barrier.wait()
        out[i] = fn(i)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return out


class Races(C.Cleanup):
    @classmethod
    def setUpClass(cls):
        C.skip_unless_built()

    def setUp(self):
        self.dir = self.make_dir("daap-chaos-races-")
        self.sim = self.start_kubesim(self.dir, ready_delay=0.3, pooler_delay=0.2)
        self.srv = self.start_server(self.dir, "sqlite://%s/daap.db" % self.dir, self.sim,
                                     args=["--resync-period", "5s"])

    def test_same_name_once(self):
        results = self.scenario_results(self.sim)
        body = {"name": "contended", "owner_team": "racers", "purpose": "one of fifty"}
        res = race(RACERS, lambda i: self.srv.request("POST", "/databases", dict(body, purpose="racer %d" % i)))
        codes = sorted(st for st, _ in res)
        self.assertEqual(codes.count(201), 1, codes)
        self.assertEqual(codes.count(409), RACERS - 1, codes)
        winner = next(b for st, b in res if st == 201)
        for st, b in res:
            if st == 409:
                self.assertEqual(b.get("code"), "already_exists", b)
        live = [d for d in self.srv.list_all() if d["name"] == "contended"]
        self.assertEqual([d["id"] for d in live], [winner["id"]])
        C.wait_for(lambda: self.srv.request("GET", "/databases/" + winner["id"])[1]["status"] == "ready", 30)
        clusters = self.sim.daap_objects("clusters.postgresql.cnpg.io")
        results.record(acked_creates=codes.count(201), duplicates=self.sim.successful_creates("clusters") - 1,
                       orphans=len(set(clusters) - {"daap-contended"}))
        self.assertEqual(clusters, {"daap-contended": winner["id"]})
        self.assertEqual(self.sim.successful_creates("clusters"), 1)
        self.srv.stop_checked()
        results.passed()

    def test_patch_and_delete(self):
        results = self.scenario_results(self.sim)
        results.record(acked_deletes=0, lost_acked_writes=0)
        for rnd in range(ROUNDS):
            st, db = self.srv.request("POST", "/databases", {"name": "pd-%d" % rnd, "owner_team": "racers",
                                                              "purpose": "original"})
            self.assertEqual(st, 201, db)
            if rnd % 2 == 0:  # half the rounds race a ready record, half a provisioning one
                C.wait_for(lambda: self.srv.request("GET", "/databases/" + db["id"])[1]["status"] == "ready", 30)
            path = "/databases/" + db["id"]

            def act(i):
                if i == 5:
                    return ("delete", None) + self.srv.request("DELETE", path, team="racers")
                purpose = "patch %d" % i
                return ("patch", purpose) + self.srv.request("PATCH", path, {"purpose": purpose}, team="racers")

            res = race(10, act)
            deletes = [r for r in res if r[0] == "delete"]
            self.assertIn(deletes[0][2], (202, 204), deletes)
            results.record(acked_deletes=results.figures["acked_deletes"] + 1)
            ok_purposes = {"original"}
            for kind, purpose, st, body in res:
                if kind == "patch":
                    self.assertIn(st, (200, 404, 409), (purpose, st, body))
                    if st == 200:
                        ok_purposes.add(purpose)
                        self.assertEqual(body["purpose"], purpose)
            # The delete wins for good.
            C.wait_for(lambda: self.srv.request("GET", path)[0] == 404 and
                       [d for d in self.srv.list_all("include_deleted=true&name=pd-%d" % rnd)
                        if d["status"] == "deleted"], 30, what="pd-%d deleted" % rnd)
            st, body = self.srv.request("PATCH", path, {"purpose": "too late"}, team="racers")
            self.assertEqual(st, 404, body)
            final = [d for d in self.srv.list_all("include_deleted=true&name=pd-%d" % rnd)]
            self.assertEqual(len(final), 1, final)
            self.assertEqual(final[0]["status"], "deleted")
            if final[0]["purpose"] not in ok_purposes:     # a PATCH that was never answered 200 won
                results.record(lost_acked_writes=results.figures["lost_acked_writes"] + 1)
            self.assertIn(final[0]["purpose"], ok_purposes, (final[0], ok_purposes))
            C.wait_for(lambda: "daap-pd-%d" % rnd not in self.sim.daap_objects("clusters.postgresql.cnpg.io") and
                       "daap-pd-%d-pooler" % rnd not in self.sim.daap_objects("poolers.postgresql.cnpg.io"), 30,
                       what="objects of pd-%d gone" % rnd)
        results.record(orphans=0)
        self.srv.stop_checked()
        results.passed()


if __name__ == "__main__":
    unittest.main()
