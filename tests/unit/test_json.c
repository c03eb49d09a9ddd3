/* Rendering of records, pages and problems; keyset cursors. */
#include "db/db_json.h"
#include "support.h"

#include <json-c/json.h>

static daap_db *sample(int status, bool with_password)
{
    daap_db *db;
    assert_ok(daap_db_new(&db));
    daap_db_set_text(db, DAAP_DB_F_ID, "01890a5d-ac96-774b-bcce-b302099a8057");
    daap_db_set_text(db, DAAP_DB_F_NAME, "orders");
    daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, "payments");
    daap_db_set_text(db, DAAP_DB_F_PURPOSE, "quote \" backslash \\ newline-free");
    daap_db_set_text(db, DAAP_DB_F_NAMESPACE, "daap");
    daap_db_set_text(db, DAAP_DB_F_CLUSTER_NAME, "daap-orders");
    daap_db_set_text(db, DAAP_DB_F_POOLER_NAME, "daap-orders-pooler");
    daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, "1Gi");
    daap_db_set_int(db, DAAP_DB_F_INSTANCES, 1);
    daap_db_set_int(db, DAAP_DB_F_PG_VERSION, 17);
    daap_db_set_int(db, DAAP_DB_F_STATUS, status);
    daap_db_set_int(db, DAAP_DB_F_CREATED_AT, 1764297938123LL);
    daap_db_set_int(db, DAAP_DB_F_UPDATED_AT, 1764297938123LL);
    daap_db_set_int(db, DAAP_DB_F_REVISION, 3);
    daap_db_set_text(db, DAAP_DB_F_HOST, "127.0.1.5");
    daap_db_set_int(db, DAAP_DB_F_PORT, 5432);
    daap_db_set_text(db, DAAP_DB_F_DBNAME, "orders");
    daap_db_set_text(db, DAAP_DB_F_USERNAME, "orders");
    daap_db_set_text(db, DAAP_DB_F_DIRECT_HOST, "daap-orders-rw.daap.svc.cluster.local");
    daap_db_set_int(db, DAAP_DB_F_DIRECT_PORT, 5432);
    if (with_password)
        assert_ok(daap__db_set_password(db, "p@ss/word"));
    return db;
}

static json_object *parse_json(const daap_buf *b)
{
    json_object *o = json_tokener_parse(b->ptr);
    assert_non_null(o);
    return o;
}

static const char *str_at(json_object *o, const char *k1, const char *k2)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, k1, &v);
    if (k2)
        json_object_object_get_ex(v, k2, &v);
    return v ? json_object_get_string(v) : NULL;
}

static void test_ready_record_has_connection(void **state)
{
    daap_db *db = sample(DAAP_DB_READY, true);
    daap_buf b = DAAP_BUF_INIT;
    json_object *o;
    (void)state;
    assert_ok(daap_db_to_json(&b, db, 0));
    o = parse_json(&b);
    assert_string_equal(str_at(o, "status", NULL), "ready");
    assert_string_equal(str_at(o, "created_at", NULL), "2025-11-28T02:45:38.123Z");
    assert_string_equal(str_at(o, "purpose", NULL), "quote \" backslash \\ newline-free");
    assert_string_equal(str_at(o, "connection", "password"), "p@ss/word");
    assert_string_equal(str_at(o, "connection", "uri"),
                        "postgresql://orders:p%40ss%2Fword@127.0.1.5:5432/orders?sslmode=prefer");
    json_object_put(o);
    daap_buf_dispose(&b);
    assert_ok(daap_db_to_json(&b, db, DAAP_JSON_NO_SECRETS));
    assert_null(strstr(b.ptr, "p@ss"));
    daap_buf_dispose(&b);
    assert_ok(daap_db_to_json(&b, db, DAAP_JSON_PRETTY));
    o = parse_json(&b);
    json_object_put(o);
    daap_buf_dispose(&b);
    daap_db_free(db);
}

static void test_connection_only_when_ready(void **state)
{
    int statuses[] = { DAAP_DB_PROVISIONING, DAAP_DB_ERROR, DAAP_DB_DELETING, DAAP_DB_DELETED };
    size_t i;
    (void)state;
    for (i = 0; i < 4; i++) {
        daap_db *db = sample(statuses[i], true);
        daap_buf b = DAAP_BUF_INIT, uri = DAAP_BUF_INIT;
        assert_ok(daap_db_to_json(&b, db, 0));
        assert_null(strstr(b.ptr, "connection"));
        assert_null(strstr(b.ptr, "p@ss"));
        assert_int_equal(daap_db_uri(&uri, db), DAAP_ENOTFOUND);
        daap_buf_dispose(&b);
        daap_db_free(db);
    }
}

static void test_problem_json(void **state)
{
    daap_buf b = DAAP_BUF_INIT;
    json_object *o, *errs;
    (void)state;
    daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "invalid request: 2 fields have errors");
    daap_error_add_field("name", "pattern", "bad \"name\"");
    daap_error_add_field("purpose", "required", "purpose is required");
    assert_ok(daap_error_to_problem_json(&b, daap_error_last(), "/databases"));
    o = parse_json(&b);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "status")), 400);
    assert_string_equal(str_at(o, "instance", NULL), "/databases");
    errs = json_object_object_get(o, "errors");
    assert_int_equal(json_object_array_length(errs), 2);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(errs, 0), "message")), "bad \"name\"");
    json_object_put(o);
    daap_buf_dispose(&b);
}

static void test_cursor_round_trip_and_garbage(void **state)
{
    char *c = NULL, id[64];
    int64_t at;
    (void)state;
    assert_ok(daap__cursor_encode(&c, 1764297938123LL, "01890a5d-ac96-774b-bcce-b302099a8057"));
    assert_ok(daap__cursor_decode(&at, id, sizeof(id), c));
    assert_int_equal(at, 1764297938123LL);
    assert_string_equal(id, "01890a5d-ac96-774b-bcce-b302099a8057");
    daap_free(c);
    assert_int_equal(daap__cursor_decode(&at, id, sizeof(id), "!!!"), DAAP_EINVALID);
    assert_int_equal(daap__cursor_decode(&at, id, sizeof(id), "MTIzLm5vdC1hLXV1aWQ"), DAAP_EINVALID);
    assert_int_equal(daap__cursor_decode(&at, id, sizeof(id), "a"), DAAP_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_record_has_connection),
        cmocka_unit_test(test_connection_only_when_ready),
        cmocka_unit_test(test_problem_json),
        cmocka_unit_test(test_cursor_round_trip_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
