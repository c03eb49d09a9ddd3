/* net_list (server/trust.c): the --trusted-proxies list, IPv4 and IPv6,
 * CIDR prefixes, IPv4-mapped peers, and every way the text can be wrong. */
#include "support.h"
#include "trust.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static bool contains(const net_list *l, const char *addr)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;

    memset(&v4, 0, sizeof(v4));
    memset(&v6, 0, sizeof(v6));
    if (inet_pton(AF_INET, addr, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        return net_list_contains(l, (struct sockaddr *)&v4);
    }
    assert_int_equal(inet_pton(AF_INET6, addr, &v6.sin6_addr), 1);
    v6.sin6_family = AF_INET6;
    return net_list_contains(l, (struct sockaddr *)&v6);
}

static void test_ipv4(void **state)
{
    net_list l;
    (void)state;
    assert_ok(net_list_parse(&l, "10.1.2.3, 192.168.0.0/16,172.16.0.0/12"));
    assert_int_equal(l.count, 3);
    assert_true(contains(&l, "10.1.2.3"));
    assert_false(contains(&l, "10.1.2.4"));
    assert_true(contains(&l, "192.168.255.1"));
    assert_false(contains(&l, "192.169.0.1"));
    assert_true(contains(&l, "172.31.255.255"));
    assert_false(contains(&l, "172.32.0.0"));
    assert_true(contains(&l, "::ffff:10.1.2.3")); /* a dual-stack socket's IPv4 peer */
    assert_false(contains(&l, "::1"));
}

static void test_ipv6(void **state)
{
    net_list l;
    (void)state;
    assert_ok(net_list_parse(&l, "::1,fd00:ab::/33"));
    assert_true(contains(&l, "::1"));
    assert_false(contains(&l, "::2"));
    assert_true(contains(&l, "fd00:ab:7fff::1"));
    assert_false(contains(&l, "fd00:ab:8000::1"));
    assert_false(contains(&l, "127.0.0.1"));
}

static void test_everything_and_nothing(void **state)
{
    net_list l;
    (void)state;
    assert_ok(net_list_parse(&l, "0.0.0.0/0"));
    assert_true(contains(&l, "203.0.113.9"));
    assert_false(contains(&l, "2001:db8::1"));
    assert_ok(net_list_parse(&l, ""));
    assert_int_equal(l.count, 0);
    assert_false(contains(&l, "127.0.0.1"));
    assert_ok(net_list_parse(&l, NULL));
    assert_int_equal(l.count, 0);
}

static void test_bad_lists(void **state)
{
    static const char *const bad[] = { "10.0.0.1/33", "::1/129", "10.0.0.1/", "10.0.0.1/x", "10.0.0",
                                       "localhost", "10.0.0.1/-1", "1.2.3.4 5.6.7.8", "fe80::1%eth0" };
    net_list l;
    char many[40 * 12] = "";
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (net_list_parse(&l, bad[i]) != -1)
            fail_msg("'%s' was accepted", bad[i]);
    for (i = 0; i <= TRUSTED_NETS_MAX; i++)
        strcat(many, "10.0.0.1,");
    assert_int_equal(net_list_parse(&l, many), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_everything_and_nothing),
        cmocka_unit_test(test_bad_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
