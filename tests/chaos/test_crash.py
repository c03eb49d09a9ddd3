"""Crash: during a storm of creates and deletes, daap-server is killed with
SIGKILL at random moments and started again each time (same port, same
SQLite store). Afterwards every create answered 201 ends ready, every delete
answered 202/204 ends deleted, there are zero orphans both ways (kubectl and
the API), and no Cluster or Pooler was created twice.

The storm runs until the last kill (at most CHAOS_CREATES creates, and
about half as many deletes), 3 clients at a few requests per second each;
kubesim adds 50 ms to every request, so most kills land while a create or
delete is half done (a record written, its Cluster made, its Pooler not).

Sizes: CHAOS_KILLS (CI 5; the issue's size 20), CHAOS_SETTLE_S."""
import random
import time
import unittest

import chaoslib as C

KILLS = C.env_int("CHAOS_KILLS", 5)
CREATES = C.env_int("CHAOS_CREATES", 1000)
DELETES = C.env_int("CHAOS_DELETES", CREATES // 2)
SETTLE_S = C.env_int("CHAOS_SETTLE_S", 120)
RESYNC = C.env_int("CHAOS_RESYNC_S", 5)


class Crash(C.Cleanup):
    def setUp(self):
        C.skip_unless_built()
        self.dir = self.make_dir("daap-chaos-crash-")
        self.sim = self.start_kubesim(self.dir, ready_delay=1.0, pooler_delay=0.5)
        self.srv = self.start_server(self.dir, "sqlite://%s/daap.db" % self.dir, self.sim,
                                     args=["--resync-period", "%ds" % RESYNC])

    def test_sigkill_during_storm(self):
        results = self.scenario_results(self.sim)
        counter = C.CreationCounter(self.sim)
        self.addCleanup(counter.stop)
        rng = random.Random(20)
        self.sim.faults(latency_ms=50)
        storm = C.Storm(self.srv, "crash", CREATES, DELETES, threads=3, seed=21, pace=0.1)
        clients = storm.run()
        kills = 0
        down_s = []
        while kills < KILLS and any(t.is_alive() for t in clients):
            time.sleep(rng.uniform(0.3, 2.5))
            self.srv.kill()
            kills += 1
            results.add_faults("SIGKILL")
            t0 = time.monotonic()
            time.sleep(rng.uniform(0.0, 0.5))
            self.srv.start()
            results.record(kills_survived=kills)
            down_s.append(time.monotonic() - t0)
        time.sleep(1.0)
        storm.stop_ev.set()
        storm.join(clients, timeout=60)
        C.say("killed %d times (down %.1f s on average); storm: %s" % (kills, sum(down_s) / max(1, len(down_s)),
                                                                        storm.summary()))
        self.sim.clear_faults()
        self.assertEqual(kills, KILLS, "the storm ended before every kill; raise CHAOS_CREATES")
        summary = C.final_state(self.srv, self.sim, storm.created, storm.deleted, timeout=SETTLE_S,
                                maybe_deleted=storm.maybe_deleted, results=results)
        C.say("settled: %s (%d deletes without an answer)" % (summary, len(storm.maybe_deleted)))
        self.assertGreater(len(storm.created), 5 * KILLS, storm.summary())
        results.record(duplicates=counter.duplicate_count())
        self.assertEqual(counter.duplicates(), {"clusters": {}, "poolers": {}}, "an object was created twice")
        self.assertEqual(self.sim.successful_creates("clusters"), len(counter.added["clusters"]))
        # Names stay unique among live records: one record, one Cluster.
        live = self.srv.list_all()
        self.assertEqual(len({d["name"] for d in live}), len(live))
        self.srv.stop_checked()
        results.passed()


if __name__ == "__main__":
    unittest.main()
