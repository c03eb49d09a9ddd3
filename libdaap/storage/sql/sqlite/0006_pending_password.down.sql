ALTER TABLE databases DROP COLUMN pending_password;
