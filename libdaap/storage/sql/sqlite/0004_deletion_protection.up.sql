-- Deletion protection (DESIGN.md section 11): while 1, DELETE is refused.
-- Existing records are unprotected, as a new one is by default.
ALTER TABLE databases ADD COLUMN deletion_protection INTEGER NOT NULL DEFAULT 0
    CHECK (deletion_protection IN (0, 1));
