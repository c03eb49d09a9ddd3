/* Structural rendering of the CNPG templates: types, substitution, injection,
 * load-time errors with positions, overrides and fallback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"
#include "tplutil.h"

static const char cluster_head[] =
    "apiVersion: postgresql.cnpg.io/v1\n"
    "kind: Cluster\n"
    "metadata:\n"
    "  name: {{CLUSTER_NAME}}\n"
    "  namespace: {{NAMESPACE}}\n"
    "  labels:\n"
    "    app.kubernetes.io/managed-by: daap\n"
    "    daap.dev/database-id: {{DATABASE_ID}}\n";   /* 8 lines */

static daap__templates *load_override(const char *dir)
{
    daap__templates *t = NULL;
    assert_ok(daap__templates_load(&t, dir));
    return t;
}

/* Load dir/cluster.yaml = cluster_head + body; expect DAAP_EINVALID whose
 * message contains want. */
static void expect_load_error(const char *body, const char *want)
{
    char *dir = tpl_mkdtemp(), *text;
    daap__templates *t = (daap__templates *)1;

    assert_true(asprintf(&text, "%s%s", cluster_head, body) > 0);
    tpl_write(dir, "cluster.yaml", text);
    assert_int_equal(daap__templates_load(&t, dir), DAAP_EINVALID);
    assert_null(t);
    if (!tpl_error_has(want))
        fail_msg("template body:\n%s", body);
    assert_true(tpl_error_has(dir));
    free(text);
    tpl_rmdir(dir);
}

static void expect_load_error_raw(const char *text, const char *want)
{
    char *dir = tpl_mkdtemp();
    daap__templates *t = NULL;

    tpl_write(dir, "cluster.yaml", text);
    assert_int_equal(daap__templates_load(&t, dir), DAAP_EINVALID);
    assert_null(t);
    if (!tpl_error_has(want))
        fail_msg("template:\n%s", text);
    tpl_rmdir(dir);
}

static void assert_str(json_object *o, const char *want)
{
    assert_non_null(o);
    assert_int_equal(json_object_get_type(o), json_type_string);
    assert_string_equal(json_object_get_string(o), want);
}

static void assert_int64(json_object *o, int64_t want)
{
    assert_non_null(o);
    assert_int_equal(json_object_get_type(o), json_type_int);
    assert_int_equal(json_object_get_int64(o), want);
}

/* ------------------------------------------------------------------ built-ins */

static void test_builtin_cluster(void **state)
{
    daap__templates *t = load_override(NULL);
    tpl_values v;
    json_object *j, *labels;
    int rc;

    (void)state;
    tpl_values_default(&v);
    j = tpl_render_json(t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS, &rc);
    assert_ok(rc);
    assert_str(tpl_get(j, "apiVersion", NULL), "postgresql.cnpg.io/v1");
    assert_str(tpl_get(j, "kind", NULL), "Cluster");
    assert_str(tpl_get(j, "metadata", "name", NULL), "daap-orders");
    assert_str(tpl_get(j, "metadata", "namespace", NULL), "team-a");
    labels = tpl_get(j, "metadata", "labels", NULL);
    assert_str(tpl_get(labels, "app.kubernetes.io/managed-by", NULL), "daap");
    assert_str(tpl_get(labels, "daap.dev/database-id", NULL), "01890a5d-ac96-774b-bcce-b302099a8057");
    assert_str(tpl_get(labels, "daap.dev/database", NULL), "orders");
    assert_str(tpl_get(labels, "daap.dev/owner-team", NULL), "payments");
    assert_int64(tpl_get(j, "spec", "instances", NULL), 3);
    assert_str(tpl_get(j, "spec", "imageName", NULL), "ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie");
    assert_str(tpl_get(j, "spec", "storage", "size", NULL), "10Gi");
    assert_str(tpl_get(j, "spec", "bootstrap", "initdb", "database", NULL), "orders");
    assert_str(tpl_get(j, "spec", "bootstrap", "initdb", "owner", NULL), "orders");
    assert_true(json_object_get_boolean(tpl_get(j, "spec", "bootstrap", "initdb", "dataChecksums", NULL)));
    assert_string_equal(daap__template_origin(t, DAAP__TEMPLATE_CLUSTER), "<built-in>/templates/cluster.yaml");
    json_object_put(j);
    daap__templates_free(t);
}

static void test_builtin_pooler(void **state)
{
    daap__templates *t = load_override("");
    tpl_values v;
    json_object *j;
    int rc;

    (void)state;
    tpl_values_default(&v);
    j = tpl_render_json(t, DAAP__TEMPLATE_POOLER, v.v, TPL_MARKERS, &rc);
    assert_ok(rc);
    assert_str(tpl_get(j, "kind", NULL), "Pooler");
    assert_str(tpl_get(j, "metadata", "name", NULL), "daap-orders-pooler");
    assert_str(tpl_get(j, "metadata", "labels", "daap.dev/owner-team", NULL), "payments");
    assert_str(tpl_get(j, "spec", "cluster", "name", NULL), "daap-orders");
    assert_int64(tpl_get(j, "spec", "instances", NULL), 1);
    assert_str(tpl_get(j, "spec", "type", NULL), "rw");
    assert_str(tpl_get(j, "spec", "pgbouncer", "poolMode", NULL), "transaction");
    assert_str(tpl_get(j, "spec", "pgbouncer", "parameters", "max_prepared_statements", NULL), "100");
    assert_null(tpl_get(j, "spec", "serviceTemplate", NULL));
    json_object_put(j);
    daap__templates_free(t);
}

static void test_markers_list(void **state)
{
    const char *const *m;
    size_t n, i, found = 0;
    tpl_values v;

    (void)state;
    m = daap__template_markers(&n);
    assert_int_equal(n, TPL_MARKERS);
    tpl_values_default(&v);
    for (i = 0; i < n; i++)
        found += strcmp(m[i], v.v[i].name) == 0;
    assert_int_equal(found, n);
}

/* ------------------------------------------------------------------ types */

static const char types_body[] =
    "spec:\n"
    "  int: 1\n"
    "  neg: -5\n"
    "  zero: 0\n"
    "  float: 1.5\n"
    "  yes_bool: true\n"
    "  no_bool: False\n"
    "  nothing: null\n"
    "  tilde: ~\n"
    "  empty:\n"
    "  quoted_int: \"1\"\n"
    "  quoted_bool: 'true'\n"
    "  quoted_null: \"null\"\n"
    "  word: hello world\n"
    "  block: |\n"
    "    line one\n"
    "    line two\n"
    "  instances: {{INSTANCES}}\n"
    "  version: {{PG_VERSION}}\n"
    "  quoted_marker: \"{{INSTANCES}}\"\n"
    "  single_marker: '{{PG_VERSION}}'\n"
    "  prefixed: v{{PG_VERSION}}\n"
    "  two: {{NAME}}-{{OWNER_TEAM}}\n"
    "  name_as_int: {{NAME}}\n"
    "  in_flow_seq: [{{NAME}}, x, {{INSTANCES}}]\n"
    "  in_flow_map: {size: {{STORAGE_SIZE}}, num: {{INSTANCES}}}\n"
    "  block_marker: |\n"
    "    db={{DATABASE}}\n"
    "  seq:\n"
    "    - {{OWNER}}\n"
    "    - 2\n";

static void test_types(void **state)
{
    char *dir = tpl_mkdtemp(), *text;
    daap__templates *t;
    tpl_values v;
    json_object *j, *s;
    int rc;

    (void)state;
    assert_true(asprintf(&text, "%s%s", cluster_head, types_body) > 0);
    tpl_write(dir, "cluster.yaml", text);
    t = load_override(dir);
    tpl_values_default(&v);
    tpl_values_set(&v, "NAME", "123", 0);   /* a digit string that is not an int value */
    j = tpl_render_json(t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS, &rc);
    assert_ok(rc);
    s = tpl_get(j, "spec", NULL);
    assert_int64(tpl_get(s, "int", NULL), 1);
    assert_int64(tpl_get(s, "neg", NULL), -5);
    assert_int64(tpl_get(s, "zero", NULL), 0);
    assert_int_equal(json_object_get_type(tpl_get(s, "float", NULL)), json_type_double);
    assert_true(json_object_get_double(tpl_get(s, "float", NULL)) == 1.5);
    assert_int_equal(json_object_get_type(tpl_get(s, "yes_bool", NULL)), json_type_boolean);
    assert_true(json_object_get_boolean(tpl_get(s, "yes_bool", NULL)));
    assert_int_equal(json_object_get_type(tpl_get(s, "no_bool", NULL)), json_type_boolean);
    assert_false(json_object_get_boolean(tpl_get(s, "no_bool", NULL)));
    assert_true(json_object_object_get_ex(s, "nothing", NULL));
    assert_null(tpl_get(s, "nothing", NULL));
    assert_true(json_object_object_get_ex(s, "tilde", NULL));
    assert_null(tpl_get(s, "tilde", NULL));
    assert_true(json_object_object_get_ex(s, "empty", NULL));
    assert_null(tpl_get(s, "empty", NULL));
    assert_str(tpl_get(s, "quoted_int", NULL), "1");
    assert_str(tpl_get(s, "quoted_bool", NULL), "true");
    assert_str(tpl_get(s, "quoted_null", NULL), "null");
    assert_str(tpl_get(s, "word", NULL), "hello world");
    assert_str(tpl_get(s, "block", NULL), "line one\nline two\n");
    assert_int64(tpl_get(s, "instances", NULL), 3);
    assert_int64(tpl_get(s, "version", NULL), 17);
    assert_str(tpl_get(s, "quoted_marker", NULL), "3");
    assert_str(tpl_get(s, "single_marker", NULL), "17");
    assert_str(tpl_get(s, "prefixed", NULL), "v17");
    assert_str(tpl_get(s, "two", NULL), "123-payments");
    assert_str(tpl_get(s, "name_as_int", NULL), "123");
    assert_int_equal(json_object_array_length(tpl_get(s, "in_flow_seq", NULL)), 3);
    assert_str(json_object_array_get_idx(tpl_get(s, "in_flow_seq", NULL), 0), "123");
    assert_str(json_object_array_get_idx(tpl_get(s, "in_flow_seq", NULL), 1), "x");
    assert_int64(json_object_array_get_idx(tpl_get(s, "in_flow_seq", NULL), 2), 3);
    assert_str(tpl_get(s, "in_flow_map", "size", NULL), "10Gi");
    assert_int64(tpl_get(s, "in_flow_map", "num", NULL), 3);
    assert_str(tpl_get(s, "block_marker", NULL), "db=orders\n");
    assert_str(json_object_array_get_idx(tpl_get(s, "seq", NULL), 0), "orders");
    assert_int64(json_object_array_get_idx(tpl_get(s, "seq", NULL), 1), 2);
    json_object_put(j);

    /* The same marker with is_int off is a string. */
    tpl_values_set(&v, "INSTANCES", "3", 0);
    j = tpl_render_json(t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS, &rc);
    assert_ok(rc);
    assert_str(tpl_get(j, "spec", "instances", NULL), "3");
    json_object_put(j);

    daap__templates_free(t);
    free(text);
    tpl_rmdir(dir);
}

/* ------------------------------------------------------------------ injection */

static const char *const evil[] = {
    "\"quoted\"", "'single'", "it's", "a: b", "key: value\nother: x", "line1\nline2\n",
    "{{NAME}}", "{{INSTANCES}}", "{{", "}}", "{{UNKNOWN}}", "# comment", "x # comment",
    "]: {", "}", "{a: 1}", "[1, 2]", "- item", "&anchor", "*alias", "!!int 3", "!tag x",
    "---\nkind: Secret", "...", "\\", "\\n", "\"\\u0000\"", "true", "null", "~", "3", "-1",
    "1.5", "0x10", "on", "", " ", " leading space", "trailing space ", "tab\there",
    "\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe2\x9c\x93", "%YAML 1.2", "|", ">", "?", "@", "`",
    "<<: {x: 1}", "\r\n", "a\"b'c\\d", "apiVersion: v1\nkind: Secret\n",
};

/* base was rendered with sentinel for the marker, got with the evil value:
 * same shape everywhere, and every string equals base's with the sentinel
 * replaced. */
static void assert_same_shape(json_object *base, json_object *got, const char *sentinel,
                              const char *value, const char *where)
{
    assert_int_equal(json_object_get_type(base), json_object_get_type(got));
    switch (json_object_get_type(base)) {
    case json_type_object: {
        assert_int_equal(json_object_object_length(base), json_object_object_length(got));
        json_object_object_foreach(base, key, bval) {
            json_object *gval;
            if (!json_object_object_get_ex(got, key, &gval))
                fail_msg("%s: key %s vanished", where, key);
            assert_same_shape(bval, gval, sentinel, value, where);
        }
        break;
    }
    case json_type_array: {
        size_t i, n = json_object_array_length(base);
        assert_int_equal(n, json_object_array_length(got));
        for (i = 0; i < n; i++)
            assert_same_shape(json_object_array_get_idx(base, i), json_object_array_get_idx(got, i),
                              sentinel, value, where);
        break;
    }
    case json_type_string: {
        const char *b = json_object_get_string(base), *p;
        char want[1024] = "";
        while ((p = strstr(b, sentinel)) != NULL) {
            strncat(want, b, (size_t)(p - b));
            strncat(want, value, sizeof(want) - strlen(want) - 1);
            b = p + strlen(sentinel);
        }
        strncat(want, b, sizeof(want) - strlen(want) - 1);
        if (strcmp(want, json_object_get_string(got)) != 0)
            fail_msg("%s: got '%s', want '%s'", where, json_object_get_string(got), want);
        break;
    }
    default:
        assert_true(json_object_equal(base, got));
    }
}

static void check_injection(const daap__templates *t, daap__template_kind kind)
{
    char sentinels[TPL_MARKERS][16];
    tpl_values base_v, v;
    json_object *base, *got;
    size_t m, e;
    int rc;

    tpl_values_default(&base_v);
    for (m = 0; m < TPL_MARKERS; m++) {
        snprintf(sentinels[m], sizeof(sentinels[m]), "@S%02zu@", m);
        tpl_values_set(&base_v, base_v.v[m].name, sentinels[m], 0);
    }
    base = tpl_render_json(t, kind, base_v.v, TPL_MARKERS, &rc);
    assert_ok(rc);
    for (m = 0; m < TPL_MARKERS; m++) {
        for (e = 0; e < sizeof(evil) / sizeof(evil[0]); e++) {
            char where[128];
            v = base_v;
            v.v[m].value = evil[e];
            snprintf(where, sizeof(where), "%s with value #%zu", v.v[m].name, e);
            got = tpl_render_json(t, kind, v.v, TPL_MARKERS, &rc);
            if (rc != 0)
                daap_test_print_error(where, rc);
            assert_ok(rc);
            assert_same_shape(base, got, sentinels[m], evil[e], where);
            json_object_put(got);
        }
    }
    json_object_put(base);
}

static void test_injection_builtin(void **state)
{
    daap__templates *t = load_override(NULL);

    (void)state;
    check_injection(t, DAAP__TEMPLATE_CLUSTER);
    check_injection(t, DAAP__TEMPLATE_POOLER);
    daap__templates_free(t);
}

/* The types template puts markers in flow collections, block scalars and
 * quotes: values stay data there too. */
static void test_injection_everywhere(void **state)
{
    char *dir = tpl_mkdtemp(), *text;
    daap__templates *t;

    (void)state;
    assert_true(asprintf(&text, "%s%s", cluster_head, types_body) > 0);
    tpl_write(dir, "cluster.yaml", text);
    t = load_override(dir);
    check_injection(t, DAAP__TEMPLATE_CLUSTER);
    daap__templates_free(t);
    free(text);
    tpl_rmdir(dir);
}

static void test_int_values_checked(void **state)
{
    static const char *const bad[] = { "3; rm -rf /", "", " 3", "+3", "3 ", "0x10", "1.5", "three",
                                       "99999999999999999999", "3\n", "{{INSTANCES}}" };
    daap__templates *t = load_override(NULL);
    daap_kube_object *obj = NULL;
    tpl_values v;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tpl_values_default(&v);
        tpl_values_set(&v, "INSTANCES", bad[i], 1);
        assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS), DAAP_EINVALID);
        assert_null(obj);
        assert_true(tpl_error_has("value for {{INSTANCES}} is not an integer"));
        assert_true(tpl_error_has("<built-in>/templates/cluster.yaml:19:14:"));
    }
    tpl_values_default(&v);
    tpl_values_set(&v, "INSTANCES", "-2", 1);   /* the renderer types, the validator judges */
    assert_ok(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS));
    daap_kube_object_free(obj);
    daap__templates_free(t);
}

/* ------------------------------------------------------------------ values */

static void test_missing_value(void **state)
{
    daap__templates *t = load_override(NULL);
    daap_kube_object *obj = (daap_kube_object *)1;
    tpl_values v;

    (void)state;
    tpl_values_default(&v);
    v.v[3] = v.v[TPL_MARKERS - 1];   /* drop NAME */
    assert_string_equal(v.v[3].name, "OWNER");
    assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS - 1), DAAP_EINVALID);
    assert_null(obj);
    assert_true(tpl_error_has("<built-in>/templates/cluster.yaml:16:24: no value for marker {{NAME}}"));

    /* A marker the template does not use need not have a value. */
    tpl_values_default(&v);
    v.v[8] = v.v[TPL_MARKERS - 1];   /* drop PG_VERSION */
    assert_string_equal(v.v[8].name, "OWNER");
    assert_ok(daap__template_render(&obj, t, DAAP__TEMPLATE_POOLER, v.v, TPL_MARKERS - 1));
    daap_kube_object_free(obj);

    assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_POOLER, NULL, 0), DAAP_EINVALID);
    assert_true(tpl_error_has("no value for marker {{"));
    daap__templates_free(t);
}

static void test_bad_values(void **state)
{
    daap__templates *t = load_override(NULL);
    daap_kube_object *obj = NULL;
    daap__template_value extra[TPL_MARKERS + 1];
    tpl_values v;

    (void)state;
    tpl_values_default(&v);
    memcpy(extra, v.v, sizeof(v.v));
    extra[TPL_MARKERS] = (daap__template_value){ "NAMES", "x", 0 };
    assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, extra, TPL_MARKERS + 1), DAAP_EINVALID);
    assert_true(tpl_error_has("template value NAMES is not a known marker"));

    extra[TPL_MARKERS] = (daap__template_value){ "NAME", "other", 0 };
    assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, extra, TPL_MARKERS + 1), DAAP_EINVALID);
    assert_true(tpl_error_has("template value NAME is given twice"));

    tpl_values_set(&v, "OWNER_TEAM", "bad\xff", 0);
    assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS), DAAP_EINVALID);
    assert_true(tpl_error_has("template value OWNER_TEAM is not valid UTF-8"));
    tpl_values_set(&v, "OWNER_TEAM", "\xed\xa0\x80", 0);   /* a UTF-16 surrogate */
    assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS), DAAP_EINVALID);
    tpl_values_set(&v, "OWNER_TEAM", NULL, 0);
    assert_int_equal(daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS), DAAP_EINVALID);
    assert_null(obj);
    daap__templates_free(t);
}

/* ------------------------------------------------------------------ load errors */

static void test_unknown_marker(void **state)
{
    (void)state;
    expect_load_error("spec:\n  instances: {{INSTANCE}}\n", "/cluster.yaml:10:14: unknown marker {{INSTANCE}}");
    expect_load_error("spec:\n  image: \"x-{{IMAGES}}\"\n", "/cluster.yaml:10:13: unknown marker {{IMAGES}}");
    expect_load_error("spec:\n  image: x\n# uses {{NOPE}}\n", "/cluster.yaml:11:8: unknown marker {{NOPE}}");
    expect_load_error("spec:\n  x: {{INSTANCE}}\n", "known: CLUSTER_NAME, POOLER_NAME");
    expect_load_error("spec:\n  instances: {{ INSTANCES }}\n", "/cluster.yaml:10:14: malformed marker");
    expect_load_error("spec:\n  instances: {{instances}}\n", "/cluster.yaml:10:14: malformed marker");
    expect_load_error("spec:\n  instances: \"{{INSTANCES\"\n", "/cluster.yaml:10:15: malformed marker");
    expect_load_error("spec:\n  {{NAME}}: x\n", "/cluster.yaml:10:3: markers are allowed in values only");
    expect_load_error("spec:\n  i: \"\\x7b\\x7bNOPE}}\"\n", "/cluster.yaml:10:6: unknown marker {{NOPE}}");
}

static void test_broken_yaml(void **state)
{
    (void)state;
    expect_load_error("spec: [\n", "/cluster.yaml:");
    expect_load_error("spec:\n  a: b\n c: d\n", "/cluster.yaml:11:2:");
    expect_load_error("spec:\n  a: \"unterminated\n", "/cluster.yaml:");
    expect_load_error("spec:\n\ta: b\n", "/cluster.yaml:10:1:");
    expect_load_error("spec: &a {x: 1}\nother: *a\n", "/cluster.yaml:9:7: anchors (&name) are not supported");
    expect_load_error("spec: *a\n", "/cluster.yaml:");
    expect_load_error("spec:\n  x: !!str 1\n", "/cluster.yaml:10:6: tags (!tag) are not supported");
    expect_load_error("spec:\n  x: !custom 1\n", "tags (!tag) are not supported");
    expect_load_error("spec:\n  <<: {x: 1}\n", "/cluster.yaml:10:3: merge keys (<<) are not supported");
    expect_load_error("spec:\n  a: 1\n  a: 2\n", "/cluster.yaml:11:3: duplicate key 'a'");
    expect_load_error("spec:\n  ? [a, b]\n  : c\n", "mapping keys must be scalars");
    expect_load_error("spec:\n  mode: on\n", "/cluster.yaml:10:9: plain scalar 'on' is read differently");
    expect_load_error("spec:\n  mode: yes\n", "plain scalar 'yes'");
    expect_load_error("spec:\n  num: 010\n", "plain scalar '010'");
    expect_load_error("spec:\n  num: 0x1F\n", "plain scalar '0x1F'");
    expect_load_error("spec:\n  num: 1e3\n", "plain scalar '1e3'");
    expect_load_error("spec:\n  num: 1_000\n", "plain scalar '1_000'");
    expect_load_error("spec:\n  num: 12:30\n", "plain scalar '12:30'");
    expect_load_error("spec:\n  num: .inf\n", "plain scalar '.inf'");
    expect_load_error("spec:\n  n: 1\n", "/cluster.yaml:10:3: plain scalar 'n' is read differently");
    expect_load_error("spec:\n  num: 99999999999999999999\n", "integer 99999999999999999999 is out of range");
    expect_load_error("---\nspec: {}\n", "a template holds exactly one YAML document");
    expect_load_error("spec: \"\xff\"\n", "/cluster.yaml:9:");
    expect_load_error("spec: \"a\\0b\"\n", "NUL characters are not allowed");
    expect_load_error("x: \xee\x80\x80\n", "/cluster.yaml:9:4: characters U+E000 and U+E001 are reserved");
}

static void test_bad_shape(void **state)
{
    char deep[400] = "spec: ";
    size_t i;

    (void)state;
    expect_load_error_raw("", "/cluster.yaml:1:1: the template is empty");
    expect_load_error_raw("# only a comment\n", "the template is empty");
    expect_load_error_raw("- a\n- b\n", "/cluster.yaml:1:1: a template must be a mapping");
    expect_load_error_raw("just text\n", "a template must be a mapping");
    expect_load_error_raw("apiVersion: v1\nkind: Cluster\nmetadata: {}\n",
                          "/cluster.yaml:1:13: apiVersion must be 'postgresql.cnpg.io/v1'");
    expect_load_error_raw("apiVersion: postgresql.cnpg.io/v1\nkind: Pooler\nmetadata: {}\n",
                          "/cluster.yaml:2:7: kind must be 'Cluster'");
    expect_load_error_raw("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n",
                          "/cluster.yaml:1:1: metadata must be a mapping");
    expect_load_error_raw("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: fixed\n",
                          "/cluster.yaml:4:9: metadata.name must be '{{CLUSTER_NAME}}'");
    expect_load_error_raw("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: {{CLUSTER_NAME}}\n",
                          "/cluster.yaml:4:3: metadata.namespace is required");
    for (i = 0; i < 70; i++)
        strcat(deep, "[");
    expect_load_error(deep, "nested too deeply");
}

static void test_labels_pinned(void **state)
{
    static const char no_id[] =
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n"
        "  name: {{CLUSTER_NAME}}\n  namespace: {{NAMESPACE}}\n"
        "  labels:\n    app.kubernetes.io/managed-by: daap\n";
    static const char other_owner[] =
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n"
        "  name: {{CLUSTER_NAME}}\n  namespace: {{NAMESPACE}}\n"
        "  labels:\n    app.kubernetes.io/managed-by: helm\n    daap.dev/database-id: {{DATABASE_ID}}\n";
    static const char pooler_fixed_cluster[] =
        "apiVersion: postgresql.cnpg.io/v1\nkind: Pooler\nmetadata:\n"
        "  name: {{POOLER_NAME}}\n  namespace: {{NAMESPACE}}\n"
        "  labels:\n    app.kubernetes.io/managed-by: daap\n    daap.dev/database-id: {{DATABASE_ID}}\n"
        "spec:\n  cluster:\n    name: shared\n";
    char *dir;
    daap__templates *t = NULL;

    (void)state;
    expect_load_error_raw(no_id, "/cluster.yaml:7:5: metadata.labels.daap.dev/database-id is required");
    expect_load_error_raw(other_owner, "/cluster.yaml:7:35: metadata.labels.app.kubernetes.io/managed-by must be 'daap'");
    dir = tpl_mkdtemp();
    tpl_write(dir, "pooler.yaml", pooler_fixed_cluster);
    assert_int_equal(daap__templates_load(&t, dir), DAAP_EINVALID);
    assert_true(tpl_error_has("/pooler.yaml:11:11: spec.cluster.name must be '{{CLUSTER_NAME}}'"));
    tpl_rmdir(dir);
}

/* ------------------------------------------------------------------ overrides */

static const char custom_pooler[] =
    "# a site's own pooler: more replicas, a LoadBalancer\n"
    "apiVersion: postgresql.cnpg.io/v1\n"
    "kind: Pooler\n"
    "metadata:\n"
    "  name: {{POOLER_NAME}}\n"
    "  namespace: {{NAMESPACE}}\n"
    "  labels:\n"
    "    app.kubernetes.io/managed-by: daap\n"
    "    daap.dev/database-id: {{DATABASE_ID}}\n"
    "  annotations:\n"
    "    example.com/for: \"{{NAME}} of {{OWNER_TEAM}}\"\n"
    "spec:\n"
    "  cluster: {name: {{CLUSTER_NAME}}}\n"
    "  instances: 3\n"
    "  type: rw\n"
    "  pgbouncer: {poolMode: transaction}\n"
    "  serviceTemplate:\n"
    "    spec: {type: LoadBalancer}\n";

static void test_override_and_fallback(void **state)
{
    char *dir = tpl_mkdtemp(), path[4200];
    daap__templates *t;
    tpl_values v;
    json_object *j;
    int rc;

    (void)state;
    tpl_write(dir, "pooler.yaml", custom_pooler);
    t = load_override(dir);
    snprintf(path, sizeof(path), "%s/pooler.yaml", dir);
    assert_string_equal(daap__template_origin(t, DAAP__TEMPLATE_POOLER), path);
    assert_string_equal(daap__template_origin(t, DAAP__TEMPLATE_CLUSTER), "<built-in>/templates/cluster.yaml");
    tpl_values_default(&v);
    j = tpl_render_json(t, DAAP__TEMPLATE_POOLER, v.v, TPL_MARKERS, &rc);
    assert_ok(rc);
    assert_int64(tpl_get(j, "spec", "instances", NULL), 3);
    assert_str(tpl_get(j, "spec", "serviceTemplate", "spec", "type", NULL), "LoadBalancer");
    assert_str(tpl_get(j, "metadata", "annotations", "example.com/for", NULL), "orders of payments");
    assert_null(tpl_get(j, "metadata", "labels", "daap.dev/owner-team", NULL));
    json_object_put(j);
    /* The cluster still comes from the built-in. */
    j = tpl_render_json(t, DAAP__TEMPLATE_CLUSTER, v.v, TPL_MARKERS, &rc);
    assert_ok(rc);
    assert_str(tpl_get(j, "metadata", "labels", "daap.dev/owner-team", NULL), "payments");
    json_object_put(j);
    daap__templates_free(t);
    tpl_rmdir(dir);
}

static void test_empty_dir_falls_back(void **state)
{
    char *dir = tpl_mkdtemp();
    daap__templates *t = load_override(dir);

    (void)state;
    assert_string_equal(daap__template_origin(t, DAAP__TEMPLATE_CLUSTER), "<built-in>/templates/cluster.yaml");
    assert_string_equal(daap__template_origin(t, DAAP__TEMPLATE_POOLER), "<built-in>/templates/pooler.yaml");
    daap__templates_free(t);
    tpl_rmdir(dir);
}

static void test_bad_dir(void **state)
{
    daap__templates *t = (daap__templates *)1;
    char *dir = tpl_mkdtemp(), path[4200];

    (void)state;
    assert_int_equal(daap__templates_load(&t, "/nonexistent/daap-templates"), DAAP_EINVALID);
    assert_null(t);
    assert_true(tpl_error_has("template directory /nonexistent/daap-templates: No such file or directory"));
    tpl_write(dir, "file", "x");
    snprintf(path, sizeof(path), "%s/file", dir);
    assert_int_equal(daap__templates_load(&t, path), DAAP_EINVALID);
    assert_true(tpl_error_has("is not a directory"));
    /* A directory where the file should be is an error, not a fallback. */
    snprintf(path, sizeof(path), "%s/cluster.yaml", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(daap__templates_load(&t, dir), DAAP_EINVALID);
    assert_true(tpl_error_has("not a regular file"));
    assert_int_equal(rmdir(path), 0);
    tpl_rmdir(dir);
}

/* ------------------------------------------------------------------ OOM */

typedef struct {
    long countdown;   /* the allocation that fails; <= 0: none */
    int  failed;
} oom_state;

static void *oom_malloc(size_t n, void *payload)
{
    oom_state *o = payload;
    if (o->countdown > 0 && --o->countdown == 0) {
        o->failed = 1;
        return NULL;
    }
    return malloc(n);
}

static void *oom_realloc(void *p, size_t n, void *payload)
{
    oom_state *o = payload;
    if (o->countdown > 0 && --o->countdown == 0) {
        o->failed = 1;
        return NULL;
    }
    return realloc(p, n);
}

static void oom_free(void *p, void *payload)
{
    (void)payload;
    free(p);
}

/* Load an override and render both kinds; every failed allocation must give
 * a clean error (and, under ASan, no leak). */
static int load_and_render(const char *dir)
{
    daap__templates *t = NULL;
    daap_kube_object *obj = NULL;
    tpl_values v;
    int rc, k;

    tpl_values_default(&v);
    if ((rc = daap__templates_load(&t, dir)) < 0) {
        assert_null(t);
        return rc;
    }
    for (k = 0; k < DAAP__TEMPLATE__COUNT && rc == 0; k++) {
        rc = daap__template_render(&obj, t, (daap__template_kind)k, v.v, TPL_MARKERS);
        if (rc < 0)
            assert_null(obj);
        daap_kube_object_free(obj);
        obj = NULL;
    }
    daap__templates_free(t);
    return rc;
}

static void test_oom(void **state)
{
    char *dir = tpl_mkdtemp(), *text;
    oom_state o = { 0, 0 };
    daap_allocator a = { DAAP_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, &o };
    long n;
    int rc;

    (void)state;
    assert_true(asprintf(&text, "%s%s", cluster_head, types_body) > 0);
    tpl_write(dir, "cluster.yaml", text);
    assert_ok(daap_set_allocator(&a));
    for (n = 1; n < 100000; n++) {
        o.countdown = n;
        o.failed = 0;
        rc = load_and_render(dir);
        if (!o.failed) {
            assert_int_equal(rc, 0);
            break;
        }
        if (rc != DAAP_ERROR)
            fail_msg("allocation %ld failed, rc %d: %s", n, rc, daap_error_last()->message);
    }
    assert_ok(daap_set_allocator(NULL));
    assert_true(n > 10 && n < 100000);
    free(text);
    tpl_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_cluster),
        cmocka_unit_test(test_builtin_pooler),
        cmocka_unit_test(test_markers_list),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_injection_builtin),
        cmocka_unit_test(test_injection_everywhere),
        cmocka_unit_test(test_int_values_checked),
        cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_unknown_marker),
        cmocka_unit_test(test_broken_yaml),
        cmocka_unit_test(test_bad_shape),
        cmocka_unit_test(test_labels_pinned),
        cmocka_unit_test(test_override_and_fallback),
        cmocka_unit_test(test_empty_dir_falls_back),
        cmocka_unit_test(test_bad_dir),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
