-- The event history of each database (DESIGN.md section 11). One row per
-- event; a repeat of the newest row's type, reason and message folds into
-- it (count, last_at), as Kubernetes event series do. Rows outlive their
-- record: a soft-deleted database keeps its trail until retention purges it.
CREATE TABLE database_events (
    id          bigserial   NOT NULL PRIMARY KEY,
    database_id text COLLATE "C" NOT NULL,
    at          timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    type        text        NOT NULL
        CONSTRAINT database_events_type_check CHECK (type IN ('normal', 'warning')),
    reason      text        NOT NULL,
    message     text        NOT NULL,
    from_status text,
    to_status   text,
    actor       text        NOT NULL,
    request_id  text,
    count       bigint      NOT NULL CHECK (count >= 1)
);

-- A page is read newest first from (database_id, id); retention deletes by last_at.
CREATE INDEX database_events_db_id ON database_events (database_id, id);
CREATE INDEX database_events_last_at ON database_events (last_at);
