/* Record ids are UUIDv7 (RFC 9562): version nibble 7, the RFC 4122
 * variant, a 48-bit millisecond timestamp first, and ids made one after
 * another sort in the order they were made (DESIGN.md section 3). */
#include "common.h"
#include "ids.h"
#include "support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MANY 20000

typedef char uuid_text[DAAP__UUID_STRLEN + 1];

/* The generator keeps per-thread state (the last millisecond and its
 * counter), so ids for made-up times are made on a fresh thread: a run
 * with times in the past or future must not change what later tests see. */
typedef struct {
    uuid_text *ids;
    int        n;
    int64_t    ms, step;
    int        rc;
} gen_job;

static void *gen_main(void *payload)
{
    gen_job *j = payload;
    int i;
    for (i = 0; i < j->n && j->rc == 0; i++)
        j->rc = daap__uuid7(j->ids[i], j->ms + (int64_t)i * j->step);
    return NULL;
}

/* n ids for times ms, ms + step, ...; free() the result. */
static uuid_text *gen_fresh(int n, int64_t ms, int64_t step)
{
    gen_job j = { NULL, n, ms, step, 0 };
    pthread_t t;

    j.ids = calloc((size_t)n, sizeof(uuid_text));
    assert_non_null(j.ids);
    assert_int_equal(pthread_create(&t, NULL, gen_main, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_ok(j.rc);
    return j.ids;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The 48-bit unix_ts_ms field: the first 12 hex digits. */
static int64_t id_ms(const char *id)
{
    int64_t ms = 0;
    int i;
    for (i = 0; i < 13; i++) {
        if (id[i] == '-')
            continue;
        ms = ms * 16 + hexval(id[i]);
    }
    return ms;
}

static void check_layout(const char *id)
{
    assert_int_equal(strlen(id), DAAP__UUID_STRLEN);
    assert_true(daap__uuid_valid(id));
    assert_int_equal(id[8], '-');
    assert_int_equal(id[13], '-');
    assert_int_equal(id[18], '-');
    assert_int_equal(id[23], '-');
    if (id[14] != '7')
        fail_msg("%s: version nibble is %c, not 7", id, id[14]);
    if (!strchr("89ab", id[19]))
        fail_msg("%s: variant nibble %c is not the RFC 4122 variant (10xx)", id, id[19]);
}

static void test_version_and_variant(void **state)
{
    char id[DAAP__UUID_STRLEN + 1];
    unsigned seen_variant[4] = { 0 };
    int i;

    (void)state;
    for (i = 0; i < 2000; i++) {
        assert_ok(daap__uuid7(id, daap__now_ms()));
        check_layout(id);
        seen_variant[hexval(id[19]) - 8]++;
    }
    /* The two bits after the variant are random: all four digits occur. */
    for (i = 0; i < 4; i++)
        assert_true(seen_variant[i] > 0);
}

static void test_timestamp_field(void **state)
{
    char id[DAAP__UUID_STRLEN + 1];
    uuid_text *fixed = gen_fresh(1, 0x0123456789abLL, 0);
    int64_t now = daap__now_ms();

    (void)state;
    assert_memory_equal(fixed[0], "01234567-89ab-7", 15);
    check_layout(fixed[0]);
    free(fixed);
    assert_ok(daap__uuid7(id, now));
    assert_int_equal(id_ms(id), now);
}

/* Two ids are never equal and the random part is not constant. */
static void test_unique(void **state)
{
    uuid_text *a = gen_fresh(1000, 1700000000000LL, 1), *b = gen_fresh(1000, 1700000000000LL, 1);
    int i;

    (void)state;
    for (i = 0; i < 1000; i++) {
        assert_string_not_equal(a[i], b[i]); /* same millisecond, other thread */
        assert_memory_not_equal(a[i] + 24, b[i] + 24, 12); /* rand_b differs */
        if (i > 0)
            assert_memory_not_equal(a[i] + 24, a[i - 1] + 24, 12);
    }
    free(a);
    free(b);
}

/* Made in sequence on the real clock: strictly increasing. */
static void test_time_ordered_sequence(void **state)
{
    char (*ids)[DAAP__UUID_STRLEN + 1] = calloc(MANY, sizeof(*ids));
    int64_t first, last;
    int i;

    (void)state;
    assert_non_null(ids);
    first = daap__now_ms();
    for (i = 0; i < MANY; i++)
        assert_ok(daap__uuid7(ids[i], daap__now_ms()));
    last = daap__now_ms();
    for (i = 0; i < MANY; i++) {
        check_layout(ids[i]);
        assert_true(id_ms(ids[i]) >= first && id_ms(ids[i]) <= last);
        if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0) {
            fprintf(stderr, "id %d (%s) does not sort after id %d (%s)\n", i, ids[i], i - 1, ids[i - 1]);
            free(ids);
            fail();
        }
    }
    free(ids);
}

/* Ids of later milliseconds sort later, whatever their random bits. */
static void test_ordered_across_milliseconds(void **state)
{
    uuid_text *ids = gen_fresh(3000, 1700000000000LL, 1);
    int i;

    (void)state;
    for (i = 1; i < 3000; i++) {
        assert_int_equal(id_ms(ids[i]), 1700000000000LL + i);
        if (strcmp(ids[i - 1], ids[i]) >= 0)
            fail_msg("%s (a millisecond later) does not sort after %s", ids[i], ids[i - 1]);
    }
    free(ids);
}

/* Within one millisecond the 12-bit counter keeps order. The generator
 * starts it at a random value of at most 0x7ff, so 2048 ids in one
 * millisecond always fit. */
static void test_ordered_within_one_millisecond(void **state)
{
    uuid_text *ids = gen_fresh(2048, 1600000000000LL, 0);
    int i;

    (void)state;
    for (i = 1; i < 2048; i++) {
        check_layout(ids[i]);
        if (strcmp(ids[i - 1], ids[i]) >= 0)
            fail_msg("id %d in one millisecond (%s) does not sort after the one before (%s)", i, ids[i], ids[i - 1]);
    }
    free(ids);
}

/* More ids in one millisecond than the counter holds must still be
 * ordered (RFC 9562 section 6.2: on counter overflow, advance the
 * timestamp or wait for the clock). */
static void test_counter_overflow_keeps_order(void **state)
{
    uuid_text *ids = gen_fresh(10000, 1600000000500LL, 0);
    int i;

    (void)state;
    for (i = 1; i < 10000; i++) {
        check_layout(ids[i]);
        if (strcmp(ids[i - 1], ids[i]) >= 0) {
            fprintf(stderr, "id %d in one millisecond (%s) sorts before the one made before it (%s)\n",
                    i, ids[i], ids[i - 1]);
            free(ids);
            fail();
        }
    }
    free(ids);
}

/* Through the public API: records made one after another have v7 ids in
 * creation order, and a list returns them in that order. */
/* Idempotency keys: random version 4 UUIDs that the key parser accepts,
 * never two alike, and a buffer too small is refused, not overrun. */
static void test_idempotency_key_new(void **state)
{
    char a[DAAP_IDEMPOTENCY_KEY_NEW_SIZE], b[DAAP_IDEMPOTENCY_KEY_NEW_SIZE];
    char parsed[DAAP_IDEMPOTENCY_KEY_MAX + 1], small[36];
    (void)state;
    assert_ok(daap_idempotency_key_new(a, sizeof(a)));
    assert_ok(daap_idempotency_key_new(b, sizeof(b)));
    assert_true(daap__uuid_valid(a));
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_string_not_equal(a, b);
    assert_ok(daap_idempotency_key_parse(parsed, sizeof(parsed), a));
    assert_string_equal(parsed, a);
    memset(small, 'x', sizeof(small));
    assert_int_equal(daap_idempotency_key_new(small, sizeof(small)), DAAP_EINVALID);
    assert_int_equal(small[0], 'x');
}

static void test_created_records_ordered(void **state)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_db_list_options lo = DAAP_DB_LIST_OPTIONS_INIT;
    daap_db_page page;
    daap_ctx *ctx;
    char ids[60][DAAP__UUID_STRLEN + 1];
    int i;

    (void)state;
    daap_init();
    o.store_uri = "sqlite::memory:";
    o.flags = DAAP_CTX_NO_KUBE | DAAP_CTX_NO_SCHEMA_CHECK;
    assert_ok(daap_ctx_open(&ctx, &o));
    for (i = 0; i < 60; i++) {
        daap_db_spec s = DAAP_DB_SPEC_INIT;
        daap_db *db;
        char name[32];
        snprintf(name, sizeof(name), "seq-%02d", i);
        s.name = name;
        s.owner_team = "ids";
        s.purpose = "ordering";
        assert_ok(daap_db_create(&db, ctx, &s));
        snprintf(ids[i], sizeof(ids[i]), "%s", daap_db_id(db));
        check_layout(ids[i]);
        assert_true(id_ms(ids[i]) == daap_db_created_at(db));
        if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
            fail_msg("record %d's id %s does not sort after %s", i, ids[i], ids[i - 1]);
        daap_db_free(db);
    }
    lo.limit = 100;
    assert_ok(daap_db_list(&page, ctx, &lo));
    assert_int_equal(page.count, 60);
    for (i = 0; i < 60; i++)
        assert_string_equal(daap_db_id(page.items[i]), ids[i]);
    daap_db_page_dispose(&page);
    daap_ctx_free(ctx);
    daap_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_variant),
        cmocka_unit_test(test_timestamp_field),
        cmocka_unit_test(test_unique),
        cmocka_unit_test(test_time_ordered_sequence),
        cmocka_unit_test(test_ordered_across_milliseconds),
        cmocka_unit_test(test_ordered_within_one_millisecond),
        cmocka_unit_test(test_counter_overflow_keeps_order),
        cmocka_unit_test(test_created_records_ordered),
        cmocka_unit_test(test_idempotency_key_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
