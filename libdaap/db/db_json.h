/* The JSON rendering of records and pages (db_json.c): the keyset cursor
 * and a page written in pieces, for renderers that stream rows. */
#ifndef DAAP_INTERNAL_DB_JSON_H
#define DAAP_INTERNAL_DB_JSON_H

#include "db/db.h"

/* Keyset cursor: "<created_at>.<id>" in base64url. */
int daap__cursor_encode(char **out, int64_t created_at, const char *id);
int daap__cursor_decode(int64_t *created_at, char *id, size_t idsize, const char *cursor);

/* Event cursor: "<event id>.<database id>" in the same encoding; decode
 * refuses a cursor of another database. */
int daap__event_cursor_encode(char **out, int64_t event_id, const char *database_id);
int daap__event_cursor_decode(int64_t *event_id, const char *database_id, const char *cursor);

/* Page JSON in pieces: open, items, close. */
int daap__page_json_open(daap_buf *b);
int daap__db_render_item(daap_buf *b, const daap_db *db, size_t index);
int daap__page_json_close(daap_buf *b, const char *next_cursor);

#endif
