DROP INDEX database_events_last_at;
DROP INDEX database_events_db_id;
DROP TABLE database_events;
