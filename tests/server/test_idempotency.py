"""Idempotency-Key on POST (docs/idempotency.md): replay, 409 while in flight,
422 for another request, 400 for a malformed key, validation failures not
stored, the in-flight lease, team scopes and expiry."""
import hashlib
import json
import os
import sqlite3
import time
import unittest

from daaptest import ServerTestCase, wait_for

DB_FILE = "daap.db"


def body_bytes(name, team="payments", purpose="tests"):
    return json.dumps({"name": name, "owner_team": team, "purpose": purpose}).encode()


def fingerprint(method, path, team, body):
    """The server's fingerprint (libdaap/lifecycle/idempotency.c): each part
    after its length, so a test can plant a row as another process would."""
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), team.encode(), body):
        h.update(b"%d:" % len(part))
        h.update(part)
    return h.hexdigest()


class IdempotencyCase(ServerTestCase):
    def post_keyed(self, body, key, team=None, headers=None):
        h = {"Idempotency-Key": key}
        if team is not None:
            h["X-Daap-Team"] = team
        h.update(headers or {})
        return self.srv.post("/databases", body, headers=h)

    def store(self):
        conn = sqlite3.connect(os.path.join(self.dir, DB_FILE), timeout=5)
        self.addCleanup(conn.close)
        return conn

    def count_named(self, name):
        return len([d for d in self.srv.list_all("name=" + name) if d["name"] == name])


class IdempotencyTest(IdempotencyCase):
    def test_replay_returns_first_answer(self):
        body = body_bytes("idem-replay")
        first = self.post_keyed(body, '"key-replay-0001"')
        self.assertEqual(first.status, 201, first)
        self.assertIsNone(first.header("Idempotent-Replayed"))
        for _ in range(3):
            again = self.post_keyed(body, '"key-replay-0001"')
            self.assertEqual(again.status, 201, again)
            self.assertEqual(again.header("Location"), first.header("Location"))
            self.assertEqual(again.raw, first.raw)
            self.assertEqual(again.header("Idempotent-Replayed"), "true")
            self.assertNotEqual(again.header("X-Request-Id"), first.header("X-Request-Id"))
        self.assertEqual(self.count_named("idem-replay"), 1)

    def test_bare_token_is_the_same_key_as_the_quoted_string(self):
        body = body_bytes("idem-bare")
        first = self.post_keyed(body, "KG5LxwFBepaKHyUD")
        self.assertEqual(first.status, 201, first)
        again = self.post_keyed(body, '"KG5LxwFBepaKHyUD"')
        self.assertEqual((again.status, again.header("Idempotent-Replayed")), (201, "true"))

    def test_same_key_other_body_is_422(self):
        first = self.post_keyed(body_bytes("idem-other-a"), '"key-other-0001"')
        self.assertEqual(first.status, 201, first)
        other = self.post_keyed(body_bytes("idem-other-b"), '"key-other-0001"')
        self.assertEqual(other.status, 422, other)
        self.assertTrue(other.header("Content-Type").startswith("application/problem+json"))
        self.assertIn("Idempotency-Key", other.json["detail"])
        self.assertEqual(self.count_named("idem-other-b"), 0)

    def test_malformed_keys_are_400(self):
        bad = ['"unterminated', '"a"; p=1', '""', '"a", "b"', "a b", '"bad\\x"', "x" * 256,
               '"' + "y" * 256 + '"', "semi;colon", '"tab\tinside"']
        for key in bad:
            with self.subTest(key=key):
                r = self.post_keyed(body_bytes("idem-malformed"), key)
                self.assertEqual(r.status, 400, r)
                self.assertIn("Idempotency-Key", r.json["detail"])
        self.assertEqual(self.count_named("idem-malformed"), 0)

    def test_key_sent_twice_is_400(self):
        conn = self.srv.connect()
        self.addCleanup(conn.close)
        body = body_bytes("idem-twice")
        conn.putrequest("POST", "/databases")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Idempotency-Key", '"key-twice-0001"')
        conn.putheader("Idempotency-Key", '"key-twice-0002"')
        conn.endheaders(body)
        r = conn.getresponse()
        self.assertEqual(r.status, 400)
        self.assertIn(b"more than once", r.read())

    def test_validation_failure_is_not_stored(self):
        broken = json.dumps({"name": "idem-fixed", "owner_team": "payments"}).encode()  # no purpose
        r = self.post_keyed(broken, '"key-fixed-0001"')
        self.assertEqual(r.status, 400, r)
        fixed = self.post_keyed(body_bytes("idem-fixed"), '"key-fixed-0001"')
        self.assertEqual(fixed.status, 201, fixed)
        self.assertIsNone(fixed.header("Idempotent-Replayed"))

    def test_an_error_after_validation_is_replayed(self):
        self.assertEqual(self.srv.post("/databases", body_bytes("idem-taken")).status, 201)
        taken = self.post_keyed(body_bytes("idem-taken"), '"key-taken-0001"')
        self.assertEqual(taken.status, 409, taken)
        again = self.post_keyed(body_bytes("idem-taken"), '"key-taken-0001"')
        self.assertEqual((again.status, again.header("Idempotent-Replayed")), (409, "true"))
        self.assertEqual(again.raw, taken.raw)

    def test_keys_are_scoped_to_the_team(self):
        body = body_bytes("idem-scope")
        first = self.post_keyed(body, '"key-scope-0001"', team="payments")
        self.assertEqual(first.status, 201, first)
        # Another team's request with the key is its own: it runs (and finds the name taken).
        other = self.post_keyed(body, '"key-scope-0001"', team="search")
        self.assertEqual(other.status, 409, other)
        self.assertIsNone(other.header("Idempotent-Replayed"))
        mine = self.post_keyed(body, '"key-scope-0001"', team="payments")
        self.assertEqual((mine.status, mine.header("Idempotent-Replayed")), (201, "true"))

    def plant_in_flight(self, key, body, expires_in_ms, team=""):
        now = int(time.time() * 1000)
        with self.store() as conn:
            conn.execute("INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at, expires_at)"
                         " VALUES (?, ?, ?, 'in_flight', ?, ?)",
                         (team, key, fingerprint("POST", "/databases", team, body), now, now + expires_in_ms))

    def test_in_flight_is_409_with_retry_after(self):
        body = body_bytes("idem-inflight")
        # Another replica holds the key and has not answered yet.
        self.plant_in_flight("key-inflight-0001", body, 60000)
        r = self.post_keyed(body, '"key-inflight-0001"')
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.header("Retry-After"), "1")
        self.assertIn("still being processed", r.json["detail"])
        self.assertEqual(self.count_named("idem-inflight"), 0)
        # Another body is told the key belongs to another request.
        other = self.post_keyed(body_bytes("idem-inflight-2"), '"key-inflight-0001"')
        self.assertEqual(other.status, 422, other)

    def test_a_crashed_holder_frees_the_key_after_its_lease(self):
        body = body_bytes("idem-crashed")
        self.plant_in_flight("key-crashed-0001", body, -1)  # the lease has just passed
        r = self.post_keyed(body, '"key-crashed-0001"')
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        again = self.post_keyed(body, '"key-crashed-0001"')
        self.assertEqual((again.status, again.header("Idempotent-Replayed")), (201, "true"))

    def test_no_key_no_change(self):
        r = self.srv.post("/databases", body_bytes("idem-none"))
        self.assertEqual(r.status, 201, r)
        again = self.srv.post("/databases", body_bytes("idem-none"))
        self.assertEqual(again.status, 409, again)
        self.assertIsNone(again.header("Idempotent-Replayed"))


class IdempotencyExpiryTest(IdempotencyCase):
    server_args = ("--idempotency-ttl", "1s", "--resync-period", "200ms")

    def test_expired_key_is_a_new_request_and_is_purged(self):
        body = body_bytes("idem-expiry")
        first = self.post_keyed(body, '"key-expiry-0001"')
        self.assertEqual(first.status, 201, first)
        again = self.post_keyed(body, '"key-expiry-0001"')
        self.assertEqual((again.status, again.header("Idempotent-Replayed")), (201, "true"))

        def purged():
            with self.store() as conn:
                return conn.execute("SELECT count(*) FROM idempotency_keys WHERE key = 'key-expiry-0001'").fetchone()[0] == 0
        wait_for(purged, 10, interval=0.2, what="the expired key purged")
        late = self.post_keyed(body, '"key-expiry-0001"')
        self.assertEqual(late.status, 409, late)  # run again: the name is taken now
        self.assertIsNone(late.header("Idempotent-Replayed"))


if __name__ == "__main__":
    unittest.main()
