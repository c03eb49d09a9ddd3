-- Idempotency keys (DESIGN.md section 11, docs/idempotency.md). One row per
-- key within its scope (the caller's team, '' for none), so a key guessed
-- by another team never reaches this one's responses. expires_at is the end
-- of the in-flight lease while state is 'in_flight', and the end of the
-- key's life once it is 'done'; past it, the row may be taken over or purged.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC).
CREATE TABLE idempotency_keys (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('in_flight', 'done')),
    status       INTEGER,
    location     TEXT,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;

-- The purge reads expired rows in order, a bounded batch at a time.
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
