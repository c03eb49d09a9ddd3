/* The strict request-body parser. */
#include "db/reqjson.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

static int parse(const char *json)
{
    daap__rj_object o;
    int rc = daap__reqjson_parse(&o, json, strlen(json));
    if (rc == 0)
        daap__reqjson_dispose(&o);
    return rc;
}

static void test_accepts_flat_objects(void **state)
{
    daap__rj_object o;
    const char *j = "{\"name\":\"orders\",\"instances\":3,\"x\":null,\"y\":true,\"z\":[1,{\"a\":2}],\"e\":\"\\u00e9\\ud83d\\ude00\"}";
    (void)state;
    assert_ok(daap__reqjson_parse(&o, j, strlen(j)));
    assert_int_equal(o.count, 6);
    assert_string_equal(o.members[0].text, "orders");
    assert_int_equal(o.members[1].type, DAAP__RJ_NUMBER);
    assert_string_equal(o.members[1].text, "3");
    assert_int_equal(o.members[2].type, DAAP__RJ_NULL);
    assert_int_equal(o.members[4].type, DAAP__RJ_ARRAY);
    assert_string_equal(o.members[5].text, "\xc3\xa9\xf0\x9f\x98\x80");
    daap__reqjson_dispose(&o);
    assert_ok(parse("  {}  "));
}

static void test_rejects_bad_input(void **state)
{
    const char *bad[] = {
        "", "[]", "\"x\"", "{", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":1}x", "{\"a\":01}",
        "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"a\":\"\\n\"}",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":1,\"a\":2}", "{\"a\":\"\\x\"}", "{\"a\":\"unterminated}",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != DAAP_EINVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(daap_error_last()->field_count, 1);
        assert_string_equal(daap_error_last()->fields[0].field, "body");
    }
}

static void test_duplicate_key_message(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"name\":\"a\",\"name\":\"b\"}"), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "duplicate key \"name\""));
}

static void test_deep_nesting_is_refused_without_recursion_blowup(void **state)
{
    size_t depth = 10000, i;
    char *j = malloc(depth * 2 + 16);
    (void)state;
    strcpy(j, "{\"a\":");
    for (i = 0; i < depth; i++) j[5 + i] = '[';
    for (i = 0; i < depth; i++) j[5 + depth + i] = ']';
    strcpy(j + 5 + 2 * depth, "}");
    assert_int_equal(parse(j), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "nested too deeply"));
    free(j);
}

static void test_too_many_members(void **state)
{
    char j[4096];
    size_t i, n = 0;
    (void)state;
    n += (size_t)sprintf(j, "{");
    for (i = 0; i < 40; i++)
        n += (size_t)sprintf(j + n, "%s\"k%zu\":1", i ? "," : "", i);
    sprintf(j + n, "}");
    assert_int_equal(parse(j), DAAP_EINVALID);
}

static void test_embedded_nul_in_body(void **state)
{
    daap__rj_object o;
    const char j[] = "{\"a\":\"x\"}\0junk";
    (void)state;
    assert_int_equal(daap__reqjson_parse(&o, j, sizeof(j) - 1), DAAP_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_flat_objects),
        cmocka_unit_test(test_rejects_bad_input),
        cmocka_unit_test(test_duplicate_key_message),
        cmocka_unit_test(test_deep_nesting_is_refused_without_recursion_blowup),
        cmocka_unit_test(test_too_many_members),
        cmocka_unit_test(test_embedded_nul_in_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
