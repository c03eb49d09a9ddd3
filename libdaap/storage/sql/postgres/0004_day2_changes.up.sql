-- Day-2 changes (DESIGN.md section 11, docs/day2.md).
-- deletion_protection: while 1, DELETE is refused. An integer, not boolean,
-- because the record's INT fields are bound as integers by every SQL
-- backend. Existing records are unprotected.
ALTER TABLE databases ADD COLUMN deletion_protection smallint NOT NULL DEFAULT 0
    CONSTRAINT databases_deletion_protection_check CHECK (deletion_protection IN (0, 1));
-- change_started_at: when a resize the owner asked for began rolling out;
-- NULL when none is under way (one change at a time).
ALTER TABLE databases ADD COLUMN change_started_at timestamptz;
