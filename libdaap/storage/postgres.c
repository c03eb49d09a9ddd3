/* The PostgreSQL storage backend: one libpq connection per backend instance
 * (a context is single-threaded), statements prepared lazily on each
 * connection, one PQreset when the connection breaks. */
#include "common.h"
#include "storage/sqlgen.h"
#include "storage/sqlevents.h"
#include "storage/sqlmig.h"

#include <stdio.h>
#include <stdlib.h>
#include <libpq-fe.h>

/* Seconds a (re)connect may take before the store counts as unavailable;
 * a connect_timeout in the store URI wins. */
#define CONNECT_TIMEOUT "5"

/* Built-in type OIDs; fixed by PostgreSQL forever. */
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_TEXT    25
#define OID_VARCHAR 1043

typedef struct {
    daap_storage_backend parent;
    PGconn       *conn;
    char          target[256];           /* user@host:port/dbname, never the password */
    unsigned char prepared[DAAP__STMT_COUNT];  /* on the current connection */
    int           pinned;                /* no silent reconnect: a migration holds session state */
    daap__sqlmig  mig;
} pg_backend;

/* Driver text as one line, with the connection's password (if any) masked. */
static void clean_message(char *dst, size_t size, const pg_backend *be, const char *msg)
{
    const char *pass = be->conn ? PQpass(be->conn) : NULL;
    size_t plen = pass ? strlen(pass) : 0, n = 0;
    char line[512];
    const char *p;

    daap__sql_one_line(line, sizeof(line), msg);
    for (p = line; *p && n + 4 < size; ) {
        if (plen && strncmp(p, pass, plen) == 0) {
            memcpy(dst + n, "***", 3);
            n += 3;
            p += plen;
        } else {
            dst[n++] = *p++;
        }
    }
    dst[n] = '\0';
}

static void describe_target(pg_backend *be)
{
    const char *host = PQhost(be->conn), *port = PQport(be->conn);

    snprintf(be->target, sizeof(be->target), "%s@%s:%s/%s",
             PQuser(be->conn) ? PQuser(be->conn) : "?", host && *host ? host : "localhost",
             port && *port ? port : "5432", PQdb(be->conn) ? PQdb(be->conn) : "?");
}

static int is_state(const char *state, const char *prefix)
{
    return state && strncmp(state, prefix, strlen(prefix)) == 0;
}

static int code_for_state(const pg_backend *be, const char *state)
{
    if (PQstatus(be->conn) != CONNECTION_OK || is_state(state, "08") || is_state(state, "57P0") ||
        is_state(state, "53"))
        return DAAP_EUNAVAILABLE;
    if (is_state(state, "23505"))
        return DAAP_EEXISTS;
    if (is_state(state, "23") || is_state(state, "22"))
        return DAAP_EINVALID;
    if (is_state(state, "28"))
        return DAAP_EAUTH;
    if (is_state(state, "40"))
        return DAAP_ECONFLICT;
    if (is_state(state, "57014"))
        return DAAP_ETIMEOUT;
    return DAAP_ERROR;
}

static int result_error(pg_backend *be, const PGresult *res, const char *op)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[512];

    clean_message(msg, sizeof(msg), be, primary ? primary : PQerrorMessage(be->conn));
    return daap_error_set(code_for_state(be, state), DAAP_ERRCLASS_STORAGE,
                          "postgres %s on %s: %s (SQLSTATE %s)", op, be->target, msg,
                          state ? state : "none");
}

/* libpq reports login failures as text only; a rejected password is the
 * one case callers must tell apart (DAAP_EAUTH is not retryable). */
static int connect_error(pg_backend *be)
{
    char msg[512];
    int auth;

    clean_message(msg, sizeof(msg), be, PQerrorMessage(be->conn));
    auth = PQconnectionNeedsPassword(be->conn) || strstr(msg, "authentication failed") != NULL;
    return daap_error_set(auth ? DAAP_EAUTH : DAAP_EUNAVAILABLE, DAAP_ERRCLASS_STORAGE,
                          "postgres: cannot connect to %s: %s", be->target, msg);
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int ensure_connected(pg_backend *be)
{
    if (PQstatus(be->conn) == CONNECTION_OK)
        return 0;
    if (be->pinned)
        return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_STORAGE,
                              "postgres on %s: connection lost during a migration", be->target);
    memset(be->prepared, 0, sizeof(be->prepared));
    PQreset(be->conn);
    return PQstatus(be->conn) == CONNECTION_OK ? 0 : connect_error(be);
}

static void statement_name(char *out, size_t size, int which)
{
    snprintf(out, size, "daap_%d", which);
}

static int prepare(pg_backend *be, int which)
{
    daap_buf sql = DAAP_BUF_INIT;
    char name[32];
    PGresult *res;
    int rc;

    if (be->prepared[which])
        return 0;
    DAAP_TRY(daap__sqlgen_statement(&sql, &daap__sqlgen_postgres, which));
    statement_name(name, sizeof(name), which);
    res = PQprepare(be->conn, name, sql.ptr, 0, NULL);
    rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : result_error(be, res, "prepare");
    be->prepared[which] = rc == 0;
    PQclear(res);
    daap_buf_dispose(&sql);
    return rc;
}

/* libpq's view of a parameter array: text, except blobs in binary. */
typedef struct {
    const char *values[DAAP__SQL_MAX_PARAMS];
    int         lengths[DAAP__SQL_MAX_PARAMS];
    int         formats[DAAP__SQL_MAX_PARAMS];
    char        ints[DAAP__SQL_MAX_PARAMS][24];
} pg_params;

static void to_pg_params(pg_params *p, const daap__sqlvalue *v, size_t n)
{
    size_t i;

    memset(p, 0, sizeof(*p));
    for (i = 0; i < n; i++) {
        switch (v[i].kind) {
        case DAAP__SQL_NULL:
            break;
        case DAAP__SQL_INT:
            snprintf(p->ints[i], sizeof(p->ints[i]), "%lld", (long long)v[i].i);
            p->values[i] = p->ints[i];
            break;
        case DAAP__SQL_TEXT:
            p->values[i] = v[i].p;
            break;
        case DAAP__SQL_BLOB:
            p->values[i] = v[i].p;
            p->lengths[i] = (int)v[i].len;
            p->formats[i] = 1;
            break;
        }
    }
}

static int connection_lost(const pg_backend *be)
{
    return PQstatus(be->conn) != CONNECTION_OK;
}

static int exec_prepared(PGresult **out, pg_backend *be, int which, const pg_params *p, size_t n, const char *op)
{
    char name[32];
    ExecStatusType st;
    int rc;

    DAAP_TRY(ensure_connected(be));
    DAAP_TRY(prepare(be, which));
    statement_name(name, sizeof(name), which);
    *out = PQexecPrepared(be->conn, name, (int)n, p->values, p->lengths, p->formats, 1);
    st = PQresultStatus(*out);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return 0;
    rc = result_error(be, *out, op);
    PQclear(*out);
    *out = NULL;
    return rc;
}

/* Run a cached statement; results come back in binary. A read whose
 * connection broke is tried once more on a fresh one; a write is not, since
 * it may have committed. */
static int run(PGresult **out, pg_backend *be, int which, const daap__sqlvalue *v, size_t n,
               const char *op, int is_read)
{
    pg_params p;
    int rc;

    *out = NULL;
    to_pg_params(&p, v, n);
    rc = exec_prepared(out, be, which, &p, n, op);
    if (rc < 0 && is_read && connection_lost(be))
        rc = exec_prepared(out, be, which, &p, n, op);
    return rc;
}

static int64_t big_endian(const unsigned char *p, int len)
{
    uint64_t u = 0;
    int i;

    for (i = 0; i < len; i++)
        u = (u << 8) | p[i];
    if (len > 0 && len < 8 && (p[0] & 0x80))
        u |= ~UINT64_C(0) << (len * 8);
    return (int64_t)u;
}

static int read_value(daap__sqlvalue *v, const PGresult *res, int row, int col)
{
    const char *p = PQgetvalue(res, row, col);
    int len = PQgetlength(res, row, col);

    memset(v, 0, sizeof(*v));
    if (PQgetisnull(res, row, col))
        return 0;
    switch (PQftype(res, col)) {
    case OID_INT2: case OID_INT4: case OID_INT8:
        v->kind = DAAP__SQL_INT;
        v->i = big_endian((const unsigned char *)p, len);
        return 0;
    case OID_TEXT: case OID_VARCHAR:
        v->kind = DAAP__SQL_TEXT;
        break;
    case OID_BYTEA:
        v->kind = DAAP__SQL_BLOB;
        break;
    default:
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "postgres: column %s has unexpected type oid %u",
                              PQfname(res, col), (unsigned)PQftype(res, col));
    }
    v->p = p;
    v->len = (size_t)len;
    return 0;
}

/* libpq NUL-terminates every value, binary ones too, so a view can borrow them. */
static int read_row(daap__sqlvalue *vals, const PGresult *res, int row, const daap_storage_query *q)
{
    int c;

    if (PQnfields(res) != DAAP_DB_F__COUNT)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "postgres: %d columns, expected %d",
                              PQnfields(res), DAAP_DB_F__COUNT);
    for (c = 0; c < DAAP_DB_F__COUNT; c++) {
        memset(&vals[c], 0, sizeof(vals[c]));
        if (!(q && daap__sqlgen_skips(q, c)))
            DAAP_TRY(read_value(&vals[c], res, row, c));
    }
    return 0;
}

static int row_to_db(daap_db **out, const PGresult *res, int row)
{
    daap__sqlvalue vals[DAAP_DB_F__COUNT];

    *out = NULL;
    DAAP_TRY(read_row(vals, res, row, NULL));
    return daap__sqlgen_db_from_row(out, vals);
}

/* Restate a unique violation (just reported by result_error) for humans. */
static int exists_error(pg_backend *be, const char *op, const daap_db *db)
{
    int on_id = strstr(daap_error_last()->message, "\"databases_pkey\"") != NULL;
    char where[320];

    snprintf(where, sizeof(where), "postgres %s on %s", op, be->target);
    return daap__sql_exists_error(where, db, on_id, "SQLSTATE 23505");
}

static int pg_insert(daap_storage_backend *base, const daap_db *db)
{
    pg_backend *be = (pg_backend *)base;
    daap__sqlvalue v[DAAP__SQL_MAX_PARAMS];
    PGresult *res = NULL;
    int rc;

    DAAP_TRY(daap__sqlgen_db_params(v, db));
    rc = run(&res, be, DAAP__STMT_INSERT, v, DAAP_DB_F__COUNT, "insert", 0);
    PQclear(res);
    return rc == DAAP_EEXISTS ? exists_error(be, "insert", db) : rc;
}

static int fetch_by_id(PGresult **res, pg_backend *be, int which, const char *id, const char *op)
{
    daap__sqlvalue key = { DAAP__SQL_TEXT, 0, id, strlen(id) };
    return run(res, be, which, &key, 1, op, 1);
}

static int pg_get(daap_db **out, daap_storage_backend *base, const char *id)
{
    pg_backend *be = (pg_backend *)base;
    PGresult *res;
    int rc;

    DAAP_ASSERT_ARG(out && id);
    *out = NULL;
    DAAP_TRY(fetch_by_id(&res, be, DAAP__STMT_GET, id, "get"));
    rc = PQntuples(res) == 1 ? row_to_db(out, res, 0)
       : daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "no database with id %s", id);
    PQclear(res);
    return rc;
}

/* The update matched no row: tell a missing record from a moved revision. */
static int explain_missed_update(pg_backend *be, const char *id, int64_t expected)
{
    daap__sqlvalue rev;
    PGresult *res;
    int rc;

    DAAP_TRY(fetch_by_id(&res, be, DAAP__STMT_REVISION, id, "update"));
    if (PQntuples(res) == 0)
        rc = daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "no database with id %s", id);
    else if ((rc = read_value(&rev, res, 0, 0)) == 0)
        rc = daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE, "database %s is at revision %lld, not %lld",
                            id, (long long)rev.i, (long long)expected);
    PQclear(res);
    return rc;
}

static int pg_update(daap_storage_backend *base, const daap_db *db, int64_t expected_revision)
{
    pg_backend *be = (pg_backend *)base;
    daap__sqlvalue v[DAAP__SQL_MAX_PARAMS];
    PGresult *res = NULL;
    int rc, changed;

    DAAP_TRY(daap__sqlgen_check_update(db, expected_revision));
    DAAP_TRY(daap__sqlgen_db_params(v, db));
    v[DAAP_DB_F__COUNT].kind = DAAP__SQL_INT;
    v[DAAP_DB_F__COUNT].i = expected_revision;
    rc = run(&res, be, DAAP__STMT_UPDATE, v, DAAP_DB_F__COUNT + 1, "update", 0);
    if (rc == DAAP_EEXISTS)
        rc = exists_error(be, "update", db);
    changed = rc == 0 && strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    DAAP_TRY(rc);
    return changed ? 0 : explain_missed_update(be, daap_db_get_text(db, DAAP_DB_F_ID), expected_revision);
}

static int pg_scan(daap_storage_backend *base, const daap_storage_query *q, daap_storage_row_cb cb, void *payload)
{
    pg_backend *be = (pg_backend *)base;
    daap__sqlvalue params[DAAP__SQL_MAX_PARAMS];
    PGresult *res;
    unsigned int shape;
    int rc = 0, row;

    DAAP_ASSERT_ARG(cb);
    DAAP_TRY(daap__sqlgen_list_shape(&shape, q));
    DAAP_TRY(run(&res, be, DAAP__STMT_LIST + (int)shape, params, daap__sqlgen_list_params(params, q), "list", 1));
    for (row = 0; row < PQntuples(res) && rc == 0; row++) {
        daap__sqlvalue vals[DAAP_DB_F__COUNT];
        daap_db view;

        if ((rc = read_row(vals, res, row, q)) == 0 && (rc = daap__sqlgen_db_view(&view, vals)) == 0)
            rc = cb(&view, payload);
    }
    PQclear(res);
    return rc > 0 ? 0 : rc;
}

/* Run plain SQL (no parameters), possibly several statements. */
static int exec_sql(PGresult **out, pg_backend *be, const char *sql, const char *op)
{
    ExecStatusType st;
    int rc;

    *out = NULL;
    DAAP_TRY(ensure_connected(be));
    *out = PQexec(be->conn, sql);
    st = PQresultStatus(*out);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 0;
    rc = result_error(be, *out, op);
    PQclear(*out);
    *out = NULL;
    return rc;
}

static int pg_ping(daap_storage_backend *base)
{
    pg_backend *be = (pg_backend *)base;
    PGresult *res;
    int rc = exec_sql(&res, be, "SELECT 1", "ping");

    if (rc < 0 && connection_lost(be))
        rc = exec_sql(&res, be, "SELECT 1", "ping");
    PQclear(res);
    return rc;
}

/* ---- version 3: event history */

static int read_columns(daap__sqlvalue *vals, const PGresult *res, int row, int n)
{
    int c;

    if (PQnfields(res) != n)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "postgres: %d columns, expected %d",
                              PQnfields(res), n);
    for (c = 0; c < n; c++)
        DAAP_TRY(read_value(&vals[c], res, row, c));
    return 0;
}

/* Fold `ev` into the record's newest event, or append it. */
static int write_event(pg_backend *be, const char *database_id, const daap_db_event *ev)
{
    daap__sqlvalue v[DAAP__EVENT_MAX_PARAMS], newest[DAAP__EVENT_NEWEST_COLUMNS];
    PGresult *res;
    int rc = 0, folds = 0;
    int64_t newest_id = 0;

    DAAP_TRY(run(&res, be, DAAP__STMT_EVENT_NEWEST, v, daap__sqlevents_newest_params(v, database_id), "events", 0));
    if (PQntuples(res) == 1 && (rc = read_columns(newest, res, 0, DAAP__EVENT_NEWEST_COLUMNS)) == 0) {
        newest_id = newest[0].i;
        folds = daap__sqlevents_folds(newest, ev);
    }
    PQclear(res);
    DAAP_TRY(rc);
    if (folds)
        rc = run(&res, be, DAAP__STMT_EVENT_FOLD, v, daap__sqlevents_fold_params(v, newest_id, ev), "events", 0);
    else
        rc = run(&res, be, DAAP__STMT_EVENT_INSERT, v, daap__sqlevents_insert_params(v, database_id, ev), "events", 0);
    PQclear(res);
    return rc;
}

static int write_events(pg_backend *be, const daap_db *db, const daap_db_event *events, size_t count)
{
    const char *id = daap_db_get_text(db, DAAP_DB_F_ID);
    size_t i;

    for (i = 0; i < count; i++)
        DAAP_TRY(write_event(be, id, &events[i]));
    return 0;
}

/* One transaction on one connection: pinned, so a break halfway fails the
 * write instead of going on, outside the transaction, on a fresh one. */
static int begin_write(pg_backend *be)
{
    PGresult *res;

    DAAP_TRY(exec_sql(&res, be, "BEGIN", "begin"));
    PQclear(res);
    be->pinned = 1;
    return 0;
}

/* Commit after success, roll back after a failure (keeping its error). */
static int end_write(pg_backend *be, int rc)
{
    PGresult *res = NULL;

    if (rc == 0) {
        rc = exec_sql(&res, be, "COMMIT", "commit");
        PQclear(res);
    } else if (!connection_lost(be)) {
        PQclear(PQexec(be->conn, "ROLLBACK"));
    }
    be->pinned = 0;
    return rc;
}

static int pg_insert_with_events(daap_storage_backend *base, const daap_db *db,
                                 const daap_db_event *events, size_t count)
{
    pg_backend *be = (pg_backend *)base;
    int rc;

    DAAP_TRY(begin_write(be));
    rc = pg_insert(base, db);
    if (rc == 0)
        rc = write_events(be, db, events, count);
    return end_write(be, rc);
}

static int pg_update_with_events(daap_storage_backend *base, const daap_db *db, int64_t expected_revision,
                                 const daap_db_event *events, size_t count)
{
    pg_backend *be = (pg_backend *)base;
    int rc;

    DAAP_TRY(begin_write(be));
    rc = pg_update(base, db, expected_revision);
    if (rc == 0)
        rc = write_events(be, db, events, count);
    return end_write(be, rc);
}

static int pg_events(daap_db_event_page *out, daap_storage_backend *base, const daap_storage_event_query *q)
{
    pg_backend *be = (pg_backend *)base;
    daap__sqlvalue v[DAAP__EVENT_MAX_PARAMS], row[DAAP__EVENT_COLUMNS];
    PGresult *res;
    int rc = 0, i;

    DAAP_TRY(daap__sqlevents_check_query(q));
    DAAP_TRY(run(&res, be, DAAP__STMT_EVENT_PAGE, v, daap__sqlevents_page_params(v, q), "events", 1));
    for (i = 0; i < PQntuples(res) && rc == 0; i++)
        if ((rc = read_columns(row, res, i, DAAP__EVENT_COLUMNS)) == 0)
            rc = daap__sqlevents_push_row(out, row);
    PQclear(res);
    return rc;
}

static int pg_purge_events(uint32_t *purged, daap_storage_backend *base, int64_t before_ms, uint32_t max_rows)
{
    pg_backend *be = (pg_backend *)base;
    daap__sqlvalue v[DAAP__EVENT_MAX_PARAMS];
    PGresult *res;

    *purged = 0;
    DAAP_TRY(run(&res, be, DAAP__STMT_EVENT_PURGE, v, daap__sqlevents_purge_params(v, before_ms, max_rows),
                 "purge events", 0));
    *purged = (uint32_t)strtoul(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

/* ---- version 3: idempotency keys. Times travel as ms since the epoch. */

#define PG_TIME(n) "to_timestamp($" #n "::float8 / 1000)"

static const char IDEM_FREE_EXPIRED[] =
    "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at <= " PG_TIME(3);
static const char IDEM_INSERT[] =
    "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at, expires_at)"
    " VALUES ($1, $2, $4, 'in_flight', " PG_TIME(3) ", " PG_TIME(5) ") ON CONFLICT DO NOTHING";
static const char IDEM_READ[] =
    "SELECT " DAAP__SQL_IDEM_COLUMNS " FROM idempotency_keys WHERE scope = $1 AND key = $2";
static const char IDEM_FINISH[] =
    "UPDATE idempotency_keys SET state = 'done', status = $5::int4, location = $6, body = $7, expires_at = " PG_TIME(4)
    " WHERE scope = $1 AND key = $2 AND fingerprint = $3 AND state = 'in_flight'";
static const char IDEM_ABANDON[] =
    "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND fingerprint = $3 AND state = 'in_flight'";
static const char IDEM_PURGE[] =
    "DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys"
    " WHERE expires_at <= " PG_TIME(1) " ORDER BY expires_at LIMIT $2::int8)";

/* PostgreSQL must see every parameter it is given, so each statement takes
 * a prefix: claims use $1 scope, $2 key, $3 now, $4 fingerprint, $5
 * expires_at; finish and abandon $1 scope, $2 key, $3 fingerprint, then
 * finish $4 expires_at, $5 status, $6 location, $7 body. */
static void idem_params(daap__sqlvalue *v, const daap_storage_idem *k)
{
    memset(v, 0, 8 * sizeof(*v));
    v[0] = (daap__sqlvalue){ DAAP__SQL_TEXT, 0, k->scope, strlen(k->scope) };
    v[1] = (daap__sqlvalue){ DAAP__SQL_TEXT, 0, k->key, strlen(k->key) };
    v[2] = (daap__sqlvalue){ DAAP__SQL_INT, k->now, NULL, 0 };
    v[3] = (daap__sqlvalue){ DAAP__SQL_TEXT, 0, k->fingerprint, strlen(k->fingerprint) };
    v[4] = (daap__sqlvalue){ DAAP__SQL_INT, k->expires_at, NULL, 0 };
}

/* Run one statement with its first `n` parameters; *changed receives the
 * rows it wrote. Not retried after a lost connection: a write may have
 * committed (the caller's request then fails with 503, nothing stored). */
static int idem_exec(PGresult **out, int *changed, pg_backend *be, const char *sql, const daap__sqlvalue *v, int n)
{
    ExecStatusType st;
    pg_params p;
    int rc;

    *out = NULL;
    DAAP_TRY(ensure_connected(be));
    to_pg_params(&p, v, (size_t)n);
    *out = PQexecParams(be->conn, sql, n, NULL, p.values, p.lengths, p.formats, 1);
    st = PQresultStatus(*out);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (changed)
            *changed = (int)strtol(PQcmdTuples(*out), NULL, 10);
        return 0;
    }
    rc = result_error(be, *out, "idempotency key");
    PQclear(*out);
    *out = NULL;
    return rc;
}

static int idem_write(int *changed, pg_backend *be, const char *sql, const daap__sqlvalue *v, int n)
{
    PGresult *res;

    DAAP_TRY(idem_exec(&res, changed, be, sql, v, n));
    PQclear(res);
    return 0;
}

/* 1 with the row classified into `out`, 0 when it is gone. */
static int idem_read(daap_idempotency_record *out, pg_backend *be, const daap_storage_idem *k, const daap__sqlvalue *v)
{
    daap__sqlvalue row[DAAP__SQL_IDEM_NCOLUMNS];
    PGresult *res;
    int rc = 0, c;

    DAAP_TRY(idem_exec(&res, NULL, be, IDEM_READ, v, 2));
    if (PQntuples(res) == 1) {
        for (c = 0; rc == 0 && c < DAAP__SQL_IDEM_NCOLUMNS; c++)
            rc = read_value(&row[c], res, 0, c);
        if (rc == 0)
            rc = daap__sql_idem_row(out, k, row);
        rc = rc < 0 ? rc : 1;
    }
    PQclear(res);
    return rc;
}

/* Free an expired row, insert ours, else read theirs; the primary key lets
 * exactly one replica's insert through. A row can vanish between the
 * insert and the read (its holder abandoned it): try again. */
static int pg_idem_begin(daap_idempotency_record *out, daap_storage_backend *base, const daap_storage_idem *k)
{
    pg_backend *be = (pg_backend *)base;
    daap__sqlvalue v[8];
    int attempt, changed = 0, rc;

    idem_params(v, k);
    for (attempt = 0; attempt < 3; attempt++) {
        DAAP_TRY(idem_write(&changed, be, IDEM_FREE_EXPIRED, v, 3));
        DAAP_TRY(idem_write(&changed, be, IDEM_INSERT, v, 5));
        if (changed == 1) {
            out->state = DAAP_IDEMPOTENCY_STARTED;
            return 0;
        }
        if ((rc = idem_read(out, be, k, v)) != 0)
            return rc < 0 ? rc : 0;
    }
    out->state = DAAP_IDEMPOTENCY_IN_FLIGHT;
    return 0;
}

static int pg_idem_finish(daap_storage_backend *base, const daap_storage_idem *k, int32_t status,
                          const char *location, const char *body, size_t len)
{
    daap__sqlvalue v[8];
    int changed = 0;

    idem_params(v, k);
    v[2] = v[3];
    v[3] = v[4];
    v[4] = (daap__sqlvalue){ DAAP__SQL_INT, status, NULL, 0 };
    v[5] = (daap__sqlvalue){ location ? DAAP__SQL_TEXT : DAAP__SQL_NULL, 0, location, location ? strlen(location) : 0 };
    v[6] = (daap__sqlvalue){ DAAP__SQL_BLOB, 0, body ? body : "", len };
    DAAP_TRY(idem_write(&changed, (pg_backend *)base, IDEM_FINISH, v, 7));
    if (changed == 1)
        return 0;
    return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE,
                          "idempotency key '%s' is no longer held by this request (its lease passed)", k->key);
}

static int pg_idem_abandon(daap_storage_backend *base, const daap_storage_idem *k)
{
    daap__sqlvalue v[8];
    int changed = 0;

    idem_params(v, k);
    v[2] = v[3];
    return idem_write(&changed, (pg_backend *)base, IDEM_ABANDON, v, 3);
}

static int pg_idem_purge(uint32_t *purged, daap_storage_backend *base, int64_t now, uint32_t limit)
{
    daap__sqlvalue v[2] = { { DAAP__SQL_INT, now, NULL, 0 }, { DAAP__SQL_INT, limit, NULL, 0 } };
    int changed = 0;

    DAAP_TRY(idem_write(&changed, (pg_backend *)base, IDEM_PURGE, v, 2));
    *purged = (uint32_t)changed;
    return 0;
}

/* Migration dialect. */

static int mig_exec(void *conn, const char *sql)
{
    PGresult *res;
    DAAP_TRY(exec_sql(&res, conn, sql, "migrate"));
    PQclear(res);
    return 0;
}

static int has_migrations_table(pg_backend *be)
{
    PGresult *res;
    int found;

    DAAP_TRY(exec_sql(&res, be, "SELECT to_regclass('schema_migrations') IS NOT NULL", "migration status"));
    found = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return found;
}

static int mig_read_applied(daap__sqlmig_applied **out, size_t *count, void *conn)
{
    pg_backend *be = conn;
    PGresult *res;
    int rc, i, n;

    *out = NULL;
    *count = 0;
    if ((rc = has_migrations_table(be)) <= 0)
        return rc;
    DAAP_TRY(exec_sql(&res, be, "SELECT version, checksum, floor(extract(epoch FROM applied_at) * 1000)::int8"
                                " FROM schema_migrations ORDER BY version", "migration status"));
    n = PQntuples(res);
    if ((*out = daap__calloc(n ? (size_t)n : 1, sizeof(**out))) == NULL) {
        PQclear(res);
        return daap_error_set_oom();
    }
    for (i = 0; i < n; i++) {
        (*out)[i].version = (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10);
        snprintf((*out)[i].checksum, sizeof((*out)[i].checksum), "%s", PQgetvalue(res, i, 1));
        (*out)[i].applied_at = strtoll(PQgetvalue(res, i, 2), NULL, 10);
    }
    *count = (size_t)n;
    PQclear(res);
    return 0;
}

static const daap__sqlmig_dialect mig_dialect = {
    "postgres",
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer NOT NULL PRIMARY KEY, name text NOT NULL,"
    " checksum text NOT NULL, applied_at timestamptz NOT NULL)",
    "now()",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    /* Session-level, held for the whole run: concurrent migrators queue up.
     * Key: ('daap' as an int32, 1). */
    "SELECT pg_advisory_lock(1684103536, 1)",
    "SELECT pg_advisory_unlock(1684103536, 1)",
    mig_exec,
    mig_read_applied
};

static int pg_migrate(daap_storage_backend *base, int32_t target)
{
    pg_backend *be = (pg_backend *)base;
    int rc;

    /* The advisory lock and the open transaction live in this session; a
     * reconnect halfway would carry on without them. */
    DAAP_TRY(ensure_connected(be));
    be->pinned = 1;
    rc = daap__sqlmig_run(&be->mig, target);
    be->pinned = 0;
    return rc;
}

static int pg_migration_status(daap_migration_status *out, daap_storage_backend *base)
{
    return daap__sqlmig_status(out, &((pg_backend *)base)->mig);
}

static void pg_free(daap_storage_backend *base)
{
    pg_backend *be = (pg_backend *)base;

    if (be == NULL)
        return;
    PQfinish(be->conn);
    daap__sqlmig_dispose(&be->mig);
    daap__free(be);
}

static const daap_storage_backend pg_vtable = {
    DAAP_STORAGE_BACKEND_VERSION,
    "postgres",
    pg_insert,
    pg_get,
    daap_storage_list_by_scan,
    pg_update,
    pg_free,
    pg_ping,
    pg_migrate,
    pg_migration_status,
    pg_scan,
    pg_insert_with_events,
    pg_update_with_events,
    pg_events,
    pg_purge_events,
    pg_idem_begin,
    pg_idem_finish,
    pg_idem_abandon,
    pg_idem_purge
};

/* Parse first: libpq's parse errors may quote the string, password included. */
static int check_conninfo(const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);

    if (opts == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "postgres: the store URI is not a valid libpq connection string "
                              "(postgresql://user:password@host:port/dbname)");
    PQconninfoFree(opts);
    return 0;
}

static int connect_backend(pg_backend *be, const char *conninfo)
{
    /* Entries before dbname are defaults the URI may override. */
    const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *const values[] = { CONNECT_TIMEOUT, "daap", conninfo, NULL };

    be->conn = PQconnectdbParams(keys, values, 1);
    if (be->conn == NULL)
        return daap_error_set_oom();
    PQsetNoticeProcessor(be->conn, quiet_notices, NULL);
    describe_target(be);
    return PQstatus(be->conn) == CONNECTION_OK ? 0 : connect_error(be);
}

int daap_storage_postgres_new(daap_storage_backend **out, const char *conninfo)
{
    pg_backend *be;
    int rc;

    DAAP_ASSERT_ARG(out && conninfo);
    *out = NULL;
    DAAP_TRY(check_conninfo(conninfo));
    be = daap__calloc(1, sizeof(*be));
    DAAP_ERROR_CHECK_ALLOC(be);
    be->parent = pg_vtable;
    rc = connect_backend(be, conninfo);
    if (rc == 0)
        rc = daap__sqlmig_init(&be->mig, &mig_dialect, be);
    if (rc < 0) {
        pg_free(&be->parent);
        return rc;
    }
    *out = &be->parent;
    return 0;
}
