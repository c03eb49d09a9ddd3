DROP INDEX databases_status_created;
DROP INDEX databases_owner_created;
DROP INDEX databases_created;
DROP INDEX databases_name_live;
DROP TABLE databases;
