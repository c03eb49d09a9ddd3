"""Storage trouble. PostgreSQL stopped under load (a pgtmp server of the
test's own, stopped and started again on the same port): requests that need
the store fail fast with 503, the server stays up and healthy, and
everything recovers by itself once PostgreSQL is back. SQLite under busy
contention (another process holding the write lock): writes wait out a short
lock, answer 503 after the busy timeout for a long one, reads keep working,
and writes succeed again as soon as the lock goes.

Sizes: CHAOS_PG_OUTAGE_S (default 6), CHAOS_LOCK_S (default 8)."""
import os
import subprocess
import sys
import threading
import time
import unittest

import chaoslib as C

OUTAGE_S = C.env_int("CHAOS_PG_OUTAGE_S", 6)
LOCK_S = C.env_int("CHAOS_LOCK_S", 8)
FAIL_FAST_S = 2.0


class Load:
    """Client threads doing GET, list and POST in a loop, recording
    (time, kind, status, seconds) of every answer."""

    def __init__(self, srv, ids, threads=4, prefix="load"):
        self.srv, self.ids, self.prefix = srv, ids, prefix
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.log = []
        self.created = {}
        self.n = 0
        self.ts = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]
        for t in self.ts:
            t.start()

    def run(self, k):
        i = 0
        while not self.stop_ev.is_set():
            i += 1
            kind = ("get", "list", "create")[(i + k) % 3]
            t0 = time.monotonic()
            if kind == "get":
                st, body = self.srv.try_request("GET", "/databases/" + self.ids[i % len(self.ids)])
            elif kind == "list":
                st, body = self.srv.try_request("GET", "/databases?limit=20")
            else:
                with self.lock:
                    self.n += 1
                    name = "%s-%d" % (self.prefix, self.n)
                st, body = self.srv.try_request("POST", "/databases", {"name": name, "owner_team": "load",
                                                                       "purpose": "storage trouble"})
                if st == 201:
                    with self.lock:
                        self.created[body["id"]] = name
            dt = time.monotonic() - t0
            with self.lock:
                self.log.append((time.monotonic(), kind, st, dt))
            time.sleep(0.02)

    def stop(self):
        self.stop_ev.set()
        for t in self.ts:
            t.join(60)

    def window(self, t0, t1):
        with self.lock:
            return [e for e in self.log if t0 <= e[0] <= t1]


class PostgresOutage(C.Cleanup):
    def setUp(self):
        C.skip_unless_built()
        self.dir = self.make_dir("daap-chaos-pg-")
        self.pgdir = os.path.join(self.dir, "pg")
        uri = C.pgtmp("start", self.pgdir)
        self.addCleanup(C.pgtmp, "stop", self.pgdir)
        with open(os.path.join(self.pgdir, "port")) as f:
            self.pgport = f.read().strip()
        C.psql(uri, "CREATE DATABASE daap_chaos")
        self.sim = self.start_kubesim(self.dir, ready_delay=0.3, pooler_delay=0.2)
        self.srv = self.start_server(self.dir, C.with_database(uri, "daap_chaos") + "?connect_timeout=2", self.sim,
                                     args=["--resync-period", "3s"])

    def test_stop_and_start_postgres_under_load(self):
        results = self.scenario_results(self.sim)
        ids = []
        for i in range(3):
            st, db = self.srv.request("POST", "/databases", {"name": "steady-%d" % i, "owner_team": "load",
                                                              "purpose": "read during the outage"})
            self.assertEqual(st, 201, db)
            ids.append(db["id"])
        for i in ids:
            C.wait_for(lambda: self.srv.request("GET", "/databases/" + i)[1]["status"] == "ready", 30)
        load = Load(self.srv, ids)
        self.addCleanup(load.stop)
        time.sleep(2)
        t_stop = time.monotonic()
        C.pgtmp("stop", self.pgdir)
        results.add_faults("PostgreSQL stopped")
        t_stopped = time.monotonic()
        C.say("PostgreSQL stopped (%.1fs)" % (t_stopped - t_stop))
        time.sleep(OUTAGE_S)
        # While it is down: the process is up, healthz answers, readyz says 503.
        st, _ = self.srv.request("GET", "/healthz")
        self.assertEqual(st, 200)
        st, body = self.srv.request("GET", "/readyz")
        self.assertEqual(st, 503, body)
        t_start = time.monotonic()
        C.pgtmp("start", self.pgdir, self.pgport)
        C.say("PostgreSQL started again on port %s" % self.pgport)
        # Recovery by itself: a GET, a list and a create all succeed again.
        C.wait_for(lambda: self.srv.try_request("GET", "/databases/" + ids[0])[0] == 200, 30, what="GET to recover")
        C.wait_for(lambda: self.srv.try_request("GET", "/readyz")[0] == 200, 30, what="readyz to recover")
        t_recovered = time.monotonic()
        time.sleep(3)
        load.stop()
        down = load.window(t_stopped + 1.0, t_start)
        self.assertTrue(down, "no requests during the outage")
        statuses = sorted({e[2] for e in down}, key=str)
        self.assertEqual(set(statuses), {503}, "during the outage every store request must be 503: %s" % statuses)
        slowest = max(e[3] for e in down)
        self.assertLess(slowest, FAIL_FAST_S, "a 503 took %.2fs: not failing fast" % slowest)
        after = load.window(t_recovered + 1.0, time.monotonic())
        self.assertTrue(after and all(e[2] in (200, 201) for e in after),
                        "after recovery: %s" % sorted({e[2] for e in after}, key=str))
        C.say("outage: %d answers, all 503, slowest %.3fs; recovered %.1fs after the start" % (
            len(down), slowest, t_recovered - t_start))
        created = dict(load.created)
        created.update({i: "steady" for i in ids})
        summary = C.final_state(self.srv, self.sim, created, set(), timeout=60, results=results)
        C.say("settled: %s" % summary)
        self.srv.stop_checked()
        results.passed()


HOLD_LOCK = r"""
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
print("released", flush=True)
"""


class SqliteBusy(C.Cleanup):
    def setUp(self):
        C.skip_unless_built()
        self.dir = self.make_dir("daap-chaos-busy-")
        self.db = os.path.join(self.dir, "daap.db")
        self.sim = self.start_kubesim(self.dir, ready_delay=0.3, pooler_delay=0.2)
        self.srv = self.start_server(self.dir, "sqlite://" + self.db, self.sim, args=["--resync-period", "3s"])

    def hold(self, seconds):
        self.results.add_faults("SQLite write lock held elsewhere")
        p = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, self.db, str(seconds)], stdout=subprocess.PIPE, text=True)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline().strip(), "locked")
        return p

    def test_write_lock_held_elsewhere(self):
        self.results = self.scenario_results(self.sim)
        st, db = self.srv.request("POST", "/databases", {"name": "busy-0", "owner_team": "load", "purpose": "busy"})
        self.assertEqual(st, 201, db)
        C.wait_for(lambda: self.srv.request("GET", "/databases/" + db["id"])[1]["status"] == "ready", 30)
        created = {db["id"]: "busy-0"}

        # A short lock: the write waits for it and succeeds.
        p = self.hold(2)
        t0 = time.monotonic()
        st, body = self.srv.request("POST", "/databases", {"name": "busy-1", "owner_team": "load", "purpose": "busy"})
        self.assertEqual(st, 201, body)
        created[body["id"]] = "busy-1"
        C.say("write under a 2-s lock: %d after %.2fs" % (st, time.monotonic() - t0))
        p.wait(30)

        # A long lock: reads go on, writes fail with 503 (not hang), then recover.
        p = self.hold(LOCK_S)
        t0 = time.monotonic()
        st, body = self.srv.request("GET", "/databases/" + db["id"])
        self.assertEqual(st, 200, body)
        self.assertLess(time.monotonic() - t0, 1.0, "a read waited for the writer")
        st, body = self.srv.request("GET", "/databases?limit=10")
        self.assertEqual(st, 200, body)
        t0 = time.monotonic()
        st, body = self.srv.request("POST", "/databases", {"name": "busy-2", "owner_team": "load", "purpose": "busy"})
        waited = time.monotonic() - t0
        C.say("write under a %d-s lock: %s after %.2fs" % (LOCK_S, st, waited))
        self.assertEqual(st, 503, body)
        self.assertEqual(body.get("code"), "unavailable", body)
        self.assertLess(waited, LOCK_S, "the write hung for the whole lock")
        p.wait(60)
        st, body = self.srv.request("POST", "/databases", {"name": "busy-2", "owner_team": "load", "purpose": "busy"})
        self.assertEqual(st, 201, body)
        created[body["id"]] = "busy-2"
        summary = C.final_state(self.srv, self.sim, created, set(), timeout=60, results=self.results)
        C.say("settled: %s" % summary)
        self.srv.stop_checked()
        self.results.passed()


if __name__ == "__main__":
    unittest.main()
