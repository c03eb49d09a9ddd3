/* Kubernetes objects: parsing, dotted paths, setters, labels, conditions,
 * Secret values, lists, kinds, base64, the error table and the dispatch
 * wrappers' checks. */
#include "common.h"
#include "kube/kube.h"
#include "kube/kube_object.h"
#include "support.h"

static daap_kube_object *parse(const char *json)
{
    daap_kube_object *obj = NULL;
    assert_ok(daap_kube_object_parse(&obj, json, strlen(json)));
    return obj;
}

static const char cluster_json[] =
    "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Cluster\","
    "\"metadata\":{\"name\":\"daap-foo\",\"namespace\":\"team-a\","
    "\"labels\":{\"app.kubernetes.io/managed-by\":\"daap\",\"daap.dev/database-id\":\"42\"}},"
    "\"spec\":{\"instances\":3,\"ports\":[{\"name\":\"pg\",\"port\":5432}]},"
    "\"status\":{\"phase\":\"Setting up primary\",\"conditions\":["
    "{\"type\":\"Initialized\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"False\"}]}}";

static void test_parse_rejects_what_is_not_one_object(void **state)
{
    static const char *const bad[] = { "", "[]", "42", "\"s\"", "{", "{\"a\":1} x", "{\"a\":1}{}",
                                       "{\"a\":\"\xff\"}" };
    daap_kube_object *obj;
    size_t i;

    (void)state;
    for (i = 0; i < DAAP_ARRAY_SIZE(bad); i++) {
        obj = (daap_kube_object *)1;
        assert_int_equal(daap_kube_object_parse(&obj, bad[i], strlen(bad[i])), DAAP_EINVALID);
        assert_null(obj);
    }
    obj = parse(" {\"a\":1}\n ");
    daap_kube_object_free(obj);
}

static void test_str_and_int_by_path(void **state)
{
    daap_kube_object *obj = parse(cluster_json);
    int64_t v = 0;

    (void)state;
    assert_string_equal(daap_kube_object_str(obj, "metadata.name"), "daap-foo");
    assert_string_equal(daap_kube_object_str(obj, "status.conditions.1.type"), "Ready");
    assert_string_equal(daap_kube_object_str(obj, "spec.ports.0.name"), "pg");
    assert_string_equal(daap_kube_object_str(obj, "metadata.labels.app\\.kubernetes\\.io/managed-by"), "daap");
    assert_null(daap_kube_object_str(obj, "metadata.labels.app.kubernetes.io/managed-by"));
    assert_null(daap_kube_object_str(obj, "spec.instances"));   /* not a string */
    assert_null(daap_kube_object_str(obj, "spec.ports.7.name")); /* out of range */
    assert_null(daap_kube_object_str(obj, "spec.ports.x"));
    assert_null(daap_kube_object_str(obj, "metadata..name"));
    assert_null(daap_kube_object_str(obj, "metadata."));
    assert_null(daap_kube_object_str(obj, ""));
    assert_null(daap_kube_object_str(NULL, "metadata.name"));
    assert_ok(daap_kube_object_int(&v, obj, "spec.instances"));
    assert_int_equal(v, 3);
    assert_ok(daap_kube_object_int(&v, obj, "spec.ports.0.port"));
    assert_int_equal(v, 5432);
    assert_int_equal(daap_kube_object_int(&v, obj, "metadata.name"), DAAP_ENOTFOUND);
    assert_int_equal(daap_kube_object_int(&v, obj, "spec.nothing"), DAAP_ENOTFOUND);
    daap_kube_object_free(obj);
}

static void test_setters_create_intermediates(void **state)
{
    daap_kube_object *obj = parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":[{\"port\":1}]}}");
    int64_t v;

    (void)state;
    assert_ok(daap_kube_object_set_str(obj, "metadata.labels.daap\\.dev/database-id", "id-1"));
    assert_string_equal(daap_kube_object_label(obj, "daap.dev/database-id"), "id-1");
    assert_ok(daap_kube_object_set_int(obj, "spec.a.b.c", 7));
    assert_ok(daap_kube_object_int(&v, obj, "spec.a.b.c"));
    assert_int_equal(v, 7);
    assert_ok(daap_kube_object_set_str(obj, "metadata.name", "y"));
    assert_string_equal(daap_kube_object_str(obj, "metadata.name"), "y");
    assert_ok(daap_kube_object_set_int(obj, "spec.ports.0.port", 5432));
    assert_ok(daap_kube_object_int(&v, obj, "spec.ports.0.port"));
    assert_int_equal(v, 5432);
    /* a string cannot hold a field; an array only its existing slots */
    assert_int_equal(daap_kube_object_set_str(obj, "metadata.name.sub", "z"), DAAP_EINVALID);
    assert_int_equal(daap_kube_object_set_int(obj, "spec.ports.3", 1), DAAP_EINVALID);
    assert_int_equal(daap_kube_object_set_str(obj, "a..b", "z"), DAAP_EINVALID);
    assert_int_equal(daap_kube_object_set_str(obj, "", "z"), DAAP_EINVALID);
    assert_string_equal(daap_kube_object_str(obj, "metadata.name"), "y");
    daap_kube_object_free(obj);
}

static void test_to_json_round_trip_and_dup(void **state)
{
    daap_kube_object *obj = parse(cluster_json), *copy = NULL, *back = NULL;
    daap_buf out = DAAP_BUF_INIT;

    (void)state;
    assert_ok(daap_kube_object_dup(&copy, obj));
    assert_ok(daap_kube_object_set_str(copy, "metadata.name", "other"));
    assert_string_equal(daap_kube_object_str(obj, "metadata.name"), "daap-foo");
    assert_ok(daap_kube_object_to_json(&out, obj));
    assert_non_null(strstr(out.ptr, "\"app.kubernetes.io/managed-by\":\"daap\"")); /* no \/ escapes */
    assert_ok(daap_kube_object_parse(&back, out.ptr, out.size));
    assert_string_equal(daap_kube_object_str(back, "status.phase"), "Setting up primary");
    daap_buf_dispose(&out);
    daap_kube_object_free(back);
    daap_kube_object_free(copy);
    daap_kube_object_free(obj);
    daap_kube_object_free(NULL);
}

static void test_labels_and_conditions(void **state)
{
    daap_kube_object *obj = parse(cluster_json), *bare = parse("{}");

    (void)state;
    assert_string_equal(daap_kube_object_label(obj, "daap.dev/database-id"), "42");
    assert_null(daap_kube_object_label(obj, "nope"));
    assert_null(daap_kube_object_label(bare, "nope"));
    assert_int_equal(daap_kube_object_condition(obj, "Ready"), 0);
    assert_int_equal(daap_kube_object_condition(obj, "Initialized"), 1);
    assert_int_equal(daap_kube_object_condition(obj, "Healthy"), DAAP_ENOTFOUND);
    assert_int_equal(daap_kube_object_condition(bare, "Ready"), DAAP_ENOTFOUND);
    daap_kube_object_free(obj);
    daap_kube_object_free(bare);
}

static void test_secret_values_are_decoded(void **state)
{
    daap_kube_object *s = parse("{\"kind\":\"Secret\",\"metadata\":{\"name\":\"daap-foo-app\"},"
                                "\"data\":{\"password\":\"czNjcjN0\",\"tls.crt\":\"\",\"bad\":\"czNj*3I=\"}}");
    daap_buf v = DAAP_BUF_INIT;
    int rc;

    (void)state;
    assert_ok(daap_kube_object_secret_value(&v, s, "password"));
    assert_string_equal(v.ptr, "s3cr3t");
    daap_buf_dispose(&v);
    assert_ok(daap_kube_object_secret_value(&v, s, "tls.crt"));
    assert_int_equal(v.size, 0);
    assert_int_equal(daap_kube_object_secret_value(&v, s, "username"), DAAP_ENOTFOUND);
    rc = daap_kube_object_secret_value(&v, s, "bad");
    assert_int_equal(rc, DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "bad"));
    assert_null(strstr(daap_error_last()->message, "czNj")); /* never the value */
    daap_buf_dispose(&v);
    daap_kube_object_free(s);
}

static void test_base64_vectors(void **state)
{
    static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    static const char *const bad[] = { "Zg=", "Z===", "Zm9v!", "Zg==Zg==", "Zm=v", "====" };
    daap_buf b = DAAP_BUF_INIT;
    size_t i;

    (void)state;
    for (i = 0; i < DAAP_ARRAY_SIZE(plain); i++) {
        daap__buf_clear(&b);
        assert_ok(daap__base64_encode(&b, plain[i], strlen(plain[i])));
        assert_string_equal(b.ptr ? b.ptr : "", coded[i]);
        daap__buf_clear(&b);
        assert_ok(daap__base64_decode(&b, coded[i], strlen(coded[i])));
        assert_int_equal(b.size, strlen(plain[i]));
        assert_memory_equal(b.ptr ? b.ptr : "", plain[i], b.size);
    }
    for (i = 0; i < DAAP_ARRAY_SIZE(bad); i++) {
        daap__buf_clear(&b);
        assert_int_equal(daap__base64_decode(&b, bad[i], strlen(bad[i])), DAAP_EINVALID);
        assert_int_equal(b.size, 0);
    }
    daap_buf_dispose(&b);
}

static void test_list_push_and_dispose(void **state)
{
    daap_kube_list list = { 0 };
    int i;

    (void)state;
    for (i = 0; i < 40; i++)
        assert_ok(daap_kube_list_push(&list, parse("{\"a\":1}")));
    assert_int_equal(list.count, 40);
    assert_int_equal(daap_kube_list_push(&list, NULL), DAAP_EINVALID);
    list.resource_version = daap__strdup("12");
    daap_kube_list_dispose(&list);
    assert_int_equal(list.count, 0);
    assert_null(list.items);
    daap_kube_list_dispose(NULL);
}

static void test_kinds(void **state)
{
    daap_kube_object *obj = parse(cluster_json), *secret = parse("{\"metadata\":{\"name\":\"s\"}}");
    const daap_kube_kind_info *info = daap_kube_kind_describe(DAAP_KUBE_DEPLOYMENT);

    (void)state;
    assert_string_equal(info->api_prefix, "/apis/apps/v1");
    assert_string_equal(info->plural, "deployments");
    assert_false(daap_kube_kind_describe(DAAP_KUBE_NAMESPACE)->namespaced);
    assert_null(daap_kube_kind_describe(0));
    assert_null(daap_kube_kind_describe(DAAP_KUBE_NAMESPACE + 1));
    assert_int_equal(daap__kube_kind_of(obj), DAAP_KUBE_CLUSTER);
    assert_int_equal(daap__kube_kind_of(secret), DAAP_EINVALID);
    assert_ok(daap__kube_object_set_kind(secret, DAAP_KUBE_SECRET));
    assert_string_equal(daap_kube_object_str(secret, "apiVersion"), "v1");
    assert_int_equal(daap__kube_kind_of(secret), DAAP_KUBE_SECRET);
    daap_kube_object_free(obj);
    daap_kube_object_free(secret);
}

static int status_code_of(long http, const char *json)
{
    daap_kube_object *status = json ? parse(json) : NULL;
    int rc = daap__kube_status_error(http, status, "get Cluster team-a/x");
    daap_kube_object_free(status);
    return rc;
}

static void test_status_table(void **state)
{
    (void)state;
    assert_int_equal(status_code_of(404, "{\"kind\":\"Status\",\"reason\":\"NotFound\","
                                         "\"message\":\"clusters.postgresql.cnpg.io \\\"x\\\" not found\"}"),
                     DAAP_ENOTFOUND);
    assert_string_equal(daap_error_last()->message,
                        "get Cluster team-a/x: 404 NotFound: clusters.postgresql.cnpg.io \"x\" not found");
    assert_int_equal(status_code_of(409, "{\"reason\":\"AlreadyExists\"}"), DAAP_EEXISTS);
    assert_int_equal(status_code_of(409, "{\"reason\":\"Conflict\"}"), DAAP_ECONFLICT);
    assert_int_equal(status_code_of(401, NULL), DAAP_EAUTH);
    assert_int_equal(status_code_of(403, NULL), DAAP_EAUTH);
    assert_int_equal(status_code_of(410, NULL), DAAP_EEXPIRED);
    assert_int_equal(status_code_of(400, NULL), DAAP_EINVALID);
    assert_int_equal(status_code_of(415, NULL), DAAP_EINVALID);
    assert_int_equal(status_code_of(429, NULL), DAAP_EUNAVAILABLE);
    assert_int_equal(status_code_of(500, NULL), DAAP_EUNAVAILABLE);
    assert_int_equal(status_code_of(503, NULL), DAAP_EUNAVAILABLE);
    assert_int_equal(status_code_of(504, NULL), DAAP_ETIMEOUT);
    assert_int_equal(daap_error_last()->klass, DAAP_ERRCLASS_KUBE);
}

static void test_status_keeps_the_causes_of_a_422(void **state)
{
    const char *msg;

    (void)state;
    assert_int_equal(status_code_of(422,
        "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"Cluster \\\"Daap_Foo\\\" is invalid\","
        "\"details\":{\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: must be lowercase\","
        "\"field\":\"metadata.name\"},{\"message\":\"is invalid\",\"field\":\"x\"}]}}"), DAAP_EINVALID);
    msg = daap_error_last()->message;
    assert_non_null(strstr(msg, "422 Invalid: Cluster \"Daap_Foo\" is invalid"));
    assert_non_null(strstr(msg, "(metadata.name: Invalid value: must be lowercase)")); /* new text only once */
}

static void test_ref_string(void **state)
{
    char buf[DAAP__KUBE_REF_STRLEN];
    daap_kube_ref ns = { DAAP_KUBE_POOLER, "team-a", "daap-foo-pooler" };
    daap_kube_ref cluster_scoped = { DAAP_KUBE_NAMESPACE, "ignored", "team-a" };

    (void)state;
    assert_string_equal(daap__kube_ref_string(buf, sizeof(buf), &ns), "Pooler team-a/daap-foo-pooler");
    assert_string_equal(daap__kube_ref_string(buf, sizeof(buf), &cluster_scoped), "Namespace team-a");
}

static void test_check_refuses_broken_backends(void **state)
{
    daap_kube_backend *be = NULL;
    daap_kube_backend copy;

    (void)state;
    assert_ok(daap_kube_fake_new(&be));
    assert_ok(daap__kube_check(be));
    copy = *be;
    copy.version = 0;
    assert_int_equal(daap__kube_check(&copy), DAAP_EINVALID);
    copy = *be;
    copy.version = DAAP_KUBE_BACKEND_VERSION + 1;
    assert_int_equal(daap__kube_check(&copy), DAAP_EINVALID);
    copy = *be;
    copy.list = NULL;
    assert_int_equal(daap__kube_check(&copy), DAAP_EINVALID);
    copy = *be;
    copy.watch_next = NULL;
    assert_int_equal(daap__kube_check(&copy), DAAP_EINVALID);
    copy.caps = 0; /* no watch claimed: the watch methods are optional */
    assert_ok(daap__kube_check(&copy));
    daap__kube_free(be);
    daap__kube_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects_what_is_not_one_object),
        cmocka_unit_test(test_str_and_int_by_path),
        cmocka_unit_test(test_setters_create_intermediates),
        cmocka_unit_test(test_to_json_round_trip_and_dup),
        cmocka_unit_test(test_labels_and_conditions),
        cmocka_unit_test(test_secret_values_are_decoded),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_list_push_and_dispose),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_status_keeps_the_causes_of_a_422),
        cmocka_unit_test(test_ref_string),
        cmocka_unit_test(test_check_refuses_broken_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
