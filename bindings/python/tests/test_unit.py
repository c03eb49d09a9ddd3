"""Unit tests of the Python bindings: SQLite stores and libdaap's in-memory
Kubernetes (kubeconfig="fake"). No cluster, no server, no network.

Run: DAAP_LIBRARY=build/libdaap/libdaap.so.0.1 PYTHONPATH=bindings/python \
     python3 -m unittest discover -s bindings/python/tests -p 'test_unit*.py' -v
"""

import datetime
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import daap
from daap import errors as E

SOURCE_DIR = pathlib.Path(os.environ.get("DAAP_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[3])
FAILED_PHASE = "Cluster is unrecoverable and needs manual intervention"


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="daap-py-")
        self.key = os.path.join(self.tmp.name, "key")
        self.client = self.open()
        self.fake = self.client.fake_kube

    def tearDown(self):
        self.client.close()
        self.tmp.cleanup()

    def open(self, store="sqlite::memory:", **kw):
        kw.setdefault("kubeconfig", "fake")
        kw.setdefault("secret_key_file", self.key)
        kw.setdefault("create_key", True)
        kw.setdefault("auto_migrate", True)
        return daap.Client(store=store, **kw)

    def create(self, name="orders", team="payments", purpose="order history", **kw):
        return self.client.create(name, team, purpose, **kw)


class TestModule(Base):
    def test_version_matches_the_bindings(self):
        self.assertEqual(daap.library_version().split(".")[:2], daap.__version__.split(".")[:2])

    def test_features_are_names(self):
        self.assertIn("sqlite", daap.features())
        self.assertTrue(daap.features() <= {"sqlite", "postgres", "kube_rest", "remote"})

    def test_every_error_code_in_the_header_has_its_own_exception(self):
        header = (SOURCE_DIR / "include" / "daap" / "errors.h").read_text()
        codes = dict((m.group(1), int(m.group(2)))
                     for m in re.finditer(r"\b(DAAP_E[A-Z]+|DAAP_ERROR)\s*=\s*(-?\d+)", header))
        self.assertGreaterEqual(len(codes), 12, codes)
        classes = set()
        for name, value in codes.items():
            self.assertEqual(getattr(E, name[len("DAAP_"):]), value, name)
            cls = E.CODE_TO_CLASS.get(value)
            self.assertIsNotNone(cls, "%s (%d) has no exception class" % (name, value))
            self.assertTrue(issubclass(cls, daap.Error))
            self.assertEqual(cls.code, value)
            classes.add(cls)
        self.assertEqual(len(classes), len(codes), "two codes share an exception class")

    def test_another_minor_version_is_refused(self):
        from daap import _native
        real = _native.library_version
        try:
            _native.library_version = lambda: (0, 2, 0)
            with self.assertRaises(ImportError) as cm:
                _native._check_version()
            self.assertIn("need libdaap 0.1.x", str(cm.exception))
            _native.library_version = lambda: (0, 1, 7)
            _native._check_version()  # another patch release is fine
        finally:
            _native.library_version = real

    def test_bad_library_path_fails_at_import_with_a_clear_message(self):
        env = dict(os.environ, DAAP_LIBRARY=os.path.join(self.tmp.name, "nope.so"))
        p = subprocess.run([sys.executable, "-c", "import daap"], env=env, capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cannot load libdaap", p.stderr)
        self.assertIn("DAAP_LIBRARY", p.stderr)


class TestCreateGetList(Base):
    def test_create_returns_a_provisioning_record(self):
        db = self.create(instances=2, storage_size="5Gi")
        self.assertEqual(db.status, daap.Status.PROVISIONING)
        self.assertEqual(db.status, "provisioning")
        self.assertEqual((db.name, db.owner_team, db.purpose), ("orders", "payments", "order history"))
        self.assertEqual((db.instances, db.storage_size), (2, "5Gi"))
        self.assertEqual(db.cluster_name, "daap-orders")
        self.assertEqual(db.pooler_name, "daap-orders-pooler")
        self.assertEqual(db.namespace, "daap")
        self.assertIsInstance(db.created_at, datetime.datetime)
        self.assertEqual(db.created_at.tzinfo, datetime.timezone.utc)
        self.assertIsNone(db.ready_at)
        self.assertIsNone(db.connection)
        self.assertEqual(self.fake.calls("create"), 2)  # Cluster and Pooler

    def test_records_are_frozen(self):
        db = self.create()
        with self.assertRaises(Exception):
            db.name = "other"

    def test_get_returns_the_same_record(self):
        db = self.create()
        got = self.client.get(db.id)
        self.assertEqual(got.id, db.id)
        self.assertEqual(got.name, "orders")

    def test_validation_reports_every_bad_field(self):
        with self.assertRaises(daap.InvalidArgument) as cm:
            self.client.create("X", "", "")
        err = cm.exception
        self.assertEqual(err.code, E.EINVALID)
        fields = {f.field: f.code for f in err.field_errors}
        self.assertEqual(set(fields), {"name", "owner_team", "purpose"}, err.field_errors)
        self.assertEqual(fields["owner_team"], "required")
        for f in err.field_errors:
            self.assertIsInstance(f, daap.FieldError)
            self.assertTrue(f.message)
        self.assertIn("owner_team", str(err))
        self.assertEqual(list(self.client.list()), [])

    def test_validate_creates_nothing(self):
        self.client.validate("fine-name", "payments", "p")
        with self.assertRaises(daap.InvalidArgument):
            self.client.validate("Bad_Name", "payments", "p")
        self.assertEqual(list(self.client.list()), [])

    def test_duplicate_name(self):
        self.create()
        with self.assertRaises(daap.AlreadyExists):
            self.create()

    def test_unknown_id(self):
        with self.assertRaises(daap.NotFound) as cm:
            self.client.get("01a2202a-0000-7000-8000-000000000000")
        self.assertTrue(cm.exception.message)

    def test_nul_in_argument_is_invalid(self):
        with self.assertRaises(daap.InvalidArgument):
            self.client.get("abc\0def")

    def test_list_follows_cursors_and_filters(self):
        names = ["db-%02d" % i for i in range(7)]
        for i, n in enumerate(names):
            self.create(n, "payments" if i % 2 == 0 else "search")
        got = [d.name for d in self.client.list(page_size=2)]
        self.assertEqual(got, names)  # creation order, across 4 pages
        self.assertEqual([d.name for d in self.client.list(owner_team="search", page_size=1)],
                         ["db-01", "db-03", "db-05"])
        self.assertEqual(len(list(self.client.list(limit=3, page_size=2))), 3)
        self.assertEqual([d.name for d in self.client.list(name="db-0")][:2], ["db-00", "db-01"])
        self.assertEqual(list(self.client.list(status="ready")), [])
        self.assertEqual(len(list(self.client.list(status=["provisioning", daap.Status.ERROR]))), 7)
        with self.assertRaises(daap.InvalidArgument):
            list(self.client.list(status="bogus"))
        with self.assertRaises(daap.InvalidArgument):
            self.client.list(limit=0)

    def test_list_is_lazy(self):
        for i in range(3):
            self.create("lazy-%d" % i)
        it = self.client.list(page_size=1)
        self.assertEqual(next(it).name, "lazy-0")


class TestIdempotencyKey(Base):
    def test_same_key_same_request_returns_the_first_database(self):
        first = self.create("keyed", idempotency_key="key-0001")
        again = self.create("keyed", idempotency_key="key-0001")
        self.assertEqual(again.id, first.id)
        self.assertEqual([d.id for d in self.client.list(name="keyed")], [first.id])

    def test_same_key_other_request_is_invalid(self):
        self.create("keyed", idempotency_key="key-0002")
        with self.assertRaises(daap.InvalidArgument) as cm:
            self.create("keyed-other", idempotency_key="key-0002")
        self.assertIn("already used", str(cm.exception))
        self.assertEqual(list(self.client.list(name="keyed-other")), [])

    def test_without_a_key_a_retry_is_a_clash(self):
        self.create("unkeyed")
        with self.assertRaises(daap.AlreadyExists):
            self.create("unkeyed")

    def test_bad_key(self):
        with self.assertRaises(daap.InvalidArgument):
            self.create("badkey", idempotency_key="")
        with self.assertRaises(TypeError):
            self.create("badkey", idempotency_key=7)


class TestLifecycle(Base):
    def test_ready_then_update_then_delete(self):
        db = self.create()
        self.fake.make_ready(db)
        ready = self.client.wait_ready(db.id, timeout=10)
        self.assertEqual(ready.status, daap.Status.READY)
        self.assertIsNotNone(ready.ready_at)
        c = ready.connection
        self.assertIsNotNone(c)
        self.assertEqual((c.dbname, c.user, c.port), ("orders", "orders", 5432))
        self.assertTrue(c.host.startswith("daap-orders-pooler.daap.svc"))
        self.assertTrue(c.direct_host.startswith("daap-orders-rw."))
        self.assertTrue(c.password)
        self.assertTrue(c.uri.startswith("postgresql://orders:"))
        # Secrets stay out of repr(), so records can be logged.
        self.assertNotIn(c.password, repr(ready))
        self.assertNotIn(c.password, repr(c))

        updated = self.client.update(db.id, team="payments", purpose="orders v2")
        self.assertEqual(updated.purpose, "orders v2")
        self.assertGreater(updated.revision, ready.revision)
        moved = self.client.update(db.id, team="payments", owner_team="billing")
        self.assertEqual(moved.owner_team, "billing")
        with self.assertRaises(daap.Forbidden):
            self.client.update(db.id, team="payments", purpose="not mine any more")
        with self.assertRaises(daap.Forbidden):
            self.client.delete(db.id, team="payments")

        gone = self.client.delete(db.id, team="billing")
        self.assertIn(gone.status, (daap.Status.DELETING, daap.Status.DELETED))
        with self.assertRaises(daap.NotFound):
            self.client.get(db.id)
        final = self.client.wait_deleted(gone, timeout=10)
        self.assertEqual(final.status, daap.Status.DELETED)
        self.assertIsNotNone(final.deleted_at)
        self.assertEqual(list(self.client.list()), [])
        self.assertEqual([d.id for d in self.client.list(include_deleted=True)], [db.id])
        # Deleting again is idempotent: the deleted record comes back.
        self.assertEqual(self.client.delete(db.id, team="billing").status, daap.Status.DELETED)

    def test_deletion_protection_refuses_delete_until_unprotected(self):
        db = self.client.create("guarded", "payments", "kept safe", deletion_protection=True)
        self.assertTrue(db.deletion_protection)
        with self.assertRaises(daap.DeletionProtected) as cm:
            self.client.delete(db.id, team="payments")
        self.assertEqual(cm.exception.code, daap.errors.EPROTECTED)
        self.assertIn('"deletion_protection": false', str(cm.exception))
        self.assertEqual(self.client.get(db.id).status, daap.Status.PROVISIONING)
        off = db.unprotect(team="payments")
        self.assertFalse(off.deletion_protection)
        self.assertFalse(self.client.get(db.id).deletion_protection)
        on = off.protect(team="payments")
        self.assertTrue(on.deletion_protection)
        with self.assertRaises(daap.DeletionProtected):
            self.client.delete(db.id, team="payments")
        # Only the owner may lift it.
        with self.assertRaises(daap.Forbidden):
            self.client.unprotect(db.id, team="audit")
        self.client.update(db.id, team="payments", deletion_protection=False)
        gone = self.client.delete(db.id, team="payments")
        self.assertIn(gone.status, (daap.Status.DELETING, daap.Status.DELETED))

    def test_resize_a_ready_database(self):
        db = self.create(storage_size="5Gi")
        self.fake.make_ready(db)
        ready = self.client.wait_ready(db.id, timeout=10)
        with self.assertRaises(daap.InvalidArgument) as cm:
            ready.resize(storage_size="2Gi", team="payments")
        self.assertEqual(cm.exception.field_errors[0].code, "shrink")
        grown = ready.resize(storage_size="8Gi", instances=2, team="payments")
        self.assertEqual((grown.storage_size, grown.instances), ("8Gi", 2))
        self.assertEqual(grown.status, daap.Status.READY)
        self.assertTrue(grown.status_reason.startswith("rolling out:"), grown.status_reason)
        with self.assertRaises(daap.Conflict):
            self.client.resize(db.id, team="payments", instances=3)
        with self.assertRaises(daap.InvalidArgument):
            self.client.resize(db.id, team="payments")

    def test_rotate_password_starts_a_rotation_of_a_ready_database(self):
        db = self.create()
        with self.assertRaises(daap.Conflict) as cm:
            db.rotate_password(team="payments")     # still provisioning
        self.assertIn("once it is ready", str(cm.exception))
        self.fake.make_ready(db)
        ready = self.client.wait_ready(db.id, timeout=10)
        with self.assertRaises(daap.Forbidden):
            self.client.rotate_password(db.id, team="audit")
        with self.assertRaises(daap.NotFound):
            self.client.rotate_password("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", team="payments")
        started = ready.rotate_password(team="payments")
        self.assertEqual(started.status, daap.Status.READY)
        self.assertTrue(started.status_reason.startswith("rotating password:"), started.status_reason)
        # the old credentials stand until a login with the new password works
        self.assertEqual(started.connection.password, ready.connection.password)
        self.assertEqual(self.client.get(db.id).connection.password, ready.connection.password)
        with self.assertRaises(daap.Conflict) as cm:
            self.client.rotate_password(db.id, team="payments")
        self.assertIn("already rotating", str(cm.exception))
        with self.assertRaises(daap.Conflict):
            self.client.resize(db.id, team="payments", instances=2)   # one change at a time
        self.assertIn("PasswordRotationStarted", [e.reason for e in self.client.events(db.id)])

    def test_new_databases_are_unprotected(self):
        db = self.create()
        self.assertFalse(db.deletion_protection)
        self.assertIn(self.client.delete(db.id, team="payments").status,
                      (daap.Status.DELETING, daap.Status.DELETED))

    def test_update_needs_a_team(self):
        db = self.create()
        with self.assertRaises(daap.InvalidArgument):
            self.client.update(db.id, purpose="x")

    def test_default_team_comes_from_the_client(self):
        self.client.team = "payments"
        db = self.create()
        self.assertEqual(self.client.update(db.id, purpose="via default team").purpose, "via default team")

    def test_update_rejects_bad_values_with_field_errors(self):
        db = self.create()
        with self.assertRaises(daap.InvalidArgument) as cm:
            self.client.update(db.id, team="payments", owner_team="")
        self.assertEqual([f.field for f in cm.exception.field_errors], ["owner_team"])

    def test_wait_ready_reports_a_failed_cluster(self):
        db = self.create()
        self.fake.set_cluster_phase(db.cluster_name, FAILED_PHASE)
        with self.assertRaises(daap.ProvisioningFailed) as cm:
            self.client.wait_ready(db.id, timeout=10)
        self.assertIsInstance(cm.exception, daap.Error)
        self.assertEqual(cm.exception.database.status, daap.Status.ERROR)
        self.assertIn("unrecoverable", cm.exception.database.status_reason)

    def test_wait_ready_times_out(self):
        db = self.create()
        with self.assertRaises(daap.Timeout) as cm:
            self.client.wait_ready(db.id, timeout=0.3, poll_interval=0.05)
        self.assertIn("orders", str(cm.exception))

    def test_auto_ready(self):
        self.fake.set_auto_ready(True)
        db = self.create()
        self.assertEqual(self.client.wait_ready(db.id, timeout=10).status, daap.Status.READY)

    def test_kubernetes_down_at_create_is_repaired_by_reconcile_once(self):
        self.fake.fail("create", E.EUNAVAILABLE, nth=0)
        db = self.create()  # durable once recorded (ADR 0002)
        self.assertEqual(db.status, daap.Status.PROVISIONING)
        self.fake.fail("create", 0, nth=0)
        result = self.client.reconcile_once()
        self.assertIsInstance(result, daap.ReconcileResult)
        self.assertGreaterEqual(result.examined, 1)
        self.assertEqual(result.objects_created, 2)
        self.fake.make_ready(db)
        self.assertEqual(self.client.wait_ready(db.id, timeout=10).status, daap.Status.READY)

    def test_reconcile_error_maps_to_unavailable(self):
        db = self.create()
        self.fake.fail("get", E.EUNAVAILABLE, nth=0)
        with self.assertRaises(daap.Unavailable):
            self.client.reconcile(db.id)


class TestWait(Base):
    """Client.wait() and Database.wait(): the local engine reads the store until the revision moves."""

    def test_answers_at_once_when_the_revision_differs(self):
        db = self.create()
        got = self.client.wait(db.id, db.revision - 1, timeout=5)
        self.assertEqual(got.revision, db.revision)

    def test_timeout_when_unchanged(self):
        db = self.create()
        t0 = time.monotonic()
        with self.assertRaises(daap.Timeout):
            db.wait(timeout=0.3)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)

    def test_another_writer_wakes_it(self):
        store = "sqlite://" + os.path.join(self.tmp.name, "shared.db")
        a, b = self.open(store), self.open(store)
        try:
            db = a.create("shared", "payments", "p")
            timer = threading.Timer(0.3, lambda: b.update(db.id, team="payments", purpose="changed"))
            timer.start()
            t0 = time.monotonic()
            got = db.wait(timeout=10)
            timer.join()
            self.assertLess(time.monotonic() - t0, 3)
            self.assertGreater(got.revision, db.revision)
            self.assertEqual(got.purpose, "changed")
        finally:
            a.close()
            b.close()

    def test_deleted_is_not_found(self):
        with self.assertRaises(daap.NotFound):
            self.client.wait("01a2202a-0000-7000-8000-000000000000", 1, timeout=1)
        db = self.create()
        self.client.delete(db.id, team="payments")
        self.client.reconcile(db.id)
        with self.assertRaises(daap.NotFound):
            rec = db
            for _ in range(10):  # deleting, then gone
                rec = rec.wait(timeout=1)
                self.client.reconcile(db.id)

    def test_database_from_elsewhere_cannot_wait(self):
        db = self.create()
        import dataclasses
        orphan = dataclasses.replace(db, _client=None)
        with self.assertRaises(daap.Error):
            orphan.wait(timeout=0)
class TestEvents(Base):
    def test_history_newest_first_with_actor_and_folding(self):
        db = self.create()
        self.fake.make_ready(db)
        self.client.wait_ready(db.id, timeout=10)
        self.client.update(db.id, team="payments", purpose="audit")
        self.client.update(db.id, team="payments", purpose="audit")
        self.client.update(db.id, team="payments", purpose="audit")
        events = list(db.events())
        self.assertIsInstance(events[0], daap.Event)
        self.assertEqual((events[0].reason, events[0].count, events[0].actor), ("Updated", 2, "payments"))
        self.assertEqual(events[1].reason, "PurposeChanged")
        self.assertEqual(events[-1].reason, "Created")
        self.assertEqual(events[-1].to_status, daap.Status.PROVISIONING)
        ready = [e for e in events if e.reason == "Ready"][0]
        self.assertEqual((ready.actor, ready.from_status, ready.to_status, ready.type),
                         ("reconciler", daap.Status.PROVISIONING, daap.Status.READY, "normal"))
        self.assertIsInstance(ready.at, datetime.datetime)
        self.assertGreaterEqual(events[0].last_at, events[0].at)
        self.assertEqual([e.id for e in events], sorted((e.id for e in events), reverse=True))
        # Pages of one add up to the same history.
        self.assertEqual(list(self.client.events(db.id, page_size=1)), events)
        self.assertEqual(len(list(self.client.events(db.id, limit=2))), 2)
        self.assertEqual(list(self.client.events(db.id, type="warning")), [])

    def test_deleted_database_keeps_its_history_and_bad_arguments(self):
        db = self.create()
        self.client.delete(db.id, team="payments")
        reasons = [e.reason for e in self.client.events(db.id)]
        self.assertEqual(reasons[:2], ["Deleted", "DeleteRequested"])
        with self.assertRaises(daap.NotFound):
            list(self.client.events("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"))
        with self.assertRaises(daap.InvalidArgument):
            self.client.events(db.id, type="normal")
        with self.assertRaises(daap.InvalidArgument):
            list(self.client.events(db.id, page_size=201))


class TestStoreAndContext(Base):
    def test_file_store_persists_and_is_migrated(self):
        path = os.path.join(self.tmp.name, "daap.db")
        uri = "sqlite://" + path
        with self.assertRaises(daap.InvalidArgument) as cm:
            daap.Client(store=uri, no_kube=True)  # fresh file: schema missing
        self.assertIn("migrate", str(cm.exception))
        with daap.Client(store=uri, no_kube=True, check_schema=False) as c:
            st = c.migration_status()
            self.assertEqual(st.current, 0)
            st = c.migrate()
            self.assertEqual(st.current, st.latest)
            self.assertTrue(all(m.applied and m.checksum_ok for m in st.migrations))
        with self.open(uri) as c:
            db = c.create("kept", "payments", "survives a reopen")
        with self.open(uri) as c:
            self.assertEqual([d.id for d in c.list()], [db.id])

    def test_wrong_secret_key_is_a_crypto_error(self):
        uri = "sqlite://" + os.path.join(self.tmp.name, "crypto.db")
        with self.open(uri) as c:
            db = c.create("secret", "payments", "p")
            c.fake_kube.make_ready(db)
            c.wait_ready(db.id, timeout=10)
        other_key = os.path.join(self.tmp.name, "other-key")
        with self.open(uri, kubeconfig=None, no_kube=True, secret_key_file=other_key) as c:
            with self.assertRaises(daap.Crypto):
                c.get(db.id)

    def test_context_manager_closes(self):
        with self.open() as c:
            self.assertFalse(c.is_remote)
            self.assertEqual(c.namespace, "daap")
            c.ping()
        with self.assertRaises(daap.Error):
            c.get("x")
        self.assertIn("closed", repr(c))
        c.close()  # twice is fine

    def test_namespace_option(self):
        with self.open(namespace="team-a") as c:
            self.assertEqual(c.create("ns-test", "payments", "p").namespace, "team-a")

    def test_server_and_store_are_exclusive(self):
        with self.assertRaises(daap.InvalidArgument):
            daap.Client(store="sqlite::memory:", server="http://127.0.0.1:1")

    def test_missing_key_is_reported(self):
        with self.assertRaises(daap.InvalidArgument) as cm:
            daap.Client(store="sqlite::memory:", kubeconfig="fake", auto_migrate=True,
                        secret_key_file=os.path.join(self.tmp.name, "absent"))
        self.assertTrue(cm.exception.message)

    def test_fake_kube_belongs_to_one_client(self):
        kube = daap.FakeKube()
        with self.open(kubeconfig=None, kube=kube) as c:
            self.assertIs(c.fake_kube, kube)
            with self.assertRaises(daap.InvalidArgument):
                self.open(kubeconfig=None, kube=kube)
        with self.assertRaises(daap.Error):
            kube.calls("create")  # freed with its client

    def test_unused_fake_kube_is_freed(self):
        daap.FakeKube()  # released by __del__ without a context

    def test_threads_share_a_client(self):
        errors = []

        def work(i):
            try:
                for j in range(10):
                    db = self.client.create("t%d-%d" % (i, j), "payments", "threads")
                    self.client.get(db.id)
                    with self.assertRaises(daap.NotFound):
                        self.client.get("missing-%d" % j)
            except Exception as e:  # surfaced below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(list(self.client.list())), 40)


if __name__ == "__main__":
    unittest.main()
