"""Two replicas: two daap-servers share one PostgreSQL store (a database of
their own in DAAP_TEST_PG_URI, which scripts/run-tests provides) and one
kubesim, under a storm of creates and deletes sent to both, with injected
Kubernetes errors and watch drops. Every database converges once: each
Cluster and Pooler is created at most once, and every live database has
both (a watch counts every ADDED event, and kubesim's access log counts its
201s), every record ends ready or deleted with zero orphans, and a settled
record is not written again.

Sizes: CHAOS_CREATES (default 40), CHAOS_DELETES (default 15)."""
import os
import time
import unittest

import chaoslib as C

PG_URI = os.environ.get("DAAP_TEST_PG_URI")
CREATES = C.env_int("CHAOS_CREATES", 40)
DELETES = C.env_int("CHAOS_DELETES", 15)
SETTLE_S = C.env_int("CHAOS_SETTLE_S", 120)


class Both:
    """Requests go to either replica (round robin), as behind a load balancer."""

    def __init__(self, servers):
        self.servers = servers
        self.n = 0

    def try_request(self, *a, **kw):
        self.n += 1
        return self.servers[self.n % len(self.servers)].try_request(*a, **kw)

    def request(self, *a, **kw):
        self.n += 1
        return self.servers[self.n % len(self.servers)].request(*a, **kw)

    def list_all(self, query=""):
        return self.servers[0].list_all(query)


@unittest.skipUnless(PG_URI, "DAAP_TEST_PG_URI is not set (scripts/run-tests sets it)")
class TwoReplicas(C.Cleanup):
    def setUp(self):
        C.skip_unless_built()
        self.dir = self.make_dir("daap-chaos-replicas-")
        dbname = "daap_chaos_replicas_%d" % os.getpid()
        C.psql(PG_URI, "DROP DATABASE IF EXISTS %s" % dbname)
        C.psql(PG_URI, "CREATE DATABASE %s" % dbname)
        self.addCleanup(C.psql, PG_URI, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % dbname)
        store = C.with_database(PG_URI, dbname)
        self.sim = self.start_kubesim(self.dir, ready_delay=0.5, pooler_delay=0.3)
        key = os.path.join(self.dir, "secret.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
        args = ["--resync-period", "3s", "--threads", "2"]
        self.a = C.Server(self.dir, store, self.sim.kubeconfig, args=args, name="a", key=key)
        self.addCleanup(self.a.kill)
        self.b = C.Server(self.dir, store, self.sim.kubeconfig, args=args, name="b", key=key)
        self.addCleanup(self.b.kill)
        self.a.start()
        self.b.start()

    def test_storm_on_two_replicas(self):
        results = self.scenario_results(self.sim)
        counter = C.CreationCounter(self.sim)
        self.addCleanup(counter.stop)
        self.sim.faults(error_rate={"*": 0.1}, error_codes=[503, 429], retry_after_seconds=1, watch_drop_seconds=4)
        both = Both([self.a, self.b])
        storm = C.Storm(both, "twin", CREATES, DELETES, threads=8, seed=3)
        storm.join(storm.run(), timeout=60 + CREATES * 2)
        C.say("storm done: %s" % storm.summary())
        self.assertEqual(len(storm.created), CREATES, storm.summary())
        time.sleep(5)
        self.sim.clear_faults()
        summary = C.final_state(self.a, self.sim, storm.created, storm.deleted, timeout=SETTLE_S,
                                results=results)
        results.record(duplicates=counter.duplicate_count())
        C.final_state(self.b, self.sim, storm.created, storm.deleted, timeout=30)
        C.say("settled: %s" % summary)
        self.assertEqual(counter.duplicates(), {"clusters": {}, "poolers": {}}, "double provisioning")
        # Creates answer before their objects exist (docs/adr/0002), so a
        # database deleted at once may never have had any: every survivor has
        # its objects, and no object was made twice.
        live = self.a.list_all()
        self.assertEqual(len(live), CREATES - len(storm.deleted))
        for plural, field in (("clusters", "cluster_name"), ("poolers", "pooler_name")):
            missing = {d[field] for d in live} - set(counter.added[plural])
            self.assertEqual(missing, set(), "live databases without their %s" % plural)
            self.assertLessEqual(len(counter.added[plural]), CREATES)
            self.assertEqual(self.sim.successful_creates(plural), len(counter.added[plural]),
                             "a %s was created more than once" % plural[:-1])
        # Settled records are not written again by either replica.
        first = {d["id"]: (d["revision"], d["ready_at"]) for d in self.a.list_all()}
        time.sleep(7)  # two resyncs on each replica
        again = {d["id"]: (d["revision"], d["ready_at"]) for d in self.b.list_all()}
        self.assertEqual(first, again, "a settled record was written again")
        self.a.stop_checked()
        self.b.stop_checked()
        results.passed()


if __name__ == "__main__":
    unittest.main()
