/* The watch-stream parser: events split across chunks or packed into one,
 * bookmarks, server ERROR events (410) and garbage. */
#include "common.h"
#include "kube/watchparse.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

#define EV(type, name, rv) \
    "{\"type\":\"" type "\",\"object\":{\"kind\":\"Cluster\",\"apiVersion\":\"postgresql.cnpg.io/v1\"," \
    "\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}}\n"

static const char stream[] =
    EV("ADDED", "daap-a", "101")
    EV("MODIFIED", "daap-a", "102")
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Cluster\",\"apiVersion\":\"postgresql.cnpg.io/v1\","
    "\"metadata\":{\"resourceVersion\":\"150\"}}}\n"
    EV("DELETED", "daap-a", "151");

static daap__watchparse *new_parser(void)
{
    daap__watchparse *p = NULL;
    assert_ok(daap__watchparse_new(&p));
    return p;
}

static void expect_event(daap__watchparse *p, int type, const char *rv)
{
    daap_kube_event ev;

    assert_ok(daap__watchparse_pop(&ev, p));
    assert_int_equal(ev.type, type);
    assert_string_equal(daap_kube_object_str(ev.object, "metadata.resourceVersion"), rv);
    daap_kube_object_free(ev.object);
}

static void expect_stream_events(daap__watchparse *p)
{
    daap_kube_event ev;

    expect_event(p, DAAP_KUBE_ADDED, "101");
    expect_event(p, DAAP_KUBE_MODIFIED, "102");
    expect_event(p, DAAP_KUBE_BOOKMARK, "150");
    expect_event(p, DAAP_KUBE_DELETED, "151");
    assert_int_equal(daap__watchparse_pop(&ev, p), DAAP_ITEROVER);
    assert_null(ev.object);
}

static void test_whole_stream_in_one_chunk(void **state)
{
    daap__watchparse *p = new_parser();

    (void)state;
    assert_ok(daap__watchparse_feed(p, stream, strlen(stream)));
    assert_false(daap__watchparse_partial(p));
    expect_stream_events(p);
    daap__watchparse_free(p);
}

static void test_every_split_point(void **state)
{
    size_t len = strlen(stream), cut;

    (void)state;
    for (cut = 0; cut <= len; cut++) {
        daap__watchparse *p = new_parser();
        assert_ok(daap__watchparse_feed(p, stream, cut));
        assert_ok(daap__watchparse_feed(p, stream + cut, len - cut));
        expect_stream_events(p);
        daap__watchparse_free(p);
    }
}

static void test_byte_by_byte_and_random_chunks(void **state)
{
    size_t len = strlen(stream), i, round;

    (void)state;
    srand(7);
    for (round = 0; round < 200; round++) {
        daap__watchparse *p = new_parser();
        for (i = 0; i < len;) {
            size_t n = round == 0 ? 1 : 1 + (size_t)rand() % 40;
            if (n > len - i)
                n = len - i;
            assert_ok(daap__watchparse_feed(p, stream + i, n));
            i += n;
        }
        expect_stream_events(p);
        daap__watchparse_free(p);
    }
}

static void test_partial_event_is_reported(void **state)
{
    daap__watchparse *p = new_parser();
    daap_kube_event ev;

    (void)state;
    assert_ok(daap__watchparse_feed(p, "\n\n  ", 4)); /* whitespace alone is not an event */
    assert_false(daap__watchparse_partial(p));
    assert_ok(daap__watchparse_feed(p, stream, 30));
    assert_true(daap__watchparse_partial(p));
    assert_int_equal(daap__watchparse_pop(&ev, p), DAAP_ITEROVER);
    daap__watchparse_free(p); /* frees the half event */
}

static void test_error_event_410_means_expired(void **state)
{
    static const char s[] = EV("ADDED", "daap-a", "5")
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
        "\"status\":\"Failure\",\"message\":\"too old resource version: 5 (9)\",\"reason\":\"Expired\",\"code\":410}}\n";
    daap__watchparse *p = new_parser();
    daap_kube_event ev;

    (void)state;
    assert_ok(daap__watchparse_feed(p, s, strlen(s)));
    expect_event(p, DAAP_KUBE_ADDED, "5");
    assert_int_equal(daap__watchparse_pop(&ev, p), DAAP_EEXPIRED);
    assert_null(ev.object);
    assert_non_null(strstr(daap_error_last()->message, "too old resource version"));
    daap__watchparse_free(p);
}

static void test_other_error_events_map_through_the_table(void **state)
{
    static const char s[] = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
                            "\"message\":\"etcd is down\"}}";
    daap__watchparse *p = new_parser();
    daap_kube_event ev;

    (void)state;
    assert_ok(daap__watchparse_feed(p, s, strlen(s)));
    assert_int_equal(daap__watchparse_pop(&ev, p), DAAP_EUNAVAILABLE);
    assert_non_null(strstr(daap_error_last()->message, "etcd is down"));
    daap__watchparse_free(p);
}

static void test_unknown_event_types_are_skipped(void **state)
{
    static const char s[] = "{\"type\":\"SOMETHING_NEW\",\"object\":{}}" EV("ADDED", "daap-a", "7");
    daap__watchparse *p = new_parser();

    (void)state;
    assert_ok(daap__watchparse_feed(p, s, strlen(s)));
    expect_event(p, DAAP_KUBE_ADDED, "7");
    daap__watchparse_free(p);
}

static void test_garbage_is_sticky_after_the_good_events(void **state)
{
    static const char *const garbage[] = {
        "not json\n", "[1,2]\n", "{\"type\":\"ADDED\"}\n", "{\"type\":1,\"object\":{}}\n",
        "{\"type\":\"ADDED\",\"object\":[]}\n", "42\n", "}\n", "{\"a\":\"\xc3\x28\"}\n",
    };
    size_t i;

    (void)state;
    for (i = 0; i < DAAP_ARRAY_SIZE(garbage); i++) {
        daap__watchparse *p = new_parser();
        daap_kube_event ev;
        static const char good[] = EV("ADDED", "daap-a", "1");

        assert_ok(daap__watchparse_feed(p, good, strlen(good)));
        assert_int_equal(daap__watchparse_feed(p, garbage[i], strlen(garbage[i])), DAAP_EINVALID);
        assert_int_equal(daap__watchparse_feed(p, good, strlen(good)), DAAP_EINVALID); /* ignored */
        expect_event(p, DAAP_KUBE_ADDED, "1");
        assert_int_equal(daap__watchparse_pop(&ev, p), DAAP_EINVALID);
        assert_non_null(strstr(daap_error_last()->message, "corrupt watch stream"));
        assert_int_equal(daap__watchparse_pop(&ev, p), DAAP_EINVALID);
        daap__watchparse_free(p);
    }
}

static void test_deep_objects_parse(void **state)
{
    daap_buf s = DAAP_BUF_INIT;
    daap__watchparse *p = new_parser();
    daap_kube_event ev;
    int i;

    (void)state;
    daap__buf_puts(&s, "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"managedFields\":");
    for (i = 0; i < 60; i++)
        daap__buf_puts(&s, "{\"f:x\":");
    daap__buf_puts(&s, "{}");
    for (i = 0; i < 60; i++)
        daap__buf_putc(&s, '}');
    daap__buf_puts(&s, "}}}\n");
    assert_ok(daap__watchparse_feed(p, s.ptr, s.size));
    assert_ok(daap__watchparse_pop(&ev, p));
    daap_kube_object_free(ev.object);
    daap_buf_dispose(&s);
    daap__watchparse_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_stream_in_one_chunk),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_byte_by_byte_and_random_chunks),
        cmocka_unit_test(test_partial_event_is_reported),
        cmocka_unit_test(test_error_event_410_means_expired),
        cmocka_unit_test(test_other_error_events_map_through_the_table),
        cmocka_unit_test(test_unknown_event_types_are_skipped),
        cmocka_unit_test(test_garbage_is_sticky_after_the_good_events),
        cmocka_unit_test(test_deep_objects_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
