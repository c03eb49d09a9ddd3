/* Versioned option structs: _init equals _INIT; version 0 and future versions are refused. */
#include "common.h"
#include "support.h"

static void test_init_matches_macro(void **state)
{
    daap_ctx_options a = DAAP_CTX_OPTIONS_INIT, b;
    daap_db_spec s1 = DAAP_DB_SPEC_INIT, s2;
    daap_db_list_options l1 = DAAP_DB_LIST_OPTIONS_INIT, l2;
    daap_reconcile_options r1 = DAAP_RECONCILE_OPTIONS_INIT, r2;
    daap_db_update_spec u1 = DAAP_DB_UPDATE_INIT, u2;
    (void)state;
    assert_ok(daap_ctx_options_init(&b, DAAP_CTX_OPTIONS_VERSION));
    assert_memory_equal(&a, &b, sizeof(a));
    assert_ok(daap_db_spec_init(&s2, DAAP_DB_SPEC_VERSION));
    assert_memory_equal(&s1, &s2, sizeof(s1));
    assert_ok(daap_db_list_options_init(&l2, DAAP_DB_LIST_OPTIONS_VERSION));
    assert_memory_equal(&l1, &l2, sizeof(l1));
    assert_ok(daap_reconcile_options_init(&r2, DAAP_RECONCILE_OPTIONS_VERSION));
    assert_memory_equal(&r1, &r2, sizeof(r1));
    assert_ok(daap_db_update_spec_init(&u2, DAAP_DB_UPDATE_VERSION));
    assert_memory_equal(&u1, &u2, sizeof(u1));
    {
        daap_db_events_options e1 = DAAP_DB_EVENTS_OPTIONS_INIT, e2;
        daap_call_info c1 = DAAP_CALL_INFO_INIT, c2;
        assert_ok(daap_db_events_options_init(&e2, DAAP_DB_EVENTS_OPTIONS_VERSION));
        assert_memory_equal(&e1, &e2, sizeof(e1));
        assert_ok(daap_call_info_init(&c2, DAAP_CALL_INFO_VERSION));
        assert_memory_equal(&c1, &c2, sizeof(c1));
        assert_int_equal(daap_call_info_init(&c2, 0), DAAP_EINVALID);
        assert_int_equal(daap_db_events_options_init(&e2, DAAP_DB_EVENTS_OPTIONS_VERSION + 1), DAAP_EINVALID);
    }
}

/* A caller built against version 1 of daap_ctx_options has no room for
 * event_retention_ms: init with version 1 must not write there. */
static void test_ctx_options_v1_init_stays_in_v1(void **state)
{
    daap_ctx_options o;
    (void)state;
    memset(&o, 0xab, sizeof(o));
    assert_ok(daap_ctx_options_init(&o, 1));
    assert_int_equal(o.version, 1);
    assert_null(o.store_uri);
    assert_null(o.team);
    assert_int_equal(o.event_retention_ms, (int64_t)0xabababababababab);
}

/* The same for every struct that has grown: a version-1 (or 2) caller's
 * struct ends where the next version's fields begin. */
static void test_older_versions_init_stay_in_their_size(void **state)
{
    daap_db_spec s;
    daap_db_update_spec u;
    (void)state;
    memset(&s, 0xab, sizeof(s));
    assert_ok(daap_db_spec_init(&s, 1));
    assert_null(s.name);
    assert_int_equal(s.pg_version, 0);
    assert_int_equal((uintptr_t)s.idempotency_key, (uintptr_t)0xabababababababab);
    memset(&u, 0xab, sizeof(u));
    assert_ok(daap_db_update_spec_init(&u, 1));
    assert_null(u.purpose);
    assert_int_equal(u.deletion_protection, (int32_t)0xabababab);
    memset(&u, 0xab, sizeof(u));
    assert_ok(daap_db_update_spec_init(&u, 2));
    assert_int_equal(u.deletion_protection, 0);
    assert_int_equal(u.instances, (int32_t)0xabababab);
}

static void test_bad_versions(void **state)
{
    daap_ctx_options o;
    daap_ctx *ctx = NULL;
    (void)state;
    assert_int_equal(daap_ctx_options_init(&o, 0), DAAP_EINVALID);
    assert_int_equal(daap_ctx_options_init(&o, DAAP_CTX_OPTIONS_VERSION + 1), DAAP_EINVALID);
    memset(&o, 0, sizeof(o));
    assert_int_equal(daap_ctx_open(&ctx, &o), DAAP_EINVALID);
    assert_null(ctx);
    o.version = 99;
    assert_int_equal(daap_ctx_open(&ctx, &o), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "version"));
}

static void test_status_names(void **state)
{
    int s;
    (void)state;
    assert_string_equal(daap_db_status_name(DAAP_DB_DELETING), "deleting");
    assert_null(daap_db_status_name(42));
    assert_ok(daap_db_status_parse(&s, "ready"));
    assert_int_equal(s, DAAP_DB_READY);
    assert_int_equal(daap_db_status_parse(&s, "Ready"), DAAP_EINVALID);
}

static void test_version(void **state)
{
    int major = -1, minor = -1, patch = -1;
    (void)state;
    assert_ok(daap_version(&major, &minor, &patch));
    assert_int_equal(major, DAAP_VERSION_MAJOR);
    assert_int_equal(minor, DAAP_VERSION_MINOR);
    assert_string_equal(daap_version_string(), DAAP_VERSION_STRING);
    assert_true(daap_features() & DAAP_FEATURE_SQLITE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_matches_macro),
        cmocka_unit_test(test_bad_versions),
        cmocka_unit_test(test_ctx_options_v1_init_stays_in_v1),
        cmocka_unit_test(test_older_versions_init_stay_in_their_size),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
