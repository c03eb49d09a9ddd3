-- Password rotation (DESIGN.md section 11, docs/day2.md): the new password,
-- sealed as the current one is (AES-256-GCM, bound to the record id), kept
-- while it is written to the -app Secret and a login with it is verified.
-- NULL when no rotation is under way. It is write-ahead intent: a crash
-- between the Secret write and the record write is finished from here.
ALTER TABLE databases ADD COLUMN pending_password bytea;
