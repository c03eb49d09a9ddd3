-- Deletion protection (DESIGN.md section 11): while 1, DELETE is refused.
-- An integer, not boolean, because the record's INT fields are bound as
-- integers by every SQL backend. Existing records are unprotected.
ALTER TABLE databases ADD COLUMN deletion_protection smallint NOT NULL DEFAULT 0
    CONSTRAINT databases_deletion_protection_check CHECK (deletion_protection IN (0, 1));
