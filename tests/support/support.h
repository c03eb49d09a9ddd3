/* Shared helpers for cmocka tests: include after <setjmp.h> etc. */
#ifndef DAAP_TEST_SUPPORT_H
#define DAAP_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <daap/daap.h>

/* An environment variable, or NULL when unset or empty. */
const char *daap_test_env(const char *name);
/* Print rc and the last error (with field errors) to stderr. */
void daap_test_print_error(const char *what, int rc);
/* Remove a test's temporary directory and everything in it: 0 or -1. */
int daap_test_remove_dir(const char *dir);

/* Assert rc == 0, printing the last error when not. */
#define assert_ok(expr) do { int rc__ = (expr); \
        if (rc__ != 0) daap_test_print_error(#expr, rc__); \
        assert_int_equal(rc__, 0); } while (0)

#endif
