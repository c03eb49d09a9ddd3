"""Integration tests of the Python bindings against kubesim (a Kubernetes API
and CNPG simulator; tools/kubesim), without real PostgreSQL backing:

- local mode: the bindings drive libdaap's REST backend straight at kubesim;
- remote mode: daap-server runs against kubesim and the bindings talk HTTP to
  it (the "three lines"). Skipped when no daap-server binary is built.

Environment: DAAP_LIBRARY, PYTHONPATH (as for the unit tests), DAAP_SOURCE_DIR
(the repository), optionally DAAP_SERVER_BIN (default <build>/server/daap-server
with <build> from DAAP_BUILD_DIR).
"""

import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import daap

SOURCE_DIR = pathlib.Path(os.environ.get("DAAP_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[3])
BUILD_DIR = pathlib.Path(os.environ.get("DAAP_BUILD_DIR") or SOURCE_DIR / "build")
KUBESIM = SOURCE_DIR / "tools" / "kubesim"

state = {}


def setUpModule():
    if not (KUBESIM / "kubesim-up").exists():
        raise unittest.SkipTest("tools/kubesim is missing")
    work = tempfile.mkdtemp(prefix="daap-py-it-")
    os.chmod(work, 0o755)
    state["work"] = work
    try:
        out = subprocess.run([str(KUBESIM / "kubesim-up"), os.path.join(work, "kubesim"), "--no-backing",
                              "--ready-delay", "0.3", "--pooler-delay", "0.2"],
                             check=True, capture_output=True, text=True, timeout=120)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError("kubesim-up failed: %s" % e.stderr)
    state["kubeconfig"] = out.stdout.strip().splitlines()[-1]


def tearDownModule():
    work = state.get("work")
    if work:
        subprocess.run([str(KUBESIM / "kubesim-down"), os.path.join(work, "kubesim")],
                       capture_output=True, timeout=120)
        shutil.rmtree(work, ignore_errors=True)


def kubectl_names(*kinds):
    """Names of daap's objects of these kinds left in namespace daap."""
    if shutil.which("kubectl") is None:
        return None
    out = subprocess.run(["kubectl", "--kubeconfig", state["kubeconfig"], "--cache-dir",
                          os.path.join(state["work"], "kubectl-cache"), "get", ",".join(kinds),
                          "-n", "daap", "-o", "name"], check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.split()


class LocalModeAgainstKubesim(unittest.TestCase):
    """The bindings open a local context whose kube backend is the REST client."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="daap-py-local-")
        self.client = daap.Client(store="sqlite://" + os.path.join(self.tmp.name, "daap.db"),
                                  kubeconfig=state["kubeconfig"],
                                  secret_key_file=os.path.join(self.tmp.name, "key"), create_key=True,
                                  auto_migrate=True)

    def tearDown(self):
        self.client.close()
        self.tmp.cleanup()

    def test_lifecycle(self):
        c = self.client
        c.ping()
        db = c.create("py-local", "payments", "python integration test", instances=1, storage_size="2Gi")
        self.assertEqual(db.status, "provisioning")
        ready = c.wait_ready(db.id, timeout=60)
        self.assertEqual(ready.status, daap.Status.READY)
        self.assertEqual(ready.connection.dbname, "py_local")
        self.assertTrue(ready.connection.password)
        if kubectl_names("clusters.postgresql.cnpg.io") is not None:
            self.assertIn("cluster.postgresql.cnpg.io/daap-py-local", kubectl_names("clusters.postgresql.cnpg.io"))

        self.assertEqual(c.update(db.id, team="payments", purpose="changed").purpose, "changed")
        with self.assertRaises(daap.Forbidden):
            c.delete(db.id, team="search")
        final = c.wait_deleted(c.delete(db.id, team="payments"), timeout=60)
        self.assertEqual(final.status, daap.Status.DELETED)
        left = kubectl_names("clusters.postgresql.cnpg.io", "poolers.postgresql.cnpg.io")
        if left is not None:
            self.assertEqual([n for n in left if "py-local" in n], [])

    def test_reconcile_once_reports_work(self):
        db = self.client.create("py-reconcile", "payments", "reconcile pass")
        deadline = time.monotonic() + 60
        while self.client.get(db.id).status != daap.Status.READY:
            self.assertLess(time.monotonic(), deadline, "not ready in 60 s")
            res = self.client.reconcile_once(timeout=10)
            self.assertGreaterEqual(res.examined, 1)
            time.sleep(0.2)
        self.client.wait_deleted(self.client.delete(db.id, team="payments"), timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RemoteModeThroughDaapServer(unittest.TestCase):
    """daap-server on kubesim; the bindings open an http:// context."""

    @classmethod
    def setUpClass(cls):
        server = pathlib.Path(os.environ.get("DAAP_SERVER_BIN") or BUILD_DIR / "server" / "daap-server")
        if not server.exists():
            raise unittest.SkipTest("no daap-server binary at %s" % server)
        if "remote" not in daap.features():
            raise unittest.SkipTest("this libdaap has no remote (http://) contexts")
        cls.tmp = tempfile.TemporaryDirectory(prefix="daap-py-remote-")
        port = free_port()
        cls.url = "http://127.0.0.1:%d" % port
        cls.log = open(os.path.join(cls.tmp.name, "server.log"), "w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAAP_")}
        cls.proc = subprocess.Popen(
            [str(server), "--listen", "127.0.0.1:%d" % port,
             "--store", "sqlite://" + os.path.join(cls.tmp.name, "daap.db"), "--migrate",
             "--kubeconfig", state["kubeconfig"], "--secret-key-file", os.path.join(cls.tmp.name, "key"),
             "--create-secret-key", "--resync-period", "1s"],
            stdout=cls.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(cls.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if cls.proc.poll() is not None or time.monotonic() > deadline:
                cls.tearDownClass()
                raise RuntimeError("daap-server did not become ready; log:\n" + cls.server_log())
            time.sleep(0.1)

    @classmethod
    def server_log(cls):
        cls.log.flush()
        with open(cls.log.name) as f:
            return f.read()[-4000:]

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.terminate()
            try:
                cls.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
        cls.log.close()
        cls.tmp.cleanup()

    def test_three_lines(self):
        c = daap.Client(server=self.url, team="payments")
        db = c.wait_ready(c.create("orders", "payments", "order history").id, timeout=60)
        try:
            self.assertTrue(c.is_remote)
            self.assertEqual(db.status, daap.Status.READY)
            self.assertEqual(db.name, "orders")
            self.assertEqual(db.connection.dbname, "orders")
            self.assertTrue(db.connection.password)
            self.assertTrue(db.connection.uri.startswith("postgresql://orders:"))
        finally:
            c.delete(db.id)
            c.close()

    def test_wait_over_http(self):
        with daap.Client(server=self.url, team="payments") as c:
            db = c.create("py-wait", "payments", "server-side wait")
            # Each round is held by the server; follow the changes until ready.
            rec, seen = db, []
            deadline = time.monotonic() + 60
            while rec.status is not daap.Status.READY and time.monotonic() < deadline:
                rec = rec.wait(timeout=30)
                seen.append(rec.revision)
            self.assertEqual(rec.status, daap.Status.READY)
            self.assertEqual(seen, sorted(set(seen)))  # each answer is a newer revision
            t0 = time.monotonic()
            with self.assertRaises(daap.Timeout):
                c.wait(db.id, c.get(db.id).revision, timeout=1)
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)
            c.delete(db.id)
            with self.assertRaises(daap.NotFound):
                for _ in range(20):
                    rec = c.wait(db.id, rec.revision, timeout=30)
    def test_idempotency_key_over_http(self):
        with daap.Client(server=self.url, team="search") as c:
            first = c.create("py-keyed", "search", "keyed", idempotency_key="py-key-0001")
            again = c.create("py-keyed", "search", "keyed", idempotency_key="py-key-0001")
            self.assertEqual(again.id, first.id)
            with self.assertRaises(daap.InvalidArgument) as cm:
                c.create("py-keyed-2", "search", "keyed", idempotency_key="py-key-0001")
            self.assertIn("Idempotency-Key", str(cm.exception))
            with self.assertRaises(daap.AlreadyExists):
                c.create("py-keyed", "search", "keyed")
            c.delete(first.id)

    def test_crud_and_errors_over_http(self):
        with daap.Client(server=self.url, team="search") as c:
            with self.assertRaises(daap.InvalidArgument) as cm:
                c.create("X", "", "")
            self.assertEqual({f.field for f in cm.exception.field_errors}, {"name", "owner_team", "purpose"})
            db = c.create("py-remote", "search", "remote crud")
            with self.assertRaises(daap.AlreadyExists):
                c.create("py-remote", "search", "again")
            self.assertEqual(c.get(db.id).name, "py-remote")
            names = [d.name for d in c.list(owner_team="search", page_size=1)]
            self.assertIn("py-remote", names)
            self.assertEqual(c.update(db.id, purpose="changed").purpose, "changed")
            with self.assertRaises(daap.Forbidden):
                c.update(db.id, team="payments", purpose="not mine")
            with self.assertRaises(daap.NotFound):
                c.get("01a2202a-0000-7000-8000-000000000000")
            gone = c.delete(db.id)
            self.assertIn(gone.status, (daap.Status.DELETING, daap.Status.DELETED))
            self.assertEqual(c.wait_deleted(gone, timeout=60).status, daap.Status.DELETED)
            with self.assertRaises(daap.NotSupported):
                c.migrate()

    def test_events_over_http(self):
        with daap.Client(server=self.url, team="search") as c:
            db = c.create("py-events", "search", "event history")
            c.update(db.id, purpose="audited")
            events = list(db.events(limit=50))
            # The server's reconciler may have added Progress events meanwhile.
            changed = [e for e in events if e.reason == "PurposeChanged"]
            self.assertEqual([e.actor for e in changed], ["search"])
            self.assertIsNotNone(changed[0].request_id)
            self.assertEqual((events[-1].reason, events[-1].actor), ("Created", "search"))
            paged = list(c.events(db.id, page_size=1))
            self.assertEqual([e.id for e in paged][-len(events):], [e.id for e in events])
            c.delete(db.id)
            c.wait_deleted(db, timeout=60)
            self.assertEqual(next(c.events(db.id)).reason, "Deleted")
            with self.assertRaises(daap.NotFound):
                list(c.events("01a2202a-0000-7000-8000-000000000000"))


if __name__ == "__main__":
    unittest.main()
