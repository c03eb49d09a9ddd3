-- The database records (DESIGN.md section 3). Columns match
-- daap_db_field_describe(). Timestamps are INTEGER milliseconds since the
-- Unix epoch (UTC); status is stored by name.
CREATE TABLE databases (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    owner_team    TEXT    NOT NULL,
    purpose       TEXT    NOT NULL,
    namespace     TEXT    NOT NULL,
    cluster_name  TEXT    NOT NULL,
    pooler_name   TEXT    NOT NULL,
    instances     INTEGER NOT NULL,
    storage_size  TEXT    NOT NULL,
    pg_version    INTEGER NOT NULL,
    status        TEXT    NOT NULL
        CHECK (status IN ('provisioning', 'ready', 'error', 'deleting', 'deleted')),
    status_reason TEXT,
    host          TEXT,
    port          INTEGER,
    dbname        TEXT,
    username      TEXT,
    password      BLOB,
    direct_host   TEXT,
    direct_port   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    ready_at      INTEGER,
    deleted_at    INTEGER,
    revision      INTEGER NOT NULL CHECK (revision >= 1)
) STRICT;

-- A name is held by every record that is not finally deleted.
CREATE UNIQUE INDEX databases_name_live ON databases (name) WHERE status <> 'deleted';

-- The list query's orders: each filter is followed by (created_at, id), so
-- keyset pages are read from an index without sorting.
CREATE INDEX databases_created ON databases (created_at, id);
CREATE INDEX databases_owner_created ON databases (owner_team, created_at, id);
CREATE INDEX databases_status_created ON databases (status, created_at, id);
