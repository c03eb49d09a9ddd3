"""Server-side wait (issue 12, DESIGN.md section 11): GET /databases/{id}?wait=&revision=
holds the request as a suspended libmicrohttpd connection until the record's revision differs,
the record is deleted (404), the wait is over (200, the unchanged record), the client leaves
(dropped), or the server stops (answered, then a clean exit)."""
import datetime
import os
import shutil
import socket
import subprocess
import threading
import time
import unittest

from daaptest import SERVER_BIN, Kubesim, OpenAPI, Server, ServerTestCase, wait_for, work_dir
from test_replicas import PG_URI, with_database

TEAM = "payments"


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def settled(srv, name):
    """Create a database and return it once the reconciler has stopped rewriting it
    (it applies the objects and notes its progress right after the create)."""
    db = srv.create(name, team=TEAM)
    last, same = None, 0
    for _ in range(200):
        time.sleep(0.3)
        cur = srv.get("/databases/" + db["id"]).json
        same = same + 1 if last is not None and cur["revision"] == last["revision"] else 0
        if same >= 3:  # unchanged for about a second (a slow server, e.g. under valgrind, too)
            return cur
        last = cur
    raise AssertionError("database %s kept changing" % name)


class WaitTest(ServerTestCase):
    ready_delay = 600  # records stay provisioning unless a test marks the Cluster
    # A short store poll, so the tests of clients that leave run quickly.
    server_args = ("--wait-poll-interval", "200ms", "--log-level", "debug")

    def make(self, name):
        return settled(self.srv, name)

    def waited_get(self, db_id, revision, wait, **kw):
        return self.srv.get("/databases/%s?wait=%s&revision=%d" % (db_id, wait, revision), **kw)

    def test_answers_at_once_when_the_revision_differs(self):
        db = self.make("wait-now")
        t0 = time.monotonic()
        r = self.waited_get(db["id"], db["revision"] - 1, "30s")
        self.assertEqual(r.status, 200, r)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(r.json["revision"], db["revision"])

    def test_timeout_answers_the_unchanged_record(self):
        db = self.make("wait-timeout")
        t0 = time.monotonic()
        r = self.waited_get(db["id"], db["revision"], "1500ms")
        took = time.monotonic() - t0
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["revision"], db["revision"])
        self.assertGreaterEqual(took, 1.4)
        self.assertLess(took, 3.0)

    def test_a_wait_over_60s_is_capped_not_refused(self):
        db = self.make("wait-cap")
        r = self.waited_get(db["id"], db["revision"] - 1, "10m")
        self.assertEqual(r.status, 200, r)

    def test_bad_parameters_are_400(self):
        db = self.make("wait-bad")
        base = "/databases/" + db["id"]
        for query, param in (("wait=abc&revision=1", "wait"), ("wait=-1s&revision=1", "wait"),
                             ("wait=1h&revision=1", "wait"), ("wait=30s&revision=x", "revision"),
                             ("wait=30s&revision=-2", "revision"), ("wait=30s", "revision"),
                             ("revision=3", "wait"), ("wait=1s&wait=2s&revision=1", "wait"),
                             ("wait=1s&revision=1&limit=3", "limit")):
            r = self.srv.get(base + "?" + query)
            self.assertEqual(r.status, 400, (query, r))
            self.assertTrue(r.header("Content-Type").startswith("application/problem+json"), query)
            self.assertIn(param, [e["field"] for e in r.json.get("errors", [])], (query, r.json))

    def test_a_change_wakes_the_waiter(self):
        db = self.make("wait-change")
        result = {}

        def waiter():
            result["resp"] = self.waited_get(db["id"], db["revision"], "30s")
            result["at"] = time.monotonic()

        th = threading.Thread(target=waiter)
        th.start()
        time.sleep(0.5)
        self.assertTrue(th.is_alive(), "the wait answered before anything changed")
        r = self.srv.patch("/databases/" + db["id"], {"purpose": "changed while waited on"}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        changed = time.monotonic()
        th.join(10)
        self.assertFalse(th.is_alive())
        self.assertEqual(result["resp"].status, 200)
        self.assertGreater(result["resp"].json["revision"], db["revision"])
        # A PATCH does not kick the waiters (only the reconciler does): the store poll (200 ms) saw it.
        self.assertLess(result["at"] - changed, 1.0)

    def test_deleted_database_answers_404(self):
        db = self.make("wait-deleted")
        r = self.srv.delete("/databases/" + db["id"], team=TEAM)
        self.assertIn(r.status, (202, 204), r)
        revision = db["revision"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # deleting, then deleted: each change answers once
            r = self.waited_get(db["id"], revision, "10s")
            if r.status == 404:
                break
            self.assertEqual(r.status, 200, r)
            revision = r.json["revision"]
        self.assertEqual(r.status, 404, r)
        self.assertTrue(r.header("Content-Type").startswith("application/problem+json"))

    def test_a_waiter_parked_when_the_record_is_deleted_gets_404(self):
        db = self.make("wait-del-parked")
        result = {}

        def waiter():  # each change answers once: maybe deleting first, then 404
            rev = db["revision"]
            while True:
                r = self.waited_get(db["id"], rev, "30s")
                if r.status != 200:
                    result.update(r=r, at=time.monotonic())
                    return
                rev = r.json["revision"]

        th = threading.Thread(target=waiter)
        th.start()
        time.sleep(0.5)
        self.assertTrue(th.is_alive(), "the wait answered before anything changed")
        r = self.srv.delete("/databases/" + db["id"], team=TEAM)
        self.assertIn(r.status, (202, 204), r)
        deleted = time.monotonic()
        th.join(30)
        self.assertFalse(th.is_alive())
        self.assertEqual(result["r"].status, 404, result["r"])
        self.assertLess(result["at"] - deleted, 5.0)

    def test_a_client_that_leaves_is_dropped(self):
        db = self.make("wait-leaves")
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        s.sendall(("GET /databases/%s?wait=30s&revision=%d HTTP/1.1\r\nHost: x\r\nX-Request-Id: leaver-1\r\n\r\n"
                   % (db["id"], db["revision"])).encode())
        wait_for(lambda: any(l.get("msg") == "wait: parked" and l.get("request_id") == "leaver-1"
                             for l in self.srv.log_lines()), 5, what="the request to park")
        s.close()
        line = wait_for(lambda: [l for l in self.srv.log_lines() if l.get("msg") == "request"
                                 and l.get("request_id") == "leaver-1"], 5, what="the dropped request's log line")[0]
        self.assertEqual(line.get("dropped"), "client left while waiting", line)
        drops = [l for l in self.srv.log_lines() if l.get("msg") == "wait: clients went away; dropped their requests"]
        self.assertTrue(drops)
        self.assertGreaterEqual(line["duration_ms"], 0)

    def test_keep_alive_survives_a_wait(self):
        db = self.make("wait-keepalive")
        c = self.srv.connect()
        try:
            r = self.waited_get(db["id"], db["revision"], "300ms", conn=c)
            self.assertEqual(r.status, 200)
            r = self.srv.get("/databases/" + db["id"], conn=c)
            self.assertEqual(r.status, 200)
        finally:
            c.close()


class ReadyWakeTest(ServerTestCase):
    """A Cluster turning Ready wakes a parked waiter within 100 ms of the record's change. The store
    poll is set to 30 s, so only the reconciler's own wake-up can explain a fast answer."""
    ready_delay = 600
    server_args = ("--wait-poll-interval", "30s")

    def test_cluster_ready_wakes_the_waiter_within_100ms(self):
        db = self.srv.create("wait-ready", team=TEAM)
        wait_for(lambda: self.sim.object_names("clusters"), 20, what="the Cluster to exist")
        revision = self.srv.get("/databases/" + db["id"]).json["revision"]
        result = {}

        def waiter():
            rev = revision
            while True:
                r = self.srv.get("/databases/%s?wait=30s&revision=%d" % (db["id"], rev))
                arrived = time.time()
                if r.status != 200 or r.json["status"] == "ready" or r.json["revision"] == rev:
                    result.update(r=r, arrived=arrived)
                    return
                rev = r.json["revision"]

        th = threading.Thread(target=waiter)
        th.start()
        time.sleep(0.3)
        self.sim.mark_cluster("daap-wait-ready", "ready")
        th.join(35)
        self.assertFalse(th.is_alive())
        r = result["r"]
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "ready", r.json)
        lag = result["arrived"] - parse_time(r.json["updated_at"])
        print("ready wake lag: %.1f ms" % (lag * 1000))
        self.assertLess(lag, 0.100, "the waiter answered %.0f ms after the record changed" % (lag * 1000))
        self.assertGreater(lag, -0.050)  # the same clock: a negative lag means a bad measurement


class ShutdownWithWaitersTest(ServerTestCase):
    """SIGTERM with 1,000 parked waiters: every one is answered, and the server exits 0 quickly."""
    ready_delay = 600
    # One test client stands for 1,000: no per-address limit here.
    server_args = ("--max-connections", "4000", "--max-connections-per-ip", "0", "--threads", "2", "--log-level", "debug")
    WAITERS = 1000

    def test_sigterm_with_1000_waiters(self):
        db = settled(self.srv, "wait-many")
        req = ("GET /databases/%s?wait=60s&revision=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (db["id"], db["revision"])).encode()
        socks = []
        try:
            for _ in range(self.WAITERS):
                s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=30)
                s.sendall(req)
                socks.append(s)
            wait_for(lambda: max([l.get("waiters", 0) for l in self.srv.log_lines() if l.get("msg") == "wait: parked"]
                                 or [0]) >= self.WAITERS, 30, interval=0.2, what="1000 parked waiters")
            t0 = time.monotonic()
            rc = self.srv.stop()
            took = time.monotonic() - t0
            self.assertEqual(rc, 0, self.srv.log_text()[-3000:])
            print("shutdown with %d waiters: %.2f s" % (self.WAITERS, took))
            self.assertLess(took, 5.0, "shutdown took %.1fs" % took)
            answered = 0
            for s in socks:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"HTTP/1.1 200"):
                    answered += 1
            self.assertEqual(answered, self.WAITERS)
            closing = [l for l in self.srv.log_lines() if l.get("msg") == "wait: answering parked requests before stopping"]
            self.assertEqual(sum(l["waiters"] for l in closing), self.WAITERS)
        finally:
            for s in socks:
                s.close()

    @classmethod
    def _stop_server(cls):
        cls.srv.stop()  # the test stopped it already


@unittest.skipUnless(PG_URI, "DAAP_TEST_PG_URI is not set (scripts/run-tests sets it)")
@unittest.skipUnless(SERVER_BIN and os.path.exists(SERVER_BIN), "daap-server not built")
class CrossReplicaWakeTest(unittest.TestCase):
    """Two replicas on one PostgreSQL store: a waiter on A sees what B wrote, through A's store poll."""

    @classmethod
    def setUpClass(cls):
        cls.dir = work_dir("daap-wait-replicas-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.dbname = "daap_wait_replicas_%d" % os.getpid()
        psql = lambda sql: subprocess.run(["psql", PG_URI, "-qc", sql], check=True, capture_output=True)
        psql("DROP DATABASE IF EXISTS %s" % cls.dbname)
        psql("CREATE DATABASE %s" % cls.dbname)
        cls.addClassCleanup(subprocess.run, ["psql", PG_URI, "-qc", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % cls.dbname],
                            capture_output=True)
        cls.sim = Kubesim(os.path.join(cls.dir, "kubesim"), ready_delay=600)
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        store = with_database(PG_URI, cls.dbname)
        args = ["--threads", "2", "--wait-poll-interval", "300ms"]
        openapi = OpenAPI()
        cls.a = Server(cls.dir, store, cls.sim.kubeconfig, args=args, name="a", openapi=openapi).start()
        cls.addClassCleanup(cls.a.stop_checked)
        cls.b = Server(cls.dir, store, cls.sim.kubeconfig, args=args, name="b", openapi=openapi).start()
        cls.addClassCleanup(cls.b.stop_checked)

    def test_a_write_on_b_wakes_a_waiter_on_a(self):
        db = settled(self.a, "wait-across")
        result = {}

        def waiter():
            result["r"] = self.a.get("/databases/%s?wait=30s&revision=%d" % (db["id"], db["revision"]))
            result["at"] = time.monotonic()

        th = threading.Thread(target=waiter)
        th.start()
        time.sleep(0.5)
        self.assertTrue(th.is_alive(), "the wait answered before anything changed")
        r = self.b.patch("/databases/" + db["id"], {"purpose": "written by replica b"}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        written = time.monotonic()
        th.join(10)
        self.assertFalse(th.is_alive())
        self.assertEqual(result["r"].status, 200)
        self.assertEqual(result["r"].json["purpose"], "written by replica b")
        self.assertLess(result["at"] - written, 2.0)  # one 300 ms poll, with room for a slow machine


if __name__ == "__main__":
    unittest.main()
