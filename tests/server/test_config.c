/* daap_config_load: the flat YAML config file and every way it can be wrong,
 * plus daap_problem_json, the edge problem renderer the server uses, and
 * daap_error_for_client, which keeps internals out of problem bodies. */
#include "support.h"

#include <daap/sys/alloc.h>
#include <daap/sys/errors.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[128];

static int setup(void **state)
{
    int fd;
    (void)state;
    snprintf(path, sizeof(path), "/tmp/daap-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Load text that must fail; check the code, the line in the message and the field. */
static void expect_invalid(const char *text, const char *line, const char *field, const char *code)
{
    daap_config *cfg = (daap_config *)1;
    const daap_error *e;

    write_text(text);
    assert_int_equal(daap_config_load(&cfg, path), DAAP_EINVALID);
    assert_null(cfg);
    e = daap_error_last();
    if (line && strstr(e->message, line) == NULL)
        fail_msg("message '%s' lacks '%s'", e->message, line);
    assert_int_equal(e->field_count, 1);
    assert_string_equal(e->fields[0].field, field);
    assert_string_equal(e->fields[0].code, code);
}

static void test_valid_file(void **state)
{
    daap_config *cfg;
    (void)state;
    write_text("# comment\nlisten: 127.0.0.1:9090\nstore: \"sqlite:///tmp/x.db\"\n"
               "provisioning_deadline: 5m\nmax_instances: 3\nnamespace: ~\nkube_context:\n");
    assert_ok(daap_config_load(&cfg, path));
    assert_string_equal(daap_config_get(cfg, "listen"), "127.0.0.1:9090");
    assert_string_equal(daap_config_get(cfg, "store"), "sqlite:///tmp/x.db");
    assert_string_equal(daap_config_get(cfg, "provisioning_deadline"), "5m");
    assert_string_equal(daap_config_get(cfg, "max_instances"), "3");
    assert_null(daap_config_get(cfg, "namespace"));
    assert_null(daap_config_get(cfg, "kube_context"));
    assert_null(daap_config_get(cfg, "template_dir"));
    assert_null(daap_config_get(cfg, "no_such_key"));
    assert_int_equal(daap_config_line(cfg, "listen"), 2);
    assert_int_equal(daap_config_line(cfg, "namespace"), 0);
    assert_string_equal(daap_config_path(cfg), path);
    daap_config_free(cfg);
}

static void test_empty_file_is_empty_config(void **state)
{
    daap_config *cfg;
    (void)state;
    write_text("");
    assert_ok(daap_config_load(&cfg, path));
    assert_null(daap_config_get(cfg, "listen"));
    daap_config_free(cfg);
    write_text("---\n# only a comment\n");
    assert_ok(daap_config_load(&cfg, path));
    daap_config_free(cfg);
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_invalid("listen: a\nlisen: b\n", ":2:", "lisen", "unknown_key");
    expect_invalid("store: a\nstore: b\n", ":2:", "store", "duplicate");
    expect_invalid("listen:\n  - a\n  - b\n", ":2:", "listen", "type");
    expect_invalid("listen: {host: a}\n", ":1:", "listen", "type");
    expect_invalid("namespace: &x daap\ncluster_domain: *x\n", ":2:", "cluster_domain", "type");
    expect_invalid("listen: a\n---\nstore: b\n", ":2:", "config", "structure");
    expect_invalid("- listen\n- store\n", ":1:", "config", "structure");
    expect_invalid("just a string\n", ":1:", "config", "structure");
    expect_invalid("listen: [unclosed\n", ":1:", "listen", "type");
    expect_invalid("listen: \"unterminated\n", NULL, "config", "syntax");
    expect_invalid("listen: a\n  bad indent: b\n", NULL, "config", "syntax");
    expect_invalid("? [a, b]\n: c\n", ":1:", "config", "structure");
    expect_invalid("purpose: \"\\x01\"\n", ":1:", "purpose", "unknown_key");
    expect_invalid("namespace: \"a\\x01b\"\n", ":1:", "namespace", "invalid_text");
}

static void test_missing_and_oversized(void **state)
{
    daap_config *cfg;
    char *big;
    FILE *f;
    (void)state;
    assert_int_equal(daap_config_load(&cfg, "/nonexistent/daap.yaml"), DAAP_ENOTFOUND);
    assert_null(cfg);
    big = malloc(70000);
    assert_non_null(big);
    memset(big, '#', 69999);
    big[69999] = '\0';
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(big, f);
    fclose(f);
    free(big);
    assert_int_equal(daap_config_load(&cfg, path), DAAP_EINVALID);
}

static void test_known_keys(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; daap_config_known_key(i); i++)
        assert_true(strlen(daap_config_known_key(i)) > 0);
    assert_true(i >= 13);
    assert_string_equal(daap_config_known_key(0), "listen");
}

static void test_problem_json(void **state)
{
    daap_buf out = DAAP_BUF_INIT;
    (void)state;
    assert_ok(daap_problem_json(&out, 413, "too \"big\"", "/databases"));
    assert_string_equal(out.ptr, "{\"type\":\"urn:daap:error:payload_too_large\",\"title\":\"request body too large\","
                                 "\"status\":413,\"code\":\"payload_too_large\",\"detail\":\"too \\\"big\\\"\","
                                 "\"instance\":\"/databases\"}");
    daap_buf_dispose(&out);
    assert_ok(daap_problem_json(&out, 599, NULL, NULL));
    assert_non_null(strstr(out.ptr, "\"detail\":\"server error\""));
    daap_buf_dispose(&out);
    assert_int_equal(daap_problem_json(&out, 200, NULL, NULL), DAAP_EINVALID);
    assert_string_equal(daap_problem_code(404), daap_error_code_name(DAAP_ENOTFOUND));
    assert_string_equal(daap_problem_code(503), daap_error_code_name(DAAP_EUNAVAILABLE));
    assert_string_equal(daap_problem_code(400), daap_error_code_name(DAAP_EINVALID));
    assert_string_equal(daap_problem_code(299), "error");
    daap_buf_dispose(&out);
}

/* By class: storage and Kubernetes text never reaches a client; what the
 * client itself sent (validation, ownership) keeps its message and fields. */
static void test_error_for_client(void **state)
{
    daap_error shown;
    (void)state;
    daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_STORAGE,
                   "postgres connect on postgres@127.0.0.1:5432/postgres: connection to server failed");
    assert_int_equal(daap_error_for_client(&shown, daap_error_last()), 1);
    assert_string_equal(shown.message, "the metadata store is unavailable; retry later");
    assert_int_equal(shown.code, DAAP_EUNAVAILABLE);

    daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_KUBE, "GET https://10.0.0.1:6443/api: refused");
    assert_int_equal(daap_error_for_client(&shown, daap_error_last()), 1);
    assert_null(strstr(shown.message, "10.0.0.1"));
    assert_non_null(strstr(shown.message, "Kubernetes"));

    daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "cannot write secret key file /var/lib/daap/key: EACCES");
    assert_int_equal(daap_error_for_client(&shown, daap_error_last()), 1);
    assert_string_equal(shown.message, daap_strerror(DAAP_ERROR));

    daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "the body is not valid JSON");
    daap_error_add_field("name", "pattern", "lower-case letters");
    assert_int_equal(daap_error_for_client(&shown, daap_error_last()), 0);
    assert_string_equal(shown.message, "the body is not valid JSON");
    assert_int_equal(shown.field_count, 1);
    assert_int_equal(daap_error_for_client(NULL, daap_error_last()), DAAP_EINVALID);
}

/* Allocation number `fail_at` fails (1-based); 0 never. */
static unsigned long alloc_count, fail_at;

static void *oom_malloc(size_t n, void *payload)
{
    (void)payload;
    return ++alloc_count == fail_at ? NULL : malloc(n);
}

static void *oom_realloc(void *p, size_t n, void *payload)
{
    (void)payload;
    return ++alloc_count == fail_at ? NULL : realloc(p, n);
}

static void oom_free(void *p, void *payload)
{
    (void)payload;
    free(p);
}

/* Every allocation failure gives a clean error and leaks nothing (ASan/valgrind). */
static void test_out_of_memory(void **state)
{
    daap_allocator a = { DAAP_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, NULL };
    daap_config *cfg;
    int rc;
    (void)state;
    write_text("listen: 127.0.0.1:1\nstore: sqlite:///x.db\nnamespace: n\n");
    assert_ok(daap_set_allocator(&a));
    for (fail_at = 1;; fail_at++) {
        alloc_count = 0;
        rc = daap_config_load(&cfg, path);
        if (rc == 0)
            break;
        assert_int_equal(rc, DAAP_ERROR);
        assert_null(cfg);
    }
    assert_true(fail_at > 3);
    assert_string_equal(daap_config_get(cfg, "namespace"), "n");
    daap_config_free(cfg);
    assert_ok(daap_set_allocator(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_is_empty_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_oversized, setup, teardown),
        cmocka_unit_test(test_known_keys),
        cmocka_unit_test(test_problem_json),
        cmocka_unit_test(test_error_for_client),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
