/* The remote client's parsing: records back from daap_db_to_json(), RFC 3339
 * times, and error-code names back to codes. */
#include "common.h"
#include "db/db_parse.h"
#include "errors.h"
#include "support.h"

static daap_db *sample(bool ready)
{
    daap_db *db;
    assert_int_equal(daap_db_new(&db), 0);
    daap_db_set_text(db, DAAP_DB_F_ID, "01a22037-91e0-713d-9f76-da855c126aaf");
    daap_db_set_text(db, DAAP_DB_F_NAME, "orders");
    daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, "payments");
    daap_db_set_text(db, DAAP_DB_F_PURPOSE, "say \"hi\"\n\u00e9");
    daap_db_set_text(db, DAAP_DB_F_NAMESPACE, "daap");
    daap_db_set_text(db, DAAP_DB_F_CLUSTER_NAME, "daap-orders");
    daap_db_set_text(db, DAAP_DB_F_POOLER_NAME, "daap-orders-pooler");
    daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, "1Gi");
    daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, "reason");
    daap_db_set_int(db, DAAP_DB_F_INSTANCES, 3);
    daap_db_set_int(db, DAAP_DB_F_PG_VERSION, 17);
    daap_db_set_int(db, DAAP_DB_F_STATUS, ready ? DAAP_DB_READY : DAAP_DB_PROVISIONING);
    daap_db_set_int(db, DAAP_DB_F_CREATED_AT, 1714564800123);
    daap_db_set_int(db, DAAP_DB_F_UPDATED_AT, 1714564801000);
    daap_db_set_int(db, DAAP_DB_F_REVISION, 7);
    if (ready) {
        daap_db_set_int(db, DAAP_DB_F_READY_AT, 1714564805000);
        daap_db_set_text(db, DAAP_DB_F_HOST, "daap-orders-pooler.daap.svc");
        daap_db_set_int(db, DAAP_DB_F_PORT, 5432);
        daap_db_set_text(db, DAAP_DB_F_DBNAME, "orders");
        daap_db_set_text(db, DAAP_DB_F_USERNAME, "orders");
        daap_db_set_text(db, DAAP_DB_F_DIRECT_HOST, "daap-orders-rw.daap.svc");
        daap_db_set_int(db, DAAP_DB_F_DIRECT_PORT, 5433);
        daap__db_set_password(db, "p@ss:w/rd");
    }
    return db;
}

static void assert_same(const daap_db *a, const daap_db *b)
{
    int f;
    for (f = 0; f < DAAP_DB_F__COUNT; f++) {
        if (daap_db_field_describe(f)->type == DAAP_DB_T_BLOB)
            continue;
        if (daap_db_field_describe(f)->type == DAAP_DB_T_TEXT) {
            const char *x = daap_db_get_text(a, f), *y = daap_db_get_text(b, f);
            assert_true((x == NULL && y == NULL) || (x && y && strcmp(x, y) == 0));
        } else {
            assert_int_equal(daap_db_get_int(a, f), daap_db_get_int(b, f));
        }
    }
}

static void round_trip(bool ready)
{
    daap_buf json = DAAP_BUF_INIT;
    daap_db *db = sample(ready), *back;

    assert_int_equal(daap_db_to_json(&json, db, DAAP_JSON_PRETTY), 0);
    assert_int_equal(daap__db_from_json(&back, json.ptr, json.size), 0);
    assert_same(db, back);
    if (ready)
        assert_string_equal(daap_db_password(back), "p@ss:w/rd");
    else
        assert_null(daap_db_password(back));
    daap_db_free(back);
    daap_db_free(db);
    daap_buf_dispose(&json);
}

static void test_round_trip(void **state)
{
    (void)state;
    round_trip(false);
    round_trip(true);
}

static void test_bad_records(void **state)
{
    static const char *const bad[] = {
        "", "[]", "{", "{\"id\":\"x\",\"name\":\"n\"}", "{\"id\":\"x\",\"name\":\"n\",\"status\":\"sleeping\"}",
        "{\"id\":\"x\",\"name\":\"n\",\"status\":\"ready\",\"instances\":\"3\"}",
        "{\"id\":\"x\",\"name\":\"n\",\"status\":\"ready\",\"created_at\":\"yesterday\"}",
        "{\"id\":\"x\",\"name\":\"n\",\"status\":\"ready\",\"connection\":[]}",
        "{\"id\":\"x\",\"name\":\"n\",\"status\":\"ready\"} trailing",
    };
    size_t i;
    (void)state;
    for (i = 0; i < DAAP_ARRAY_SIZE(bad); i++) {
        daap_db *db = (daap_db *)1;
        assert_int_equal(daap__db_from_json(&db, bad[i], strlen(bad[i])), DAAP_ERROR);
        assert_null(db);
        assert_int_equal(daap_error_last()->klass, DAAP_ERRCLASS_HTTP);
    }
}

static void test_unknown_members_are_ignored(void **state)
{
    static const char json[] = "{\"id\":\"x\",\"name\":\"n\",\"status\":\"error\",\"future\":{\"a\":[1]},\"ready_at\":null}";
    daap_db *db;
    (void)state;
    assert_int_equal(daap__db_from_json(&db, json, sizeof(json) - 1), 0);
    assert_int_equal(daap_db_status(db), DAAP_DB_ERROR);
    assert_int_equal(daap_db_ready_at(db), 0);
    daap_db_free(db);
}

static void test_times(void **state)
{
    int64_t ms;
    (void)state;
    assert_int_equal(daap__time_parse(&ms, "1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(daap__time_parse(&ms, "2024-05-01T12:00:00.123Z"), 0);
    assert_int_equal(ms, 1714564800123);
    assert_int_equal(daap__time_parse(&ms, "2024-05-01T14:00:00.1234567+02:00"), 0);
    assert_int_equal(ms, 1714564800123);
    assert_int_equal(daap__time_parse(&ms, "2024-05-01T07:30:00-04:30"), 0);
    assert_int_equal(ms, 1714564800000);
    assert_int_equal(daap__time_parse(&ms, "2024-05-01 12:00:00Z"), DAAP_EINVALID);
    assert_int_equal(daap__time_parse(&ms, "2024-05-01T12:00:00"), DAAP_EINVALID);
    assert_int_equal(daap__time_parse(&ms, "2024-13-01T12:00:00Z"), DAAP_EINVALID);
    assert_int_equal(daap__time_parse(&ms, "2024-05-01T12:00:00Zjunk"), DAAP_EINVALID);
    assert_int_equal(daap__time_parse(&ms, ""), DAAP_EINVALID);
}

static void test_error_names_map_back(void **state)
{
    static const int codes[] = { DAAP_ERROR, DAAP_ENOTFOUND, DAAP_EEXISTS, DAAP_EINVALID, DAAP_ECONFLICT,
                                 DAAP_EUNAVAILABLE, DAAP_ETIMEOUT, DAAP_EAUTH, DAAP_ENOTSUPPORTED,
                                 DAAP_EFORBIDDEN, DAAP_EEXPIRED, DAAP_ECRYPTO };
    size_t i;
    (void)state;
    for (i = 0; i < DAAP_ARRAY_SIZE(codes); i++)
        assert_int_equal(daap__error_code_from_name(daap_error_code_name(codes[i])), codes[i]);
    assert_int_equal(daap__error_code_from_name("ok"), DAAP_OK);
    assert_int_equal(daap__error_code_from_name("payload_too_large"), DAAP_OK);
    assert_int_equal(daap__error_code_from_name(NULL), DAAP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_unknown_members_are_ignored),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_error_names_map_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
