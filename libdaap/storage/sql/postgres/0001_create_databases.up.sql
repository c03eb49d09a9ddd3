-- The database records (DESIGN.md section 3). Columns match
-- daap_db_field_describe(). id and name compare bytewise (COLLATE "C"), as
-- in SQLite, so keyset order does not depend on the server's locale.
CREATE TABLE databases (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    name          text COLLATE "C" NOT NULL,
    owner_team    text        NOT NULL,
    purpose       text        NOT NULL,
    namespace     text        NOT NULL,
    cluster_name  text        NOT NULL,
    pooler_name   text        NOT NULL,
    instances     integer     NOT NULL,
    storage_size  text        NOT NULL,
    pg_version    integer     NOT NULL,
    status        text        NOT NULL
        CONSTRAINT databases_status_check
        CHECK (status IN ('provisioning', 'ready', 'error', 'deleting', 'deleted')),
    status_reason text,
    host          text,
    port          integer,
    dbname        text,
    username      text,
    password      bytea,
    direct_host   text,
    direct_port   integer,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    ready_at      timestamptz,
    deleted_at    timestamptz,
    revision      bigint      NOT NULL CHECK (revision >= 1)
);

-- A name is held by every record that is not finally deleted.
CREATE UNIQUE INDEX databases_name_live ON databases (name) WHERE status <> 'deleted';

-- The list query's orders: each filter is followed by (created_at, id), so
-- keyset pages are read from an index without sorting.
CREATE INDEX databases_created ON databases (created_at, id);
CREATE INDEX databases_owner_created ON databases (owner_team, created_at, id);
CREATE INDEX databases_status_created ON databases (status, created_at, id);
