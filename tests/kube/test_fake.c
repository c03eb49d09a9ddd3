/* The fake Kubernetes backend: store, simulated CNPG operator, selectors,
 * watches, call counters and fault injection. */
#include "common.h"
#include "kube/kube.h"
#include "support.h"

#include <stdio.h>

#define NS "team-a"

static int setup(void **state)
{
    daap_kube_backend *be = NULL;
    assert_ok(daap_kube_fake_new(&be));
    *state = be;
    return 0;
}

static int teardown(void **state)
{
    daap__kube_free(*state);
    return 0;
}

static daap_kube_object *parse(const char *json)
{
    daap_kube_object *obj = NULL;
    assert_ok(daap_kube_object_parse(&obj, json, strlen(json)));
    return obj;
}

static int create_json(daap_kube_backend *be, const char *json)
{
    daap_kube_object *obj = parse(json);
    int rc = daap__kube_create(NULL, be, obj);
    daap_kube_object_free(obj);
    return rc;
}

static int create_cluster(daap_kube_backend *be, const char *name, const char *extra_spec)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Cluster\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"" NS "\",\"labels\":{\"app.kubernetes.io/managed-by\":\"daap\",\"daap.dev/database-id\":\"%s\"}},"
             "\"spec\":{\"instances\":3%s},\"status\":{\"phase\":\"forged\"}}", name, name, extra_spec ? extra_spec : "");
    return create_json(be, json);
}

static int create_pooler(daap_kube_backend *be, const char *name, const char *cluster)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Pooler\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"" NS "\",\"labels\":{\"app.kubernetes.io/managed-by\":\"daap\"}},"
             "\"spec\":{\"cluster\":{\"name\":\"%s\"},\"type\":\"rw\",\"pgbouncer\":{\"poolMode\":\"transaction\"}}}",
             name, cluster);
    return create_json(be, json);
}

static daap_kube_object *get(daap_kube_backend *be, int kind, const char *name)
{
    daap_kube_object *obj = NULL;
    daap_kube_ref ref = { kind, NS, name };
    assert_ok(daap__kube_get(&obj, be, &ref));
    return obj;
}

static bool exists(daap_kube_backend *be, int kind, const char *name)
{
    daap_kube_object *obj = NULL;
    daap_kube_ref ref = { kind, NS, name };
    int rc = daap__kube_get(&obj, be, &ref);
    daap_kube_object_free(obj);
    assert_true(rc == 0 || rc == DAAP_ENOTFOUND);
    return rc == 0;
}

static void expect_secret(const daap_kube_object *secret, const char *key, const char *value)
{
    daap_buf v = DAAP_BUF_INIT;
    assert_ok(daap_kube_object_secret_value(&v, secret, key));
    assert_string_equal(v.ptr, value);
    daap_buf_dispose(&v);
}

static int64_t int_at(const daap_kube_object *obj, const char *path)
{
    int64_t v = -1;
    assert_ok(daap_kube_object_int(&v, obj, path));
    return v;
}

static void test_cluster_create_runs_the_operator(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_object *c, *s, *svc;
    daap_buf pw = DAAP_BUF_INIT;
    char uri[256];

    assert_ok(create_cluster(be, "daap-foo", ",\"bootstrap\":{\"initdb\":{\"database\":\"foo\",\"owner\":\"foo\"}}"));
    c = get(be, DAAP_KUBE_CLUSTER, "daap-foo");
    assert_string_equal(daap_kube_object_str(c, "status.phase"), "Setting up primary");
    assert_int_equal(daap_kube_object_condition(c, "Ready"), 0);
    assert_non_null(daap_kube_object_str(c, "metadata.uid"));
    assert_non_null(daap_kube_object_str(c, "metadata.resourceVersion"));
    assert_non_null(daap_kube_object_str(c, "metadata.creationTimestamp"));
    assert_int_equal(int_at(c, "metadata.generation"), 1);

    s = get(be, DAAP_KUBE_SECRET, "daap-foo-app");
    assert_string_equal(daap_kube_object_str(s, "type"), "kubernetes.io/basic-auth");
    assert_string_equal(daap_kube_object_label(s, "cnpg.io/cluster"), "daap-foo");
    assert_string_equal(daap_kube_object_str(s, "metadata.ownerReferences.0.uid"),
                        daap_kube_object_str(c, "metadata.uid"));
    expect_secret(s, "username", "foo");
    expect_secret(s, "user", "foo");
    expect_secret(s, "dbname", "foo");
    expect_secret(s, "host", "daap-foo-rw");
    expect_secret(s, "port", "5432");
    assert_ok(daap_kube_object_secret_value(&pw, s, "password"));
    assert_int_equal(pw.size, 64);
    snprintf(uri, sizeof(uri), "postgresql://foo:%s@daap-foo-rw." NS ":5432/foo", pw.ptr);
    expect_secret(s, "uri", uri);
    snprintf(uri, sizeof(uri), "daap-foo-rw:5432:foo:foo:%s\n", pw.ptr);
    expect_secret(s, "pgpass", uri);
    snprintf(uri, sizeof(uri), "jdbc:postgresql://daap-foo-rw." NS ".svc.cluster.local:5432/foo?password=%s&user=foo", pw.ptr);
    expect_secret(s, "fqdn-jdbc-uri", uri);
    assert_non_null(daap_kube_object_str(s, "data.jdbc-uri"));
    assert_non_null(daap_kube_object_str(s, "data.fqdn-uri"));

    svc = get(be, DAAP_KUBE_SERVICE, "daap-foo-rw");
    assert_int_equal(int_at(svc, "spec.ports.0.port"), 5432);
    assert_string_equal(daap_kube_object_str(svc, "spec.ports.0.name"), "postgres");
    assert_true(exists(be, DAAP_KUBE_SERVICE, "daap-foo-ro"));
    assert_true(exists(be, DAAP_KUBE_SERVICE, "daap-foo-r"));
    assert_int_equal(daap_kube_fake_count(be, DAAP_KUBE_SERVICE), 3);
    assert_int_equal(daap_kube_fake_count(be, DAAP_KUBE_SECRET), 1);
    daap_buf_dispose(&pw);
    daap_kube_object_free(svc);
    daap_kube_object_free(s);
    daap_kube_object_free(c);
}

static void test_default_database_is_app(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_object *s;

    assert_ok(create_cluster(be, "daap-bar", NULL));
    s = get(be, DAAP_KUBE_SECRET, "daap-bar-app");
    expect_secret(s, "dbname", "app");
    expect_secret(s, "username", "app");
    daap_kube_object_free(s);
}

static void test_ready_and_failed_phases(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_object *c, *dep;

    assert_ok(create_cluster(be, "daap-foo", NULL));
    assert_ok(create_pooler(be, "daap-foo-pooler", "daap-foo"));
    dep = get(be, DAAP_KUBE_DEPLOYMENT, "daap-foo-pooler");
    assert_int_equal(int_at(dep, "status.readyReplicas"), 0);
    daap_kube_object_free(dep);

    assert_ok(daap_kube_fake_set_cluster_phase(be, NS, "daap-foo", NULL));
    c = get(be, DAAP_KUBE_CLUSTER, "daap-foo");
    assert_string_equal(daap_kube_object_str(c, "status.phase"), "Cluster in healthy state");
    assert_int_equal(daap_kube_object_condition(c, "Ready"), 1);
    assert_string_equal(daap_kube_object_str(c, "status.conditions.0.reason"), "ClusterIsReady");
    assert_int_equal(int_at(c, "status.readyInstances"), 3);
    daap_kube_object_free(c);
    dep = get(be, DAAP_KUBE_DEPLOYMENT, "daap-foo-pooler");
    assert_int_equal(int_at(dep, "status.readyReplicas"), 1);
    daap_kube_object_free(dep);

    assert_ok(daap_kube_fake_set_cluster_phase(be, NS, "daap-foo", "Cluster is unrecoverable and needs manual intervention"));
    c = get(be, DAAP_KUBE_CLUSTER, "daap-foo");
    assert_string_equal(daap_kube_object_str(c, "status.phase"), "Cluster is unrecoverable and needs manual intervention");
    assert_int_equal(daap_kube_object_condition(c, "Ready"), 0);
    assert_int_equal(int_at(c, "status.readyInstances"), 0);
    daap_kube_object_free(c);
    assert_int_equal(daap_kube_fake_set_cluster_phase(be, NS, "nope", NULL), DAAP_ENOTFOUND);
}

static void test_pooler_objects(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_object *svc, *dep;

    assert_ok(create_pooler(be, "daap-foo-pooler", "daap-foo")); /* before its cluster: allowed */
    svc = get(be, DAAP_KUBE_SERVICE, "daap-foo-pooler");
    assert_string_equal(daap_kube_object_str(svc, "spec.type"), "ClusterIP");
    assert_string_equal(daap_kube_object_str(svc, "spec.ports.0.name"), "pgbouncer");
    assert_int_equal(int_at(svc, "spec.ports.0.port"), 5432);
    dep = get(be, DAAP_KUBE_DEPLOYMENT, "daap-foo-pooler");
    assert_string_equal(daap_kube_object_label(dep, "cnpg.io/poolerName"), "daap-foo-pooler");
    daap_kube_object_free(svc);
    daap_kube_object_free(dep);
    assert_int_equal(create_json(be, "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Pooler\","
                                     "\"metadata\":{\"name\":\"p\",\"namespace\":\"" NS "\"},\"spec\":{}}"),
                     DAAP_EINVALID);
}

static void test_deletes_cascade_to_owned_objects(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_ref pooler = { DAAP_KUBE_POOLER, NS, "daap-foo-pooler" };
    daap_kube_ref cluster = { DAAP_KUBE_CLUSTER, NS, "daap-foo" };

    assert_ok(create_cluster(be, "daap-foo", NULL));
    assert_ok(create_pooler(be, "daap-foo-pooler", "daap-foo"));
    assert_int_equal(daap_kube_fake_count(be, DAAP_KUBE_SERVICE), 4);
    assert_ok(daap__kube_remove(be, &pooler));
    assert_false(exists(be, DAAP_KUBE_DEPLOYMENT, "daap-foo-pooler"));
    assert_false(exists(be, DAAP_KUBE_SERVICE, "daap-foo-pooler"));
    assert_true(exists(be, DAAP_KUBE_SERVICE, "daap-foo-rw"));
    assert_ok(daap__kube_remove(be, &cluster));
    assert_int_equal(daap_kube_fake_count(be, DAAP_KUBE_SERVICE), 0);
    assert_int_equal(daap_kube_fake_count(be, DAAP_KUBE_SECRET), 0);
    assert_int_equal(daap_kube_fake_count(be, DAAP_KUBE_CLUSTER), 0);
    assert_int_equal(daap__kube_remove(be, &cluster), DAAP_ENOTFOUND);
    assert_non_null(strstr(daap_error_last()->message, "clusters.postgresql.cnpg.io \"daap-foo\" not found"));
}

static void test_auto_ready(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_object *c, *dep;

    assert_ok(daap_kube_fake_set_auto_ready(be, 1));
    assert_ok(create_cluster(be, "daap-foo", NULL));
    assert_ok(create_pooler(be, "daap-foo-pooler", "daap-foo"));
    c = get(be, DAAP_KUBE_CLUSTER, "daap-foo");
    assert_int_equal(daap_kube_object_condition(c, "Ready"), 1);
    dep = get(be, DAAP_KUBE_DEPLOYMENT, "daap-foo-pooler");
    assert_int_equal(int_at(dep, "status.readyReplicas"), 1);
    daap_kube_object_free(c);
    daap_kube_object_free(dep);
}

/* A merge patch: members merge, null removes; a Ready Cluster whose
 * instances change rolls out (not Ready) until made ready again. */
static void test_merge_patch_rolls_out(void **state)
{
    static const char patch[] = "{\"spec\":{\"instances\":4,\"imageName\":null},\"metadata\":{\"labels\":{\"x\":\"y\"}}}";
    daap_kube_backend *be = *state;
    daap_kube_ref ref = { DAAP_KUBE_CLUSTER, NS, "daap-foo" };
    daap_kube_object *c;

    assert_ok(create_cluster(be, "daap-foo", NULL));
    assert_ok(daap_kube_fake_set_cluster_phase(be, NS, "daap-foo", NULL));
    assert_ok(daap__kube_patch(NULL, be, &ref, patch, sizeof(patch) - 1));
    assert_int_equal(daap_kube_fake_calls(be, DAAP_KUBE_FAKE_PATCH), 1);
    c = get(be, DAAP_KUBE_CLUSTER, "daap-foo");
    assert_int_equal(int_at(c, "spec.instances"), 4);
    assert_null(daap_kube_object_str(c, "spec.imageName"));
    assert_string_equal(daap_kube_object_label(c, "x"), "y");
    assert_int_equal(daap_kube_object_condition(c, "Ready"), 0);
    assert_int_equal(int_at(c, "metadata.generation"), int_at(c, "status.observedGeneration"));
    daap_kube_object_free(c);
    assert_ok(daap_kube_fake_set_cluster_phase(be, NS, "daap-foo", NULL));
    c = get(be, DAAP_KUBE_CLUSTER, "daap-foo");
    assert_int_equal(int_at(c, "status.readyInstances"), 4);
    daap_kube_object_free(c);
    assert_int_equal(daap__kube_patch(NULL, be, &ref, "[1]", 3), DAAP_EINVALID);
    ref.name = "daap-nobody";
    assert_int_equal(daap__kube_patch(NULL, be, &ref, patch, sizeof(patch) - 1), DAAP_ENOTFOUND);
}

static void test_rejections(void **state)
{
    daap_kube_backend *be = *state;
    char long_name[64];

    assert_ok(create_cluster(be, "daap-foo", NULL));
    assert_int_equal(create_cluster(be, "daap-foo", NULL), DAAP_EEXISTS);
    assert_non_null(strstr(daap_error_last()->message, "already exists"));
    assert_int_equal(create_cluster(be, "Daap_Foo", NULL), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "metadata.name"));
    memset(long_name, 'a', 51);
    long_name[51] = '\0';
    assert_int_equal(create_cluster(be, long_name, NULL), DAAP_EINVALID);
    long_name[50] = '\0';
    assert_ok(create_cluster(be, long_name, NULL));
    assert_int_equal(create_json(be, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}"),
                     DAAP_EINVALID);
}

static size_t list_count(daap_kube_backend *be, int kind, const char *ns, const char *selector)
{
    daap_kube_list list = { 0 };
    size_t n;

    assert_ok(daap__kube_list(&list, be, kind, ns, selector));
    assert_non_null(list.resource_version);
    n = list.count;
    daap_kube_list_dispose(&list);
    return n;
}

static void test_list_with_selectors(void **state)
{
    daap_kube_backend *be = *state;

    assert_ok(create_cluster(be, "daap-one", NULL));
    assert_ok(create_cluster(be, "daap-two", NULL));
    assert_ok(create_json(be, "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Cluster\","
                              "\"metadata\":{\"name\":\"other\",\"namespace\":\"team-b\"},\"spec\":{}}"));
    assert_int_equal(list_count(be, DAAP_KUBE_CLUSTER, NS, NULL), 2);
    assert_int_equal(list_count(be, DAAP_KUBE_CLUSTER, NULL, NULL), 3);
    assert_int_equal(list_count(be, DAAP_KUBE_CLUSTER, NULL, "app.kubernetes.io/managed-by=daap"), 2);
    assert_int_equal(list_count(be, DAAP_KUBE_CLUSTER, NULL, "app.kubernetes.io/managed-by==daap,daap.dev/database-id=daap-two"), 1);
    assert_int_equal(list_count(be, DAAP_KUBE_CLUSTER, NULL, "daap.dev/database-id!=daap-two"), 2);
    assert_int_equal(list_count(be, DAAP_KUBE_CLUSTER, NULL, "daap.dev/database-id"), 2);
    assert_int_equal(list_count(be, DAAP_KUBE_CLUSTER, NULL, "!daap.dev/database-id"), 1);
    assert_int_equal(list_count(be, DAAP_KUBE_SECRET, NULL, "cnpg.io/cluster=daap-one"), 1);
    {
        daap_kube_list list = { 0 };
        assert_int_equal(daap__kube_list(&list, be, DAAP_KUBE_CLUSTER, NULL, "x in (a,b)"), DAAP_EINVALID);
        assert_int_equal(list.count, 0);
    }
}

static void test_faults_and_counters(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_object *obj = NULL;
    daap_kube_ref ref = { DAAP_KUBE_CLUSTER, NS, "daap-foo" };

    assert_ok(create_cluster(be, "daap-foo", NULL));
    assert_int_equal(daap_kube_fake_calls(be, DAAP_KUBE_FAKE_CREATE), 1);
    assert_ok(daap_kube_fake_fail(be, DAAP_KUBE_FAKE_GET, 2, DAAP_EUNAVAILABLE));
    assert_ok(daap__kube_get(&obj, be, &ref));
    daap_kube_object_free(obj);
    assert_int_equal(daap__kube_get(&obj, be, &ref), DAAP_EUNAVAILABLE);
    assert_null(obj);
    assert_non_null(strstr(daap_error_last()->message, "injected"));
    assert_ok(daap__kube_get(&obj, be, &ref)); /* only once */
    daap_kube_object_free(obj);
    assert_int_equal(daap_kube_fake_calls(be, DAAP_KUBE_FAKE_GET), 3);

    assert_ok(daap_kube_fake_fail(be, DAAP_KUBE_FAKE_REMOVE, 0, DAAP_ECONFLICT));
    assert_int_equal(daap__kube_remove(be, &ref), DAAP_ECONFLICT);
    assert_int_equal(daap__kube_remove(be, &ref), DAAP_ECONFLICT);
    assert_ok(daap_kube_fake_fail(be, DAAP_KUBE_FAKE_REMOVE, 0, 0));
    assert_ok(daap__kube_remove(be, &ref));
    assert_int_equal(daap_kube_fake_calls(be, DAAP_KUBE_FAKE_REMOVE), 3);

    assert_ok(daap_kube_fake_fail(be, DAAP_KUBE_FAKE_CREATE, 1, DAAP_EUNAVAILABLE));
    assert_int_equal(create_cluster(be, "daap-foo", NULL), DAAP_EUNAVAILABLE);
    assert_int_equal(daap_kube_fake_count(be, DAAP_KUBE_CLUSTER), 0); /* nothing half-made */
    assert_int_equal(daap_kube_fake_fail(be, 99, 1, DAAP_ERROR), DAAP_EINVALID);
    assert_int_equal(daap_kube_fake_fail(be, DAAP_KUBE_FAKE_GET, 1, 5), DAAP_EINVALID);
}

static void expect_watch_event(daap_kube_backend *be, daap_kube_watch *w, int type, const char *name)
{
    daap_kube_event ev;

    assert_ok(daap__kube_watch_next(&ev, be, w, 0));
    assert_int_equal(ev.type, type);
    assert_string_equal(daap_kube_object_str(ev.object, "metadata.name"), name);
    daap_kube_object_free(ev.object);
}

static void test_watch_events(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_watch *w = NULL, *late = NULL;
    daap_kube_event ev;
    daap_kube_list list = { 0 };
    daap_kube_ref ref = { DAAP_KUBE_CLUSTER, NS, "daap-foo" };

    assert_ok(create_cluster(be, "daap-old", NULL));
    assert_ok(daap__kube_list(&list, be, DAAP_KUBE_CLUSTER, NS, NULL));
    assert_ok(daap__kube_watch(&w, be, DAAP_KUBE_CLUSTER, NS, "app.kubernetes.io/managed-by=daap", ""));
    expect_watch_event(be, w, DAAP_KUBE_ADDED, "daap-old"); /* synthetic */
    assert_int_equal(daap__kube_watch_next(&ev, be, w, 10), DAAP_ETIMEOUT);
    assert_ok(create_cluster(be, "daap-foo", NULL));
    assert_ok(create_json(be, "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Cluster\","
                              "\"metadata\":{\"name\":\"unlabelled\",\"namespace\":\"" NS "\"},\"spec\":{}}"));
    assert_ok(daap_kube_fake_set_cluster_phase(be, NS, "daap-foo", NULL));
    assert_ok(daap__kube_remove(be, &ref));
    expect_watch_event(be, w, DAAP_KUBE_ADDED, "daap-foo");
    expect_watch_event(be, w, DAAP_KUBE_MODIFIED, "daap-foo");
    expect_watch_event(be, w, DAAP_KUBE_DELETED, "daap-foo");
    assert_int_equal(daap__kube_watch_next(&ev, be, w, 0), DAAP_ETIMEOUT);

    /* resuming from the list's RV replays what happened since, and nothing before */
    assert_ok(daap__kube_watch(&late, be, DAAP_KUBE_CLUSTER, NS, NULL, list.resource_version));
    expect_watch_event(be, late, DAAP_KUBE_ADDED, "daap-foo");
    expect_watch_event(be, late, DAAP_KUBE_ADDED, "unlabelled");
    expect_watch_event(be, late, DAAP_KUBE_MODIFIED, "daap-foo");
    expect_watch_event(be, late, DAAP_KUBE_DELETED, "daap-foo");
    daap__kube_watch_free(be, late);
    daap__kube_watch_free(be, w);
    daap_kube_list_dispose(&list);
    assert_int_equal(daap_kube_fake_calls(be, DAAP_KUBE_FAKE_WATCH), 2);
}

static void test_watch_from_a_forgotten_rv_expires(void **state)
{
    daap_kube_backend *be = *state;
    daap_kube_watch *w = NULL;
    daap_kube_event ev;
    daap_kube_list list = { 0 };
    daap_kube_ref ref = { DAAP_KUBE_SECRET, NS, "churn" };
    int i;

    assert_ok(daap__kube_list(&list, be, DAAP_KUBE_SECRET, NS, NULL));
    for (i = 0; i < 2100; i++) { /* more events than the fake remembers */
        assert_ok(create_json(be, "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"churn\","
                                  "\"namespace\":\"" NS "\"}}"));
        assert_ok(daap__kube_remove(be, &ref));
    }
    assert_ok(daap__kube_watch(&w, be, DAAP_KUBE_SECRET, NS, NULL, list.resource_version));
    assert_int_equal(daap__kube_watch_next(&ev, be, w, 0), DAAP_EEXPIRED);
    assert_int_equal(daap__kube_watch_next(&ev, be, w, 0), DAAP_ITEROVER);
    daap__kube_watch_free(be, w);
    daap_kube_list_dispose(&list);
}

static void test_watch_survives_its_backend(void **state)
{
    daap_kube_backend *be = NULL;
    daap_kube_watch *w = NULL;
    daap_kube_event ev;

    (void)state;
    assert_ok(daap_kube_fake_new(&be));
    assert_ok(daap__kube_watch(&w, be, DAAP_KUBE_CLUSTER, NULL, NULL, NULL));
    {
        int (*next)(daap_kube_event *, daap_kube_watch *, int32_t) = be->watch_next;
        void (*wfree)(daap_kube_watch *) = be->watch_free;
        daap__kube_free(be);
        assert_int_equal(next(&ev, w, 0), DAAP_ITEROVER);
        wfree(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cluster_create_runs_the_operator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_database_is_app, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ready_and_failed_phases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pooler_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletes_cascade_to_owned_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_with_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_and_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_patch_rolls_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_from_a_forgotten_rv_expires, setup, teardown),
        cmocka_unit_test(test_watch_survives_its_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
