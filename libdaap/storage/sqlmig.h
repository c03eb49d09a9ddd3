/* The migration engine shared by the SQL storage backends.
 *
 * Migrations are the embedded assets sql/<dialect>/NNNN_<name>.up.sql and
 * .down.sql, numbered upwards from 1. Numbers may have gaps (two branches
 * that each took one merge in either order), but the applied ones must be
 * the first known steps: one is never applied after a later one. Applied ones are rows of
 * schema_migrations(version, name, checksum, applied_at), where checksum is
 * the SHA-256 (hex) of the up SQL. A backend supplies its dialect: SQL
 * strings for the transaction and lock verbs, run through its `exec`, and a
 * reader for the applied rows. */
#ifndef DAAP_STORAGE_SQLMIG_H
#define DAAP_STORAGE_SQLMIG_H

#include "common.h"

#define DAAP__SQLMIG_NAME_MAX 64
#define DAAP__SQLMIG_CHECKSUM_LEN 64  /* hex digits of a SHA-256 */

/* One row of schema_migrations. */
typedef struct {
    int32_t version;
    char    checksum[DAAP__SQLMIG_CHECKSUM_LEN + 1];
    int64_t applied_at;  /* ms since the epoch */
} daap__sqlmig_applied;

typedef struct {
    const char *name;          /* asset folder under sql/, e.g. "sqlite" */
    const char *bootstrap_sql; /* creates schema_migrations if it is missing */
    const char *now_sql;       /* the current time as a value for applied_at */
    const char *begin_sql;     /* starts a transaction that can write */
    const char *commit_sql;
    const char *rollback_sql;
    const char *lock_sql;      /* held for a whole run; NULL: none needed */
    const char *unlock_sql;
    /* Run SQL (possibly several statements); set the error and return < 0 on failure. */
    int (*exec)(void *conn, const char *sql);
    /* All rows of schema_migrations in version order, allocated with
     * daap__calloc; none (and 0) when the table does not exist. */
    int (*read_applied)(daap__sqlmig_applied **out, size_t *count, void *conn);
} daap__sqlmig_dialect;

typedef struct {
    int32_t     version;
    char        name[DAAP__SQLMIG_NAME_MAX];
    const char *up;
    const char *down;
    char        checksum[DAAP__SQLMIG_CHECKSUM_LEN + 1];
} daap__sqlmig_step;

typedef struct {
    const daap__sqlmig_dialect *dialect;
    void              *conn;
    daap__sqlmig_step *steps;  /* in increasing version order */
    size_t             count;
} daap__sqlmig;

/* Load the dialect's migrations from the embedded assets. */
int  daap__sqlmig_init(daap__sqlmig *m, const daap__sqlmig_dialect *dialect, void *conn);
void daap__sqlmig_dispose(daap__sqlmig *m);

/* Migrate up or down to `target` (-1: latest), one transaction per step.
 * @return 0, DAAP_EINVALID (unknown target), DAAP_ECONFLICT (checksum
 *         mismatch, or the store is newer than the library), or the
 *         dialect's error */
int  daap__sqlmig_run(daap__sqlmig *m, int32_t target);

/* Fill `out` (items allocated with daap__calloc, names inside that block). */
int  daap__sqlmig_status(daap_migration_status *out, daap__sqlmig *m);

/* The hex SHA-256 of `len` bytes, into `out` (DAAP__SQLMIG_CHECKSUM_LEN + 1 bytes). */
int  daap__sqlmig_checksum(char *out, const char *data, size_t len);

#endif
