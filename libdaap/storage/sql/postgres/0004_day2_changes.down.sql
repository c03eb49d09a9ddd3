ALTER TABLE databases DROP COLUMN change_started_at;
ALTER TABLE databases DROP COLUMN deletion_protection;
