/* The OOM loop (STYLE.md section 9, curl's torture mode, libuv's
 * loop_init_oom): with library allocation N failing for N = 1, 2, ...
 * until a run needs no more allocations than it got,
 *
 *   create scenario: daap_ctx_open_backends (sqlite::memory: + the fake kube),
 *                    daap_migrate, daap_db_create, daap_reconcile_once;
 *   delete scenario: (a ready database made without failures), then
 *                    daap_db_delete, daap_reconcile_once.
 *
 * Every run must return clean negative codes (never crash, never an error
 * that no refused allocation explains) and give back every block it took:
 * counted here for library memory, and checked by ASan/valgrind for the
 * memory of json-c and SQLite that the counter cannot see. Then the
 * failing allocator is switched off and a few reconcile passes must bring
 * the database where the calls promised: an acknowledged create to ready,
 * an acknowledged delete to deleted with its objects gone. Running out of
 * memory is not a Kubernetes rejection and must not leave a database in
 * error.
 *
 * Debugging: DAAP_TEST_OOM_ONLY=N runs allocation N alone and prints what
 * each step returned; DAAP_TEST_OOM_STRIDE=k tries every k-th N only (for
 * valgrind, where a full loop is slow). */
#include "common.h"
#include "ctx.h"
#include "storage/storage.h"
#include "support.h"
#include "oom.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DB_NAME      "oomdb"
#define CLUSTER_NAME "daap-oomdb"
#define MAX_RUNS     200000UL /* a bound in case an operation never stops allocating */
#define STEPS        4

typedef enum { SCENARIO_CREATE, SCENARIO_DELETE } scenario;

static const char *const step_names[2][STEPS] = {
    { "daap_ctx_open_backends", "daap_migrate", "daap_db_create", "daap_reconcile_once" },
    { "daap_db_delete", "daap_reconcile_once", "(unused)", "(unused)" },
};

static char key_path[96];
static char work_dir[64];

typedef struct {
    int           rc[STEPS];    /* per step; 1: not run */
    unsigned long failures;     /* allocations refused */
    unsigned long allocations;  /* allocations counted while armed */
    long          live;         /* library blocks not freed once the context is gone */
    bool          acked;        /* the create (or delete) under test returned 0 */
    int           final_status; /* after recovery; -1: no record */
    char          final_reason[256];
    size_t        clusters, poolers; /* objects in the fake after recovery */
} run_result;

static int group_setup(void **state)
{
    (void)state;
    if (daap_init() < 0)
        return -1;
    snprintf(work_dir, sizeof(work_dir), "/tmp/daap-oom-XXXXXX");
    if (!mkdtemp(work_dir))
        return -1;
    snprintf(key_path, sizeof(key_path), "%s/secret.key", work_dir);
    return daap_secret_key_create(key_path) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(key_path);
    rmdir(work_dir);
    daap_shutdown();
    return 0;
}

/* Kubernetes is not under test: the fake's create runs its simulated
 * operator inline, and an allocation failing half-way through it would
 * leave a Pooler without its Deployment forever, which no real cluster
 * does. This decorator lets allocations through while the fake creates;
 * its reads still fail like an unreachable API server would. */
typedef struct {
    daap_kube_backend  parent;
    daap_kube_backend *inner;
    oom_allocator     *oom;
} calm_kube;

static int calm_create(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj)
{
    calm_kube *k = (calm_kube *)be;
    int was = k->oom->paused, rc;

    oom_pause(k->oom, 1);
    rc = k->inner->create(out, k->inner, obj);
    oom_pause(k->oom, was);
    return rc;
}

static int calm_get(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref)
{
    calm_kube *k = (calm_kube *)be;
    return k->inner->get(out, k->inner, ref);
}

static int calm_remove(daap_kube_backend *be, const daap_kube_ref *ref)
{
    calm_kube *k = (calm_kube *)be;
    return k->inner->remove(k->inner, ref);
}

static int calm_list(daap_kube_list *out, daap_kube_backend *be, int kind, const char *ns, const char *selector)
{
    calm_kube *k = (calm_kube *)be;
    return k->inner->list(out, k->inner, kind, ns, selector);
}

static void calm_free(daap_kube_backend *be)
{
    calm_kube *k = (calm_kube *)be;
    if (k == NULL)
        return;
    k->inner->free(k->inner);
    free(k);
}

/* Wrap the fake kube (owned by the decorator from now on). */
static daap_kube_backend *calm_kube_new(daap_kube_backend *inner, oom_allocator *oom)
{
    calm_kube *k = calloc(1, sizeof(*k));

    assert_non_null(k);
    k->parent.version = DAAP_KUBE_BACKEND_VERSION;
    k->parent.name = "calm-fake";
    k->parent.create = calm_create;
    k->parent.get = calm_get;
    k->parent.remove = calm_remove;
    k->parent.list = calm_list;
    k->parent.free = calm_free;
    k->inner = inner;
    k->oom = oom;
    return &k->parent;
}

static daap_kube_backend *fake_of(daap_ctx *ctx)
{
    return ((calm_kube *)ctx->kube)->inner;
}

/* The CNPG operator, played by the test: not under test, so not failed. */
static void operator_makes_ready(oom_allocator *oom, daap_ctx *ctx)
{
    oom_pause(oom, 1);
    (void)daap_kube_fake_set_cluster_phase(fake_of(ctx), "daap", CLUSTER_NAME, NULL);
    oom_pause(oom, 0);
}

/* Memory is back: let the reconciler finish, then look at the result. */
static void recover(run_result *res, oom_allocator *oom, daap_ctx *ctx, const char *id)
{
    daap_reconcile_result r;
    daap_db *db = NULL;
    int i;

    for (i = 0; i < 3; i++) { /* the first pass may only (re)create objects */
        (void)daap_reconcile_once(&r, ctx, NULL);
        operator_makes_ready(oom, ctx);
    }
    (void)daap_reconcile_once(&r, ctx, NULL);
    res->final_status = -1;
    if (id[0] && daap__storage_get(&db, ctx->storage, id) == 0) {
        res->final_status = daap_db_status(db);
        snprintf(res->final_reason, sizeof(res->final_reason), "%s",
                 daap_db_status_reason(db) ? daap_db_status_reason(db) : "");
        daap_db_free(db);
    }
    res->clusters = daap_kube_fake_count(fake_of(ctx), DAAP_KUBE_CLUSTER);
    res->poolers = daap_kube_fake_count(fake_of(ctx), DAAP_KUBE_POOLER);
}

/* Open a context on sqlite::memory: and the (decorated) fake kube, under
 * the failing allocator. On failure the caller still owns the backends
 * (STYLE.md 4.5), so they are freed here. */
static int open_ctx(daap_ctx **out, oom_allocator *oom)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_storage_backend *st = NULL;
    daap_kube_backend *fake = NULL, *kube;
    int rc;

    o.secret_key_file = key_path;
    o.flags = DAAP_CTX_NO_SCHEMA_CHECK;
    o.provisioning_deadline_ms = 3600 * 1000;
    *out = (daap_ctx *)&o; /* daap_ctx_open_backends must reset it on failure */
    if ((rc = daap_storage_sqlite_new(&st, ":memory:")) < 0) {
        assert_null(st);
        *out = NULL;
        return rc;
    }
    if ((rc = daap_kube_fake_new(&fake)) < 0) {
        assert_null(fake);
        st->free(st);
        *out = NULL;
        return rc;
    }
    kube = calm_kube_new(fake, oom);
    if ((rc = daap_ctx_open_backends(out, st, kube, &o)) < 0) {
        assert_null(*out);
        st->free(st);
        kube->free(kube);
    }
    return rc;
}

static void db_spec(daap_db_spec *s)
{
    daap_db_spec init = DAAP_DB_SPEC_INIT;
    *s = init;
    s->name = DB_NAME;
    s->owner_team = "ops";
    s->purpose = "oom loop";
    /* Keyed, so the loop also covers claiming and storing the key
     * (lifecycle/idempotency.c) around the create. */
    s->idempotency_key = "oom-loop-key";
}

/* The create scenario: everything from opening the context is under test. */
static void run_create(run_result *res, oom_allocator *oom, unsigned long fail_at, int sticky)
{
    daap_db_spec s;
    daap_reconcile_result r;
    daap_ctx *ctx = NULL;
    daap_db *db = (daap_db *)&s; /* daap_db_create must reset it on failure */
    char id[64] = "";

    db_spec(&s);
    oom_arm(oom, fail_at, sticky);
    if ((res->rc[0] = open_ctx(&ctx, oom)) < 0) {
        res->failures = oom->failures;
        res->allocations = oom->count;
        oom_disarm(oom);
        return;
    }
    if ((res->rc[1] = daap_migrate(ctx, -1)) == 0) {
        if ((res->rc[2] = daap_db_create(&db, ctx, &s)) == 0) {
            res->acked = true;
            snprintf(id, sizeof(id), "%s", daap_db_id(db));
            daap_db_free(db);
        } else {
            assert_null(db);
        }
        operator_makes_ready(oom, ctx);
        res->rc[3] = daap_reconcile_once(&r, ctx, NULL);
    }
    res->failures = oom->failures;
    res->allocations = oom->count;
    oom_disarm(oom);
    if (!res->acked) {
        /* An unacknowledged create may still have stored the record. */
        daap_db_page page;
        daap_db_list_options lo = DAAP_DB_LIST_OPTIONS_INIT;
        lo.include_deleted = 1;
        if (res->rc[1] == 0 && daap_db_list(&page, ctx, &lo) == 0) {
            if (page.count == 1)
                snprintf(id, sizeof(id), "%s", daap_db_id(page.items[0]));
            daap_db_page_dispose(&page);
        }
    }
    recover(res, oom, ctx, id);
    daap_ctx_free(ctx);
}

/* The delete scenario: a ready database is made first, without failures. */
static void run_delete(run_result *res, oom_allocator *oom, unsigned long fail_at, int sticky)
{
    daap_db_spec s;
    daap_reconcile_result r;
    daap_ctx *ctx = NULL;
    daap_db *db = NULL;
    char id[64];

    db_spec(&s);
    assert_ok(open_ctx(&ctx, oom));
    assert_ok(daap_db_create(&db, ctx, &s));
    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    assert_ok(daap_kube_fake_set_cluster_phase(fake_of(ctx), "daap", CLUSTER_NAME, NULL));
    assert_ok(daap_reconcile_once(&r, ctx, NULL));
    assert_ok(daap_db_get(&db, ctx, id));
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    daap_db_free(db);

    oom_arm(oom, fail_at, sticky);
    res->rc[0] = daap_db_delete(NULL, ctx, id, "ops");
    res->acked = res->rc[0] == 0;
    res->rc[1] = daap_reconcile_once(&r, ctx, NULL);
    res->failures = oom->failures;
    res->allocations = oom->count;
    oom_disarm(oom);
    recover(res, oom, ctx, id);
    daap_ctx_free(ctx);
}

/* One run with allocation `fail_at` failing (0: none fails). */
static void run(run_result *res, scenario sc, unsigned long fail_at, int sticky)
{
    oom_allocator oom;
    int i;

    memset(res, 0, sizeof(*res));
    for (i = 0; i < STEPS; i++)
        res->rc[i] = 1;
    res->final_status = -1;
    /* Installed before any library object exists, removed after the last. */
    assert_ok(oom_install(&oom));
    if (sc == SCENARIO_CREATE)
        run_create(res, &oom, fail_at, sticky);
    else
        run_delete(res, &oom, fail_at, sticky);
    res->live = oom.live;
    assert_ok(oom_uninstall());
}

static bool clean_code(int rc)
{
    return rc == 0 || rc == 1 || (rc < 0 && (rc == DAAP_ERROR || strcmp(daap_error_code_name(rc), "error") != 0));
}

/* Why a run broke a rule, or false when it kept them all. */
static bool run_broken(const run_result *res, scenario sc, char *why, size_t size)
{
    int i;

    for (i = 0; i < STEPS; i++) {
        if (!clean_code(res->rc[i])) {
            snprintf(why, size, "%s returned %d, not a daap_error_code", step_names[sc][i], res->rc[i]);
            return true;
        }
        if (res->rc[i] < 0 && res->failures == 0) {
            snprintf(why, size, "%s returned %d (%s) but no allocation was refused",
                     step_names[sc][i], res->rc[i], daap_error_code_name(res->rc[i]));
            return true;
        }
    }
    if (res->live != 0) {
        snprintf(why, size, "%ld library block(s) not freed (leak)", res->live);
        return true;
    }
    return false;
}

static bool is_ready(const run_result *res)
{
    return res->final_status == DAAP_DB_READY && res->clusters == 1 && res->poolers == 1;
}

static bool is_gone(const run_result *res)
{
    return res->final_status == DAAP_DB_DELETED && res->clusters == 0 && res->poolers == 0;
}

/* Whether the reconciler brought the database where the calls promised. */
static bool unconverged(const run_result *res, scenario sc, char *why, size_t size)
{
    bool ok;

    if (sc == SCENARIO_CREATE) /* acked: ready; not acked: no record, or one that gets ready */
        ok = res->acked ? is_ready(res) : (res->final_status == -1 || is_ready(res));
    else                       /* acked: gone; not acked: still ready, or gone */
        ok = res->acked ? is_gone(res) : (is_ready(res) || is_gone(res));
    if (!ok)
        snprintf(why, size, "%s %s database ended in status %d (%s) with %zu Cluster(s), %zu Pooler(s)",
                 res->acked ? "an acknowledged" : "a failed", sc == SCENARIO_CREATE ? "create's" : "delete's",
                 res->final_status, res->final_reason, res->clusters, res->poolers);
    return !ok;
}

static unsigned long env_ulong(const char *name, unsigned long fallback)
{
    const char *s = daap_test_env(name);
    long v = s ? strtol(s, NULL, 10) : 0;
    return v > 0 ? (unsigned long)v : fallback;
}

/* Findings of one loop: runs that broke a rule, runs that did not converge. */
typedef struct {
    unsigned long runs, broken, unconverged;
    char          broken_first[4][1024];
    char          unconverged_first[1024];
} findings;

static void oom_loop(findings *fd, scenario sc, int sticky)
{
    run_result res;
    unsigned long n, step = env_ulong("DAAP_TEST_OOM_STRIDE", 1), only = env_ulong("DAAP_TEST_OOM_ONLY", 0);
    char why[800];
    int i;

    memset(fd, 0, sizeof(*fd));
    /* Without failures first: it must succeed, converge and need memory. */
    run(&res, sc, 0, sticky);
    for (i = 0; i < STEPS; i++)
        assert_true(res.rc[i] == 0 || res.rc[i] == 1);
    assert_false(run_broken(&res, sc, why, sizeof(why)));
    assert_false(unconverged(&res, sc, why, sizeof(why)));
    assert_true(res.acked);
    assert_true(res.allocations > 10);

    for (n = only ? only : 1; n < MAX_RUNS; n += step) {
        run(&res, sc, n, sticky);
        fd->runs++;
        if (only)
            fprintf(stderr, "allocation %lu%s: rc %d %d %d %d, %lu refused, %ld live, final status %d (%s)\n",
                    n, sticky ? "+" : "", res.rc[0], res.rc[1], res.rc[2], res.rc[3],
                    res.failures, res.live, res.final_status, res.final_reason);
        if (run_broken(&res, sc, why, sizeof(why))) {
            if (fd->broken < DAAP_ARRAY_SIZE(fd->broken_first))
                snprintf(fd->broken_first[fd->broken], sizeof(fd->broken_first[0]), "allocation %lu%s failing: %s",
                         n, sticky ? "+" : "", why);
            fd->broken++;
        }
        if (res.failures == 0) { /* N is past the last allocation: all must have worked */
            for (i = 0; i < STEPS; i++)
                assert_true(res.rc[i] == 0 || res.rc[i] == 1);
            return;
        }
        if (unconverged(&res, sc, why, sizeof(why)) && fd->unconverged++ == 0)
            snprintf(fd->unconverged_first, sizeof(fd->unconverged_first), "allocation %lu%s failing: %s",
                     n, sticky ? "+" : "", why);
        if (only)
            return;
    }
    fail_msg("still failing allocations after %lu runs", MAX_RUNS);
}

/* Print the findings; fail on broken rules and unconverged runs. */
static void report(const findings *fd, const char *what)
{
    size_t i;

    fprintf(stderr, "%s: %lu runs, %lu broke a rule, %lu did not converge afterwards\n",
            what, fd->runs, fd->broken, fd->unconverged);
    for (i = 0; i < fd->broken && i < DAAP_ARRAY_SIZE(fd->broken_first); i++)
        fprintf(stderr, "  %s\n", fd->broken_first[i]);
    if (fd->unconverged)
        fprintf(stderr, "  first unconverged: %s\n", fd->unconverged_first);
    if (fd->broken)
        fail_msg("%lu of %lu runs broke a rule; first: %s", fd->broken, fd->runs, fd->broken_first[0]);
    if (fd->unconverged)
        fail_msg("%lu of %lu runs left the database unconverged; first: %s", fd->unconverged, fd->runs,
                 fd->unconverged_first);
}

static void test_oom_create_reconcile(void **state)
{
    findings fd;
    (void)state;
    oom_loop(&fd, SCENARIO_CREATE, 0);
    report(&fd, "create+reconcile, allocation N fails");
}

/* Every allocation from N on fails: the error paths themselves run out. */
static void test_oom_create_reconcile_sticky(void **state)
{
    findings fd;
    (void)state;
    oom_loop(&fd, SCENARIO_CREATE, 1);
    report(&fd, "create+reconcile, allocations N, N+1, ... fail");
}

static void test_oom_delete_reconcile(void **state)
{
    findings fd;
    (void)state;
    oom_loop(&fd, SCENARIO_DELETE, 0);
    report(&fd, "delete+reconcile, allocation N fails");
}

static void test_oom_delete_reconcile_sticky(void **state)
{
    findings fd;
    (void)state;
    oom_loop(&fd, SCENARIO_DELETE, 1);
    report(&fd, "delete+reconcile, allocations N, N+1, ... fail");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_create_reconcile),
        cmocka_unit_test(test_oom_create_reconcile_sticky),
        cmocka_unit_test(test_oom_delete_reconcile),
        cmocka_unit_test(test_oom_delete_reconcile_sticky),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
