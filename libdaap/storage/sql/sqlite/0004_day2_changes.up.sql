-- Day-2 changes (DESIGN.md section 11, docs/day2.md).
-- deletion_protection: while 1, DELETE is refused. Existing records are
-- unprotected, as a new one is by default.
ALTER TABLE databases ADD COLUMN deletion_protection INTEGER NOT NULL DEFAULT 0
    CHECK (deletion_protection IN (0, 1));
-- change_started_at: when a resize the owner asked for began rolling out;
-- NULL when none is under way (one change at a time).
ALTER TABLE databases ADD COLUMN change_started_at INTEGER;
