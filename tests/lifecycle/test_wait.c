/* daap_db_wait() on a local context (the store poll), and the parser of
 * GET /databases/{id}?wait=&revision= that the server uses. */
#include "common.h"
#include "support.h"
#include "faulty_storage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    daap_ctx *ctx;
    char dir[64];
    char key[96];
    char store[128];
} fixture;

static int open_ctx(daap_ctx **ctx, fixture *f)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_storage_backend *storage;
    daap_kube_backend *kube;

    o.secret_key_file = f->key;
    return faulty_ctx_open(ctx, &storage, &kube, f->store, o);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    daap_init();
    snprintf(f->dir, sizeof(f->dir), "/tmp/daap-wait-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->key, sizeof(f->key), "%s/secret.key", f->dir);
    snprintf(f->store, sizeof(f->store), "%s/daap.db", f->dir);
    if (open_ctx(&f->ctx, f) < 0) {
        daap_test_print_error("setup", -1);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    daap_ctx_free(f->ctx);
    if (daap_test_remove_dir(f->dir) < 0) return -1;
    free(f);
    daap_shutdown();
    return 0;
}

static daap_db *create(fixture *f, const char *name)
{
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db = NULL;
    s.name = name;
    s.owner_team = "payments";
    s.purpose = "tests";
    assert_ok(daap_db_create(&db, f->ctx, &s));
    return db;
}

static void test_answers_at_once_when_the_revision_differs(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "wait-now"), *got = NULL;
    daap_db_wait_options o = DAAP_DB_WAIT_OPTIONS_INIT;
    int64_t t0 = daap__mono_ms();

    o.revision = daap_db_revision(db) - 1;
    o.timeout_ms = 5000;
    assert_ok(daap_db_wait(&got, f->ctx, daap_db_id(db), &o));
    assert_true(daap__mono_ms() - t0 < 1000);
    assert_int_equal(daap_db_revision(got), daap_db_revision(db));
    daap_db_free(got);
    daap_db_free(db);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "wait-timeout"), *got = (daap_db *)&got;
    daap_db_wait_options o = DAAP_DB_WAIT_OPTIONS_INIT;
    int64_t t0 = daap__mono_ms(), took;

    o.revision = daap_db_revision(db);
    o.timeout_ms = 300;
    assert_int_equal(daap_db_wait(&got, f->ctx, daap_db_id(db), &o), DAAP_ETIMEOUT);
    took = daap__mono_ms() - t0;
    assert_null(got);
    assert_true(took >= 300 && took < 2000);
    daap_db_free(db);
}

typedef struct {
    fixture *f;
    const char *id;
} deleter;

/* Another process (here: another context on the same store) deletes it. */
static void *delete_later(void *arg)
{
    deleter *d = arg;
    daap_ctx *ctx = NULL;
    daap_db *db = NULL;

    usleep(300 * 1000);
    if (open_ctx(&ctx, d->f) == 0 && daap_db_delete(&db, ctx, d->id, "payments") == 0)
        daap_db_free(db);
    daap_ctx_free(ctx);
    return NULL;
}

static void test_a_change_by_another_writer_wakes_it(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "wait-change"), *got = NULL;
    daap_db_wait_options o = DAAP_DB_WAIT_OPTIONS_INIT;
    deleter d = { f, daap_db_id(db) };
    pthread_t th;
    int64_t t0 = daap__mono_ms(), took;
    int rc;

    o.revision = daap_db_revision(db);
    o.timeout_ms = 10000;
    assert_int_equal(pthread_create(&th, NULL, delete_later, &d), 0);
    rc = daap_db_wait(&got, f->ctx, daap_db_id(db), &o);
    took = daap__mono_ms() - t0;
    pthread_join(th, NULL);
    /* deleting (a new revision) or, with nothing in Kubernetes, deleted at once */
    assert_true(rc == 0 || rc == DAAP_ENOTFOUND);
    if (rc == 0)
        assert_true(daap_db_revision(got) > daap_db_revision(db));
    assert_true(took >= 250 && took < 3000);
    daap_db_free(got);
    daap_db_free(db);
}

static void test_deleted_is_not_found(void **state)
{
    fixture *f = *state;
    daap_db *db = NULL, *got = NULL;
    daap_db_wait_options o = DAAP_DB_WAIT_OPTIONS_INIT;

    o.timeout_ms = 1000;
    assert_int_equal(daap_db_wait(&got, f->ctx, "00000000-0000-4000-8000-000000000000", &o), DAAP_ENOTFOUND);
    db = create(f, "wait-gone");
    o.revision = daap_db_revision(db);
    assert_ok(daap_db_delete(&got, f->ctx, daap_db_id(db), "payments"));
    daap_db_free(got);
    got = NULL;
    while (daap_db_wait(&got, f->ctx, daap_db_id(db), &o) == 0) { /* deleting, then gone */
        o.revision = daap_db_revision(got);
        daap_db_free(got);
        got = NULL;
        { daap_reconcile_result r; assert_ok(daap_reconcile_once(&r, f->ctx, NULL)); }
    }
    assert_int_equal(daap_error_last()->code, DAAP_ENOTFOUND);
    assert_null(got);
    daap_db_free(db);
}

static void test_bad_options(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "wait-bad"), *got = NULL;
    daap_db_wait_options o = DAAP_DB_WAIT_OPTIONS_INIT;

    o.version = 0;
    assert_int_equal(daap_db_wait(&got, f->ctx, daap_db_id(db), &o), DAAP_EINVALID);
    assert_int_equal(daap_db_wait_options_init(&o, 99), DAAP_EINVALID);
    assert_ok(daap_db_wait_options_init(&o, DAAP_DB_WAIT_OPTIONS_VERSION));
    o.timeout_ms = -1;
    assert_int_equal(daap_db_wait(&got, f->ctx, daap_db_id(db), &o), DAAP_EINVALID);
    assert_null(got);
    daap_db_free(db);
}

static void expect_parse(const char *query, int64_t timeout_ms, int64_t revision, int32_t waiting)
{
    daap_db_wait_options o;
    int32_t w = -1;

    assert_ok(daap_db_wait_options_parse(&o, &w, query));
    assert_int_equal(w, waiting);
    assert_int_equal(o.timeout_ms, timeout_ms);
    assert_int_equal(o.revision, revision);
}

static void expect_refused(const char *query, const char *field)
{
    daap_db_wait_options o;
    int32_t w = -1;

    assert_int_equal(daap_db_wait_options_parse(&o, &w, query), DAAP_EINVALID);
    assert_int_equal(w, 0);
    assert_non_null(strstr(daap_error_last()->message, field));
}

static void test_query_parse(void **state)
{
    (void)state;
    expect_parse(NULL, 0, 0, 0);
    expect_parse("", 0, 0, 0);
    expect_parse("wait=30s&revision=3", 30000, 3, 1);
    expect_parse("revision=0&wait=500ms", 500, 0, 1);
    expect_parse("wait=1m&revision=7", 60000, 7, 1);
    expect_parse("wait=5&revision=7", 5000, 7, 1);
    expect_parse("wait=10m&revision=7", DAAP_DB_WAIT_MAX_MS, 7, 1);  /* capped */
    expect_parse("wait=999999999999s&revision=7", DAAP_DB_WAIT_MAX_MS, 7, 1);
    expect_refused("wait=30s", "revision");
    expect_refused("revision=2", "wait");
    expect_refused("wait=abc&revision=1", "wait");
    expect_refused("wait=-1s&revision=1", "wait");
    expect_refused("wait=1h&revision=1", "wait");
    expect_refused("wait=s&revision=1", "wait");
    expect_refused("wait=1s&revision=-1", "revision");
    expect_refused("wait=1s&revision=1&revision=2", "revision");
    expect_refused("wait=1s&revision=1&limit=2", "limit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers_at_once_when_the_revision_differs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_change_by_another_writer_wakes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        cmocka_unit_test(test_query_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
