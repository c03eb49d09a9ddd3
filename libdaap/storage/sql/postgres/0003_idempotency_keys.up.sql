-- Idempotency keys (DESIGN.md section 11, docs/idempotency.md). One row per
-- key within its scope (the caller's team, '' for none), so a key guessed
-- by another team never reaches this one's responses. expires_at is the end
-- of the in-flight lease while state is 'in_flight', and the end of the
-- key's life once it is 'done'; past it, the row may be taken over or purged.
-- The primary key makes the first INSERT ... ON CONFLICT DO NOTHING win
-- across replicas.
CREATE TABLE idempotency_keys (
    scope        text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    fingerprint  text        NOT NULL,
    state        text        NOT NULL
        CONSTRAINT idempotency_keys_state_check CHECK (state IN ('in_flight', 'done')),
    status       integer,
    location     text,
    body         bytea,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- The purge reads expired rows in order, a bounded batch at a time.
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
