/* GET /databases query strings. */
#include "common.h"
#include "support.h"

static int parse(daap_db_list_options *o, daap_buf *scratch, const char *q)
{
    return daap_db_list_options_parse(o, scratch, q);
}

static void test_all_parameters(void **state)
{
    daap_db_list_options o;
    daap_buf s = DAAP_BUF_INIT;
    (void)state;
    assert_ok(parse(&o, &s, "owner_team=pay%2Dments&status=ready,error&name=ord&limit=50&cursor=abc&include_deleted=true"));
    assert_string_equal(o.owner_team, "pay-ments");
    assert_int_equal(o.status_mask, DAAP_DB_STATUS_BIT(DAAP_DB_READY) | DAAP_DB_STATUS_BIT(DAAP_DB_ERROR));
    assert_string_equal(o.name_prefix, "ord");
    assert_int_equal(o.limit, 50);
    assert_string_equal(o.cursor, "abc");
    assert_int_equal(o.include_deleted, 1);
    assert_ok(parse(&o, &s, ""));
    assert_null(o.owner_team);
    assert_ok(parse(&o, &s, NULL));
    daap_buf_dispose(&s);
}

static void expect_bad(const char *q, const char *field)
{
    daap_db_list_options o;
    daap_buf s = DAAP_BUF_INIT;
    if (parse(&o, &s, q) != DAAP_EINVALID)
        fail_msg("accepted query: %s", q);
    assert_true(daap_error_last()->field_count >= 1);
    if (field && strcmp(daap_error_last()->fields[0].field, field) != 0)
        fail_msg("query %s: field %s, expected %s", q, daap_error_last()->fields[0].field, field);
    daap_buf_dispose(&s);
}

static void test_bad_queries(void **state)
{
    char big[3000];
    (void)state;
    expect_bad("limit=0", "limit");
    expect_bad("limit=101", "limit");
    expect_bad("limit=abc", "limit");
    expect_bad("limit=-1", "limit");
    expect_bad("limit=99999999999999999999", "limit");
    expect_bad("status=running", "status");
    expect_bad("status=", "status");
    expect_bad("foo=bar", "foo");
    expect_bad("limit=1&limit=2", "limit");
    expect_bad("owner_team=Bad%20Team", "owner_team");
    expect_bad("name=%2E%2E%2F", "name");
    expect_bad("owner_team=%zz", "query");
    expect_bad("owner_team=a%00b", "query");
    expect_bad("name=a%0Ab", "name");
    expect_bad("include_deleted=maybe", "include_deleted");
    expect_bad("name='%20OR%201=1--", "name");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "name=", 5);
    expect_bad(big, "query");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_parameters),
        cmocka_unit_test(test_bad_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
