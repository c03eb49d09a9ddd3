/* The marker table of manifest/template.h is the one list of markers: every
 * entry has a distinct name, the built-in templates use only its markers
 * (they load), and the lifecycle's renderer gives every one a value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "manifest/template.h"

static void test_names_are_distinct_and_bounded(void **state)
{
    int i, j;

    (void)state;
    for (i = 0; i < DAAP__MARKER__COUNT; i++) {
        const char *a = daap__template_marker_name((daap__marker)i);
        assert_non_null(a);
        for (j = 0; j < i; j++)
            assert_string_not_equal(a, daap__template_marker_name((daap__marker)j));
    }
    assert_null(daap__template_marker_name(DAAP__MARKER__COUNT));
    assert_string_equal(daap__template_marker_name(DAAP__MARKER_CLUSTER_NAME), "CLUSTER_NAME");
}

static void test_builtin_templates_use_only_the_table(void **state)
{
    daap__templates *t = NULL;

    (void)state;
    assert_int_equal(daap__templates_load(&t, NULL), 0); /* an unknown marker fails the load */
    daap__templates_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_distinct_and_bounded),
        cmocka_unit_test(test_builtin_templates_use_only_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
