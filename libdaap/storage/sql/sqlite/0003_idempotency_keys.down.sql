DROP INDEX idempotency_keys_expires;
DROP TABLE idempotency_keys;
