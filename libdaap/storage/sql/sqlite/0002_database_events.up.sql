-- The event history of each database (DESIGN.md section 11). One row per
-- event; a repeat of the newest row's type, reason and message folds into
-- it (count, last_at), as Kubernetes event series do. Rows outlive their
-- record: a soft-deleted database keeps its trail until retention purges it.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC).
CREATE TABLE database_events (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    database_id TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    type        TEXT    NOT NULL CHECK (type IN ('normal', 'warning')),
    reason      TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    actor       TEXT    NOT NULL,
    request_id  TEXT,
    count       INTEGER NOT NULL CHECK (count >= 1)
) STRICT;

-- A page is read newest first from (database_id, id); retention deletes by last_at.
CREATE INDEX database_events_db_id ON database_events (database_id, id);
CREATE INDEX database_events_last_at ON database_events (last_at);
