/* The SQLite storage backend: one connection per backend instance, in WAL
 * mode, with every statement prepared once and kept for the instance's life. */
#include "common.h"
#include "storage/sqlgen.h"
#include "storage/sqlevents.h"
#include "storage/sqlmig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 5000

/* The idempotency key statements (version 3), beside sqlgen's. */
enum { IDEM_FREE_EXPIRED, IDEM_INSERT, IDEM_READ, IDEM_FINISH, IDEM_ABANDON, IDEM_PURGE, IDEM__COUNT };

typedef struct {
    daap_storage_backend parent;
    sqlite3      *db;
    sqlite3_stmt *stmts[DAAP__STMT_COUNT];
    sqlite3_stmt *idem[IDEM__COUNT];
    daap__sqlmig  mig;
} sqlite_backend;

static int code_for(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            ? DAAP_EEXISTS : DAAP_EINVALID;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_NOTADB:
        return DAAP_EUNAVAILABLE;
    default:
        return DAAP_ERROR;
    }
}

static int fail(sqlite_backend *be, int rc, const char *op)
{
    return daap_error_set(code_for(rc), DAAP_ERRCLASS_STORAGE, "sqlite %s: %s (%s)",
                          op, sqlite3_errmsg(be->db), sqlite3_errstr(rc));
}

static int statement(sqlite3_stmt **out, sqlite_backend *be, int which)
{
    daap_buf sql = DAAP_BUF_INIT;
    int rc;

    if (be->stmts[which] == NULL) {
        rc = daap__sqlgen_statement(&sql, &daap__sqlgen_sqlite, which);
        if (rc == 0 && (rc = sqlite3_prepare_v3(be->db, sql.ptr, -1, SQLITE_PREPARE_PERSISTENT,
                                                &be->stmts[which], NULL)) != SQLITE_OK)
            rc = fail(be, rc, "prepare");
        daap_buf_dispose(&sql);
        DAAP_TRY(rc);
    }
    *out = be->stmts[which];
    return 0;
}

static int bind_values(sqlite_backend *be, sqlite3_stmt *st, const daap__sqlvalue *v, size_t n)
{
    size_t i;
    int rc = SQLITE_OK;

    for (i = 0; i < n && rc == SQLITE_OK; i++) {
        int at = (int)i + 1;
        switch (v[i].kind) {
        case DAAP__SQL_NULL: rc = sqlite3_bind_null(st, at); break;
        case DAAP__SQL_INT:  rc = sqlite3_bind_int64(st, at, v[i].i); break;
        case DAAP__SQL_TEXT: rc = sqlite3_bind_text(st, at, v[i].p, (int)v[i].len, SQLITE_STATIC); break;
        case DAAP__SQL_BLOB: rc = sqlite3_bind_blob(st, at, v[i].p, (int)v[i].len, SQLITE_STATIC); break;
        }
    }
    return rc == SQLITE_OK ? 0 : fail(be, rc, "bind");
}

/* A cached statement, ready to step with `v` bound. */
static int start(sqlite3_stmt **out, sqlite_backend *be, int which, const daap__sqlvalue *v, size_t n)
{
    int rc;

    DAAP_TRY(statement(out, be, which));
    if ((rc = bind_values(be, *out, v, n)) < 0)
        sqlite3_clear_bindings(*out);
    return rc;
}

static void finish(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* A NOT NULL column of a STRICT table has its declared type, which saves
 * asking SQLite for it: a third of the calls on the list path. */
static int column_type(sqlite3_stmt *st, int c)
{
    const daap_db_field_info *fi = daap_db_field_describe(c);

    if (!fi->required)
        return sqlite3_column_type(st, c);
    switch (fi->type) {
    case DAAP_DB_T_INT: case DAAP_DB_T_TIME: return SQLITE_INTEGER;
    case DAAP_DB_T_BLOB: return SQLITE_BLOB;
    default: return SQLITE_TEXT;
    }
}

/* Columns a scan does not need stay NULL: SQLite decodes only what is read. */
static void read_row(sqlite3_stmt *st, daap__sqlvalue *row, const daap_storage_query *q)
{
    int c;

    for (c = 0; c < DAAP_DB_F__COUNT; c++) {
        daap__sqlvalue *v = &row[c];

        memset(v, 0, sizeof(*v));
        if (q && daap__sqlgen_skips(q, c))
            continue;
        switch (column_type(st, c)) {
        case SQLITE_NULL:
            break;
        case SQLITE_TEXT:
            v->kind = DAAP__SQL_TEXT;
            v->p = (const char *)sqlite3_column_text(st, c);
            v->len = (size_t)sqlite3_column_bytes(st, c);
            break;
        case SQLITE_BLOB:
            v->kind = DAAP__SQL_BLOB;
            v->p = sqlite3_column_blob(st, c);
            v->len = (size_t)sqlite3_column_bytes(st, c);
            break;
        default:
            v->kind = DAAP__SQL_INT;
            v->i = sqlite3_column_int64(st, c);
            break;
        }
    }
}

static int row_to_db(daap_db **out, sqlite3_stmt *st)
{
    daap__sqlvalue row[DAAP_DB_F__COUNT];

    read_row(st, row, NULL);
    return daap__sqlgen_db_from_row(out, row);
}

/* Step a write statement to completion. */
static int write_one(sqlite_backend *be, int which, const daap__sqlvalue *v, size_t n,
                     const char *op, const daap_db *db)
{
    sqlite3_stmt *st;
    char where[32];
    int rc, step;

    DAAP_TRY(start(&st, be, which, v, n));
    step = sqlite3_step(st);
    if (step == SQLITE_DONE)
        rc = 0;
    else if (code_for(step) == DAAP_EEXISTS) {
        snprintf(where, sizeof(where), "sqlite %s", op);
        rc = daap__sql_exists_error(where, db, step == SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3_errmsg(be->db));
    } else
        rc = fail(be, step, op);
    finish(st);
    return rc;
}

static int sqlite_insert(daap_storage_backend *base, const daap_db *db)
{
    daap__sqlvalue v[DAAP__SQL_MAX_PARAMS];

    DAAP_TRY(daap__sqlgen_db_params(v, db));
    return write_one((sqlite_backend *)base, DAAP__STMT_INSERT, v, DAAP_DB_F__COUNT, "insert", db);
}

/* Run a one-row query: 1 with the row, 0 with none. The caller finishes st. */
static int query_one(sqlite3_stmt **st, sqlite_backend *be, int which, const char *id, const char *op)
{
    daap__sqlvalue key = { DAAP__SQL_TEXT, 0, id, strlen(id) };
    int step;

    DAAP_TRY(start(st, be, which, &key, 1));
    step = sqlite3_step(*st);
    if (step == SQLITE_ROW || step == SQLITE_DONE)
        return step == SQLITE_ROW;
    step = fail(be, step, op);
    finish(*st);
    return step;
}

static int sqlite_get(daap_db **out, daap_storage_backend *base, const char *id)
{
    sqlite_backend *be = (sqlite_backend *)base;
    sqlite3_stmt *st;
    int rc;

    DAAP_ASSERT_ARG(out && id);
    *out = NULL;
    if ((rc = query_one(&st, be, DAAP__STMT_GET, id, "get")) < 0)
        return rc;
    rc = rc ? row_to_db(out, st)
            : daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "no database with id %s", id);
    finish(st);
    return rc;
}

/* The update matched no row: tell a missing record from a moved revision. */
static int explain_missed_update(sqlite_backend *be, const char *id, int64_t expected)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = query_one(&st, be, DAAP__STMT_REVISION, id, "update")) < 0)
        return rc;
    if (rc == 0)
        rc = daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "no database with id %s", id);
    else
        rc = daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE,
                            "database %s is at revision %lld, not %lld", id,
                            (long long)sqlite3_column_int64(st, 0), (long long)expected);
    finish(st);
    return rc;
}

static int sqlite_update(daap_storage_backend *base, const daap_db *db, int64_t expected_revision)
{
    sqlite_backend *be = (sqlite_backend *)base;
    daap__sqlvalue v[DAAP__SQL_MAX_PARAMS];

    DAAP_TRY(daap__sqlgen_check_update(db, expected_revision));
    DAAP_TRY(daap__sqlgen_db_params(v, db));
    v[DAAP_DB_F__COUNT].kind = DAAP__SQL_INT;
    v[DAAP_DB_F__COUNT].i = expected_revision;
    DAAP_TRY(write_one(be, DAAP__STMT_UPDATE, v, DAAP_DB_F__COUNT + 1, "update", db));
    if (sqlite3_changes(be->db) == 1)
        return 0;
    return explain_missed_update(be, daap_db_get_text(db, DAAP_DB_F_ID), expected_revision);
}

static int sqlite_scan(daap_storage_backend *base, const daap_storage_query *q, daap_storage_row_cb cb,
                       void *payload)
{
    sqlite_backend *be = (sqlite_backend *)base;
    daap__sqlvalue params[DAAP__SQL_MAX_PARAMS];
    sqlite3_stmt *st;
    unsigned int shape;
    int rc = 0, step = SQLITE_DONE;

    DAAP_ASSERT_ARG(cb);
    DAAP_TRY(daap__sqlgen_list_shape(&shape, q));
    DAAP_TRY(start(&st, be, DAAP__STMT_LIST + (int)shape, params, daap__sqlgen_list_params(params, q)));
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        daap__sqlvalue row[DAAP_DB_F__COUNT];
        daap_db view;

        read_row(st, row, q);
        if ((rc = daap__sqlgen_db_view(&view, row)) == 0)
            rc = cb(&view, payload);
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = fail(be, step, "list");
    finish(st);
    return rc > 0 ? 0 : rc;
}

/* ---- version 3: event history */

/* Any row's columns by their stored type (text borrowed until the next step). */
static void read_columns(sqlite3_stmt *st, daap__sqlvalue *vals, int n)
{
    int c;

    for (c = 0; c < n; c++) {
        daap__sqlvalue *v = &vals[c];

        memset(v, 0, sizeof(*v));
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_NULL:
            break;
        case SQLITE_INTEGER:
            v->kind = DAAP__SQL_INT;
            v->i = sqlite3_column_int64(st, c);
            break;
        default:
            v->kind = DAAP__SQL_TEXT;
            v->p = (const char *)sqlite3_column_text(st, c);
            v->len = (size_t)sqlite3_column_bytes(st, c);
            break;
        }
    }
}

/* Fold `ev` into the record's newest event, or append it. */
static int write_event(sqlite_backend *be, const char *database_id, const daap_db_event *ev)
{
    daap__sqlvalue v[DAAP__EVENT_MAX_PARAMS], newest[DAAP__EVENT_NEWEST_COLUMNS];
    sqlite3_stmt *st;
    int step, folds = 0;
    int64_t newest_id = 0;

    DAAP_TRY(start(&st, be, DAAP__STMT_EVENT_NEWEST, v, daap__sqlevents_newest_params(v, database_id)));
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        read_columns(st, newest, DAAP__EVENT_NEWEST_COLUMNS);
        newest_id = newest[0].i;
        folds = daap__sqlevents_folds(newest, ev);
    }
    finish(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return fail(be, step, "events");
    if (folds)
        return write_one(be, DAAP__STMT_EVENT_FOLD, v, daap__sqlevents_fold_params(v, newest_id, ev), "events", NULL);
    return write_one(be, DAAP__STMT_EVENT_INSERT, v, daap__sqlevents_insert_params(v, database_id, ev), "events", NULL);
}

static int write_events(sqlite_backend *be, const daap_db *db, const daap_db_event *events, size_t count)
{
    const char *id = daap_db_get_text(db, DAAP_DB_F_ID);
    size_t i;

    for (i = 0; i < count; i++)
        DAAP_TRY(write_event(be, id, &events[i]));
    return 0;
}

/* IMMEDIATE: take the write lock before reading the newest event, so the
 * fold decision cannot be raced by another connection. */
static int begin_write(sqlite_backend *be)
{
    int rc = sqlite3_exec(be->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(be, rc, "begin");
}

/* Commit after success, roll back after a failure (keeping its error). */
static int end_write(sqlite_backend *be, int rc)
{
    int done;

    if (rc == 0) {
        if ((done = sqlite3_exec(be->db, "COMMIT", NULL, NULL, NULL)) == SQLITE_OK)
            return 0;
        rc = fail(be, done, "commit");
    }
    (void)sqlite3_exec(be->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sqlite_insert_with_events(daap_storage_backend *base, const daap_db *db,
                                     const daap_db_event *events, size_t count)
{
    sqlite_backend *be = (sqlite_backend *)base;
    int rc;

    DAAP_TRY(begin_write(be));
    rc = sqlite_insert(base, db);
    if (rc == 0)
        rc = write_events(be, db, events, count);
    return end_write(be, rc);
}

static int sqlite_update_with_events(daap_storage_backend *base, const daap_db *db, int64_t expected_revision,
                                     const daap_db_event *events, size_t count)
{
    sqlite_backend *be = (sqlite_backend *)base;
    int rc;

    DAAP_TRY(begin_write(be));
    rc = sqlite_update(base, db, expected_revision);
    if (rc == 0)
        rc = write_events(be, db, events, count);
    return end_write(be, rc);
}

static int sqlite_events(daap_db_event_page *out, daap_storage_backend *base, const daap_storage_event_query *q)
{
    sqlite_backend *be = (sqlite_backend *)base;
    daap__sqlvalue v[DAAP__EVENT_MAX_PARAMS], row[DAAP__EVENT_COLUMNS];
    sqlite3_stmt *st;
    int rc = 0, step;

    DAAP_TRY(daap__sqlevents_check_query(q));
    DAAP_TRY(start(&st, be, DAAP__STMT_EVENT_PAGE, v, daap__sqlevents_page_params(v, q)));
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        read_columns(st, row, DAAP__EVENT_COLUMNS);
        rc = daap__sqlevents_push_row(out, row);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = fail(be, step, "events");
    finish(st);
    return rc;
}

static int sqlite_purge_events(uint32_t *purged, daap_storage_backend *base, int64_t before_ms, uint32_t max_rows)
{
    sqlite_backend *be = (sqlite_backend *)base;
    daap__sqlvalue v[DAAP__EVENT_MAX_PARAMS];

    *purged = 0;
    DAAP_TRY(write_one(be, DAAP__STMT_EVENT_PURGE, v, daap__sqlevents_purge_params(v, before_ms, max_rows),
                       "purge events", NULL));
    *purged = (uint32_t)sqlite3_changes(be->db);
    return 0;
}

static int sqlite_ping(daap_storage_backend *base)
{
    sqlite_backend *be = (sqlite_backend *)base;
    int rc = sqlite3_exec(be->db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(be, rc, "ping");
}

/* ---- version 3: idempotency keys. Every statement numbers the same
 * parameters: ?1 scope, ?2 key, ?3 now, ?4 fingerprint, ?5 expires_at,
 * then ?6 status, ?7 location, ?8 body (finish) or ?6 limit (purge). */

static const char *const idem_sql[IDEM__COUNT] = {
    "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND expires_at <= ?3",
    "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at, expires_at)"
    " VALUES (?1, ?2, ?4, 'in_flight', ?3, ?5) ON CONFLICT DO NOTHING",
    "SELECT " DAAP__SQL_IDEM_COLUMNS " FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
    "UPDATE idempotency_keys SET state = 'done', status = ?6, location = ?7, body = ?8, expires_at = ?5"
    " WHERE scope = ?1 AND key = ?2 AND fingerprint = ?4 AND state = 'in_flight'",
    "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND fingerprint = ?4 AND state = 'in_flight'",
    "DELETE FROM idempotency_keys WHERE rowid IN"
    " (SELECT rowid FROM idempotency_keys WHERE expires_at <= ?3 ORDER BY expires_at LIMIT ?6)",
};

static void idem_params(daap__sqlvalue *v, const daap_storage_idem *k)
{
    memset(v, 0, 8 * sizeof(*v));
    v[0] = (daap__sqlvalue){ DAAP__SQL_TEXT, 0, k->scope, strlen(k->scope) };
    v[1] = (daap__sqlvalue){ DAAP__SQL_TEXT, 0, k->key, strlen(k->key) };
    v[2] = (daap__sqlvalue){ DAAP__SQL_INT, k->now, NULL, 0 };
    v[3] = (daap__sqlvalue){ DAAP__SQL_TEXT, 0, k->fingerprint, strlen(k->fingerprint) };
    v[4] = (daap__sqlvalue){ DAAP__SQL_INT, k->expires_at, NULL, 0 };
}

/* Run idempotency statement `which` with the first parameters it uses of
 * `v`; for IDEM_READ, `row` receives the row (and 1 is returned) if any. */
static int idem_run(sqlite_backend *be, int which, const daap__sqlvalue *v, daap__sqlvalue *row,
                    daap_idempotency_record *out, const daap_storage_idem *k)
{
    sqlite3_stmt *st;
    int rc, step;

    if (be->idem[which] == NULL &&
        (rc = sqlite3_prepare_v3(be->db, idem_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &be->idem[which], NULL)) != SQLITE_OK)
        return fail(be, rc, "idempotency key");
    st = be->idem[which];
    if ((rc = bind_values(be, st, v, (size_t)sqlite3_bind_parameter_count(st))) < 0) {
        finish(st);
        return rc;
    }
    step = sqlite3_step(st);
    rc = step == SQLITE_DONE ? 0 : step == SQLITE_ROW ? 1 : fail(be, step, "idempotency key");
    if (rc == 1 && row) {
        int c;
        for (c = 0; c < DAAP__SQL_IDEM_NCOLUMNS; c++) {
            daap__sqlvalue *x = &row[c];
            memset(x, 0, sizeof(*x));
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL: break;
            case SQLITE_INTEGER: x->kind = DAAP__SQL_INT; x->i = sqlite3_column_int64(st, c); break;
            default:
                x->kind = DAAP__SQL_TEXT;
                x->p = sqlite3_column_blob(st, c);
                x->len = (size_t)sqlite3_column_bytes(st, c);
            }
        }
        rc = daap__sql_idem_row(out, k, row);
        rc = rc < 0 ? rc : 1;
    }
    finish(st);
    return rc;
}

/* Free an expired row, insert ours, else read theirs. A row can vanish
 * between the insert and the read (its holder abandoned it): try again. */
static int sqlite_idem_begin(daap_idempotency_record *out, daap_storage_backend *base, const daap_storage_idem *k)
{
    sqlite_backend *be = (sqlite_backend *)base;
    daap__sqlvalue v[8], row[DAAP__SQL_IDEM_NCOLUMNS];
    int attempt, rc;

    idem_params(v, k);
    for (attempt = 0; attempt < 3; attempt++) {
        DAAP_TRY(idem_run(be, IDEM_FREE_EXPIRED, v, NULL, NULL, k));
        DAAP_TRY(idem_run(be, IDEM_INSERT, v, NULL, NULL, k));
        if (sqlite3_changes(be->db) == 1) {
            out->state = DAAP_IDEMPOTENCY_STARTED;
            return 0;
        }
        if ((rc = idem_run(be, IDEM_READ, v, row, out, k)) != 0)
            return rc < 0 ? rc : 0;
    }
    out->state = DAAP_IDEMPOTENCY_IN_FLIGHT;
    return 0;
}

static int sqlite_idem_finish(daap_storage_backend *base, const daap_storage_idem *k, int32_t status,
                              const char *location, const char *body, size_t len)
{
    sqlite_backend *be = (sqlite_backend *)base;
    daap__sqlvalue v[8];

    idem_params(v, k);
    v[5] = (daap__sqlvalue){ DAAP__SQL_INT, status, NULL, 0 };
    if (location)
        v[6] = (daap__sqlvalue){ DAAP__SQL_TEXT, 0, location, strlen(location) };
    v[7] = (daap__sqlvalue){ DAAP__SQL_BLOB, 0, body ? body : "", len };
    DAAP_TRY(idem_run(be, IDEM_FINISH, v, NULL, NULL, k));
    if (sqlite3_changes(be->db) == 1)
        return 0;
    return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE,
                          "idempotency key '%s' is no longer held by this request (its lease passed)", k->key);
}

static int sqlite_idem_abandon(daap_storage_backend *base, const daap_storage_idem *k)
{
    daap__sqlvalue v[8];

    idem_params(v, k);
    return idem_run((sqlite_backend *)base, IDEM_ABANDON, v, NULL, NULL, k);
}

static int sqlite_idem_purge(uint32_t *purged, daap_storage_backend *base, int64_t now, uint32_t limit)
{
    sqlite_backend *be = (sqlite_backend *)base;
    daap_storage_idem k = { DAAP_STORAGE_IDEM_VERSION, "", "", "", now, 0 };
    daap__sqlvalue v[8];

    idem_params(v, &k);
    v[5] = (daap__sqlvalue){ DAAP__SQL_INT, limit, NULL, 0 };
    DAAP_TRY(idem_run(be, IDEM_PURGE, v, NULL, NULL, &k));
    *purged = (uint32_t)sqlite3_changes(be->db);
    return 0;
}

/* Migration dialect. */

static int mig_exec(void *conn, const char *sql)
{
    sqlite_backend *be = conn;
    int rc = sqlite3_exec(be->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(be, rc, "migrate");
}

static int has_migrations_table(sqlite_backend *be)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(be->db,
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return fail(be, rc, "migration status");
    rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : fail(be, rc, "migration status");
    sqlite3_finalize(st);
    return rc;
}

static int read_applied_rows(daap__sqlmig_applied *rows, size_t max, size_t *count, sqlite_backend *be)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(be->db,
        "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return fail(be, rc, "migration status");
    *count = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *count < max) {
        daap__sqlmig_applied *a = &rows[(*count)++];
        a->version = sqlite3_column_int(st, 0);
        snprintf(a->checksum, sizeof(a->checksum), "%s", (const char *)sqlite3_column_text(st, 1));
        a->applied_at = sqlite3_column_int64(st, 2);
    }
    rc = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : fail(be, rc, "migration status");
    sqlite3_finalize(st);
    return rc;
}

static int count_applied(size_t *out, sqlite_backend *be)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(be->db, "SELECT count(*) FROM schema_migrations", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return fail(be, rc, "migration status");
    rc = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(be, sqlite3_errcode(be->db), "migration status");
    *out = rc == 0 ? (size_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc;
}

static int mig_read_applied(daap__sqlmig_applied **out, size_t *count, void *conn)
{
    sqlite_backend *be = conn;
    size_t n = 0;
    int rc;

    *out = NULL;
    *count = 0;
    if ((rc = has_migrations_table(be)) <= 0)
        return rc;
    DAAP_TRY(count_applied(&n, be));
    *out = daap__calloc(n ? n : 1, sizeof(**out));
    DAAP_ERROR_CHECK_ALLOC(*out);
    if ((rc = read_applied_rows(*out, n, count, be)) < 0) {
        daap__free(*out);
        *out = NULL;
    }
    return rc;
}

static const daap__sqlmig_dialect mig_dialect = {
    "sqlite",
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL,"
    " checksum TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
    "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    /* IMMEDIATE: take the write lock first, so two migrators serialise
     * instead of both reading the same state. */
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    NULL,
    NULL,
    mig_exec,
    mig_read_applied
};

static int sqlite_migrate(daap_storage_backend *base, int32_t target)
{
    return daap__sqlmig_run(&((sqlite_backend *)base)->mig, target);
}

static int sqlite_migration_status(daap_migration_status *out, daap_storage_backend *base)
{
    return daap__sqlmig_status(out, &((sqlite_backend *)base)->mig);
}

static void sqlite_free(daap_storage_backend *base)
{
    sqlite_backend *be = (sqlite_backend *)base;
    int i;

    if (be == NULL)
        return;
    for (i = 0; i < DAAP__STMT_COUNT; i++)
        sqlite3_finalize(be->stmts[i]);
    for (i = 0; i < IDEM__COUNT; i++)
        sqlite3_finalize(be->idem[i]);
    /* Keeps the planner's statistics current, so a list over several
     * statuses can choose between its two indexes (SQLite's advice for
     * long-lived connections). Failure only costs a better plan. */
    if (be->db)
        sqlite3_exec(be->db, "PRAGMA optimize", NULL, NULL, NULL);
    sqlite3_close(be->db);
    daap__sqlmig_dispose(&be->mig);
    daap__free(be);
}

static const daap_storage_backend sqlite_vtable = {
    DAAP_STORAGE_BACKEND_VERSION,
    "sqlite",
    sqlite_insert,
    sqlite_get,
    daap_storage_list_by_scan,
    sqlite_update,
    sqlite_free,
    sqlite_ping,
    sqlite_migrate,
    sqlite_migration_status,
    sqlite_scan,
    sqlite_insert_with_events,
    sqlite_update_with_events,
    sqlite_events,
    sqlite_purge_events,
    sqlite_idem_begin,
    sqlite_idem_finish,
    sqlite_idem_abandon,
    sqlite_idem_purge
};

/* The store holds sealed passwords and who owns what: a new file is made
 * 0600 whatever the umask. SQLite gives the -wal and -shm files the mode of
 * the database file, so they follow. An existing file keeps its mode (the
 * operator's choice); ":memory:" and URIs are left to SQLite. */
static int create_private(const char *path)
{
    int fd;

    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return 0;
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        return close(fd) == 0 ? 0 : -1;
    return errno == EEXIST ? 0 : -1;
}

static int open_database(sqlite_backend *be, const char *path)
{
    int rc;

    /* A failure here shows as SQLite's own "cannot open" below. */
    (void)create_private(path);
    rc = sqlite3_open_v2(path, &be->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_EXRESCODE, NULL);

    if (rc != SQLITE_OK)
        return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_STORAGE, "sqlite: cannot open '%s': %s",
                              path, be->db ? sqlite3_errmsg(be->db) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(be->db, BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(be->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_STORAGE, "sqlite: cannot use '%s': %s",
                              path, sqlite3_errmsg(be->db));
    return 0;
}

int daap_storage_sqlite_new(daap_storage_backend **out, const char *path)
{
    sqlite_backend *be;
    int rc;

    DAAP_ASSERT_ARG(out && path && *path);
    *out = NULL;
    be = daap__calloc(1, sizeof(*be));
    DAAP_ERROR_CHECK_ALLOC(be);
    be->parent = sqlite_vtable;
    rc = open_database(be, path);
    if (rc == 0)
        rc = daap__sqlmig_init(&be->mig, &mig_dialect, be);
    /* Nobody else can ever reach an in-memory store, so it is born migrated. */
    if (rc == 0 && strcmp(path, ":memory:") == 0)
        rc = daap__sqlmig_run(&be->mig, -1);
    if (rc < 0) {
        sqlite_free(&be->parent);
        return rc;
    }
    *out = &be->parent;
    return 0;
}
