ALTER TABLE databases DROP COLUMN deletion_protection;
