/* The error model: codes, names, HTTP statuses, thread-local last error. */
#include "common.h"
#include "support.h"

#include <pthread.h>

static void test_last_error_never_null(void **state)
{
    (void)state;
    daap_error_clear();
    assert_non_null(daap_error_last());
    assert_non_null(daap_error_last()->message);
    assert_int_equal(daap_error_last()->code, 0);
}

static void test_set_returns_code_and_keeps_message(void **state)
{
    (void)state;
    assert_int_equal(daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "no %s", "thing"), DAAP_ENOTFOUND);
    assert_string_equal(daap_error_last()->message, "no thing");
    assert_int_equal(daap_error_last()->klass, DAAP_ERRCLASS_STORAGE);
    assert_int_equal(daap_error_last()->code, DAAP_ENOTFOUND);
}

static void test_field_errors_accumulate_and_reset(void **state)
{
    (void)state;
    daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "bad");
    daap_error_add_field("name", "pattern", "bad name");
    daap_error_add_field("purpose", "required", "missing");
    assert_int_equal(daap_error_last()->field_count, 2);
    assert_string_equal(daap_error_last()->fields[1].field, "purpose");
    daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "other");
    assert_int_equal(daap_error_last()->field_count, 0);
}

static void test_http_table(void **state)
{
    (void)state;
    assert_int_equal(daap_error_http_status(DAAP_ENOTFOUND), 404);
    assert_int_equal(daap_error_http_status(DAAP_EEXISTS), 409);
    assert_int_equal(daap_error_http_status(DAAP_EINVALID), 400);
    assert_int_equal(daap_error_http_status(DAAP_EFORBIDDEN), 403);
    assert_int_equal(daap_error_http_status(DAAP_EUNAVAILABLE), 503);
    assert_int_equal(daap_error_http_status(DAAP_ETIMEOUT), 504);
    assert_int_equal(daap_error_http_status(-999), 500);
    assert_string_equal(daap_error_code_name(DAAP_EEXISTS), "already_exists");
    assert_string_equal(daap_error_code_name(-999), "error");
    assert_string_equal(daap_error_class_name(DAAP_ERRCLASS_STORAGE), "storage");
    assert_string_equal(daap_error_class_name(DAAP_ERRCLASS_HTTP), "http");
    assert_string_equal(daap_error_class_name(99), "unknown");
    assert_true(strlen(daap_strerror(DAAP_ECONFLICT)) > 0);
}

static void *other_thread(void *arg)
{
    (void)arg;
    daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_KUBE, "other thread");
    return NULL;
}

static void test_thread_local(void **state)
{
    pthread_t t;
    (void)state;
    daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_STORAGE, "mine");
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    assert_string_equal(daap_error_last()->message, "mine");
    assert_int_equal(daap_error_last()->code, DAAP_EEXISTS);
}

static void test_long_message_truncated_safely(void **state)
{
    char big[4000];
    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "%s", big);
    assert_true(strlen(daap_error_last()->message) < sizeof(big));
}

static void test_init_refcount(void **state)
{
    (void)state;
    assert_int_equal(daap_init(), 1);
    assert_int_equal(daap_init(), 2);
    assert_int_equal(daap_shutdown(), 1);
    assert_int_equal(daap_shutdown(), 0);
    assert_int_equal(daap_shutdown(), DAAP_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_error_never_null),
        cmocka_unit_test(test_set_returns_code_and_keeps_message),
        cmocka_unit_test(test_field_errors_accumulate_and_reset),
        cmocka_unit_test(test_http_table),
        cmocka_unit_test(test_thread_local),
        cmocka_unit_test(test_long_message_truncated_safely),
        cmocka_unit_test(test_init_refcount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
