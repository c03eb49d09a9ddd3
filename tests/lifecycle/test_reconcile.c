/* The reconciler's invariants (DESIGN.md sections 4, 7 and 8) on SQLite and
 * the in-memory kube backend: orphans, drift of ready databases, pooler
 * readiness, CNPG failure phases, Kubernetes rejections, and the image
 * map and cluster domain configuration. */
#include "common.h"
#include "ctx.h"
#include "kube/kube.h"
#include "ids.h"
#include "lifecycle/steps.h"
#include "storage/storage.h"
#include "support.h"
#include "faulty_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NS "daap"

typedef struct {
    daap_ctx *ctx;
    daap_kube_backend *kube;       /* borrowed from ctx */
    daap_storage_backend *storage; /* borrowed: the faulty decorator */
    char dir[64];
    char key[96];
} fixture;

/* Open a context on a fresh in-memory store and a fresh fake kube. */
static int open_ctx(daap_ctx **ctx, daap_kube_backend **kube, daap_storage_backend **storage,
                    const char *key, const daap_ctx_options *extra)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_storage_backend *st;
    int rc;

    if (extra)
        o = *extra;
    o.secret_key_file = key;
    if (o.provisioning_deadline_ms == 0)
        o.provisioning_deadline_ms = 3600 * 1000;
    rc = faulty_ctx_open(ctx, &st, kube, ":memory:", o);
    if (storage)
        *storage = st;
    return rc;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    /* The defaults under test, whatever the environment of the run says. */
    unsetenv("DAAP_IMAGE_MAP");
    unsetenv("DAAP_CLUSTER_DOMAIN");
    unsetenv("DAAP_NAMESPACE");
    daap_init();
    snprintf(f->dir, sizeof(f->dir), "/tmp/daap-rc-XXXXXX");
    snprintf(f->key, sizeof(f->key), "%s/secret.key", mkdtemp(f->dir) ? f->dir : "/nonexistent");
    if (open_ctx(&f->ctx, &f->kube, &f->storage, f->key, NULL) < 0) {
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

/* ---- helpers */

static void create_in(daap_ctx *ctx, const char *name, int32_t pg_version, char id[64])
{
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db = NULL;
    s.name = name;
    s.owner_team = "ops";
    s.purpose = "reconciler tests";
    s.pg_version = pg_version;
    assert_ok(daap_db_create(&db, ctx, &s));
    snprintf(id, 64, "%s", daap_db_id(db));
    daap_db_free(db);
}

/* The stored record, soft-deleted or not. */
static daap_db *record(daap_ctx *ctx, const char *id)
{
    daap_db *db = NULL;
    assert_ok(daap__storage_get(&db, ctx->storage, id));
    return db;
}

static int status_of(daap_ctx *ctx, const char *id)
{
    daap_db *db = record(ctx, id);
    int st = daap_db_status(db);
    daap_db_free(db);
    return st;
}

static daap_reconcile_result reconcile(daap_ctx *ctx)
{
    daap_reconcile_result r;
    assert_ok(daap_reconcile_once(&r, ctx, NULL));
    return r;
}

static daap_kube_object *kube_get(daap_kube_backend *kube, int kind, const char *name)
{
    daap_kube_object *obj = NULL;
    daap_kube_ref ref = { kind, NS, name };
    int rc = daap__kube_get(&obj, kube, &ref);
    assert_true(rc == 0 || rc == DAAP_ENOTFOUND);
    return obj;
}

static bool kube_has(daap_kube_backend *kube, int kind, const char *name)
{
    daap_kube_object *obj = kube_get(kube, kind, name);
    daap_kube_object_free(obj);
    return obj != NULL;
}

static void kube_delete(daap_kube_backend *kube, int kind, const char *name)
{
    daap_kube_ref ref = { kind, NS, name };
    assert_ok(daap__kube_remove(kube, &ref));
    assert_false(kube_has(kube, kind, name));
}

static void kube_create_json(daap_kube_backend *kube, const char *json)
{
    daap_kube_object *obj = NULL;
    assert_ok(daap_kube_object_parse(&obj, json, strlen(json)));
    assert_ok(daap__kube_create(NULL, kube, obj));
    daap_kube_object_free(obj);
}

/* The Cluster and Pooler daap would make for `db`, created behind its back
 * (what a crashed or stale replica leaves in the cluster). */
static void plant_objects(daap_ctx *ctx, daap_kube_backend *kube, const daap_db *db)
{
    static const int kinds[] = { DAAP_KUBE_CLUSTER, DAAP_KUBE_POOLER };
    size_t i;
    for (i = 0; i < 2; i++) {
        daap_kube_object *obj = NULL;
        assert_ok(daap__render(&obj, ctx, db, kinds[i]));
        assert_ok(daap__kube_create(NULL, kube, obj));
        daap_kube_object_free(obj);
    }
}

/* A record that was never stored: its objects are true orphans. */
static daap_db *phantom_record(const char *name)
{
    char id[DAAP__UUID_STRLEN + 1], cluster[64], pooler[80];
    daap_db *db = NULL;

    assert_ok(daap__uuid7(id, daap__now_ms()));
    daap__cluster_name(cluster, sizeof(cluster), name);
    daap__pooler_name(pooler, sizeof(pooler), name);
    assert_ok(daap_db_new(&db));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_ID, id));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_NAME, name));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, "ghosts"));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_PURPOSE, "never recorded"));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_NAMESPACE, NS));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_CLUSTER_NAME, cluster));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_POOLER_NAME, pooler));
    assert_ok(daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, "1Gi"));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_INSTANCES, 1));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_PG_VERSION, 17));
    assert_ok(daap_db_set_int(db, DAAP_DB_F_STATUS, DAAP_DB_PROVISIONING));
    return db;
}

static void make_ready(fixture *f, const char *name, char id[64])
{
    char cluster[64];
    create_in(f->ctx, name, 0, id);
    snprintf(cluster, sizeof(cluster), "daap-%s", name);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, cluster, NULL));
    reconcile(f->ctx);
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_READY);
}

/* The DELETED events a watch has seen: name and resourceVersion. */
typedef struct {
    char     name[64];
    uint64_t rv;
} deletion;

static size_t drain_deletions(daap_kube_backend *kube, daap_kube_watch *w, deletion *out, size_t max, size_t n)
{
    daap_kube_event ev;

    while (daap__kube_watch_next(&ev, kube, w, 0) == 0) {
        const char *name = daap_kube_object_str(ev.object, "metadata.name");
        const char *rv = daap_kube_object_str(ev.object, "metadata.resourceVersion");
        if (ev.type == DAAP_KUBE_DELETED && name && rv && n < max) {
            snprintf(out[n].name, sizeof(out[n].name), "%s", name);
            out[n++].rv = strtoull(rv, NULL, 10);
        }
        daap_kube_object_free(ev.object);
    }
    return n;
}

static uint64_t deletion_rv(const deletion *d, size_t n, const char *name)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(d[i].name, name) == 0)
            return d[i].rv;
    fail_msg("no DELETED event for %s", name);
    return 0;
}

/* ---- 1. orphans */

/* A daap-labelled Cluster and Pooler whose record does not exist at all,
 * and a pair whose record is `deleted`, are removed by the reconciler:
 * Pooler first, never a Cluster while its Pooler exists. The objects of
 * a live record are left alone. */
static void test_true_orphans_removed(void **state)
{
    fixture *f = *state;
    daap_db *ghost = phantom_record("ghost"), *tomb;
    daap_kube_list l = { 0 };
    daap_kube_watch *wc = NULL, *wp = NULL;
    daap_reconcile_result r1, r2;
    deletion gone[16];
    size_t ngone = 0;
    char keeper[64], tomb_id[64];
    daap_db *none = NULL;

    create_in(f->ctx, "keeper", 0, keeper);
    create_in(f->ctx, "tomb", 0, tomb_id);
    assert_ok(daap_db_delete(NULL, f->ctx, tomb_id, "ops"));
    tomb = record(f->ctx, tomb_id);
    assert_int_equal(daap_db_status(tomb), DAAP_DB_DELETED);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 1);

    plant_objects(f->ctx, f->kube, ghost);
    plant_objects(f->ctx, f->kube, tomb);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 3);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_POOLER), 3);
    assert_int_equal(daap__storage_get(&none, f->storage, daap_db_id(ghost)), DAAP_ENOTFOUND);

    /* Watch both kinds from now, to see the order of the deletions. */
    assert_ok(daap__kube_list(&l, f->kube, DAAP_KUBE_CLUSTER, NS, NULL));
    assert_ok(daap__kube_watch(&wc, f->kube, DAAP_KUBE_CLUSTER, NS, NULL, l.resource_version));
    assert_ok(daap__kube_watch(&wp, f->kube, DAAP_KUBE_POOLER, NS, NULL, l.resource_version));
    daap_kube_list_dispose(&l);

    r1 = reconcile(f->ctx);
    assert_false(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-ghost-pooler"));
    assert_false(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-tomb-pooler"));
    r2 = reconcile(f->ctx);
    assert_false(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-ghost"));
    assert_false(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-tomb"));
    assert_int_equal(r1.orphans_removed + r2.orphans_removed, 4);
    assert_int_equal(reconcile(f->ctx).orphans_removed, 0); /* idempotent */

    /* The live record's objects and state are untouched. */
    assert_true(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-keeper"));
    assert_true(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-keeper-pooler"));
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 1);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_POOLER), 1);
    assert_int_equal(status_of(f->ctx, keeper), DAAP_DB_PROVISIONING);
    assert_int_equal(status_of(f->ctx, tomb_id), DAAP_DB_DELETED);

    /* Each Pooler went before its Cluster (resourceVersions are global). */
    ngone = drain_deletions(f->kube, wp, gone, DAAP_ARRAY_SIZE(gone), ngone);
    ngone = drain_deletions(f->kube, wc, gone, DAAP_ARRAY_SIZE(gone), ngone);
    assert_int_equal(ngone, 4);
    assert_true(deletion_rv(gone, ngone, "daap-ghost-pooler") < deletion_rv(gone, ngone, "daap-ghost"));
    assert_true(deletion_rv(gone, ngone, "daap-tomb-pooler") < deletion_rv(gone, ngone, "daap-tomb"));
    daap__kube_watch_free(f->kube, wc);
    daap__kube_watch_free(f->kube, wp);
    daap_db_free(ghost);
    daap_db_free(tomb);
}

/* While an orphan's Pooler cannot be removed, its Cluster stays: the
 * reconciler must not even try to remove it. */
static void test_orphan_cluster_waits_for_its_pooler(void **state)
{
    fixture *f = *state;
    daap_db *ghost = phantom_record("stuck");
    daap_reconcile_result r;
    uint64_t removes;
    int pass;

    plant_objects(f->ctx, f->kube, ghost);
    removes = daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_REMOVE);
    assert_ok(daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_REMOVE, 0, DAAP_EUNAVAILABLE));
    for (pass = 1; pass <= 3; pass++) {
        r = reconcile(f->ctx);
        assert_int_equal(r.orphans_removed, 0);
        assert_true(r.failures >= 1);
        assert_true(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-stuck-pooler"));
        assert_true(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-stuck"));
        /* one attempt per pass, at the Pooler only */
        assert_int_equal(daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_REMOVE) - removes, (uint64_t)pass);
    }
    assert_ok(daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_REMOVE, 0, 0));
    reconcile(f->ctx);
    assert_false(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-stuck-pooler"));
    reconcile(f->ctx);
    assert_false(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-stuck"));
    daap_db_free(ghost);
}

/* ---- 2. drift: a ready database's objects disappear */

static void test_ready_cluster_recreated(void **state)
{
    fixture *f = *state;
    daap_reconcile_result r;
    daap_db *db;
    char id[64];

    make_ready(f, "phoenix", id);
    kube_delete(f->kube, DAAP_KUBE_CLUSTER, "daap-phoenix");
    assert_false(kube_has(f->kube, DAAP_KUBE_SECRET, "daap-phoenix-app")); /* garbage-collected with it */
    r = reconcile(f->ctx);
    assert_int_equal(r.objects_created, 1);
    assert_true(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-phoenix"));
    assert_true(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-phoenix-pooler"));
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 1);
    /* A new Cluster is a new, empty database: error, saying so, until it
     * is healthy again. */
    db = record(f->ctx, id);
    assert_int_equal(daap_db_status(db), DAAP_DB_ERROR);
    assert_non_null(strstr(daap_db_status_reason(db), "created again"));
    daap_db_free(db);
    assert_int_equal(reconcile(f->ctx).objects_created, 0); /* idempotent */
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-phoenix", NULL));
    reconcile(f->ctx);
    db = record(f->ctx, id);
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    assert_string_equal(daap_db_status_reason(db), "the Cluster is healthy and the pooler is serving");
    daap_db_free(db);
}

/* The recreated Cluster has a new -app Secret: the credentials the record
 * hands out must be the ones that work now. */
static void test_recreated_cluster_credentials_current(void **state)
{
    fixture *f = *state;
    daap_kube_object *secret;
    daap_buf pw = DAAP_BUF_INIT;
    daap_db *db;
    char id[64], old_pw[128];
    int i;

    make_ready(f, "phoenix", id);
    assert_ok(daap_db_get(&db, f->ctx, id));
    snprintf(old_pw, sizeof(old_pw), "%s", daap_db_password(db));
    daap_db_free(db);
    kube_delete(f->kube, DAAP_KUBE_CLUSTER, "daap-phoenix");
    reconcile(f->ctx);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-phoenix", NULL));
    for (i = 0; i < 3; i++)
        reconcile(f->ctx);
    secret = kube_get(f->kube, DAAP_KUBE_SECRET, "daap-phoenix-app");
    assert_non_null(secret);
    assert_ok(daap_kube_object_secret_value(&pw, secret, "password"));
    daap_kube_object_free(secret);
    assert_string_not_equal(pw.ptr, old_pw); /* the fake made a new password */
    assert_ok(daap_db_get(&db, f->ctx, id));
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    assert_string_equal(daap_db_password(db), pw.ptr);
    daap_db_free(db);
    daap_buf_dispose(&pw);
}

static void test_ready_pooler_recreated(void **state)
{
    fixture *f = *state;
    daap_reconcile_result r;
    daap_kube_object *dep;
    int64_t ready = 0;
    char id[64];

    make_ready(f, "relay", id);
    kube_delete(f->kube, DAAP_KUBE_POOLER, "daap-relay-pooler");
    assert_false(kube_has(f->kube, DAAP_KUBE_DEPLOYMENT, "daap-relay-pooler"));
    r = reconcile(f->ctx);
    assert_int_equal(r.objects_created, 1);
    assert_true(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-relay-pooler"));
    assert_true(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-relay"));
    dep = kube_get(f->kube, DAAP_KUBE_DEPLOYMENT, "daap-relay-pooler"); /* the operator's, again */
    assert_non_null(dep);
    assert_ok(daap_kube_object_int(&ready, dep, "status.readyReplicas"));
    assert_int_equal(ready, 1);
    daap_kube_object_free(dep);
    assert_true(kube_has(f->kube, DAAP_KUBE_SERVICE, "daap-relay-pooler"));
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_READY);
    assert_int_equal(reconcile(f->ctx).objects_created, 0);
}

/* Both gone at once (a namespace wiped by hand): both come back. */
static void test_ready_both_recreated(void **state)
{
    fixture *f = *state;
    char id[64];

    make_ready(f, "lazarus", id);
    kube_delete(f->kube, DAAP_KUBE_POOLER, "daap-lazarus-pooler");
    kube_delete(f->kube, DAAP_KUBE_CLUSTER, "daap-lazarus");
    assert_int_equal(reconcile(f->ctx).objects_created, 2);
    assert_true(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-lazarus"));
    assert_true(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-lazarus-pooler"));
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_ERROR);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-lazarus", NULL));
    reconcile(f->ctx);
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_READY);
}

/* ---- 3. the pooler Deployment decides readiness too */

static void replace_deployment(daap_kube_backend *kube, const char *name, const char *cluster, const char *status)
{
    char json[1024];
    if (kube_has(kube, DAAP_KUBE_DEPLOYMENT, name))
        kube_delete(kube, DAAP_KUBE_DEPLOYMENT, name);
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"" NS "\","
             "\"labels\":{\"cnpg.io/poolerName\":\"%s\",\"cnpg.io/cluster\":\"%s\"}},"
             "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"cnpg.io/poolerName\":\"%s\"}}},"
             "\"status\":%s}", name, name, cluster, name, status);
    kube_create_json(kube, json);
}

/* The fake has no control for a Deployment's readiness: its simulated
 * operator makes pooler Deployments ready together with their Cluster.
 * So the test plays the Deployment controller through the vtable: once
 * the Cluster is Ready it swaps in a Deployment with no ready replica,
 * then lets the operator bring it up. */
static void test_cluster_ready_pooler_not_serving(void **state)
{
    fixture *f = *state;
    daap_db *db;
    char id[64];
    static const char *const not_serving[] = {
        "{\"replicas\":1,\"readyReplicas\":0}",
        "{\"replicas\":1}", /* Kubernetes omits a zero readyReplicas */
    };
    size_t i;

    create_in(f->ctx, "slowpool", 0, id);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-slowpool", NULL));
    for (i = 0; i < DAAP_ARRAY_SIZE(not_serving); i++) {
        replace_deployment(f->kube, "daap-slowpool-pooler", "daap-slowpool", not_serving[i]);
        reconcile(f->ctx);
        reconcile(f->ctx);
        db = record(f->ctx, id);
        assert_int_equal(daap_db_status(db), DAAP_DB_PROVISIONING);
        assert_non_null(strstr(daap_db_status_reason(db), "waiting for the pooler"));
        assert_null(daap_db_host(db));
        daap_db_free(db);
    }
    /* No Deployment at all: not serving either. */
    kube_delete(f->kube, DAAP_KUBE_DEPLOYMENT, "daap-slowpool-pooler");
    reconcile(f->ctx);
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_PROVISIONING);

    replace_deployment(f->kube, "daap-slowpool-pooler", "daap-slowpool", not_serving[0]);
    reconcile(f->ctx);
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_PROVISIONING);
    /* The operator sees the Cluster Ready and scales the Deployment up. */
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-slowpool", NULL));
    reconcile(f->ctx);
    assert_ok(daap_db_get(&db, f->ctx, id));
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    assert_non_null(daap_db_password(db));
    assert_string_equal(daap_db_host(db), "daap-slowpool-pooler." NS ".svc.cluster.local");
    daap_db_free(db);
}

/* The Deployment serving while the Cluster is not Ready is not ready. */
static void test_pooler_serving_cluster_not_ready(void **state)
{
    fixture *f = *state;
    char id[64];

    create_in(f->ctx, "halfway", 0, id);
    replace_deployment(f->kube, "daap-halfway-pooler", "daap-halfway", "{\"replicas\":1,\"readyReplicas\":1}");
    reconcile(f->ctx);
    reconcile(f->ctx);
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_PROVISIONING);
}

/* ---- 4. CNPG failure phases */

static void test_failure_phases(void **state)
{
    fixture *f = *state;
    static const char *const phases[] = {
        "Cluster is unrecoverable and needs manual intervention",
        "Invalid cluster definition",
        "Cluster has incomplete or invalid image catalog",
    };
    size_t i;

    for (i = 0; i < DAAP_ARRAY_SIZE(phases); i++) {
        char name[32], cluster[48], id[64];
        daap_db *db;

        snprintf(name, sizeof(name), "failing-%zu", i);
        snprintf(cluster, sizeof(cluster), "daap-%s", name);
        create_in(f->ctx, name, 0, id);
        reconcile(f->ctx);
        assert_int_equal(status_of(f->ctx, id), DAAP_DB_PROVISIONING);
        assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, cluster, phases[i]));
        reconcile(f->ctx);
        db = record(f->ctx, id);
        assert_int_equal(daap_db_status(db), DAAP_DB_ERROR);
        assert_non_null(strstr(daap_db_status_reason(db), phases[i]));
        daap_db_free(db);
        reconcile(f->ctx); /* stays in error while the phase holds */
        assert_int_equal(status_of(f->ctx, id), DAAP_DB_ERROR);
    }
}

/* The same phases take a ready database to error too (DESIGN.md 4). */
static void test_failure_phase_on_ready(void **state)
{
    fixture *f = *state;
    daap_db *db;
    char id[64];

    make_ready(f, "was-fine", id);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-was-fine", "Invalid cluster definition"));
    reconcile(f->ctx);
    db = record(f->ctx, id);
    assert_int_equal(daap_db_status(db), DAAP_DB_ERROR);
    assert_non_null(strstr(daap_db_status_reason(db), "Invalid cluster definition"));
    daap_db_free(db);
}

/* Phases that are only progress never fail a database. */
static void test_progress_phases_are_not_failures(void **state)
{
    fixture *f = *state;
    static const char *const phases[] = {
        "Setting up primary", "Creating a new replica", "Waiting for the instances to become active",
        "Upgrading cluster", "Unable to create required cluster objects",
        "Cluster cannot proceed to reconciliation due to an unknown plugin being required",
    };
    size_t i;
    char id[64];

    create_in(f->ctx, "progressing", 0, id);
    for (i = 0; i < DAAP_ARRAY_SIZE(phases); i++) {
        daap_db *db;
        assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-progressing", phases[i]));
        reconcile(f->ctx);
        db = record(f->ctx, id);
        assert_int_equal(daap_db_status(db), DAAP_DB_PROVISIONING);
        assert_non_null(strstr(daap_db_status_reason(db), phases[i]));
        daap_db_free(db);
    }
}

/* ---- 5. Kubernetes rejections (4xx) */

static void expect_rejected(daap_ctx *ctx, const char *id, const char *detail)
{
    daap_db *db = record(ctx, id);
    const char *why = daap_db_status_reason(db);
    assert_int_equal(daap_db_status(db), DAAP_DB_ERROR);
    assert_non_null(why);
    assert_non_null(strstr(why, "Kubernetes rejected"));
    if (detail && !strstr(why, detail))
        fail_msg("status_reason '%s' does not carry the API server's message '%s'", why, detail);
    daap_db_free(db);
}

static void test_rejected_at_create(void **state)
{
    fixture *f = *state;
    char id[64];
    uint64_t creates;

    /* The Cluster is refused (422 from the API server). */
    assert_ok(daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, 1, DAAP_EINVALID));
    create_in(f->ctx, "refused", 0, id);
    expect_rejected(f->ctx, id, "injected failure of create call");
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 0);
    /* Not retried blindly: the same spec would be refused again. */
    creates = daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_CREATE);
    reconcile(f->ctx);
    reconcile(f->ctx);
    assert_int_equal(daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_CREATE), creates);
    expect_rejected(f->ctx, id, NULL);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 0);

    /* The Pooler is refused after the Cluster was made. */
    assert_ok(daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, 2, DAAP_EINVALID));
    create_in(f->ctx, "half-refused", 0, id);
    expect_rejected(f->ctx, id, "injected failure of create call");
    assert_true(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-half-refused"));
    assert_false(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-half-refused-pooler"));
}

/* Kubernetes was down at create; the reconciler's create is refused. */
static void test_rejected_in_reconcile(void **state)
{
    fixture *f = *state;
    daap_db *db;
    char id[64];

    assert_ok(daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, 0, DAAP_EUNAVAILABLE));
    create_in(f->ctx, "later", 0, id);
    db = record(f->ctx, id);
    assert_int_equal(daap_db_status(db), DAAP_DB_PROVISIONING);
    assert_non_null(strstr(daap_db_status_reason(db), "waiting for Kubernetes"));
    daap_db_free(db);
    assert_ok(daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, 1, DAAP_EINVALID));
    reconcile(f->ctx);
    expect_rejected(f->ctx, id, "injected failure of create call");
}

/* A real rejection by the fake API server's own validation: the reason
 * carries its message, which names what to fix. */
static void test_rejection_reason_is_actionable(void **state)
{
    fixture *f = *state;
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_kube_backend *kube;
    daap_ctx *ctx;
    char id[64];

    o.namespace_ = "Team_A"; /* not a DNS label: the API server says 422 */
    assert_ok(open_ctx(&ctx, &kube, NULL, f->key, &o));
    create_in(ctx, "misplaced", 0, id);
    expect_rejected(ctx, id, "namespace \"Team_A\" is not a valid name");
    assert_int_equal(daap_kube_fake_count(kube, DAAP_KUBE_CLUSTER), 0);
    daap_ctx_free(ctx);
}

/* An internal failure while creating (here DAAP_ERROR from the backend,
 * in production e.g. out of memory, or an unparseable answer) is not a
 * Kubernetes rejection: the record stays provisioning and the next pass
 * creates the objects. */
static void test_internal_error_is_not_a_rejection(void **state)
{
    fixture *f = *state;
    char id[64];

    assert_ok(daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, 1, DAAP_ERROR));
    create_in(f->ctx, "glitch", 0, id);
    assert_int_equal(status_of(f->ctx, id), DAAP_DB_PROVISIONING);
    reconcile(f->ctx);
    assert_true(kube_has(f->kube, DAAP_KUBE_CLUSTER, "daap-glitch"));
    assert_true(kube_has(f->kube, DAAP_KUBE_POOLER, "daap-glitch-pooler"));
}

/* ---- 6. image map and cluster domain */

static const char *image_of(daap_kube_backend *kube, const char *cluster, char *buf, size_t size)
{
    daap_kube_object *c = kube_get(kube, DAAP_KUBE_CLUSTER, cluster);
    const char *img;
    assert_non_null(c);
    img = daap_kube_object_str(c, "spec.imageName");
    assert_non_null(img);
    snprintf(buf, size, "%s", img);
    daap_kube_object_free(c);
    return buf;
}

static void test_image_map_option(void **state)
{
    fixture *f = *state;
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_kube_backend *kube;
    daap_ctx *ctx;
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db;
    char id[64], img[256];

    o.image_map = "15=registry.example.com/pg:15.99-custom,16=registry.example.com/pg:16.42-custom";
    o.default_pg_version = 16;
    assert_ok(open_ctx(&ctx, &kube, NULL, f->key, &o));
    create_in(ctx, "old-pg", 15, id);
    db = record(ctx, id);
    assert_int_equal(daap_db_pg_version(db), 15);
    daap_db_free(db);
    assert_string_equal(image_of(kube, "daap-old-pg", img, sizeof(img)), "registry.example.com/pg:15.99-custom");
    create_in(ctx, "default-pg", 0, id);
    db = record(ctx, id);
    assert_int_equal(daap_db_pg_version(db), 16);
    daap_db_free(db);
    assert_string_equal(image_of(kube, "daap-default-pg", img, sizeof(img)), "registry.example.com/pg:16.42-custom");
    /* A major without an image is a field error, and nothing is made. */
    s.name = "new-pg"; s.owner_team = "ops"; s.purpose = "p"; s.pg_version = 17;
    assert_int_equal(daap_db_create(&db, ctx, &s), DAAP_EINVALID);
    assert_int_equal(daap_error_last()->field_count, 1);
    assert_string_equal(daap_error_last()->fields[0].field, "pg_version");
    assert_int_equal(daap_kube_fake_count(kube, DAAP_KUBE_CLUSTER), 2);
    daap_ctx_free(ctx);
}

static void test_image_map_env(void **state)
{
    fixture *f = *state;
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_kube_backend *kube;
    daap_ctx *ctx;
    char id[64], img[256];

    assert_int_equal(setenv("DAAP_IMAGE_MAP", "17=mirror.internal/postgres:17.0-env", 1), 0);
    assert_int_equal(setenv("DAAP_CLUSTER_DOMAIN", "env.example", 1), 0);
    o.namespace_ = NS;
    assert_int_equal(open_ctx(&ctx, &kube, NULL, f->key, &o), 0);
    unsetenv("DAAP_IMAGE_MAP");
    unsetenv("DAAP_CLUSTER_DOMAIN");
    create_in(ctx, "from-env", 0, id);
    assert_string_equal(image_of(kube, "daap-from-env", img, sizeof(img)), "mirror.internal/postgres:17.0-env");
    assert_ok(daap_kube_fake_set_cluster_phase(kube, NS, "daap-from-env", NULL));
    assert_ok(daap_reconcile_once(NULL, ctx, NULL));
    {
        daap_db *db = record(ctx, id);
        assert_int_equal(daap_db_status(db), DAAP_DB_READY);
        assert_string_equal(daap_db_host(db), "daap-from-env-pooler." NS ".svc.env.example");
        daap_db_free(db);
    }
    daap_ctx_free(ctx);
    /* The option wins over the environment. */
    assert_int_equal(setenv("DAAP_IMAGE_MAP", "17=from-env/pg:17", 1), 0);
    o.image_map = "17=from-option/pg:17";
    assert_ok(open_ctx(&ctx, &kube, NULL, f->key, &o));
    unsetenv("DAAP_IMAGE_MAP");
    create_in(ctx, "from-opt", 0, id);
    assert_string_equal(image_of(kube, "daap-from-opt", img, sizeof(img)), "from-option/pg:17");
    daap_ctx_free(ctx);
    /* A malformed map fails the open, naming the entry. */
    o.image_map = "17=ok/pg:17,sixteen=bad";
    {
        daap_storage_backend *st;
        daap_kube_backend *k;
        daap_ctx *bad = NULL;
        daap_ctx_options ob = o;
        ob.secret_key_file = f->key;
        ob.flags = DAAP_CTX_NO_SCHEMA_CHECK;
        assert_ok(daap_storage_sqlite_new(&st, ":memory:"));
        assert_ok(daap_kube_fake_new(&k));
        assert_int_equal(daap_ctx_open_backends(&bad, st, k, &ob), DAAP_EINVALID);
        assert_null(bad);
        assert_non_null(strstr(daap_error_last()->message, "sixteen=bad"));
        st->free(st); /* the caller keeps its backends on failure */
        k->free(k);
    }
}

/* With the built-in map, every supported major gets an image of that major. */
static void test_default_image_map_matches_pg_version(void **state)
{
    fixture *f = *state;
    int32_t v;

    for (v = 14; v <= 18; v++) {
        char name[32], cluster[48], id[64], img[256], want[16];
        const char *tag;
        snprintf(name, sizeof(name), "pg-%d", (int)v);
        snprintf(cluster, sizeof(cluster), "daap-%s", name);
        create_in(f->ctx, name, v, id);
        image_of(f->kube, cluster, img, sizeof(img));
        tag = strrchr(img, ':');
        assert_non_null(tag);
        snprintf(want, sizeof(want), ":%d.", (int)v);
        if (strncmp(tag, want, strlen(want)) != 0)
            fail_msg("pg_version %d renders image %s", (int)v, img);
    }
}

static void test_cluster_domain_in_hosts(void **state)
{
    fixture *f = *state;
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_kube_backend *kube;
    daap_ctx *ctx;
    daap_db *db;
    daap_buf uri = DAAP_BUF_INIT;
    char id[64];

    o.cluster_domain = "corp.internal";
    assert_ok(open_ctx(&ctx, &kube, NULL, f->key, &o));
    create_in(ctx, "domained", 0, id);
    assert_ok(daap_kube_fake_set_cluster_phase(kube, NS, "daap-domained", NULL));
    assert_ok(daap_reconcile_once(NULL, ctx, NULL));
    assert_ok(daap_db_get(&db, ctx, id));
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    assert_string_equal(daap_db_host(db), "daap-domained-pooler." NS ".svc.corp.internal");
    assert_int_equal(daap_db_port(db), 5432);
    assert_string_equal(daap_db_direct_host(db), "daap-domained-rw." NS ".svc.corp.internal");
    assert_ok(daap_db_uri(&uri, db));
    assert_non_null(strstr(uri.ptr, "@daap-domained-pooler." NS ".svc.corp.internal:5432/"));
    daap_buf_dispose(&uri);
    daap_db_free(db);
    daap_ctx_free(ctx);
}

/* A load-balancer address on the pooler Service wins over the DNS name. */
static void test_load_balancer_address_wins(void **state)
{
    fixture *f = *state;
    daap_db *db;
    char id[64];

    create_in(f->ctx, "exposed", 0, id);
    kube_delete(f->kube, DAAP_KUBE_SERVICE, "daap-exposed-pooler");
    kube_create_json(f->kube,
        "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"daap-exposed-pooler\",\"namespace\":\"" NS "\"},"
        "\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"name\":\"pgbouncer\",\"port\":6432}]},"
        "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.7\"}]}}}");
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-exposed", NULL));
    reconcile(f->ctx);
    db = record(f->ctx, id);
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    assert_string_equal(daap_db_host(db), "203.0.113.7");
    assert_int_equal(daap_db_port(db), 6432);
    daap_db_free(db);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_true_orphans_removed),
        T(test_orphan_cluster_waits_for_its_pooler),
        T(test_ready_cluster_recreated),
        T(test_recreated_cluster_credentials_current),
        T(test_ready_pooler_recreated),
        T(test_ready_both_recreated),
        T(test_cluster_ready_pooler_not_serving),
        T(test_pooler_serving_cluster_not_ready),
        T(test_failure_phases),
        T(test_failure_phase_on_ready),
        T(test_progress_phases_are_not_failures),
        T(test_rejected_at_create),
        T(test_rejected_in_reconcile),
        T(test_rejection_reason_is_actionable),
        T(test_internal_error_is_not_a_rejection),
        T(test_image_map_option),
        T(test_image_map_env),
        T(test_default_image_map_matches_pg_version),
        T(test_cluster_domain_in_hosts),
        T(test_load_balancer_address_wins),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
