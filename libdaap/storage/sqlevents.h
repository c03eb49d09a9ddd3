/* SQL text and values for the `database_events` table (sqlevents.c), shared
 * by the SQLite and PostgreSQL backends, like sqlgen.h for `databases`.
 *
 * A backend writes a record's events inside the record's own transaction:
 * for each event it reads the record's newest event (DAAP__STMT_EVENT_NEWEST),
 * folds into it when daap__sqlevents_folds() says so (DAAP__STMT_EVENT_FOLD),
 * else appends (DAAP__STMT_EVENT_INSERT). The record write that comes first
 * holds the record's row lock, so two writers of one record's events queue
 * up instead of both folding into the same row. */
#ifndef DAAP_STORAGE_SQLEVENTS_H
#define DAAP_STORAGE_SQLEVENTS_H

#include "storage/sqlgen.h"

/* Columns of DAAP__STMT_EVENT_NEWEST: id, type, reason, message. */
#define DAAP__EVENT_NEWEST_COLUMNS 4
/* Columns of DAAP__STMT_EVENT_PAGE, in daap_db_event order. */
#define DAAP__EVENT_COLUMNS 12
/* The most parameters an event statement takes. */
#define DAAP__EVENT_MAX_PARAMS 10

/* The SQL of an event statement (DAAP__STMT_EVENT_*). */
int daap__sqlevents_statement(daap_buf *out, const daap__sqlgen_dialect *d, int which);

/* Parameters of each statement, in order; each returns their count. */
size_t daap__sqlevents_newest_params(daap__sqlvalue *out, const char *database_id);
size_t daap__sqlevents_fold_params(daap__sqlvalue *out, int64_t event_id, const daap_db_event *ev);
size_t daap__sqlevents_insert_params(daap__sqlvalue *out, const char *database_id, const daap_db_event *ev);
size_t daap__sqlevents_page_params(daap__sqlvalue *out, const daap_storage_event_query *q);
size_t daap__sqlevents_purge_params(daap__sqlvalue *out, int64_t before_ms, uint32_t max_rows);

/* Check an event page query (version, database id, limit). */
int daap__sqlevents_check_query(const daap_storage_event_query *q);

/* Whether `ev` repeats the newest event (a NEWEST row): same type, reason
 * and message. */
bool daap__sqlevents_folds(const daap__sqlvalue *newest, const daap_db_event *ev);

/* Append the event of one PAGE row to `out` (copied). */
int daap__sqlevents_push_row(daap_db_event_page *out, const daap__sqlvalue *row);

#endif
