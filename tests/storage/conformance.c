/* The storage conformance suite: one set of tests for every storage backend,
 * called through the core's wrappers (libdaap/storage/storage.h).
 *
 * Built twice. CONF_BACKEND_SQLITE runs the suite on a file store in a
 * temporary directory and on ":memory:". CONF_BACKEND_POSTGRES runs it on a
 * fresh database daap_conf_<pid> of the server in DAAP_TEST_PG_URI (dropped
 * afterwards), and exits 77 (skipped) when that is unset.
 *
 * Tests that need a second connection to the same store (races, tampering,
 * query plans) skip on ":memory:". */
#include "support.h"
#include "storage/storage.h"
#include "storage/sqlgen.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <libpq-fe.h>

#define T0 INT64_C(1700000000123)   /* a created_at with milliseconds */
#define RACE_ROUNDS 50
#define MIGRATE_RACE_ROUNDS 10

/* A store the suite runs on, and how to reach it from outside the backend. */
typedef struct store store;
struct store {
    const char *label;
    char        location[1024];   /* file path or conninfo */
    int         shared;           /* a second backend instance sees the same data */
    int (*open)(daap_storage_backend **out, const store *s);
    /* Run SQL on a connection of the test's own (only when shared). */
    int (*raw_exec)(const store *s, const char *sql);
    /* The query plan of the list statement for q, one line per step. */
    int (*plan)(daap_buf *out, const store *s, const daap_storage_query *q);
    const char *sort_marker;      /* how a sort step shows in a plan */
    const char *scan_marker;      /* how a full table scan shows in a plan */
    /* 50000 rows of 100 teams, then statistics; statuses independent of the
     * team (10% each deleted, error, provisioning), so a team has 500 rows
     * and a team-status pair 50: a page of 10 of them is worth reading in
     * order from an index, as the server's pages of 50 are at 100,000. */
    const char *bulk_fill_sql;
};

static const store *current;

typedef struct {
    daap_storage_backend *be;
} fixture;

/* ---- records ---------------------------------------------------------- */

static daap_db *record(const char *id, const char *name, const char *team, int status, int64_t created)
{
    daap_db *db = NULL;
    char buf[128];

    assert_ok(daap_db_new(&db));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_ID, id));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_NAME, name));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, team));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_PURPOSE, "conformance"));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_NAMESPACE, "daap"));
    snprintf(buf, sizeof(buf), "daap-%s", name);
    assert_ok(daap_db_set_text(db, DAAP_DB_F_CLUSTER_NAME, buf));
    snprintf(buf, sizeof(buf), "daap-%s-pooler", name);
    assert_ok(daap_db_set_text(db, DAAP_DB_F_POOLER_NAME, buf));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, "1Gi"));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_INSTANCES, 1));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_PG_VERSION, 17));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_STATUS, status));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_CREATED_AT, created));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_UPDATED_AT, created));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, 1));
    return db;
}

static void put(daap_storage_backend *be, const char *id, const char *name, const char *team,
                int status, int64_t created)
{
    daap_db *db = record(id, name, team, status, created);
    assert_ok(daap__storage_insert(be, db));
    daap_db_free(db);
}

/* Move a stored record to `status` by compare-and-set; deleting and deleted
 * records are soft-deleted. */
static void transition(daap_storage_backend *be, const char *id, int status)
{
    daap_db *db = NULL;
    int64_t rev;

    assert_ok(daap__storage_get(&db, be, id));
    rev = daap_db_revision(db);
    assert_ok(daap_db_set_int(db, DAAP_DB_F_STATUS, status));
    if (status >= DAAP_DB_DELETING && daap_db_deleted_at(db) == 0)
        assert_ok(daap_db_set_int(db, DAAP_DB_F_DELETED_AT, daap_db_updated_at(db) + 1000));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_UPDATED_AT, daap_db_updated_at(db) + 1000));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, rev + 1));
    assert_ok(daap__storage_update(be, db, rev));
    daap_db_free(db);
}

static void assert_same_record(const daap_db *a, const daap_db *b)
{
    int f;

    for (f = 0; f < DAAP_DB_F__COUNT; f++) {
        const daap_db_field_info *fi = daap_db_field_describe(f);
        const char *ta = daap_db_get_text(a, f), *tb = daap_db_get_text(b, f);
        size_t la = 0, lb = 0;
        const unsigned char *ba = daap_db_get_blob(a, f, &la), *bb = daap_db_get_blob(b, f, &lb);

        switch (fi->type) {
        case DAAP_DB_T_TEXT:
            if ((ta == NULL) != (tb == NULL) || (ta && strcmp(ta, tb) != 0))
                fail_msg("column %s: '%s' != '%s'", fi->column, ta ? ta : "NULL", tb ? tb : "NULL");
            break;
        case DAAP_DB_T_BLOB:
            if (la != lb || (la && memcmp(ba, bb, la) != 0))
                fail_msg("column %s: blobs differ (%zu and %zu bytes)", fi->column, la, lb);
            break;
        default:
            if (daap_db_get_int(a, f) != daap_db_get_int(b, f))
                fail_msg("column %s: %lld != %lld", fi->column,
                         (long long)daap_db_get_int(a, f), (long long)daap_db_get_int(b, f));
        }
    }
}

static daap_storage_query query(void)
{
    daap_storage_query q;
    memset(&q, 0, sizeof(q));
    q.version = DAAP_STORAGE_QUERY_VERSION;
    return q;
}

/* The ids of a list result, space-separated. */
static char *list_ids(daap_storage_backend *be, const daap_storage_query *q)
{
    daap_db_array arr = { 0 };
    size_t i, n = 1;
    char *out;

    assert_ok(daap__storage_list(&arr, be, q));
    for (i = 0; i < arr.count; i++)
        n += strlen(daap_db_id(arr.items[i])) + 1;
    out = calloc(1, n);
    assert_non_null(out);
    for (i = 0; i < arr.count; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, daap_db_id(arr.items[i]));
    }
    daap_db_array_dispose(&arr);
    return out;
}

#define assert_list(be, q, expected) do { \
        char *got__ = list_ids((be), (q)); \
        assert_string_equal(got__, (expected)); \
        free(got__); \
    } while (0)

static void assert_error(int rc, int code, const char *needle)
{
    if (rc != code)
        daap_test_print_error("unexpected result", rc);
    assert_int_equal(rc, code);
    assert_int_equal(daap_error_last()->code, code);
    if (needle && strstr(daap_error_last()->message, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", daap_error_last()->message, needle);
    assert_null(strchr(daap_error_last()->message, '\n'));
}

/* ---- fixture ---------------------------------------------------------- */

static int open_backend(daap_storage_backend **out)
{
    int rc = current->open(out, current);
    if (rc != 0)
        daap_test_print_error(current->label, rc);
    return rc;
}

/* Every test starts on an empty, fully migrated store. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    int rc;

    if (f == NULL || open_backend(&f->be) != 0) {
        free(f);
        return -1;
    }
    if ((rc = daap__storage_migrate(f->be, 0)) != 0 || (rc = daap__storage_migrate(f->be, -1)) != 0) {
        daap_test_print_error("reset schema", rc);
        daap__storage_free(f->be);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    daap__storage_free(f->be);
    free(f);
    return 0;
}

static daap_storage_backend *backend(void **state)
{
    return ((fixture *)*state)->be;
}

/* ---- operations ------------------------------------------------------- */

static void test_roundtrip_every_field(void **state)
{
    daap_storage_backend *be = backend(state);
    static const unsigned char secret[] = { 0x00, 0x9f, 0xff, 0x00, 'x', 0x01 };
    daap_db *full = record("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "orders", "payments", DAAP_DB_READY, T0);
    daap_db *bare = record("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c", "bare", "payments", DAAP_DB_PROVISIONING, T0 + 1);
    daap_db *got = NULL;

    assert_ok(daap_db_set_text(full, DAAP_DB_F_PURPOSE, "Bob's \"ledger\" \xe2\x80\x94 \xe2\x9c\x93 100%_done"));
    assert_ok(daap_db_set_text(full, DAAP_DB_F_STORAGE_SIZE, "10Gi"));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_INSTANCES, 3));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_PG_VERSION, 16));
    assert_ok(daap_db_set_text(full, DAAP_DB_F_STATUS_REASON, "Cluster in healthy state"));
    assert_ok(daap_db_set_text(full, DAAP_DB_F_HOST, "daap-orders-pooler.daap.svc"));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_PORT, 5432));
    assert_ok(daap_db_set_text(full, DAAP_DB_F_DBNAME, "orders"));
    assert_ok(daap_db_set_text(full, DAAP_DB_F_USERNAME, "orders"));
    assert_ok(daap_db_set_blob(full, DAAP_DB_F_PASSWORD, secret, sizeof(secret)));
    assert_ok(daap_db_set_text(full, DAAP_DB_F_DIRECT_HOST, "daap-orders-rw.daap.svc"));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_DIRECT_PORT, 5433));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_UPDATED_AT, T0 + 61001));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_READY_AT, T0 + 61001));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_DELETED_AT, T0 + 99999));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_DELETION_PROTECTION, 1));
    assert_ok(daap_db_set_int(full, DAAP_DB_F_CHANGE_STARTED_AT, T0 + 70000));

    assert_ok(daap__storage_insert(be, full));
    assert_ok(daap__storage_insert(be, bare));
    assert_ok(daap__storage_get(&got, be, daap_db_id(full)));
    assert_same_record(full, got);
    daap_db_free(got);
    assert_ok(daap__storage_get(&got, be, daap_db_id(bare)));
    assert_same_record(bare, got);
    assert_null(daap_db_host(got));
    assert_int_equal(daap_db_ready_at(got), 0);
    daap_db_free(got);
    daap_db_free(full);
    daap_db_free(bare);
}

static void test_get_unknown(void **state)
{
    daap_db *got = (daap_db *)&got;

    assert_error(daap__storage_get(&got, backend(state), "no-such-id"), DAAP_ENOTFOUND, "no-such-id");
    assert_null(got);
}

static void test_insert_duplicate_id(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *dup = record("id-1", "second", "red", DAAP_DB_PROVISIONING, T0);

    put(be, "id-1", "first", "red", DAAP_DB_PROVISIONING, T0);
    assert_error(daap__storage_insert(be, dup), DAAP_EEXISTS, "id-1");
    daap_db_free(dup);
}

static void test_insert_duplicate_name(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *dup = record("id-2", "orders", "blue", DAAP_DB_PROVISIONING, T0 + 5);
    daap_db *got = NULL;

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    assert_error(daap__storage_insert(be, dup), DAAP_EEXISTS, "'orders'");
    assert_error(daap__storage_get(&got, be, "id-2"), DAAP_ENOTFOUND, NULL);
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_string_equal(daap_db_owner_team(got), "red");
    daap_db_free(got);
    daap_db_free(dup);
}

static void test_name_free_once_deleted(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *again = record("id-2", "orders", "blue", DAAP_DB_PROVISIONING, T0 + 5);
    daap_db *third = record("id-3", "orders", "green", DAAP_DB_PROVISIONING, T0 + 9);

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    transition(be, "id-1", DAAP_DB_DELETING);
    /* Soft-deleted but its Kubernetes objects still exist: still taken. */
    assert_error(daap__storage_insert(be, again), DAAP_EEXISTS, "orders");
    transition(be, "id-1", DAAP_DB_DELETED);
    assert_ok(daap__storage_insert(be, again));
    assert_error(daap__storage_insert(be, third), DAAP_EEXISTS, "orders");
    daap_db_free(again);
    daap_db_free(third);
}

static void test_update_compare_and_set(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *db = NULL, *stale = NULL, *got = NULL;

    put(be, "id-1", "orders", "red", DAAP_DB_PROVISIONING, T0);
    assert_ok(daap__storage_get(&db, be, "id-1"));
    assert_ok(daap_db_dup(&stale, db));

    assert_ok(daap_db_set_text(db, DAAP_DB_F_PURPOSE, "changed"));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_STATUS, DAAP_DB_READY));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, 2));
    assert_ok(daap__storage_update(be, db, 1));
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_same_record(db, got);
    daap_db_free(got);

    /* A writer still holding revision 1 loses and changes nothing. */
    assert_ok(daap_db_set_text(stale, DAAP_DB_F_PURPOSE, "stale"));
    assert_ok(daap_db_set_int(stale, DAAP_DB_F_REVISION, 2));
    assert_error(daap__storage_update(be, stale, 1), DAAP_ECONFLICT, "revision 2");
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_string_equal(daap_db_purpose(got), "changed");
    daap_db_free(got);

    assert_ok(daap_db_set_text(stale, DAAP_DB_F_ID, "no-such-id"));
    assert_error(daap__storage_update(be, stale, 1), DAAP_ENOTFOUND, "no-such-id");
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, 7));
    assert_error(daap__storage_update(be, db, 2), DAAP_EINVALID, "revision");
    daap_db_free(db);
    daap_db_free(stale);
}

static void test_update_writes_every_field(void **state)
{
    daap_storage_backend *be = backend(state);
    static const unsigned char secret[] = { 1, 2, 3 };
    daap_db *db = record("id-1", "orders", "red", DAAP_DB_READY, T0), *got = NULL;

    assert_ok(daap_db_set_text(db, DAAP_DB_F_HOST, "h"));
    assert_ok(daap_db_set_blob(db, DAAP_DB_F_PASSWORD, secret, sizeof(secret)));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_READY_AT, T0 + 1));
    assert_ok(daap__storage_insert(be, db));

    assert_ok(daap_db_set_text(db, DAAP_DB_F_HOST, NULL));
    assert_ok(daap_db_set_blob(db, DAAP_DB_F_PASSWORD, NULL, 0));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_READY_AT, 0));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, "blue"));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_DELETION_PROTECTION, 1));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, 2));
    assert_ok(daap__storage_update(be, db, 1));
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_same_record(db, got);
    daap_db_free(got);
    daap_db_free(db);
}

static void test_update_to_taken_name(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *db = NULL;

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    put(be, "id-2", "billing", "red", DAAP_DB_READY, T0 + 1);
    assert_ok(daap__storage_get(&db, be, "id-2"));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_NAME, "orders"));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, 2));
    assert_error(daap__storage_update(be, db, 1), DAAP_EEXISTS, "orders");
    daap_db_free(db);
}

static void test_soft_delete_hides_from_default_list(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_query q = query();
    daap_db *got = NULL;

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    put(be, "id-2", "billing", "red", DAAP_DB_READY, T0 + 1);
    transition(be, "id-2", DAAP_DB_DELETING);
    assert_list(be, &q, "id-1");
    q.include_deleted = 1;
    assert_list(be, &q, "id-1 id-2");
    /* get still finds it: the core decides what callers may see. */
    assert_ok(daap__storage_get(&got, be, "id-2"));
    assert_int_equal(daap_db_status(got), DAAP_DB_DELETING);
    assert_true(daap_db_deleted_at(got) > 0);
    daap_db_free(got);
}

static void put_filter_fixture(daap_storage_backend *be)
{
    put(be, "id-01", "ab_c", "red", DAAP_DB_READY, T0 + 1);
    put(be, "id-02", "abxc", "blue", DAAP_DB_PROVISIONING, T0 + 2);
    put(be, "id-03", "ab%d", "red", DAAP_DB_ERROR, T0 + 3);
    put(be, "id-04", "zeta", "red", DAAP_DB_READY, T0 + 4);
    put(be, "id-05", "abyy", "blue", DAAP_DB_READY, T0 + 5);
    put(be, "id-06", "omega", "green", DAAP_DB_READY, T0 + 6);
    transition(be, "id-04", DAAP_DB_DELETING);
    transition(be, "id-05", DAAP_DB_DELETING);
    transition(be, "id-05", DAAP_DB_DELETED);
}

static void test_list_filters(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_query q;

    put_filter_fixture(be);
    q = query();
    assert_list(be, &q, "id-01 id-02 id-03 id-06");
    q.include_deleted = 1;
    assert_list(be, &q, "id-01 id-02 id-03 id-04 id-05 id-06");
    q.limit = 2;
    assert_list(be, &q, "id-01 id-02");

    q = query();
    q.owner_team = "red";
    assert_list(be, &q, "id-01 id-03");
    q.include_deleted = 1;
    assert_list(be, &q, "id-01 id-03 id-04");
    q.owner_team = "nobody";
    assert_list(be, &q, "");

    q = query();
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_READY);
    assert_list(be, &q, "id-01 id-06");
    q.status_mask |= DAAP_DB_STATUS_BIT(DAAP_DB_ERROR);
    assert_list(be, &q, "id-01 id-03 id-06");
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_DELETING);
    assert_list(be, &q, "");
    q.include_deleted = 1;
    assert_list(be, &q, "id-04");
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_DELETED + 1) - 1;
    assert_list(be, &q, "id-01 id-02 id-03 id-04 id-05 id-06");

    /* Prefixes are literal: LIKE wildcards match only themselves. */
    q = query();
    q.name_prefix = "ab_";
    assert_list(be, &q, "id-01");
    q.name_prefix = "ab%";
    assert_list(be, &q, "id-03");
    q.name_prefix = "ab";
    assert_list(be, &q, "id-01 id-02 id-03");
    q.name_prefix = "AB";
    assert_list(be, &q, "");
    q.name_prefix = "";
    assert_list(be, &q, "id-01 id-02 id-03 id-06");

    q = query();
    q.owner_team = "blue";
    q.name_prefix = "ab";
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_DELETED);
    q.include_deleted = 1;
    assert_list(be, &q, "id-05");
}

static void test_list_rejects_bad_query(void **state)
{
    daap_storage_query q = query();
    daap_db_array arr = { 0 };

    q.status_mask = 1u << 9;
    assert_error(daap__storage_list(&arr, backend(state), &q), DAAP_EINVALID, "status mask");
    q = query();
    q.version = 99;
    assert_error(daap__storage_list(&arr, backend(state), &q), DAAP_EINVALID, "version");
    assert_int_equal(arr.count, 0);
}

#define PAGE_RECORDS 23

typedef struct {
    char    id[16];
    int64_t created;
    int     odd;
} page_row;

static int compare_rows(const void *a, const void *b)
{
    const page_row *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Page through q with `limit` and check the concatenation is `expected`. */
static void assert_pages(daap_storage_backend *be, daap_storage_query q, uint32_t limit,
                         const page_row *expected, size_t count)
{
    size_t seen = 0, pages = 0;

    q.limit = limit;
    for (;;) {
        daap_db_array arr = { 0 };
        size_t i;

        assert_ok(daap__storage_list(&arr, be, &q));
        assert_true(arr.count <= limit);
        for (i = 0; i < arr.count; i++, seen++) {
            assert_true(seen < count);
            assert_string_equal(daap_db_id(arr.items[i]), expected[seen].id);
            assert_int_equal(daap_db_created_at(arr.items[i]), expected[seen].created);
        }
        pages++;
        if (arr.count < limit) {
            daap_db_array_dispose(&arr);
            break;
        }
        q.after_created_at = daap_db_created_at(arr.items[arr.count - 1]);
        q.after_id = expected[seen - 1].id;
        daap_db_array_dispose(&arr);
    }
    assert_int_equal(seen, count);
    assert_true(pages > 2);
}

static void test_list_keyset_pages(void **state)
{
    daap_storage_backend *be = backend(state);
    page_row rows[PAGE_RECORDS], odd[PAGE_RECORDS];
    daap_storage_query q = query();
    size_t i, n_odd = 0;

    /* Ids out of insertion order, three records per timestamp: the id must
     * break ties, and pages must neither repeat nor skip a record. */
    for (i = 0; i < PAGE_RECORDS; i++) {
        char name[32];
        page_row *r = &rows[i];

        snprintf(r->id, sizeof(r->id), "k-%02zu", (i * 7) % PAGE_RECORDS);
        snprintf(name, sizeof(name), "page-%02zu", i);
        r->created = T0 + (int64_t)(i % 8) * 1000;
        r->odd = (int)(i % 2);
        put(be, r->id, name, r->odd ? "odd" : "even", DAAP_DB_READY, r->created);
    }
    qsort(rows, PAGE_RECORDS, sizeof(rows[0]), compare_rows);
    for (i = 0; i < PAGE_RECORDS; i++)
        if (rows[i].odd)
            odd[n_odd++] = rows[i];

    assert_pages(be, q, 5, rows, PAGE_RECORDS);
    assert_pages(be, q, 1, rows, PAGE_RECORDS);
    q.owner_team = "odd";
    assert_pages(be, q, 4, odd, n_odd);

    q = query();
    q.after_created_at = rows[PAGE_RECORDS - 1].created;
    q.after_id = rows[PAGE_RECORDS - 1].id;
    assert_list(be, &q, "");
}

static void test_reconciler_query(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_query q = query();

    put(be, "id-1", "prov", "red", DAAP_DB_PROVISIONING, T0 + 1);
    put(be, "id-2", "ready", "red", DAAP_DB_READY, T0 + 2);
    put(be, "id-3", "err", "blue", DAAP_DB_ERROR, T0 + 3);
    put(be, "id-4", "going", "blue", DAAP_DB_READY, T0 + 4);
    put(be, "id-5", "gone", "blue", DAAP_DB_READY, T0 + 5);
    put(be, "id-6", "prov2", "green", DAAP_DB_PROVISIONING, T0 + 6);
    transition(be, "id-4", DAAP_DB_DELETING);
    transition(be, "id-5", DAAP_DB_DELETING);
    transition(be, "id-5", DAAP_DB_DELETED);

    /* Records not in a final state; deleting ones are soft-deleted. */
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_PROVISIONING) | DAAP_DB_STATUS_BIT(DAAP_DB_ERROR) |
                    DAAP_DB_STATUS_BIT(DAAP_DB_DELETING);
    q.include_deleted = 1;
    assert_list(be, &q, "id-1 id-3 id-4 id-6");
    q.limit = 2;
    assert_list(be, &q, "id-1 id-3");
    q.after_created_at = T0 + 3;
    q.after_id = "id-3";
    assert_list(be, &q, "id-4 id-6");
}

static void test_ping(void **state)
{
    assert_ok(daap__storage_ping(backend(state)));
}

/* ---- query plans ------------------------------------------------------ */

/* The plan reads `index` (NULL: any), never scans the whole table, and
 * sorts nothing unless `may_sort`. */
static void assert_plan(const daap_storage_query *q, const char *index, int may_sort)
{
    daap_buf plan = DAAP_BUF_INIT;

    assert_ok(current->plan(&plan, current, q));
    if (daap_test_env("DAAP_TEST_SHOW_PLANS"))
        fprintf(stderr, "%s plan:\n%s\n", current->label, plan.ptr);
    if ((index && strstr(plan.ptr, index) == NULL) || strstr(plan.ptr, current->scan_marker) ||
        (!may_sort && strstr(plan.ptr, current->sort_marker)))
        fail_msg("plan should read %s without '%s'%s:\n%s", index ? index : "an index", current->scan_marker,
                 may_sort ? "" : " or a sort", plan.ptr);
    daap_buf_dispose(&plan);
}

/* Every filter combination of GET /databases, first page and keyset page,
 * reads the index whose order it wants (migration 0005 for the live list
 * and for owner_team with status), so a page reads about as many rows as it
 * returns and sorts nothing. */
static void assert_plans_with_keyset(daap_storage_query q, const char *index)
{
    assert_plan(&q, index, 0);
    q.after_created_at = T0 + 5000;
    q.after_id = "bulk-05000";
    assert_plan(&q, index, 0);
}

static void test_list_reads_index_without_sorting(void **state)
{
    daap_storage_query q = query();

    if (!current->shared)
        skip();
    assert_int_equal(current->raw_exec(current, current->bulk_fill_sql), 0);
    q.limit = 10;
    assert_plans_with_keyset(q, "databases_live_created");
    q.owner_team = "team-7";
    assert_plans_with_keyset(q, "databases_live_owner_created");
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_ERROR);
    assert_plans_with_keyset(q, "databases_owner_status_created");
    q.owner_team = NULL;
    assert_plans_with_keyset(q, "databases_status_created");

    /* With the deleted records, 0001's full indexes. */
    q = query();
    q.limit = 10;
    q.include_deleted = 1;
    assert_plans_with_keyset(q, "databases_created");
    q.owner_team = "team-7";
    assert_plans_with_keyset(q, "databases_owner_created");
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_DELETED);
    assert_plans_with_keyset(q, "databases_owner_status_created");

    /* Several statuses may sort, but only the rows that have them. */
    q = query();
    q.limit = 20;
    q.status_mask = DAAP_DB_STATUS_BIT(DAAP_DB_PROVISIONING) | DAAP_DB_STATUS_BIT(DAAP_DB_ERROR) |
                    DAAP_DB_STATUS_BIT(DAAP_DB_DELETING);
    q.include_deleted = 1;
    assert_plan(&q, NULL, 1);
    (void)state;
}

/* ---- migrations ------------------------------------------------------- */

static void test_migrations_round_trip(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_migration_status st;
    daap_db_array arr = { 0 };
    int64_t now = (int64_t)time(NULL) * 1000;

    assert_ok(daap__storage_migration_status(&st, be));
    assert_true(st.latest >= 1);
    assert_int_equal(st.current, st.latest);
    assert_int_equal(st.items[st.count - 1].version, st.latest);
    assert_int_equal(st.items[0].version, 1);
    assert_string_equal(st.items[0].name, "create_databases");
    assert_true(st.items[0].applied);
    assert_true(st.items[0].checksum_ok);
    assert_true(st.items[0].applied_at > now - 3600000 && st.items[0].applied_at < now + 3600000);
    daap_migration_status_dispose(&st);

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    assert_ok(daap__storage_migrate(be, -1));
    assert_ok(daap__storage_list(&arr, be, &(daap_storage_query){ DAAP_STORAGE_QUERY_VERSION }));
    assert_int_equal(arr.count, 1);
    daap_db_array_dispose(&arr);

    assert_ok(daap__storage_migrate(be, 0));
    assert_ok(daap__storage_migration_status(&st, be));
    assert_int_equal(st.current, 0);
    assert_false(st.items[0].applied);
    assert_int_equal(st.items[0].applied_at, 0);
    daap_migration_status_dispose(&st);
    /* The table is gone. */
    assert_true(daap__storage_list(&arr, be, &(daap_storage_query){ DAAP_STORAGE_QUERY_VERSION }) < 0);
    assert_non_null(strstr(daap_error_last()->message, "databases"));

    assert_ok(daap__storage_migrate(be, -1));
    assert_ok(daap__storage_migration_status(&st, be));
    assert_int_equal(st.current, st.latest);
    daap_migration_status_dispose(&st);
    assert_list(be, &(daap_storage_query){ DAAP_STORAGE_QUERY_VERSION }, "");
    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);

    assert_error(daap__storage_migrate(be, 99), DAAP_EINVALID, "99");
    assert_error(daap__storage_migrate(be, -2), DAAP_EINVALID, NULL);
}

static void test_migration_checksum_mismatch(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_migration_status st;

    if (!current->shared)
        skip();
    assert_int_equal(current->raw_exec(current,
        "UPDATE schema_migrations SET checksum = 'f' || checksum WHERE version = 1"), 0);
    assert_error(daap__storage_migrate(be, -1), DAAP_ECONFLICT, "0001_create_databases");
    assert_error(daap__storage_migrate(be, 0), DAAP_ECONFLICT, "0001");
    assert_ok(daap__storage_migration_status(&st, be));
    assert_true(st.items[0].applied);
    assert_false(st.items[0].checksum_ok);
    daap_migration_status_dispose(&st);

    assert_int_equal(current->raw_exec(current,
        "UPDATE schema_migrations SET checksum = substr(checksum, 2) WHERE version = 1"), 0);
    assert_ok(daap__storage_migrate(be, -1));
}

/* ---- version 3: event history ---------------------------------------- */

static daap_db_event event(int type, const char *reason, const char *message, int64_t at)
{
    daap_db_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.reason = reason;
    ev.message = message;
    ev.at = at;
    ev.actor = "red";
    ev.request_id = "req-1";
    return ev;
}

/* Write one event with a compare-and-set update of record `id`. */
static int update_with(daap_storage_backend *be, const char *id, const daap_db_event *ev)
{
    daap_db *db = NULL;
    int64_t rev;
    int rc;

    assert_ok(daap__storage_get(&db, be, id));
    rev = daap_db_revision(db);
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, rev + 1));
    rc = daap__storage_update_with_events(be, db, rev, ev, 1);
    daap_db_free(db);
    return rc;
}

static void events_page(daap_db_event_page *page, daap_storage_backend *be, const char *id,
                        int64_t before, int warnings_only, uint32_t limit)
{
    daap_storage_event_query q = { DAAP_STORAGE_EVENT_QUERY_VERSION, id, before, warnings_only, limit };

    memset(page, 0, sizeof(*page));
    assert_ok(daap__storage_events(page, be, &q));
}

/* The reasons of a page, space-separated, with "xN" for a count above 1. */
static void assert_reasons(const daap_db_event_page *page, const char *expected)
{
    char got[512] = "";
    size_t i;

    for (i = 0; i < page->count; i++) {
        char one[64];
        snprintf(one, sizeof(one), "%s%s", i ? " " : "", page->items[i].reason);
        strcat(got, one);
        if (page->items[i].count > 1) {
            snprintf(one, sizeof(one), "x%lld", (long long)page->items[i].count);
            strcat(got, one);
        }
    }
    assert_string_equal(got, expected);
}

static void test_events_written_with_record(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *db = record("id-1", "orders", "red", DAAP_DB_PROVISIONING, T0);
    daap_db_event created = event(DAAP_DB_EVENT_NORMAL, "Created", "created by red", T0);
    daap_db_event_page page;

    created.to_status = "provisioning";
    assert_ok(daap__storage_insert_with_events(be, db, &created, 1));
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_int_equal(page.count, 1);
    assert_true(page.items[0].id > 0);
    assert_string_equal(page.items[0].database_id, "id-1");
    assert_int_equal(page.items[0].at, T0);
    assert_int_equal(page.items[0].last_at, T0);
    assert_int_equal(page.items[0].type, DAAP_DB_EVENT_NORMAL);
    assert_string_equal(page.items[0].reason, "Created");
    assert_string_equal(page.items[0].message, "created by red");
    assert_null(page.items[0].from_status);
    assert_string_equal(page.items[0].to_status, "provisioning");
    assert_string_equal(page.items[0].actor, "red");
    assert_string_equal(page.items[0].request_id, "req-1");
    assert_int_equal(page.items[0].count, 1);
    daap_db_event_page_dispose(&page);

    /* A failed insert (the id is taken) writes no event either. */
    assert_error(daap__storage_insert_with_events(be, db, &created, 1), DAAP_EEXISTS, NULL);
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_int_equal(page.count, 1);
    daap_db_event_page_dispose(&page);
    daap_db_free(db);
}

static void test_events_fold_repeats(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db_event a = event(DAAP_DB_EVENT_NORMAL, "Progress", "waiting", T0 + 1);
    daap_db_event a_later = event(DAAP_DB_EVENT_NORMAL, "Progress", "waiting", T0 + 5000);
    daap_db_event b = event(DAAP_DB_EVENT_NORMAL, "Progress", "instances ready", T0 + 6000);
    daap_db_event warn = event(DAAP_DB_EVENT_WARNING, "Progress", "instances ready", T0 + 7000);
    daap_db_event_page page;

    put(be, "id-1", "orders", "red", DAAP_DB_PROVISIONING, T0);
    assert_ok(update_with(be, "id-1", &a));
    assert_ok(update_with(be, "id-1", &a_later));
    assert_ok(update_with(be, "id-1", &a_later));
    assert_ok(update_with(be, "id-1", &b));
    /* The same reason and message of another type is another event. */
    assert_ok(update_with(be, "id-1", &warn));
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_reasons(&page, "Progress Progress Progressx3");
    assert_string_equal(page.items[2].message, "waiting");
    assert_int_equal(page.items[2].at, T0 + 1);
    assert_int_equal(page.items[2].last_at, T0 + 5000);
    assert_int_equal(page.items[0].type, DAAP_DB_EVENT_WARNING);
    daap_db_event_page_dispose(&page);

    /* Only the newest event folds: an older repeat starts a new row. */
    assert_ok(update_with(be, "id-1", &a));
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_reasons(&page, "Progress Progress Progress Progressx3");
    daap_db_event_page_dispose(&page);
}

static void test_events_failed_update_writes_none(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db_event ev = event(DAAP_DB_EVENT_NORMAL, "Ready", "ready", T0 + 1);
    daap_db_event_page page;
    daap_db *db = NULL;

    put(be, "id-1", "orders", "red", DAAP_DB_PROVISIONING, T0);
    assert_ok(daap__storage_get(&db, be, "id-1"));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, 3));
    assert_error(daap__storage_update_with_events(be, db, 2, &ev, 1), DAAP_ECONFLICT, NULL);
    assert_ok(daap_db_set_text(db, DAAP_DB_F_ID, "no-such-id"));
    assert_error(daap__storage_update_with_events(be, db, 2, &ev, 1), DAAP_ENOTFOUND, NULL);
    daap_db_free(db);
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_int_equal(page.count, 0);
    daap_db_event_page_dispose(&page);
    events_page(&page, be, "no-such-id", 0, 0, 10);
    assert_int_equal(page.count, 0);
    daap_db_event_page_dispose(&page);
}

static void test_events_pages_and_filter(void **state)
{
    static const char *const reasons[] = { "A", "B", "C", "D", "E" };
    daap_storage_backend *be = backend(state);
    daap_db_event_page page, next;
    size_t i;

    put(be, "id-1", "orders", "red", DAAP_DB_PROVISIONING, T0);
    put(be, "id-2", "other", "red", DAAP_DB_PROVISIONING, T0);
    for (i = 0; i < DAAP_ARRAY_SIZE(reasons); i++) {
        daap_db_event ev = event(i % 2 ? DAAP_DB_EVENT_WARNING : DAAP_DB_EVENT_NORMAL, reasons[i], "m", T0 + (int64_t)i);
        assert_ok(update_with(be, "id-1", &ev));
        assert_ok(update_with(be, "id-2", &ev));
    }
    events_page(&page, be, "id-1", 0, 0, 2);
    assert_reasons(&page, "E D");
    events_page(&next, be, "id-1", page.items[1].id, 0, 2);
    assert_reasons(&next, "C B");
    daap_db_event_page_dispose(&page);
    events_page(&page, be, "id-1", next.items[1].id, 0, 2);
    assert_reasons(&page, "A");
    daap_db_event_page_dispose(&page);
    daap_db_event_page_dispose(&next);

    events_page(&page, be, "id-1", 0, 1, 10);
    assert_reasons(&page, "D B");
    events_page(&next, be, "id-1", page.items[0].id, 1, 10);
    assert_reasons(&next, "B");
    daap_db_event_page_dispose(&page);
    daap_db_event_page_dispose(&next);
}

static void test_events_of_soft_deleted_record(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db_event ev = event(DAAP_DB_EVENT_NORMAL, "DeleteRequested", "deleted by red", T0 + 1);
    daap_db_event_page page;

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    assert_ok(update_with(be, "id-1", &ev));
    transition(be, "id-1", DAAP_DB_DELETED);
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_reasons(&page, "DeleteRequested");
    daap_db_event_page_dispose(&page);
}

static void test_events_purge_in_batches(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db_event_page page;
    uint32_t purged = 99;
    int i;

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    for (i = 0; i < 6; i++) {
        char reason[16];
        daap_db_event ev;

        snprintf(reason, sizeof(reason), "R%d", i);
        ev = event(DAAP_DB_EVENT_NORMAL, reason, "m", T0 + i * 1000);
        assert_ok(update_with(be, "id-1", &ev));
    }
    /* Older than T0 + 4500: R0..R4, oldest first, two per call. */
    assert_ok(daap__storage_purge_events(&purged, be, T0 + 4500, 2));
    assert_int_equal(purged, 2);
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_reasons(&page, "R5 R4 R3 R2");
    daap_db_event_page_dispose(&page);
    assert_ok(daap__storage_purge_events(&purged, be, T0 + 4500, 2));
    assert_int_equal(purged, 2);
    assert_ok(daap__storage_purge_events(&purged, be, T0 + 4500, 2));
    assert_int_equal(purged, 1);
    assert_ok(daap__storage_purge_events(&purged, be, T0 + 4500, 2));
    assert_int_equal(purged, 0);
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_reasons(&page, "R5");
    daap_db_event_page_dispose(&page);
}

static void test_events_migration_down_and_up(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db_event ev = event(DAAP_DB_EVENT_NORMAL, "Created", "m", T0);
    daap_storage_event_query q = { DAAP_STORAGE_EVENT_QUERY_VERSION, "id-1", 0, 0, 10 };
    daap_db_event_page page = { 0 };

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    assert_ok(update_with(be, "id-1", &ev));
    assert_ok(daap__storage_migrate(be, 1));
    assert_true(daap__storage_events(&page, be, &q) < 0);
    assert_non_null(strstr(daap_error_last()->message, "database_events"));
    assert_int_equal(page.count, 0);
    /* The records stay; the history starts again empty. */
    assert_ok(daap__storage_migrate(be, -1));
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_int_equal(page.count, 0);
    daap_db_event_page_dispose(&page);
    assert_ok(update_with(be, "id-1", &ev));
    events_page(&page, be, "id-1", 0, 0, 10);
    assert_reasons(&page, "Created");
    daap_db_event_page_dispose(&page);
}

static void test_events_rejects_bad_query(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_event_query q = { DAAP_STORAGE_EVENT_QUERY_VERSION + 1, "id-1", 0, 0, 10 };
    daap_db_event_page page = { 0 };

    assert_error(daap__storage_events(&page, be, &q), DAAP_EINVALID, NULL);
    q.version = DAAP_STORAGE_EVENT_QUERY_VERSION;
    q.limit = 0;
    assert_error(daap__storage_events(&page, be, &q), DAAP_EINVALID, NULL);
}

/* ---- idempotency keys (vtable version 3) ------------------------------ */

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LEASE 60000

static daap_storage_idem idem_key(const char *scope, const char *key, const char *fp, int64_t now, int64_t expires)
{
    daap_storage_idem k = { DAAP_STORAGE_IDEM_VERSION, scope, key, fp, now, expires };
    return k;
}

static daap_idempotency_state begin_state(daap_storage_backend *be, const daap_storage_idem *k)
{
    daap_idempotency_record rec;
    daap_idempotency_state st;

    assert_ok(daap__storage_idem_begin(&rec, be, k));
    st = rec.state;
    daap_idempotency_record_dispose(&rec);
    return st;
}

static void test_idem_claim_finish_replay(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_idem k = idem_key("red", "key-1", FP_A, T0, T0 + LEASE);
    daap_storage_idem other = idem_key("red", "key-1", FP_B, T0, T0 + LEASE);
    daap_storage_idem done = idem_key("red", "key-1", FP_A, T0 + 10, T0 + 86400000);
    static const char body[] = "{\"id\":\"x\",\"nul\":\"\0 inside\"}";
    daap_idempotency_record rec;

    assert_true(daap__storage_has_idem(be));
    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_STARTED);
    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_IN_FLIGHT);
    assert_int_equal(begin_state(be, &other), DAAP_IDEMPOTENCY_MISMATCH);
    /* Another team's key of the same name is its own. */
    k.scope = "blue";
    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_STARTED);
    k.scope = "red";

    /* Only the holder (same fingerprint) can finish. */
    assert_error(daap__storage_idem_finish(be, &other, 201, "/databases/x", "{}", 2), DAAP_ECONFLICT, "key-1");
    assert_ok(daap__storage_idem_finish(be, &done, 201, "/databases/x", body, sizeof(body) - 1));
    assert_error(daap__storage_idem_finish(be, &done, 201, "/databases/x", body, sizeof(body) - 1), DAAP_ECONFLICT, NULL);

    assert_ok(daap__storage_idem_begin(&rec, be, &k));
    assert_int_equal(rec.state, DAAP_IDEMPOTENCY_DONE);
    assert_int_equal(rec.status, 201);
    assert_string_equal(rec.location.ptr, "/databases/x");
    assert_int_equal(rec.body.size, sizeof(body) - 1);
    assert_memory_equal(rec.body.ptr, body, sizeof(body) - 1);
    daap_idempotency_record_dispose(&rec);
    assert_int_equal(begin_state(be, &other), DAAP_IDEMPOTENCY_MISMATCH);

    /* A finished key cannot be abandoned, and a missing one is no error. */
    assert_ok(daap__storage_idem_abandon(be, &k));
    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_DONE);
    k.key = "never-claimed";
    assert_ok(daap__storage_idem_abandon(be, &k));
}

static void test_idem_done_without_location(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_idem k = idem_key("", "key-2", FP_A, T0, T0 + LEASE);
    daap_idempotency_record rec;

    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_STARTED);
    assert_ok(daap__storage_idem_finish(be, &k, 409, NULL, "", 0));
    assert_ok(daap__storage_idem_begin(&rec, be, &k));
    assert_int_equal(rec.state, DAAP_IDEMPOTENCY_DONE);
    assert_int_equal(rec.status, 409);
    assert_int_equal(rec.location.size, 0);
    assert_int_equal(rec.body.size, 0);
    daap_idempotency_record_dispose(&rec);
}

static void test_idem_abandon_frees_key(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_idem k = idem_key("red", "key-3", FP_A, T0, T0 + LEASE);
    daap_storage_idem other = idem_key("red", "key-3", FP_B, T0, T0 + LEASE);

    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_STARTED);
    /* Another fingerprint cannot abandon the holder's claim. */
    assert_ok(daap__storage_idem_abandon(be, &other));
    assert_int_equal(begin_state(be, &other), DAAP_IDEMPOTENCY_MISMATCH);
    assert_ok(daap__storage_idem_abandon(be, &k));
    assert_int_equal(begin_state(be, &other), DAAP_IDEMPOTENCY_STARTED);
}

static void test_idem_lease_and_expiry(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_idem crashed = idem_key("red", "key-4", FP_A, T0, T0 + LEASE);
    daap_storage_idem before = idem_key("red", "key-4", FP_A, T0 + LEASE - 1, T0 + 2 * LEASE);
    daap_storage_idem after = idem_key("red", "key-4", FP_B, T0 + LEASE, T0 + 2 * LEASE);
    daap_storage_idem done = idem_key("red", "key-4", FP_B, T0 + LEASE, T0 + LEASE + 1000);
    daap_storage_idem expired = idem_key("red", "key-4", FP_A, T0 + LEASE + 1000, T0 + 3 * LEASE);

    assert_int_equal(begin_state(be, &crashed), DAAP_IDEMPOTENCY_STARTED);
    assert_int_equal(begin_state(be, &before), DAAP_IDEMPOTENCY_IN_FLIGHT);
    /* The lease passed: anyone may take the key, whatever its fingerprint. */
    assert_int_equal(begin_state(be, &after), DAAP_IDEMPOTENCY_STARTED);
    /* The crashed holder, back from the dead, no longer holds it. */
    assert_error(daap__storage_idem_finish(be, &crashed, 201, NULL, "{}", 2), DAAP_ECONFLICT, NULL);
    assert_ok(daap__storage_idem_finish(be, &done, 201, NULL, "{}", 2));
    /* A finished key lives until its expiry, then is a new request. */
    before.now = T0 + LEASE + 999;
    before.fingerprint = FP_B;
    assert_int_equal(begin_state(be, &before), DAAP_IDEMPOTENCY_DONE);
    assert_int_equal(begin_state(be, &expired), DAAP_IDEMPOTENCY_STARTED);
}

static void test_idem_purge_in_batches(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_idem live = idem_key("red", "live", FP_A, T0, T0 + 10 * LEASE);
    uint32_t purged = 99;
    int i;

    for (i = 0; i < 5; i++) {
        char key[16];
        daap_storage_idem k;

        snprintf(key, sizeof(key), "old-%d", i);
        k = idem_key("red", key, FP_A, T0, T0 + i);
        assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_STARTED);
    }
    assert_int_equal(begin_state(be, &live), DAAP_IDEMPOTENCY_STARTED);
    assert_ok(daap__storage_idem_purge(&purged, be, T0 + 100, 2));
    assert_int_equal(purged, 2);
    assert_ok(daap__storage_idem_purge(&purged, be, T0 + 100, 2));
    assert_int_equal(purged, 2);
    assert_ok(daap__storage_idem_purge(&purged, be, T0 + 100, 2));
    assert_int_equal(purged, 1);
    assert_ok(daap__storage_idem_purge(&purged, be, T0 + 100, 2));
    assert_int_equal(purged, 0);
    /* The live key survived, still in flight. */
    live.now = T0 + 100;
    assert_int_equal(begin_state(be, &live), DAAP_IDEMPOTENCY_IN_FLIGHT);
}

static void test_idem_gone_after_migrating_down(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_storage_idem k = idem_key("red", "key-5", FP_A, T0, T0 + LEASE);
    daap_migration_status st;
    daap_idempotency_record rec;
    int32_t before;
    size_t i;

    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_STARTED);
    assert_ok(daap__storage_migration_status(&st, be));
    /* Down to just before idempotency_keys, whatever steps follow it. */
    for (i = 1; i < st.count && strcmp(st.items[i].name, "idempotency_keys") != 0; i++)
        ;
    assert_true(i < st.count);
    before = st.items[i - 1].version;
    daap_migration_status_dispose(&st);
    assert_ok(daap__storage_migrate(be, before));
    assert_true(daap__storage_idem_begin(&rec, be, &k) < 0);
    assert_non_null(strstr(daap_error_last()->message, "idempotency_keys"));
    assert_ok(daap__storage_migrate(be, -1));
    assert_int_equal(begin_state(be, &k), DAAP_IDEMPOTENCY_STARTED);
}

/* Version numbers may have gaps, but a store never has a step applied
 * without every known step before it. */
static void test_migration_out_of_order_refused(void **state)
{
    daap_storage_backend *be = backend(state);

    if (!current->shared)
        skip();
    /* Step 2 forgotten, step 3 still applied. */
    assert_int_equal(current->raw_exec(current, "UPDATE schema_migrations SET version = 1000 WHERE version = 2"), 0);
    assert_error(daap__storage_migrate(be, -1), DAAP_ECONFLICT, "applied but not 0002_database_events");
    assert_int_equal(current->raw_exec(current, "UPDATE schema_migrations SET version = 2 WHERE version = 1000"), 0);
    assert_ok(daap__storage_migrate(be, -1));
}

/* Migration 0004 adds deletion_protection: its down step drops the column
 * and keeps the rows, and its up step gives rows written without it 0
 * (unprotected). The store refuses anything but 0 and 1. */
static void test_deletion_protection_migration(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *db = record("id-1", "orders", "red", DAAP_DB_READY, T0), *got = NULL;

    assert_ok(daap_db_set_int(db, DAAP_DB_F_DELETION_PROTECTION, 1));
    assert_ok(daap__storage_insert(be, db));
    daap_db_free(db);
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_int_equal(daap_db_deletion_protection(got), 1);
    daap_db_free(got);

    assert_ok(daap__storage_migrate(be, 1));
    assert_ok(daap__storage_migrate(be, -1));
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_int_equal(daap_db_deletion_protection(got), 0);
    daap_db_free(got);

    if (current->shared)
        assert_int_not_equal(current->raw_exec(current, "UPDATE databases SET deletion_protection = 2 WHERE id = 'id-1'"), 0);
}

/* Migration 0006 adds pending_password (a rotation's sealed new password):
 * it round-trips as bytes apart from the current password, clears to
 * NULL, and its down step drops it while keeping the rows. */
static void test_pending_password_migration(void **state)
{
    static const unsigned char sealed[] = { 1, 0, 'p', 'e', 'n', 'd', 0xff, 0 };
    static const unsigned char now_sealed[] = { 1, 0, 'c', 'u', 'r' };
    daap_storage_backend *be = backend(state);
    daap_db *db = record("id-1", "orders", "red", DAAP_DB_READY, T0), *got = NULL;
    const unsigned char *blob;
    size_t len = 0;

    assert_ok(daap_db_set_blob(db, DAAP_DB_F_PASSWORD, now_sealed, sizeof(now_sealed)));
    assert_ok(daap_db_set_blob(db, DAAP_DB_F_PENDING_PASSWORD, sealed, sizeof(sealed)));
    assert_ok(daap__storage_insert(be, db));
    assert_ok(daap__storage_get(&got, be, "id-1"));
    blob = daap_db_get_blob(got, DAAP_DB_F_PENDING_PASSWORD, &len);
    assert_non_null(blob);
    assert_int_equal(len, sizeof(sealed));
    assert_memory_equal(blob, sealed, sizeof(sealed));
    blob = daap_db_get_blob(got, DAAP_DB_F_PASSWORD, &len);
    assert_int_equal(len, sizeof(now_sealed));
    assert_memory_equal(blob, now_sealed, sizeof(now_sealed));

    /* cleared: the rotation is over */
    assert_ok(daap_db_set_blob(got, DAAP_DB_F_PENDING_PASSWORD, NULL, 0));
    assert_ok(daap_db_set_int(got, DAAP_DB_F_REVISION, daap_db_revision(db) + 1));
    assert_ok(daap__storage_update(be, got, daap_db_revision(db)));
    daap_db_free(got);
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_null(daap_db_get_blob(got, DAAP_DB_F_PENDING_PASSWORD, &len));
    assert_int_equal(len, 0);
    daap_db_free(got);

    /* down to 0005 and up again: the row stays, without a pending password */
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, daap_db_revision(db) + 2));
    assert_ok(daap__storage_update(be, db, daap_db_revision(db) - 1));
    daap_db_free(db);
    assert_ok(daap__storage_migrate(be, 5));
    assert_ok(daap__storage_migrate(be, -1));
    assert_ok(daap__storage_get(&got, be, "id-1"));
    assert_null(daap_db_get_blob(got, DAAP_DB_F_PENDING_PASSWORD, NULL));
    assert_non_null(daap_db_get_blob(got, DAAP_DB_F_PASSWORD, NULL));
    daap_db_free(got);
}

/* ---- races between two backend instances on one store ------------------ */

typedef struct racer racer;
struct racer {
    daap_storage_backend *be;
    pthread_barrier_t    *start;
    int (*op)(racer *r);
    const daap_db        *db;
    int64_t               expected;
    int32_t               target;
    int                   rc;
};

static void *race_thread(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    r->rc = r->op(r);
    return NULL;
}

static void race(racer *r)
{
    pthread_barrier_t start;
    pthread_t t[2];
    int i;

    pthread_barrier_init(&start, NULL, 2);
    for (i = 0; i < 2; i++) {
        r[i].start = &start;
        assert_int_equal(pthread_create(&t[i], NULL, race_thread, &r[i]), 0);
    }
    for (i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
}

static int insert_op(racer *r) { return daap__storage_insert(r->be, r->db); }
static int update_op(racer *r) { return daap__storage_update(r->be, r->db, r->expected); }
static int migrate_op(racer *r) { return daap__storage_migrate(r->be, r->target); }

/* Exactly one of the two won; the other got `loser_code`. */
static int single_winner(const racer *r, int loser_code)
{
    int a = r[0].rc, b = r[1].rc;
    if (!((a == 0 && b == loser_code) || (b == 0 && a == loser_code)))
        fail_msg("race results %d and %d; want 0 and %d", a, b, loser_code);
    return a == 0 ? 0 : 1;
}

static void test_race_same_name(void **state)
{
    daap_storage_backend *be2 = NULL;
    daap_storage_query q = query();
    daap_db_array arr = { 0 };
    int i;

    if (!current->shared)
        skip();
    assert_ok(open_backend(&be2));
    for (i = 0; i < RACE_ROUNDS; i++) {
        char name[32], id_a[32], id_b[32];
        racer r[2] = { { 0 } };

        snprintf(name, sizeof(name), "race-%02d", i);
        snprintf(id_a, sizeof(id_a), "race-%02d-a", i);
        snprintf(id_b, sizeof(id_b), "race-%02d-b", i);
        r[0] = (racer){ backend(state), NULL, insert_op, record(id_a, name, "red", DAAP_DB_PROVISIONING, T0 + i), 0, 0, 0 };
        r[1] = (racer){ be2, NULL, insert_op, record(id_b, name, "blue", DAAP_DB_PROVISIONING, T0 + i), 0, 0, 0 };
        race(r);
        single_winner(r, DAAP_EEXISTS);
        daap_db_free((daap_db *)r[0].db);
        daap_db_free((daap_db *)r[1].db);
    }
    q.name_prefix = "race-";
    assert_ok(daap__storage_list(&arr, be2, &q));
    assert_int_equal(arr.count, RACE_ROUNDS);
    daap_db_array_dispose(&arr);
    daap__storage_free(be2);
}

static daap_db *next_revision(daap_storage_backend *be, const char *id, const char *purpose)
{
    daap_db *db = NULL;

    assert_ok(daap__storage_get(&db, be, id));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_PURPOSE, purpose));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_REVISION, daap_db_revision(db) + 1));
    return db;
}

static void test_race_compare_and_set(void **state)
{
    daap_storage_backend *be = backend(state), *be2 = NULL;
    int i;

    if (!current->shared)
        skip();
    assert_ok(open_backend(&be2));
    for (i = 0; i < RACE_ROUNDS; i++) {
        char id[32], name[32];
        racer r[2] = { { 0 } };
        daap_db *got = NULL;
        int winner;

        snprintf(id, sizeof(id), "cas-%02d", i);
        snprintf(name, sizeof(name), "cas-%02d", i);
        put(be, id, name, "red", DAAP_DB_PROVISIONING, T0 + i);
        r[0] = (racer){ be, NULL, update_op, next_revision(be, id, "first"), 1, 0, 0 };
        r[1] = (racer){ be2, NULL, update_op, next_revision(be2, id, "second"), 1, 0, 0 };
        race(r);
        winner = single_winner(r, DAAP_ECONFLICT);
        assert_ok(daap__storage_get(&got, be, id));
        assert_int_equal(daap_db_revision(got), 2);
        assert_string_equal(daap_db_purpose(got), winner == 0 ? "first" : "second");
        daap_db_free(got);
        daap_db_free((daap_db *)r[0].db);
        daap_db_free((daap_db *)r[1].db);
    }
    daap__storage_free(be2);
}

static void test_race_migrators(void **state)
{
    daap_storage_backend *be = backend(state), *be2 = NULL;
    daap_migration_status st;
    int i;

    if (!current->shared)
        skip();
    assert_ok(open_backend(&be2));
    for (i = 0; i < MIGRATE_RACE_ROUNDS; i++) {
        racer down[2] = { { be, NULL, migrate_op, NULL, 0, 0, 0 }, { be2, NULL, migrate_op, NULL, 0, 0, 0 } };
        racer up[2] = { { be, NULL, migrate_op, NULL, 0, -1, 0 }, { be2, NULL, migrate_op, NULL, 0, -1, 0 } };

        race(down);
        if (down[0].rc || down[1].rc)
            fail_msg("concurrent migrate down: %d, %d (%s)", down[0].rc, down[1].rc, daap_error_last()->message);
        race(up);
        if (up[0].rc || up[1].rc)
            fail_msg("concurrent migrate up: %d, %d", up[0].rc, up[1].rc);
    }
    assert_ok(daap__storage_migration_status(&st, be));
    assert_int_equal(st.current, st.latest);
    daap_migration_status_dispose(&st);
    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    daap__storage_free(be2);
}


static int idem_begin_op(racer *r)
{
    daap_idempotency_record rec;
    char key[32];
    daap_storage_idem k;
    int rc;

    snprintf(key, sizeof(key), "race-%d", (int)r->target);
    k = idem_key("red", key, FP_A, T0, T0 + LEASE);
    if ((rc = daap__storage_idem_begin(&rec, r->be, &k)) == 0)
        rc = rec.state == DAAP_IDEMPOTENCY_STARTED ? 0 : rec.state == DAAP_IDEMPOTENCY_IN_FLIGHT ? 1 : -100;
    daap_idempotency_record_dispose(&rec);
    return rc;
}

/* Two processes claim one key at once: exactly one holds it. */
static void test_race_idempotency_key(void **state)
{
    daap_storage_backend *be2 = NULL;
    int i;

    if (!current->shared)
        skip();
    assert_ok(open_backend(&be2));
    for (i = 0; i < RACE_ROUNDS; i++) {
        racer r[2] = { { backend(state), NULL, idem_begin_op, NULL, 0, i, 0 }, { be2, NULL, idem_begin_op, NULL, 0, i, 0 } };

        race(r);
        single_winner(r, 1);
    }
    daap__storage_free(be2);
}

static const struct CMUnitTest conformance_tests[] = {
    cmocka_unit_test_setup_teardown(test_roundtrip_every_field, setup, teardown),
    cmocka_unit_test_setup_teardown(test_get_unknown, setup, teardown),
    cmocka_unit_test_setup_teardown(test_insert_duplicate_id, setup, teardown),
    cmocka_unit_test_setup_teardown(test_insert_duplicate_name, setup, teardown),
    cmocka_unit_test_setup_teardown(test_name_free_once_deleted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_update_compare_and_set, setup, teardown),
    cmocka_unit_test_setup_teardown(test_update_writes_every_field, setup, teardown),
    cmocka_unit_test_setup_teardown(test_update_to_taken_name, setup, teardown),
    cmocka_unit_test_setup_teardown(test_soft_delete_hides_from_default_list, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_rejects_bad_query, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_keyset_pages, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reconciler_query, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_reads_index_without_sorting, setup, teardown),
    cmocka_unit_test_setup_teardown(test_migrations_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(test_migration_checksum_mismatch, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_written_with_record, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_fold_repeats, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_failed_update_writes_none, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_pages_and_filter, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_of_soft_deleted_record, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_purge_in_batches, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_migration_down_and_up, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_rejects_bad_query, setup, teardown),
    cmocka_unit_test_setup_teardown(test_deletion_protection_migration, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pending_password_migration, setup, teardown),
    cmocka_unit_test_setup_teardown(test_race_same_name, setup, teardown),
    cmocka_unit_test_setup_teardown(test_race_compare_and_set, setup, teardown),
    cmocka_unit_test_setup_teardown(test_race_migrators, setup, teardown),
    cmocka_unit_test_setup_teardown(test_migration_out_of_order_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idem_claim_finish_replay, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idem_done_without_location, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idem_abandon_frees_key, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idem_lease_and_expiry, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idem_purge_in_batches, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idem_gone_after_migrating_down, setup, teardown),
    cmocka_unit_test_setup_teardown(test_race_idempotency_key, setup, teardown),
};

static int run_conformance(const store *s)
{
    current = s;
    return cmocka_run_group_tests_name(s->label, conformance_tests, NULL, NULL);
}

#ifdef CONF_BACKEND_SQLITE
/* ---- SQLite ----------------------------------------------------------- */

static char sqlite_dir[512];

static int sqlite_open(daap_storage_backend **out, const store *s)
{
    return daap_storage_sqlite_new(out, s->location);
}

static int sqlite_raw_exec(const store *s, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    int rc = sqlite3_open(s->location, &db);

    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "raw sqlite: %s\n", err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void sqlite_bind(sqlite3_stmt *st, const daap__sqlvalue *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (v[i].kind == DAAP__SQL_INT)
            sqlite3_bind_int64(st, (int)i + 1, v[i].i);
        else if (v[i].kind == DAAP__SQL_TEXT)
            sqlite3_bind_text(st, (int)i + 1, v[i].p, (int)v[i].len, SQLITE_STATIC);
    }
}

static int sqlite_plan(daap_buf *out, const store *s, const daap_storage_query *q)
{
    daap_buf sql = DAAP_BUF_INIT;
    daap__sqlvalue params[DAAP__SQL_MAX_PARAMS];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    unsigned int shape;

    assert_ok(daap__sqlgen_list_shape(&shape, q));
    assert_ok(daap__buf_puts(&sql, "EXPLAIN QUERY PLAN "));
    assert_ok(daap__sqlgen_list(&sql, &daap__sqlgen_sqlite, shape));
    assert_int_equal(sqlite3_open(s->location, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql.ptr, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql.ptr, sqlite3_errmsg(db));
    sqlite_bind(st, params, daap__sqlgen_list_params(params, q));
    while (sqlite3_step(st) == SQLITE_ROW)
        assert_ok(daap__buf_printf(out, "%s\n", (const char *)sqlite3_column_text(st, 3)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    daap_buf_dispose(&sql);
    return 0;
}

#define SQLITE_BULK_FILL \
    "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 50000) " \
    "INSERT INTO databases (id, name, owner_team, purpose, namespace, cluster_name, pooler_name," \
    " instances, storage_size, pg_version, status, created_at, updated_at, deleted_at, revision) " \
    "SELECT printf('bulk-%05d', i), printf('bulk-%05d', i), 'team-' || (i % 100), 'bulk', 'daap'," \
    " 'c', 'p', 1, '1Gi', 17, CASE i / 100 % 10 WHEN 1 THEN 'error' WHEN 3 THEN 'deleted'" \
    " WHEN 5 THEN 'provisioning' ELSE 'ready' END, 1700000000000 + i, 1700000000000 + i," \
    " CASE WHEN i / 100 % 10 = 3 THEN 1700000000001 + i END, 1 FROM g; ANALYZE;"

static store sqlite_file = {
    "sqlite file", "", 1, sqlite_open, sqlite_raw_exec, sqlite_plan, "TEMP B-TREE", "SCAN databases\n",
    SQLITE_BULK_FILL
};
static store sqlite_memory = {
    "sqlite :memory:", ":memory:", 0, sqlite_open, NULL, NULL, NULL, NULL, NULL
};

static int make_sqlite_dir(void)
{
    const char *base = daap_test_env("DAAP_TEST_WORK_DIR");

    snprintf(sqlite_dir, sizeof(sqlite_dir), "%s/daap-conf-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(sqlite_dir) == NULL)
        return -1;
    snprintf(sqlite_file.location, sizeof(sqlite_file.location), "%s/daap.db", sqlite_dir);
    return 0;
}

static void remove_sqlite_dir(void)
{
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    char path[1100];
    size_t i;

    for (i = 0; i < DAAP_ARRAY_SIZE(suffixes); i++) {
        snprintf(path, sizeof(path), "%s%s", sqlite_file.location, suffixes[i]);
        unlink(path);
    }
    rmdir(sqlite_dir);
}

static void test_sqlite_cannot_open(void **state)
{
    daap_storage_backend *be = (daap_storage_backend *)&be;

    assert_error(daap_storage_sqlite_new(&be, "/nonexistent-daap-dir/sub/daap.db"), DAAP_EUNAVAILABLE,
                 "/nonexistent-daap-dir/sub/daap.db");
    assert_null(be);
    (void)state;
}

static void test_sqlite_pragmas(void **state)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    daap_storage_backend *be = NULL;

    current = &sqlite_file;
    assert_ok(open_backend(&be));
    assert_int_equal(sqlite3_open(sqlite_file.location, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    daap__storage_free(be);
    (void)state;
}

static const struct CMUnitTest sqlite_tests[] = {
    cmocka_unit_test(test_sqlite_cannot_open),
    cmocka_unit_test(test_sqlite_pragmas),
};

static int run_suites(void)
{
    int failed;

    if (make_sqlite_dir() != 0) {
        perror("mkdtemp");
        return 1;
    }
    failed = run_conformance(&sqlite_file);
    failed += run_conformance(&sqlite_memory);
    failed += cmocka_run_group_tests_name("sqlite specifics", sqlite_tests, NULL, NULL);
    remove_sqlite_dir();
    return failed;
}
#endif

#ifdef CONF_BACKEND_POSTGRES
/* ---- PostgreSQL ------------------------------------------------------- */

#define LOGIN_PASSWORD "right-horse-battery"
#define WRONG_PASSWORD "wrong-staple-9137"

static PGconn *pg_admin;
static char pg_dbname[64];
static char pg_role[64];

static int pg_open(daap_storage_backend **out, const store *s)
{
    return daap_storage_postgres_new(out, s->location);
}

static int admin_exec(const char *sql)
{
    PGresult *res = PQexec(pg_admin, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "admin: %s: %s", sql, PQerrorMessage(pg_admin));
    PQclear(res);
    return ok ? 0 : -1;
}

/* A keyword conninfo for the server of DAAP_TEST_PG_URI with another
 * database, user and password. */
static void conninfo_for(char *out, size_t size, const char *dbname, const char *user, const char *password)
{
    PQconninfoOption *opts = PQconninfoParse(daap_test_env("DAAP_TEST_PG_URI"), NULL), *o;
    size_t n = 0;

    assert_non_null(opts);
    out[0] = '\0';
    for (o = opts; o->keyword; o++) {
        const char *v = o->val;
        if (strcmp(o->keyword, "dbname") == 0)
            v = dbname;
        else if (user && strcmp(o->keyword, "user") == 0)
            v = user;
        else if (password && strcmp(o->keyword, "password") == 0)
            v = password;
        if (v && *v)
            n += (size_t)snprintf(out + n, size - n, "%s='%s' ", o->keyword, v);
    }
    if (user && !strstr(out, "user="))
        n += (size_t)snprintf(out + n, size - n, "user='%s' ", user);
    if (password && !strstr(out, "password="))
        snprintf(out + n, size - n, "password='%s'", password);
    PQconninfoFree(opts);
}

static int pg_raw_exec(const store *s, const char *sql)
{
    PGconn *c = PQconnectdb(s->location);
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "raw postgres: %s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
    return ok ? 0 : -1;
}

static void pg_literals(daap_buf *out, PGconn *c, const daap__sqlvalue *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (i)
            assert_ok(daap__buf_puts(out, ", "));
        if (v[i].kind == DAAP__SQL_INT) {
            assert_ok(daap__buf_printf(out, "%lld", (long long)v[i].i));
        } else {
            char *lit = PQescapeLiteral(c, v[i].p, v[i].len);
            assert_ok(daap__buf_puts(out, lit));
            PQfreemem(lit);
        }
    }
}

static int pg_plan(daap_buf *out, const store *s, const daap_storage_query *q)
{
    daap_buf sql = DAAP_BUF_INIT;
    daap__sqlvalue params[DAAP__SQL_MAX_PARAMS];
    PGconn *c = PQconnectdb(s->location);
    PGresult *res;
    unsigned int shape;
    int i;

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_ok(daap__sqlgen_list_shape(&shape, q));
    assert_ok(daap__buf_puts(&sql, "PREPARE q AS "));
    assert_ok(daap__sqlgen_list(&sql, &daap__sqlgen_postgres, shape));
    res = PQexec(c, sql.ptr);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql.ptr, PQerrorMessage(c));
    PQclear(res);
    daap__buf_clear(&sql);
    assert_ok(daap__buf_puts(&sql, "EXPLAIN EXECUTE q("));
    pg_literals(&sql, c, params, daap__sqlgen_list_params(params, q));
    assert_ok(daap__buf_putc(&sql, ')'));
    res = PQexec(c, sql.ptr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql.ptr, PQerrorMessage(c));
    for (i = 0; i < PQntuples(res); i++)
        assert_ok(daap__buf_printf(out, "%s\n", PQgetvalue(res, i, 0)));
    PQclear(res);
    PQfinish(c);
    daap_buf_dispose(&sql);
    return 0;
}

#define PG_BULK_FILL \
    "INSERT INTO databases (id, name, owner_team, purpose, namespace, cluster_name, pooler_name," \
    " instances, storage_size, pg_version, status, created_at, updated_at, deleted_at, revision) " \
    "SELECT 'bulk-' || lpad(i::text, 5, '0'), 'bulk-' || lpad(i::text, 5, '0'), 'team-' || (i % 100)," \
    " 'bulk', 'daap', 'c', 'p', 1, '1Gi', 17," \
    " CASE i / 100 % 10 WHEN 1 THEN 'error' WHEN 3 THEN 'deleted' WHEN 5 THEN 'provisioning' ELSE 'ready' END," \
    " to_timestamp((1700000000000 + i) / 1000.0), now(), CASE WHEN i / 100 % 10 = 3 THEN now() END, 1" \
    " FROM generate_series(1, 50000) i; ANALYZE databases;"

static store pg_store = {
    "postgres", "", 1, pg_open, pg_raw_exec, pg_plan, "Sort", "Seq Scan", PG_BULK_FILL
};

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pg_group_setup(void **state)
{
    char sql[256];

    pg_admin = PQconnectdb(daap_test_env("DAAP_TEST_PG_URI"));
    if (PQstatus(pg_admin) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to DAAP_TEST_PG_URI: %s", PQerrorMessage(pg_admin));
        return -1;
    }
    PQsetNoticeProcessor(pg_admin, quiet_notices, NULL);
    snprintf(pg_dbname, sizeof(pg_dbname), "daap_conf_%d", (int)getpid());
    snprintf(pg_role, sizeof(pg_role), "daap_conf_%d_login", (int)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_dbname);
    if (admin_exec(sql) != 0)
        return -1;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg_dbname);
    if (admin_exec(sql) != 0)
        return -1;
    snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", pg_role);
    admin_exec(sql);
    snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN PASSWORD '" LOGIN_PASSWORD "'", pg_role);
    if (admin_exec(sql) != 0)
        return -1;
    conninfo_for(pg_store.location, sizeof(pg_store.location), pg_dbname, NULL, NULL);
    (void)state;
    return 0;
}

static int pg_group_teardown(void **state)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_dbname);
    admin_exec(sql);
    snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", pg_role);
    admin_exec(sql);
    PQfinish(pg_admin);
    (void)state;
    return 0;
}

static void test_pg_wrong_password(void **state)
{
    daap_storage_backend *be = NULL;
    char ci[1024], uri[512];

    conninfo_for(ci, sizeof(ci), pg_dbname, pg_role, WRONG_PASSWORD);
    assert_error(daap_storage_postgres_new(&be, ci), DAAP_EAUTH, pg_role);
    assert_null(be);
    assert_null(strstr(daap_error_last()->message, WRONG_PASSWORD));

    snprintf(uri, sizeof(uri), "postgresql://%s:%s@%s:%s/%s", pg_role, WRONG_PASSWORD,
             PQhost(pg_admin), PQport(pg_admin), pg_dbname);
    assert_error(daap_storage_postgres_new(&be, uri), DAAP_EAUTH, NULL);
    assert_null(strstr(daap_error_last()->message, WRONG_PASSWORD));

    conninfo_for(ci, sizeof(ci), pg_dbname, pg_role, LOGIN_PASSWORD);
    assert_ok(daap_storage_postgres_new(&be, ci));
    assert_ok(daap__storage_ping(be));
    daap__storage_free(be);
    (void)state;
}

static void test_pg_unreachable(void **state)
{
    daap_storage_backend *be = NULL;
    time_t start = time(NULL);

    assert_error(daap_storage_postgres_new(&be, "postgresql://daap:sekrit-pass@127.0.0.1:1/daap"),
                 DAAP_EUNAVAILABLE, "127.0.0.1:1");
    assert_true(time(NULL) - start < 3);
    assert_null(strstr(daap_error_last()->message, "sekrit-pass"));
    assert_null(be);
    (void)state;
}

static void test_pg_bad_conninfo(void **state)
{
    daap_storage_backend *be = NULL;

    assert_error(daap_storage_postgres_new(&be, "postgresql://u:pa%zzss@host/db"), DAAP_EINVALID, NULL);
    assert_null(strstr(daap_error_last()->message, "pa%zzss"));
    assert_error(daap_storage_postgres_new(&be, "host=x password=sekrit bogus_key=1"), DAAP_EINVALID, NULL);
    assert_null(strstr(daap_error_last()->message, "sekrit"));
    (void)state;
}

static void terminate_daap_sessions(void)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
             "WHERE datname = '%s' AND application_name = 'daap'", pg_dbname);
    assert_int_equal(admin_exec(sql), 0);
}

static void test_pg_reconnects(void **state)
{
    daap_storage_backend *be = backend(state);
    daap_db *got = NULL, *db = record("id-2", "billing", "red", DAAP_DB_READY, T0 + 1);

    put(be, "id-1", "orders", "red", DAAP_DB_READY, T0);
    /* A read survives a dropped connection: one reset, one retry. */
    terminate_daap_sessions();
    assert_ok(daap__storage_get(&got, be, "id-1"));
    daap_db_free(got);
    /* A write is not retried (it may have committed), but the next one works. */
    terminate_daap_sessions();
    assert_error(daap__storage_insert(be, db), DAAP_EUNAVAILABLE, "SQLSTATE");
    assert_ok(daap__storage_insert(be, db));
    terminate_daap_sessions();
    assert_ok(daap__storage_ping(be));
    daap_db_free(db);
}

static const struct CMUnitTest pg_tests[] = {
    cmocka_unit_test(test_pg_wrong_password),
    cmocka_unit_test(test_pg_unreachable),
    cmocka_unit_test(test_pg_bad_conninfo),
    cmocka_unit_test_setup_teardown(test_pg_reconnects, setup, teardown),
};

static void test_postgres_not_configured(void **state)
{
    (void)state;
    skip();
}

static int run_suites(void)
{
    int failed;

    if (daap_test_env("DAAP_TEST_PG_URI") == NULL) {
        const struct CMUnitTest skipped[] = { cmocka_unit_test(test_postgres_not_configured) };
        printf("skipped: DAAP_TEST_PG_URI not set (scripts/run-tests starts a PostgreSQL and sets it)\n");
        cmocka_run_group_tests_name("postgres", skipped, NULL, NULL);
        return 77;
    }
    if (pg_group_setup(NULL) != 0)
        return 1;
    failed = run_conformance(&pg_store);
    failed += cmocka_run_group_tests_name("postgres specifics", pg_tests, NULL, NULL);
    pg_group_teardown(NULL);
    return failed;
}
#endif

int main(void)
{
    int rc;

    if (daap_init() < 0) {
        daap_test_print_error("daap_init", -1);
        return 1;
    }
    rc = run_suites();
    daap_shutdown();
    return rc;
}
