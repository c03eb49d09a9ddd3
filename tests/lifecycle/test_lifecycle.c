/* The whole lifecycle in the library, on SQLite and the in-memory kube
 * backend with its simulated CNPG operator and fault injection. */
#include "common.h"
#include "support.h"
#include "faulty_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <daap/sys/kube.h>

typedef struct {
    daap_ctx *ctx;
    daap_kube_backend *kube;       /* borrowed from ctx */
    daap_storage_backend *storage; /* borrowed: the faulty decorator */
    char dir[64];
    char key[96];
} fixture;

static int open_fixture(fixture *f, const char *store_path)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;

    snprintf(f->key, sizeof(f->key), "%s/secret.key", f->dir);
    o.secret_key_file = f->key;
    o.provisioning_deadline_ms = 60000;
    return faulty_ctx_open(&f->ctx, &f->storage, &f->kube, store_path, o);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    daap_init();
    snprintf(f->dir, sizeof(f->dir), "/tmp/daap-lc-XXXXXX");
    if (!mkdtemp(f->dir) || open_fixture(f, ":memory:") < 0) {
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

static daap_db *create(fixture *f, const char *name, const char *team)
{
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db = NULL;
    s.name = name;
    s.owner_team = team;
    s.purpose = "tests";
    assert_ok(daap_db_create(&db, f->ctx, &s));
    return db;
}

static int status_of(fixture *f, const char *id)
{
    daap_db *db;
    int st;
    assert_ok(daap_db_get(&db, f->ctx, id));
    st = daap_db_status(db);
    daap_db_free(db);
    return st;
}

static void reconcile(fixture *f)
{
    daap_reconcile_result r;
    assert_ok(daap_reconcile_once(&r, f->ctx, NULL));
}

static void test_create_ready_get_update_delete(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "orders", "payments"), *got, *upd;
    daap_db_update_spec u = DAAP_DB_UPDATE_INIT;
    char id[64];
    daap_buf json = DAAP_BUF_INIT;

    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    assert_int_equal(daap_db_status(db), DAAP_DB_PROVISIONING);
    assert_string_equal(daap_db_cluster_name(db), "daap-orders");
    assert_string_equal(daap_db_pooler_name(db), "daap-orders-pooler");
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 1);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_POOLER), 1);
    assert_null(daap_db_password(db));
    daap_db_free(db);

    reconcile(f); /* not ready yet: stays provisioning */
    assert_int_equal(status_of(f, id), DAAP_DB_PROVISIONING);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-orders", NULL));
    reconcile(f);
    assert_ok(daap_db_get(&got, f->ctx, id));
    assert_int_equal(daap_db_status(got), DAAP_DB_READY);
    assert_non_null(daap_db_password(got));
    assert_string_equal(daap_db_username(got), "orders");
    assert_string_equal(daap_db_dbname(got), "orders");
    assert_true(daap_db_ready_at(got) > 0);
    assert_ok(daap_db_to_json(&json, got, 0));
    assert_non_null(strstr(json.ptr, "\"connection\""));
    daap_buf_dispose(&json);
    daap_db_free(got);

    u.purpose = "new purpose";
    assert_int_equal(daap_db_update(&upd, f->ctx, id, "intruders", &u), DAAP_EFORBIDDEN);
    assert_int_equal(daap_db_update(&upd, f->ctx, id, NULL, &u), DAAP_EFORBIDDEN);
    assert_ok(daap_db_update(&upd, f->ctx, id, "payments", &u));
    assert_string_equal(daap_db_purpose(upd), "new purpose");
    daap_db_free(upd);

    assert_int_equal(daap_db_delete(NULL, f->ctx, id, "intruders"), DAAP_EFORBIDDEN);
    assert_ok(daap_db_delete(&got, f->ctx, id, "payments"));
    assert_int_equal(daap_db_status(got), DAAP_DB_DELETED); /* the fake deletes at once */
    daap_db_free(got);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 0);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_POOLER), 0);
    assert_int_equal(daap_db_get(&got, f->ctx, id), DAAP_ENOTFOUND);
    /* The name is free again. */
    db = create(f, "orders", "payments");
    daap_db_free(db);
}

static const char *reason_of(fixture *f, const char *id, char *buf, size_t size)
{
    daap_db *db;
    assert_ok(daap_db_get(&db, f->ctx, id));
    snprintf(buf, size, "%s", daap_db_status_reason(db) ? daap_db_status_reason(db) : "");
    daap_db_free(db);
    return buf;
}

/* A resize (docs/day2.md): the reconciler patches the Cluster, the record
 * stays ready with a rolling-out reason until the fake's CNPG is healthy. */
static void test_resize_rolls_out_while_ready(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "resized", "payments"), *upd = NULL;
    daap_db_update_spec u = DAAP_DB_UPDATE_INIT;
    daap_kube_ref ref = { DAAP_KUBE_CLUSTER, "daap", "daap-resized" };
    daap_kube_object *cluster = NULL;
    char id[64], reason[256];
    int64_t n = 0;

    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    u.instances = 2;
    assert_int_equal(daap_db_update(NULL, f->ctx, id, "payments", &u), DAAP_ECONFLICT); /* not ready yet */
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-resized", NULL));
    reconcile(f);
    assert_int_equal(status_of(f, id), DAAP_DB_READY);

    u.storage_size = "4Gi";
    assert_ok(daap_db_update(&upd, f->ctx, id, "payments", &u));
    assert_int_equal(daap_db_instances(upd), 2);
    assert_true(daap_db_change_started_at(upd) > 0);
    daap_db_free(upd);
    assert_ok(daap_db_update(NULL, f->ctx, id, "payments", &u)); /* the same again: no change */
    u.instances = 3;
    assert_int_equal(daap_db_update(NULL, f->ctx, id, "payments", &u), DAAP_ECONFLICT); /* one at a time */
    u.instances = 2;

    reconcile(f);
    assert_int_equal(daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_PATCH), 1);
    assert_ok(f->kube->get(&cluster, f->kube, &ref));
    assert_ok(daap_kube_object_int(&n, cluster, "spec.instances"));
    assert_int_equal(n, 2);
    assert_string_equal(daap_kube_object_str(cluster, "spec.storage.size"), "4Gi");
    daap_kube_object_free(cluster);
    reconcile(f); /* still rolling out: no second patch, still ready */
    assert_int_equal(daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_PATCH), 1);
    assert_int_equal(status_of(f, id), DAAP_DB_READY);
    assert_non_null(strstr(reason_of(f, id, reason, sizeof(reason)), "rolling out: 2 instances with 4Gi"));

    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-resized", NULL));
    reconcile(f);
    assert_string_equal(reason_of(f, id, reason, sizeof(reason)), "the Cluster is healthy and the pooler is serving");
    assert_ok(daap_db_get(&upd, f->ctx, id));
    assert_int_equal(daap_db_change_started_at(upd), 0);
    daap_db_free(upd);

    u.instances = 0;
    u.storage_size = "2Gi";
    assert_int_equal(daap_db_update(NULL, f->ctx, id, "payments", &u), DAAP_EINVALID);
    assert_string_equal(daap_error_last()->fields[0].code, "shrink");
}

static void test_duplicate_and_validation(void **state)
{
    fixture *f = *state;
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db = create(f, "dupe", "t1"), *other = NULL;

    daap_db_free(db);
    s.name = "dupe"; s.owner_team = "t2"; s.purpose = "x";
    assert_int_equal(daap_db_create(&other, f->ctx, &s), DAAP_EEXISTS);
    assert_null(other);
    s.name = "Bad"; s.owner_team = ""; s.purpose = ""; s.instances = 99; s.storage_size = "huge"; s.pg_version = 9;
    assert_int_equal(daap_db_create(&other, f->ctx, &s), DAAP_EINVALID);
    assert_int_equal(daap_error_last()->field_count, 6);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 1);
}

static void test_create_json_and_update_json(void **state)
{
    fixture *f = *state;
    daap_db *db = NULL;
    const char *ok = "{\"name\":\"jsondb\",\"owner_team\":\"web\",\"purpose\":\"p\",\"instances\":2,\"storage_size\":\"5Gi\",\"pg_version\":16}";
    const char *bad = "{\"name\":7,\"owner_team\":\"web\",\"purpose\":\"p\",\"colour\":\"red\",\"status\":\"ready\"}";
    const char *immut = "{\"name\":\"other\",\"pg_version\":17,\"purpose\":\"fine\"}";

    assert_ok(daap_db_create_json(&db, f->ctx, ok, strlen(ok)));
    assert_int_equal(daap_db_instances(db), 2);
    assert_int_equal(daap_db_pg_version(db), 16);
    assert_int_equal(daap_db_create_json(NULL, f->ctx, bad, strlen(bad)), DAAP_EINVALID);
    assert_int_equal(daap_error_last()->field_count, 3);
    assert_string_equal(daap_error_last()->fields[0].code, "type");
    assert_string_equal(daap_error_last()->fields[1].code, "unknown_field");
    assert_string_equal(daap_error_last()->fields[2].code, "read_only");
    assert_int_equal(daap_db_update_json(NULL, f->ctx, daap_db_id(db), "web", immut, strlen(immut)), DAAP_EINVALID);
    assert_int_equal(daap_error_last()->field_count, 2);
    assert_string_equal(daap_error_last()->fields[0].code, "immutable");
    assert_int_equal(daap_db_update_json(NULL, f->ctx, daap_db_id(db), "nope", immut, strlen(immut)), DAAP_EFORBIDDEN);
    assert_ok(daap_db_update_json(NULL, f->ctx, daap_db_id(db), "web", "{\"owner_team\":\"mobile\"}", 23));
    daap_db_free(db);
}

static void test_kube_down_at_create_then_reconciler_finishes(void **state)
{
    fixture *f = *state;
    daap_db *db;
    char id[64];

    daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, 0, DAAP_EUNAVAILABLE);
    db = create(f, "offline", "ops");
    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    assert_int_equal(daap_db_status(db), DAAP_DB_PROVISIONING);
    assert_non_null(strstr(daap_db_status_reason(db), "waiting for Kubernetes"));
    daap_db_free(db);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 0);
    daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, 0, 0);
    reconcile(f);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 1);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_POOLER), 1);
    daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-offline", NULL);
    reconcile(f);
    assert_int_equal(status_of(f, id), DAAP_DB_READY);
}

/* A crash between any two steps of create leaves a state that a pass repairs. */
static void test_crash_between_create_steps(void **state)
{
    fixture *f = *state;
    unsigned step;

    for (step = 1; step <= 2; step++) {
        char name[32], id[64];
        daap_db *db;
        snprintf(name, sizeof(name), "crash%u", step);
        daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_CREATE, step, DAAP_EUNAVAILABLE);
        db = create(f, name, "ops");
        snprintf(id, sizeof(id), "%s", daap_db_id(db));
        daap_db_free(db);
        reconcile(f);
        {
            char cluster[64];
            snprintf(cluster, sizeof(cluster), "daap-%s", name);
            assert_ok(daap_kube_fake_set_cluster_phase(f->kube, "daap", cluster, NULL));
        }
        reconcile(f);
        assert_int_equal(status_of(f, id), DAAP_DB_READY);
    }
    /* Store write of the progress reason lost: the record still converges. */
    faulty_storage_fail(f->storage, FAULTY_UPDATE, 1, DAAP_EUNAVAILABLE);
    {
        daap_db *db = create(f, "crash-store", "ops");
        char id[64];
        snprintf(id, sizeof(id), "%s", daap_db_id(db));
        daap_db_free(db);
        daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-crash-store", NULL);
        reconcile(f);
        assert_int_equal(status_of(f, id), DAAP_DB_READY);
    }
}

static void test_crash_during_delete(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "gone", "ops"), *after;
    char id[64];

    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_REMOVE, 2, DAAP_EUNAVAILABLE); /* Cluster removal fails */
    assert_ok(daap_db_delete(&after, f->ctx, id, "ops"));
    assert_int_equal(daap_db_status(after), DAAP_DB_DELETING);
    daap_db_free(after);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_POOLER), 0);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 1);
    assert_int_equal(daap_db_get(&after, f->ctx, id), DAAP_ENOTFOUND); /* soft-deleted */
    reconcile(f);
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 0);
    {
        daap_db_list_options o = DAAP_DB_LIST_OPTIONS_INIT;
        daap_db_page page;
        o.include_deleted = 1;
        o.name_prefix = "gone";
        assert_ok(daap_db_list(&page, f->ctx, &o));
        assert_int_equal(page.count, 1);
        assert_int_equal(daap_db_status(page.items[0]), DAAP_DB_DELETED);
        daap_db_page_dispose(&page);
    }
}

static void test_failure_phase_and_deadline(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "broken", "ops"), *got;
    char id[64];

    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-broken",
              "Cluster is unrecoverable and needs manual intervention"));
    reconcile(f);
    assert_ok(daap_db_get(&got, f->ctx, id));
    assert_int_equal(daap_db_status(got), DAAP_DB_ERROR);
    assert_non_null(strstr(daap_db_status_reason(got), "unrecoverable"));
    daap_db_free(got);
    /* error -> ready when the cluster heals */
    daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-broken", NULL);
    reconcile(f);
    assert_int_equal(status_of(f, id), DAAP_DB_READY);
}

static void test_deadline(void **state)
{
    fixture *f = *state;
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_kube_backend *kube;
    daap_storage_backend *st;
    daap_ctx *ctx;
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db, *got;
    daap_reconcile_result r;

    o.secret_key_file = f->key;
    o.flags = DAAP_CTX_NO_SCHEMA_CHECK;
    o.provisioning_deadline_ms = 1;
    assert_ok(daap_storage_sqlite_new(&st, ":memory:"));
    assert_ok(daap_kube_fake_new(&kube));
    assert_ok(daap_ctx_open_backends(&ctx, st, kube, &o));
    assert_ok(daap_migrate(ctx, -1));
    s.name = "slow"; s.owner_team = "ops"; s.purpose = "p";
    assert_ok(daap_db_create(&db, ctx, &s));
    usleep(5000);
    assert_ok(daap_reconcile_once(&r, ctx, NULL));
    assert_ok(daap_db_get(&got, ctx, daap_db_id(db)));
    assert_int_equal(daap_db_status(got), DAAP_DB_ERROR);
    assert_non_null(strstr(daap_db_status_reason(got), "deadline"));
    daap_db_free(got);
    daap_db_free(db);
    daap_ctx_free(ctx);
}

static void test_orphans_removed(void **state)
{
    fixture *f = *state;
    daap_db *db = create(f, "orphan", "ops");
    char id[64];
    daap_reconcile_result r;

    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    /* Simulate a record that vanished: delete it behind daap's back by
     * marking it deleted through the API while kube removal fails. */
    daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_REMOVE, 0, DAAP_EUNAVAILABLE);
    assert_ok(daap_db_delete(NULL, f->ctx, id, "ops"));
    daap_kube_fake_fail(f->kube, DAAP_KUBE_FAKE_REMOVE, 0, 0);
    assert_ok(daap_reconcile_once(&r, f->ctx, NULL));
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_POOLER), 0);
    assert_ok(daap_reconcile_once(&r, f->ctx, NULL));
    assert_int_equal(daap_kube_fake_count(f->kube, DAAP_KUBE_CLUSTER), 0);
}

static void test_list_pages(void **state)
{
    fixture *f = *state;
    daap_db_list_options o = DAAP_DB_LIST_OPTIONS_INIT;
    daap_db_page page;
    char name[32], *cursor = NULL;
    size_t total = 0;
    int i;

    for (i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "page-%02d", i);
        daap_db_free(create(f, name, i % 2 ? "odd" : "even"));
    }
    o.limit = 4;
    o.name_prefix = "page-";
    o.owner_team = "even";
    do {
        o.cursor = cursor;
        assert_ok(daap_db_list(&page, f->ctx, &o));
        total += page.count;
        for (size_t k = 0; k < page.count; k++)
            assert_string_equal(daap_db_owner_team(page.items[k]), "even");
        daap_free(cursor);
        cursor = page.next_cursor ? strdup(page.next_cursor) : NULL;
        daap_db_page_dispose(&page);
    } while (cursor);
    assert_int_equal(total, 13);
    o.cursor = "bogus";
    assert_int_equal(daap_db_list(&page, f->ctx, &o), DAAP_EINVALID);
    o.cursor = NULL;
    o.limit = 101;
    assert_int_equal(daap_db_list(&page, f->ctx, &o), DAAP_EINVALID);
}

/* A ready record read with another key: a clear error, never garbage. */
static void test_wrong_key_on_get(void **state)
{
    fixture *f = *state;
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_storage_backend *st;
    daap_kube_backend *kube;
    daap_ctx *a, *b;
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db, *got = NULL;
    char path[128], key2[128];

    snprintf(path, sizeof(path), "%s/keys.db", f->dir);
    snprintf(key2, sizeof(key2), "%s/other.key", f->dir);
    o.secret_key_file = f->key;
    o.flags = DAAP_CTX_NO_SCHEMA_CHECK;
    assert_ok(daap_storage_sqlite_new(&st, path));
    assert_ok(daap_kube_fake_new(&kube));
    assert_ok(daap_kube_fake_set_auto_ready(kube, 1));
    assert_ok(daap_ctx_open_backends(&a, st, kube, &o));
    assert_ok(daap_migrate(a, -1));
    s.name = "keyed"; s.owner_team = "ops"; s.purpose = "p";
    assert_ok(daap_db_create(&db, a, &s));
    assert_ok(daap_reconcile_db(a, daap_db_id(db)));
    assert_ok(daap_db_get(&got, a, daap_db_id(db)));
    assert_int_equal(daap_db_status(got), DAAP_DB_READY);
    daap_db_free(got);

    o.secret_key_file = key2;
    o.flags = DAAP_CTX_NO_KUBE | DAAP_CTX_CREATE_KEY;
    o.store_uri = NULL;
    {
        char uri[160];
        snprintf(uri, sizeof(uri), "sqlite://%s", path);
        o.store_uri = uri;
        assert_ok(daap_ctx_open(&b, &o));
    }
    assert_int_equal(daap_db_get(&got, b, daap_db_id(db)), DAAP_ECRYPTO);
    assert_null(got);
    assert_non_null(strstr(daap_error_last()->message, "different secret key"));
    daap_db_free(db);
    daap_ctx_free(b);
    daap_ctx_free(a);
}

/* ---- event history: what each write records, in the same transaction */

/* The history newest first as "Reason/actor[/from>to]", space-separated. */
static void assert_history(fixture *f, const char *id, const char *expected)
{
    daap_db_event_page page;
    char got[1024] = "";
    size_t i;

    assert_ok(daap_db_events(&page, f->ctx, id, NULL));
    for (i = 0; i < page.count; i++) {
        const daap_db_event *ev = &page.items[i];
        char one[160];
        snprintf(one, sizeof(one), "%s%s/%s", i ? " " : "", ev->reason, ev->actor);
        strcat(got, one);
        if (ev->to_status) {
            snprintf(one, sizeof(one), "/%s>%s", ev->from_status ? ev->from_status : "", ev->to_status);
            strcat(got, one);
        }
    }
    daap_db_event_page_dispose(&page);
    assert_string_equal(got, expected);
}

static void set_caller(fixture *f, const char *team, const char *request_id)
{
    daap_call_info info = DAAP_CALL_INFO_INIT;

    info.actor = team;
    info.request_id = request_id;
    assert_ok(daap_ctx_set_call_info(f->ctx, &info));
}

static void test_events_of_a_lifecycle(void **state)
{
    fixture *f = *state;
    daap_db_update_spec u = DAAP_DB_UPDATE_INIT;
    daap_db_event_page page;
    daap_db *db;
    char id[64];

    set_caller(f, "payments", "req-create");
    db = create(f, "orders", "payments");
    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    assert_ok(daap_db_events(&page, f->ctx, id, NULL));
    assert_int_equal(page.count, 2);
    assert_string_equal(page.items[1].reason, "Created");
    assert_string_equal(page.items[1].request_id, "req-create");
    assert_int_equal(page.items[1].type, DAAP_DB_EVENT_NORMAL);
    assert_string_equal(page.items[0].message, "waiting for CNPG to start the cluster");
    assert_null(page.next_cursor);
    daap_db_event_page_dispose(&page);

    /* The reconciler acts as itself, whatever call info is set. */
    reconcile(f);
    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, "daap", "daap-orders", NULL));
    reconcile(f);
    assert_history(f, id, "Ready/reconciler/provisioning>ready Progress/reconciler Progress/payments "
                          "Created/payments/>provisioning");

    set_caller(f, NULL, "req-patch");
    u.purpose = "new purpose";
    u.owner_team = "billing";
    assert_ok(daap_db_update(NULL, f->ctx, id, "payments", &u));
    assert_ok(daap_db_events(&page, f->ctx, id, &(daap_db_events_options){ DAAP_DB_EVENTS_OPTIONS_VERSION, 2 }));
    assert_string_equal(page.items[1].reason, "OwnerChanged");
    assert_string_equal(page.items[1].message, "owner_team changed from payments to billing");
    assert_string_equal(page.items[1].actor, "payments"); /* no actor set: the caller's team */
    assert_string_equal(page.items[1].request_id, "req-patch");
    assert_string_equal(page.items[0].reason, "PurposeChanged");
    assert_non_null(page.next_cursor);
    daap_db_event_page_dispose(&page);

    assert_ok(daap_ctx_set_call_info(f->ctx, NULL));
    assert_ok(daap_db_delete(NULL, f->ctx, id, "billing"));
    assert_history(f, id, "Deleted/billing/deleting>deleted DeleteRequested/billing/ready>deleting "
                          "PurposeChanged/payments OwnerChanged/payments Ready/reconciler/provisioning>ready "
                          "Progress/reconciler Progress/payments Created/payments/>provisioning");
}

static void test_failed_write_leaves_no_event(void **state)
{
    fixture *f = *state;
    daap_db_update_spec u = DAAP_DB_UPDATE_INIT;
    daap_db *db = create(f, "orders", "payments");
    char id[64];

    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    assert_history(f, id, "Progress/payments Created/payments/>provisioning");
    faulty_storage_fail(f->storage, FAULTY_UPDATE, 0, DAAP_EUNAVAILABLE);
    u.purpose = "never stored";
    assert_int_equal(daap_db_update(NULL, f->ctx, id, "payments", &u), DAAP_EUNAVAILABLE);
    assert_int_equal(daap_db_delete(NULL, f->ctx, id, "payments"), DAAP_EUNAVAILABLE);
    faulty_storage_fail(f->storage, FAULTY_UPDATE, 0, 0);
    assert_history(f, id, "Progress/payments Created/payments/>provisioning");

    /* A failed create leaves no record and no history. */
    faulty_storage_fail(f->storage, FAULTY_INSERT, 1, DAAP_EUNAVAILABLE);
    {
        daap_db_spec s = DAAP_DB_SPEC_INIT;
        s.name = "lost"; s.owner_team = "payments"; s.purpose = "x";
        assert_int_equal(daap_db_create(NULL, f->ctx, &s), DAAP_EUNAVAILABLE);
    }
}

static void test_events_repeat_folds_and_kube_errors(void **state)
{
    fixture *f = *state;
    daap_db_event_page page;
    daap_db *db = create(f, "orders", "payments");
    char id[64];

    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    /* A bad cursor, limit or id is refused. */
    assert_int_equal(daap_db_events(&page, f->ctx, id,
                                    &(daap_db_events_options){ DAAP_DB_EVENTS_OPTIONS_VERSION, 201 }), DAAP_EINVALID);
    assert_int_equal(daap_db_events(&page, f->ctx, id,
                                    &(daap_db_events_options){ DAAP_DB_EVENTS_OPTIONS_VERSION, 0, "bogus" }), DAAP_EINVALID);
    assert_int_equal(daap_db_events(&page, f->ctx, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", NULL), DAAP_ENOTFOUND);
    assert_int_equal(daap_db_events(&page, f->ctx, "nope", NULL), DAAP_ENOTFOUND);

    assert_ok(daap_db_events(&page, f->ctx, id,
                             &(daap_db_events_options){ DAAP_DB_EVENTS_OPTIONS_VERSION, 0, NULL, 1 }));
    assert_int_equal(page.count, 0);
    daap_db_event_page_dispose(&page);
}

/* Retention: a reconcile pass purges events older than the retention, at
 * most 500 of them, and the next pass takes the rest. */
static void test_reconcile_purges_old_events_in_batches(void **state)
{
    fixture *f = *state;
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_db_update_spec u = DAAP_DB_UPDATE_INIT;
    daap_db_event_page page;
    daap_db *db;
    char id[64];
    size_t left;
    int i;

    daap_ctx_free(f->ctx);
    o.secret_key_file = f->key;
    o.event_retention_ms = 200;
    assert_ok(faulty_ctx_open(&f->ctx, &f->storage, &f->kube, ":memory:", o));
    db = create(f, "orders", "payments");
    snprintf(id, sizeof(id), "%s", daap_db_id(db));
    daap_db_free(db);
    for (i = 0; i < 600; i++) {
        u.purpose = i % 2 ? "odd" : "even";
        assert_ok(daap_db_update(NULL, f->ctx, id, "payments", &u));
    }
    usleep(300 * 1000);
    reconcile(f);
    assert_ok(daap_db_events(&page, f->ctx, id, &(daap_db_events_options){ DAAP_DB_EVENTS_OPTIONS_VERSION, 200 }));
    assert_true(page.count >= 602 - 500 && page.count < 602 - 500 + 10);
    daap_db_event_page_dispose(&page);
    reconcile(f);
    assert_ok(daap_db_events(&page, f->ctx, id, &(daap_db_events_options){ DAAP_DB_EVENTS_OPTIONS_VERSION, 200 }));
    left = page.count;
    /* 602 old events went in two passes; what is left is the passes' own. */
    assert_null(page.next_cursor);
    assert_true(left < 10);
    for (i = 0; i < (int)left; i++)
        assert_string_equal(page.items[i].actor, "reconciler");
    daap_db_event_page_dispose(&page);
}

/* ---- daap_db_spec.idempotency_key (local engine) */

static int create_keyed(daap_db **out, fixture *f, const char *name, const char *purpose, const char *key)
{
    daap_db_spec s = DAAP_DB_SPEC_INIT;

    s.name = name;
    s.owner_team = "red";
    s.purpose = purpose;
    s.idempotency_key = key;
    return daap_db_create(out, f->ctx, &s);
}

static void test_idempotent_create(void **state)
{
    fixture *f = *state;
    daap_db *first = NULL, *again = NULL;
    daap_db_page page = { 0 };
    daap_db_list_options lo = DAAP_DB_LIST_OPTIONS_INIT;

    assert_ok(create_keyed(&first, f, "keyed", "tests", "key-0001"));
    assert_ok(create_keyed(&again, f, "keyed", "tests", "key-0001"));
    assert_string_equal(daap_db_id(again), daap_db_id(first));
    assert_int_equal(daap_db_revision(again), daap_db_revision(first));
    daap_db_free(again);
    assert_ok(create_keyed(NULL, f, "keyed", "tests", "key-0001"));
    /* The same key with another spec is refused, and makes nothing. */
    assert_int_equal(create_keyed(&again, f, "keyed-2", "tests", "key-0001"), DAAP_EINVALID);
    assert_null(again);
    assert_non_null(strstr(daap_error_last()->message, "already used"));
    lo.name_prefix = "keyed";
    assert_ok(daap_db_list(&page, f->ctx, &lo));
    assert_int_equal(page.count, 1);
    daap_db_page_dispose(&page);
    daap_db_free(first);
}

static void test_idempotent_create_failures_are_not_kept(void **state)
{
    fixture *f = *state;
    daap_db *db = NULL;

    /* A spec that fails validation claims nothing: fixed, the key works. */
    assert_int_equal(create_keyed(&db, f, "Bad Name", "tests", "key-0002"), DAAP_EINVALID);
    assert_ok(create_keyed(&db, f, "fixed", "tests", "key-0002"));
    daap_db_free(db);
    /* A create that fails in the store (name taken) frees its key too. */
    db = create(f, "taken", "red");
    daap_db_free(db);
    assert_int_equal(create_keyed(&db, f, "taken", "tests", "key-0003"), DAAP_EEXISTS);
    assert_non_null(strstr(daap_error_last()->message, "taken"));
    assert_ok(create_keyed(&db, f, "taken-2", "tests", "key-0003"));
    daap_db_free(db);
    /* A malformed key is the caller's error. */
    assert_int_equal(create_keyed(&db, f, "badkey", "tests", "bell\a"), DAAP_EINVALID);
    assert_null(db);
}

static void test_idempotency_calls(void **state)
{
    fixture *f = *state;
    daap_idempotency_request req = DAAP_IDEMPOTENCY_REQUEST_INIT;
    daap_idempotency_record rec;
    char key[DAAP_IDEMPOTENCY_KEY_MAX + 1];
    uint32_t purged = 7;

    assert_ok(daap_idempotency_key_parse(key, sizeof(key), " \"a\\\\b\\\"c\" "));
    assert_string_equal(key, "a\\b\"c");
    assert_int_equal(daap_idempotency_key_parse(key, sizeof(key), "\"a\" x"), DAAP_EINVALID);
    assert_ok(daap_idempotency_request_init(&req, DAAP_IDEMPOTENCY_REQUEST_VERSION));
    assert_int_equal(daap_idempotency_request_init(&req, 99), DAAP_EINVALID);
    req.key = "calls-1";
    req.method = "POST";
    req.path = "/databases/x/restore";
    req.lease_ms = 500; /* long enough for two calls under valgrind */
    assert_ok(daap_idempotency_begin(&rec, f->ctx, &req));
    assert_int_equal(rec.state, DAAP_IDEMPOTENCY_STARTED);
    assert_ok(daap_idempotency_begin(&rec, f->ctx, &req));
    assert_int_equal(rec.state, DAAP_IDEMPOTENCY_IN_FLIGHT);
    usleep(600 * 1000); /* past the lease: a crashed holder's key is free */
    assert_ok(daap_idempotency_begin(&rec, f->ctx, &req));
    assert_int_equal(rec.state, DAAP_IDEMPOTENCY_STARTED);
    req.ttl_ms = 1;
    assert_ok(daap_idempotency_finish(f->ctx, &req, 202, NULL, "{}", 2));
    usleep(5000);
    assert_ok(daap_idempotency_purge(&purged, f->ctx, 100));
    assert_int_equal(purged, 1);
    assert_int_equal(daap_idempotency_purge(&purged, f->ctx, 0), DAAP_EINVALID);
    assert_ok(daap_idempotency_abandon(f->ctx, &req));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_ready_get_update_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_of_a_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_leaves_no_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_repeat_folds_and_kube_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_purges_old_events_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_rolls_out_while_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_json_and_update_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kube_down_at_create_then_reconciler_finishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_between_create_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_during_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_phase_and_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphans_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_on_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_create_failures_are_not_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_calls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
