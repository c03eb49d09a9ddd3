/* Field rules, and the proof that every accepted name gives valid names for
 * every object CNPG derives from it. */
#include "db/validate.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

static int always(const void *p, int32_t v) { (void)p; return v >= 14 && v <= 18; }
static const daap__limits limits = { 9, always, NULL };

static size_t errors_for(void (*check)(daap__fields *, const char *), const char *value)
{
    daap__fields f;
    daap__fields_init(&f);
    check(&f, value);
    daap__fields_result(&f, "test");
    return f.count;
}

static void check_name(daap__fields *f, const char *v) { daap__check_name(f, "name", v); }
static void check_team(daap__fields *f, const char *v) { daap__check_team(f, "owner_team", v); }
static void check_purpose(daap__fields *f, const char *v) { daap__check_purpose(f, "purpose", v); }
static void check_size(daap__fields *f, const char *v) { daap__check_storage_size(f, "storage_size", v); }

/* RFC 1035 label: what CNPG requires of Cluster names and what Services need. */
static bool rfc1035_label(const char *s, size_t max)
{
    size_t i, n = strlen(s);
    if (n == 0 || n > max || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static void assert_derived_names_valid(const char *name)
{
    char cluster[128], pooler[128], obj[160];
    const char *svc[] = { "-rw", "-ro", "-r" };
    size_t i;
    int n;

    daap__cluster_name(cluster, sizeof(cluster), name);
    daap__pooler_name(pooler, sizeof(pooler), name);
    assert_true(rfc1035_label(cluster, 50));          /* CNPG webhook */
    assert_true(rfc1035_label(pooler, 63));           /* Service name */
    assert_string_not_equal(cluster, pooler);
    for (i = 0; i < 3; i++) {
        snprintf(obj, sizeof(obj), "%s%s", cluster, svc[i]);
        assert_true(rfc1035_label(obj, 63));
        assert_string_not_equal(pooler, obj);         /* never <cluster>-rw|-ro|-r */
    }
    snprintf(obj, sizeof(obj), "%s-any", cluster);
    assert_string_not_equal(pooler, obj);
    snprintf(obj, sizeof(obj), "%s-app", cluster);
    assert_true(rfc1035_label(obj, 253));
    for (n = 1; n <= 9999; n *= 10) {                 /* pods and PVCs, serials grow on replacement */
        snprintf(obj, sizeof(obj), "%s-%d", cluster, n);
        assert_true(rfc1035_label(obj, 63));
        snprintf(obj, sizeof(obj), "%s-%d-wal", cluster, n);
        assert_true(rfc1035_label(obj, 63));
    }
    snprintf(obj, sizeof(obj), "%s-1-initdb", cluster);
    assert_true(rfc1035_label(obj, 63));
    snprintf(obj, sizeof(obj), "%s-1-snapshot-recovery", cluster);
    assert_true(strlen(obj) <= 253);
}

static void random_name(char *out, size_t len, unsigned *seed)
{
    static const char first[] = "abcdefghijklmnopqrstuvwxyz";
    static const char mid[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    size_t i;
    out[0] = first[rand_r(seed) % 26];
    for (i = 1; i < len; i++)
        out[i] = mid[rand_r(seed) % (sizeof(mid) - 1)];
    out[len] = '\0';
}

static void test_every_accepted_name_gives_valid_objects(void **state)
{
    unsigned seed = 12345;
    char name[64];
    size_t len, accepted = 0, tries;
    (void)state;

    for (tries = 0; tries < 20000; tries++) {
        len = 1 + (size_t)(rand_r(&seed) % 60);
        random_name(name, len, &seed);
        if (errors_for(check_name, name) == 0) {
            accepted++;
            assert_derived_names_valid(name);
        } else {
            /* every rejection says why, with a stable code */
            const daap_error *e = daap_error_last();
            assert_int_equal(e->code, DAAP_EINVALID);
            assert_int_equal(e->field_count, 1);
            assert_string_equal(e->fields[0].field, "name");
            assert_true(strlen(e->fields[0].message) > 10);
        }
    }
    assert_true(accepted > 1000);
}

static void test_accepted_names(void **state)
{
    const char *ok[] = { "abc", "orders", "orders-db", "a1b", "x9-9z", "payments-eu-west-2",
                         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrs" /* 45 */ };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(errors_for(check_name, ok[i]), 0);
        assert_derived_names_valid(ok[i]);
    }
}

static void expect_name_error(const char *name, const char *code, const char *in_message)
{
    assert_int_equal(errors_for(check_name, name), 1);
    assert_string_equal(daap_error_last()->fields[0].code, code);
    if (in_message)
        assert_non_null(strstr(daap_error_last()->fields[0].message, in_message));
}

static void test_rejected_names(void **state)
{
    (void)state;
    expect_name_error("", "required", NULL);
    expect_name_error(NULL, "required", NULL);
    expect_name_error("ab", "too_short", NULL);
    expect_name_error("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrst", "too_long", "CNPG Cluster"); /* 46 */
    expect_name_error("Orders", "pattern", NULL);
    expect_name_error("1orders", "pattern", "start with a lowercase letter");
    expect_name_error("orders-", "pattern", "end with a letter or digit");
    expect_name_error("ord_ers", "pattern", "'_'");
    expect_name_error("ord ers", "pattern", NULL);
    expect_name_error("ord\x01rs", "pattern", "control");
    expect_name_error("ordérs", "pattern", NULL);
    expect_name_error("a.b.c", "pattern", NULL);
    expect_name_error("../../etc", "pattern", NULL);
    expect_name_error("orders-pooler", "reserved", "-pooler");
    expect_name_error("orders-primary", "reserved", NULL);
    expect_name_error("orders-rw", "reserved", NULL);
    expect_name_error("orders-r", "reserved", NULL);
}

static void test_team(void **state)
{
    (void)state;
    assert_int_equal(errors_for(check_team, "payments"), 0);
    assert_int_equal(errors_for(check_team, "team-42"), 0);
    assert_int_equal(errors_for(check_team, "a"), 0);
    assert_int_equal(errors_for(check_team, ""), 1);
    assert_string_equal(daap_error_last()->fields[0].code, "required");
    assert_int_equal(errors_for(check_team, "Payments"), 1);
    assert_int_equal(errors_for(check_team, "-team"), 1);
    assert_int_equal(errors_for(check_team, "team; DROP TABLE databases"), 1);
    assert_int_equal(errors_for(check_team, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"), 1); /* 64 */
    assert_string_equal(daap_error_last()->fields[0].code, "too_long");
}

static void test_purpose(void **state)
{
    char big[600];
    (void)state;
    assert_int_equal(errors_for(check_purpose, "Order history for the EU shop"), 0);
    assert_int_equal(errors_for(check_purpose, "Überweisungen — 支払い"), 0);
    assert_int_equal(errors_for(check_purpose, ""), 1);
    assert_int_equal(errors_for(check_purpose, "   "), 1);
    assert_int_equal(errors_for(check_purpose, "line\nbreak"), 1);
    assert_string_equal(daap_error_last()->fields[0].code, "invalid_text");
    assert_int_equal(errors_for(check_purpose, "bad \xff utf8"), 1);
    assert_int_equal(errors_for(check_purpose, "overlong \xc0\xaf"), 1);
    assert_int_equal(errors_for(check_purpose, "surrogate \xed\xa0\x80"), 1);
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(errors_for(check_purpose, big), 1);
    assert_string_equal(daap_error_last()->fields[0].code, "too_long");
}

static void test_storage_size(void **state)
{
    const char *ok[] = { "1Gi", "10Gi", "500Gi", "2Ti", "1.5Gi", "64Ti", "2G", "1024Mi" };
    const char *bad[] = { "", "1", "1gi", "Gi", "-1Gi", "1 Gi", "1e3Gi", "0Gi", "512Mi", "65Ti", "1Ei",
                          "1Gi; rm -rf /", "9999999999999999Gi", "1..5Gi", "1.Gi" };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(errors_for(check_size, ok[i]), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (errors_for(check_size, bad[i]) != 1)
            fail_msg("storage_size '%s' was accepted", bad[i]);
    }
}

static void test_instances_and_version(void **state)
{
    daap__fields f;
    (void)state;
    daap__fields_init(&f);
    daap__check_instances(&f, "instances", 1, &limits);
    daap__check_instances(&f, "instances", 9, &limits);
    daap__check_pg_version(&f, "pg_version", 17, &limits);
    assert_int_equal(f.count, 0);
    daap__check_instances(&f, "instances", 0, &limits);
    daap__check_pg_version(&f, "pg_version", 12, &limits);
    assert_int_equal(f.count, 2);
    daap__fields_init(&f);
    daap__check_instances(&f, "instances", 10, &limits);
    assert_int_equal(f.count, 1);
}

static void test_all_bad_fields_reported_at_once(void **state)
{
    daap__fields f;
    (void)state;
    daap__fields_init(&f);
    daap__check_name(&f, "name", "Bad Name");
    daap__check_team(&f, "owner_team", "");
    daap__check_purpose(&f, "purpose", "");
    daap__check_storage_size(&f, "storage_size", "lots");
    assert_int_equal(daap__fields_result(&f, "spec"), DAAP_EINVALID);
    assert_int_equal(daap_error_last()->field_count, 4);
    assert_string_equal(daap_error_last()->fields[3].field, "storage_size");
}

static void test_pg_identifier(void **state)
{
    char out[64];
    (void)state;
    daap__pg_identifier(out, sizeof(out), "orders-eu-1");
    assert_string_equal(out, "orders_eu_1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_accepted_name_gives_valid_objects),
        cmocka_unit_test(test_accepted_names),
        cmocka_unit_test(test_rejected_names),
        cmocka_unit_test(test_team),
        cmocka_unit_test(test_purpose),
        cmocka_unit_test(test_storage_size),
        cmocka_unit_test(test_instances_and_version),
        cmocka_unit_test(test_all_bad_fields_reported_at_once),
        cmocka_unit_test(test_pg_identifier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
