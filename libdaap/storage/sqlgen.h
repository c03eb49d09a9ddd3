/* SQL text and values for the `databases` table, built from the field table
 * (daap_db_field_describe), shared by the SQLite and PostgreSQL backends.
 *
 * Statements number their parameters; field f is always parameter f + 1, so
 * one value array serves INSERT and UPDATE alike. Backends translate
 * daap__sqlvalue arrays to and from their driver's types and do nothing else
 * with the field table. */
#ifndef DAAP_STORAGE_SQLGEN_H
#define DAAP_STORAGE_SQLGEN_H

#include "common.h"
#include "db/db.h" /* struct daap_db, for row views */
#include <daap/sys/storage.h>

/* What differs between the SQL dialects in the statements built here. */
typedef struct {
    char        placeholder;   /* '?' for ?N (SQLite) or '$' for $N (PostgreSQL) */
    const char *time_in_pre;   /* wraps a parameter holding ms since the epoch */
    const char *time_in_post;
    const char *time_out_pre;  /* wraps a TIME column read back as ms */
    const char *time_out_post;
} daap__sqlgen_dialect;

/* The two dialects: SQLite keeps INTEGER ms; PostgreSQL has timestamptz. */
extern const daap__sqlgen_dialect daap__sqlgen_sqlite;
extern const daap__sqlgen_dialect daap__sqlgen_postgres;

typedef enum {
    DAAP__SQL_NULL = 0,
    DAAP__SQL_INT,
    DAAP__SQL_TEXT,
    DAAP__SQL_BLOB
} daap__sqlkind;

/* A parameter or a column value; text and blob are borrowed. */
typedef struct {
    daap__sqlkind kind;
    int64_t       i;
    const char   *p;
    size_t        len;
} daap__sqlvalue;

/* The most parameters any statement here takes. */
#define DAAP__SQL_MAX_PARAMS (DAAP_DB_F__COUNT + 1)

/* The list statements differ only by which filters are present; there are
 * DAAP__LIST_SHAPES of them, so a backend can cache each one. One status is
 * `status = ?`, read in order from (status, created_at, id); several are an
 * IN list, which needs a sort of just the rows with those statuses. */
enum {
    DAAP__LIST_OWNER      = 1u << 0,
    DAAP__LIST_STATUS     = 1u << 1,
    DAAP__LIST_STATUS_ANY = 1u << 2,
    DAAP__LIST_PREFIX     = 1u << 3,
    DAAP__LIST_LIVE       = 1u << 4,
    DAAP__LIST_KEYSET     = 1u << 5,
    DAAP__LIST_SUMMARY    = 1u << 6,  /* NULL for the connection columns */
    DAAP__LIST_SHAPES     = 1u << 7
};

/* Every statement a backend caches: the fixed ones, then one per list shape. */
enum {
    DAAP__STMT_INSERT,
    DAAP__STMT_GET,
    DAAP__STMT_UPDATE,
    DAAP__STMT_REVISION,
    /* version 3: event history (sqlevents.h) */
    DAAP__STMT_EVENT_NEWEST,
    DAAP__STMT_EVENT_FOLD,
    DAAP__STMT_EVENT_INSERT,
    DAAP__STMT_EVENT_PAGE,
    DAAP__STMT_EVENT_PURGE,
    DAAP__STMT_LIST,
    DAAP__STMT_COUNT = DAAP__STMT_LIST + DAAP__LIST_SHAPES
};

/* The SQL of statement `which` (a DAAP__STMT_* value, or
 * DAAP__STMT_LIST + shape). UPDATE sets every field but id WHERE id = P1
 * AND revision = P(DAAP_DB_F__COUNT + 1). */
int daap__sqlgen_statement(daap_buf *out, const daap__sqlgen_dialect *d, int which);

/* The list statement of a shape (also for EXPLAIN in tests). */
int daap__sqlgen_list(daap_buf *out, const daap__sqlgen_dialect *d, unsigned int shape);

/* Check a query and find its shape. */
int daap__sqlgen_list_shape(unsigned int *out, const daap_storage_query *q);
/* The parameters of a list query, in statement order; returns their count. */
size_t daap__sqlgen_list_params(daap__sqlvalue *out, const daap_storage_query *q);

/* A record as DAAP_DB_F__COUNT parameters (borrowing from db). */
int daap__sqlgen_db_params(daap__sqlvalue *out, const daap_db *db);
/* A record from DAAP_DB_F__COUNT column values in field order. */
int daap__sqlgen_db_from_row(daap_db **out, const daap__sqlvalue *row);
/* The same as a view that borrows the values (see struct daap_db): for scan(). */
int daap__sqlgen_db_view(daap_db *view, const daap__sqlvalue *row);
/* Whether a scan may leave column f unread (daap_storage_query.skip_connection). */
bool daap__sqlgen_skips(const daap_storage_query *q, int f);

/* Free the records a failed list appended after the first `count`. */
void daap__sqlgen_array_truncate(daap_db_array *arr, size_t count);

/* Check an update's revisions before it reaches the store. */
int daap__sqlgen_check_update(const daap_db *db, int64_t expected_revision);

/* DAAP_EEXISTS for a record whose id (on_id) or live name is taken;
 * `detail` is the driver's message or constraint. */
int daap__sql_exists_error(const char *where, const daap_db *db, int on_id, const char *detail);

/* An idempotency key row read back by idem_begin: the columns of
 * DAAP__SQL_IDEM_COLUMNS, in that order, as values. Fills `out` with
 * MISMATCH, IN_FLIGHT or DONE (and the stored response). */
#define DAAP__SQL_IDEM_COLUMNS "fingerprint, state, status, location, body"
#define DAAP__SQL_IDEM_NCOLUMNS 5
int daap__sql_idem_row(daap_idempotency_record *out, const daap_storage_idem *k, const daap__sqlvalue *row);

/* Copy `msg` into `dst` as a single line: newlines become spaces, trailing
 * blanks go. For driver messages, which may span lines. */
void daap__sql_one_line(char *dst, size_t size, const char *msg);

#endif
