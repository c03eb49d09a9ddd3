/* Object summaries and the snapshot a full reconcile pass compares records
 * with: what a summary keeps and drops, and the sorted lists a watch keeps
 * current from its events. */
#include "common.h"
#include "kube/kube.h"
#include "kube/kube_object.h"
#include "lifecycle/snapshot.h"
#include "support.h"

#include <stdio.h>

static daap_kube_object *parse(const char *json)
{
    daap_kube_object *obj = NULL;
    assert_ok(daap_kube_object_parse(&obj, json, strlen(json)));
    return obj;
}

static daap_kube_object *cluster(const char *name, const char *phase)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Cluster\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"daap\",\"resourceVersion\":\"7\","
             "\"labels\":{\"daap.dev/database-id\":\"id-%s\"},"
             "\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:spec\":{}}}]},"
             "\"spec\":{\"instances\":3,\"imageName\":\"img:17\",\"storage\":{\"size\":\"1Gi\"}},"
             "\"status\":{\"phase\":\"%s\",\"phaseReason\":\"why\",\"readyInstances\":1,"
             "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"message\":\"a long message\"}]}}",
             name, name, phase);
    return parse(json);
}

static void test_summary_keeps_what_the_reconciler_reads(void **state)
{
    daap_kube_object *full = cluster("daap-orders", "Cluster in healthy state"), *small;
    daap_buf text = DAAP_BUF_INIT;
    int64_t n = 0;

    (void)state;
    assert_ok(daap__kube_object_summary(&small, full));
    daap_kube_object_free(full); /* the summary must not depend on the original */
    assert_string_equal(daap_kube_object_str(small, "metadata.name"), "daap-orders");
    assert_string_equal(daap_kube_object_str(small, "metadata.resourceVersion"), "7");
    assert_string_equal(daap_kube_object_label(small, "daap.dev/database-id"), "id-daap-orders");
    assert_string_equal(daap_kube_object_str(small, "status.phase"), "Cluster in healthy state");
    assert_string_equal(daap_kube_object_str(small, "status.phaseReason"), "why");
    assert_ok(daap_kube_object_int(&n, small, "status.readyInstances"));
    assert_int_equal(n, 1);
    assert_int_equal(daap_kube_object_condition(small, "Ready"), 1);
    assert_int_equal(daap__kube_kind_of(small), DAAP_KUBE_CLUSTER);
    /* managedFields and condition messages are what made lists big; of the
     * spec only what a resize compares is kept (docs/day2.md). */
    assert_string_equal(daap_kube_object_str(small, "spec.storage.size"), "1Gi");
    assert_ok(daap_kube_object_int(&n, small, "spec.instances"));
    assert_int_equal(n, 3);
    assert_null(daap_kube_object_str(small, "spec.imageName"));
    assert_ok(daap_kube_object_to_json(&text, small));
    assert_null(strstr(text.ptr, "managedFields"));
    assert_null(strstr(text.ptr, "a long message"));
    daap_buf_dispose(&text);
    daap_kube_object_free(small);
}

static void test_summary_of_a_sparse_object(void **state)
{
    daap_kube_object *full = parse("{\"metadata\":{\"name\":\"x\"}}"), *small;

    (void)state;
    assert_ok(daap__kube_object_summary(&small, full));
    assert_string_equal(daap_kube_object_str(small, "metadata.name"), "x");
    assert_null(daap_kube_object_str(small, "status.phase"));
    assert_int_equal(daap_kube_object_condition(small, "Ready"), DAAP_ENOTFOUND);
    daap_kube_object_free(full);
    daap_kube_object_free(small);
}

/* The summary's label table names the labels the reconciler reads. */
static void test_summary_keeps_daaps_labels_only(void **state)
{
    daap_kube_object *full = cluster("daap-orders", "x"), *small;

    (void)state;
    assert_ok(daap_kube_object_set_str(full, "metadata.labels.app\\.kubernetes\\.io/managed-by", "daap"));
    assert_ok(daap_kube_object_set_str(full, "metadata.labels.team", "payments"));
    assert_ok(daap__kube_object_summary(&small, full));
    assert_string_equal(daap_kube_object_label(small, DAAP__LABEL_MANAGED_BY), "daap");
    assert_string_equal(daap_kube_object_label(small, DAAP__LABEL_DB_ID), "id-daap-orders");
    assert_string_equal(daap__object_db_id(small), "id-daap-orders");
    assert_null(daap_kube_object_label(small, "team"));
    daap_kube_object_free(full);
    daap_kube_object_free(small);
}

/* What made the watch cache 30 KiB per database: a json-c tree per object. */
static void test_summary_is_packed_small(void **state)
{
    daap_kube_object *full = cluster("daap-orders-0123456789", "Cluster in healthy state"), *small, *copy;

    (void)state;
    assert_int_equal(daap__kube_object_packed_size(full), 0);
    assert_ok(daap__kube_object_summary(&small, full));
    assert_in_range(daap__kube_object_packed_size(small), 40, 160);
    assert_ok(daap_kube_object_dup(&copy, small));
    assert_int_equal(daap__kube_object_packed_size(copy), daap__kube_object_packed_size(small));
    assert_string_equal(daap_kube_object_str(copy, "status.phase"), "Cluster in healthy state");
    daap_kube_object_free(copy);
    daap_kube_object_free(full);
    daap_kube_object_free(small);
}

/* A write to a summary turns it into a document with every field it had. */
static void test_summary_written_to_becomes_json(void **state)
{
    daap_kube_object *full = cluster("daap-orders", "Setting up primary"), *small;
    int64_t n = 0;

    (void)state;
    assert_ok(daap__kube_object_summary(&small, full));
    daap_kube_object_free(full);
    assert_ok(daap_kube_object_set_str(small, "status.phase", "Cluster in healthy state"));
    assert_int_equal(daap__kube_object_packed_size(small), 0);
    assert_string_equal(daap_kube_object_str(small, "status.phase"), "Cluster in healthy state");
    assert_string_equal(daap_kube_object_str(small, "metadata.namespace"), "daap");
    assert_string_equal(daap_kube_object_str(small, "kind"), "Cluster");
    assert_ok(daap_kube_object_int(&n, small, "spec.instances"));
    assert_int_equal(n, 3);
    assert_int_equal(daap_kube_object_condition(small, "Ready"), 1);
    assert_ok(daap__kube_object_merge_patch(small, "{\"status\":{\"readyInstances\":3}}",
                                                 strlen("{\"status\":{\"readyInstances\":3}}")));
    assert_ok(daap_kube_object_int(&n, small, "status.readyInstances"));
    assert_int_equal(n, 3);
    daap_kube_object_free(small);
}

/* Readers of a summary answer like those of the whole object for what it
 * keeps, and "absent" for the rest, types included. */
static void test_summary_reads_like_the_object(void **state)
{
    static const char *const paths[] = { "metadata.name", "metadata.namespace", "metadata.resourceVersion",
                                         "status.phase", "status.phaseReason", "spec.storage.size",
                                         "apiVersion", "kind" };
    daap_kube_object *full = cluster("daap-orders", "Setting up primary"), *small;
    int64_t a = 0, b = 0;
    size_t i;

    (void)state;
    assert_ok(daap_kube_object_set_str(full, "status.conditions.0.status", "False"));
    assert_ok(daap__kube_object_summary(&small, full));
    for (i = 0; i < DAAP_ARRAY_SIZE(paths); i++)
        assert_string_equal(daap_kube_object_str(small, paths[i]), daap_kube_object_str(full, paths[i]));
    assert_ok(daap_kube_object_int(&a, full, "status.readyInstances"));
    assert_ok(daap_kube_object_int(&b, small, "status.readyInstances"));
    assert_int_equal(a, b);
    assert_null(daap_kube_object_str(small, "status.readyInstances"));        /* an integer */
    assert_int_equal(daap_kube_object_int(&a, small, "status.phase"), DAAP_ENOTFOUND); /* a string */
    assert_int_equal(daap_kube_object_int(&a, small, "status.nothing"), DAAP_ENOTFOUND);
    assert_int_equal(daap_kube_object_condition(small, "Ready"), 0);
    assert_int_equal(daap_kube_object_condition(small, "Other"), DAAP_ENOTFOUND);
    daap_kube_object_free(full);
    daap_kube_object_free(small);
}

static void put(daap__snapshot *s, int kind, const char *name, const char *phase)
{
    daap_kube_object *obj = cluster(name, phase);
    assert_ok(daap__snapshot_put(s, kind, obj));
    daap_kube_object_free(obj);
}

static void assert_sorted(const daap_kube_list *l)
{
    size_t i;
    for (i = 1; i < l->count; i++)
        assert_true(strcmp(daap_kube_object_str(l->items[i - 1], "metadata.name"),
                           daap_kube_object_str(l->items[i], "metadata.name")) < 0);
}

static void test_snapshot_put_find_drop(void **state)
{
    static const char *const names[] = { "daap-m", "daap-c", "daap-x", "daap-a", "daap-q", "daap-b" };
    daap__snapshot s;
    size_t i;

    (void)state;
    memset(&s, 0, sizeof(s));
    for (i = 0; i < DAAP_ARRAY_SIZE(names); i++)
        put(&s, DAAP_KUBE_CLUSTER, names[i], "Setting up primary");
    assert_int_equal(s.clusters.count, DAAP_ARRAY_SIZE(names));
    assert_int_equal(s.poolers.count, 0);
    assert_sorted(&s.clusters);
    for (i = 0; i < DAAP_ARRAY_SIZE(names); i++)
        assert_non_null(daap__snapshot_find(&s, DAAP_KUBE_CLUSTER, names[i]));
    assert_null(daap__snapshot_find(&s, DAAP_KUBE_CLUSTER, "daap-zz"));
    assert_null(daap__snapshot_find(&s, DAAP_KUBE_POOLER, "daap-m"));

    /* A MODIFIED event replaces the entry in place. */
    put(&s, DAAP_KUBE_CLUSTER, "daap-q", "Cluster in healthy state");
    assert_int_equal(s.clusters.count, DAAP_ARRAY_SIZE(names));
    assert_string_equal(daap_kube_object_str(daap__snapshot_find(&s, DAAP_KUBE_CLUSTER, "daap-q"), "status.phase"),
                        "Cluster in healthy state");

    /* DELETED events remove; first, middle and last positions. */
    daap__snapshot_drop(&s, DAAP_KUBE_CLUSTER, "daap-a");
    daap__snapshot_drop(&s, DAAP_KUBE_CLUSTER, "daap-m");
    daap__snapshot_drop(&s, DAAP_KUBE_CLUSTER, "daap-x");
    daap__snapshot_drop(&s, DAAP_KUBE_CLUSTER, "daap-none");
    assert_int_equal(s.clusters.count, 3);
    assert_sorted(&s.clusters);
    assert_null(daap__snapshot_find(&s, DAAP_KUBE_CLUSTER, "daap-m"));
    assert_non_null(daap__snapshot_find(&s, DAAP_KUBE_CLUSTER, "daap-b"));

    /* Other kinds (Deployments) are not kept. */
    put(&s, DAAP_KUBE_DEPLOYMENT, "daap-m-pooler", "x");
    put(&s, DAAP_KUBE_POOLER, "daap-b-pooler", "x");
    assert_int_equal(s.poolers.count, 1);
    assert_int_equal(s.clusters.count, 3);
    daap__snapshot_dispose(&s);
}

static void test_list_summaries_come_sorted_and_small(void **state)
{
    daap_kube_backend *be = NULL;
    daap_kube_list l = { 0 };
    static const char *const names[] = { "daap-k", "daap-b", "daap-t" };
    size_t i;

    (void)state;
    assert_ok(daap_kube_fake_new(&be));
    for (i = 0; i < DAAP_ARRAY_SIZE(names); i++) {
        daap_kube_object *obj = cluster(names[i], "Setting up primary");
        assert_ok(daap_kube_object_set_str(obj, "metadata.labels.app\\.kubernetes\\.io/managed-by", "daap"));
        assert_ok(daap__kube_create(NULL, be, obj));
        daap_kube_object_free(obj);
    }
    assert_ok(daap__kube_list_summaries(&l, be, DAAP_KUBE_CLUSTER, "daap", DAAP__SELECTOR));
    assert_int_equal(l.count, 3);
    assert_sorted(&l);
    assert_null(daap_kube_object_str(l.items[0], "spec.imageName"));
    assert_non_null(l.resource_version);
    daap_kube_list_dispose(&l);
    daap__kube_free(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_keeps_what_the_reconciler_reads),
        cmocka_unit_test(test_summary_of_a_sparse_object),
        cmocka_unit_test(test_summary_keeps_daaps_labels_only),
        cmocka_unit_test(test_summary_is_packed_small),
        cmocka_unit_test(test_summary_written_to_becomes_json),
        cmocka_unit_test(test_summary_reads_like_the_object),
        cmocka_unit_test(test_snapshot_put_find_drop),
        cmocka_unit_test(test_list_summaries_come_sorted_and_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
