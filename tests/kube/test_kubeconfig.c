/* kubeconfig and in-cluster configuration: every form the REST backend
 * reads, kubectl's merge and precedence rules, and the refusals. */
#include "common.h"
#include "kube/kubeconfig.h"
#include "kube/kube_object.h"
#include "support.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_A "token-from-a-2f9c"
#define TOKEN_B "token-from-b-77e1"
#define CA_PEM  "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

static char tmp[256];

static void write_file(const char *rel, const char *text)
{
    char path[512], dir[512], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp, rel);
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    *slash = '\0';
    mkdir(dir, 0700); /* one level is all the tests need */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *tmp_path(const char *rel)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", tmp, rel);
    return p;
}

static char *b64(const char *text)
{
    daap_buf b = DAAP_BUF_INIT;
    assert_ok(daap__base64_encode(&b, text, strlen(text)));
    return daap__buf_detach(&b);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    if (daap_init() < 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s/daap-kubeconfig-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmp));
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("POD_NAMESPACE");
    setenv("HOME", tmp, 1);
    setenv("DAAP_SERVICEACCOUNT_DIR", tmp_path("sa"), 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    daap_shutdown();
    return 0;
}

static void load_ok(daap__kubeconfig *cfg, const char *paths, const char *context, unsigned flags)
{
    assert_ok(daap__kubeconfig_load(cfg, paths, context, flags));
}

static int load_fails(const char *paths, const char *context, unsigned flags)
{
    daap__kubeconfig cfg;
    int rc = daap__kubeconfig_load(&cfg, paths, context, flags);

    assert_true(rc < 0);
    assert_null(cfg.server); /* nothing half-loaded stays behind */
    assert_null(strstr(daap_error_last()->message, TOKEN_A));
    return rc;
}

static const char simple_config[] =
    "apiVersion: v1\nkind: Config\ncurrent-context: sim\n"
    "clusters:\n- name: sim\n  cluster:\n    server: https://127.0.0.1:18443/prefix/\n"
    "    certificate-authority: ca.crt\n    tls-server-name: kubernetes.default.svc\n"
    "contexts:\n- name: sim\n  context: {cluster: sim, user: u, namespace: team-a}\n"
    "- name: bare\n  context: {cluster: sim}\n"
    "users:\n- name: u\n  user:\n    tokenFile: secrets/token\n    token: " TOKEN_B "\n";

static void test_relative_paths_resolve_against_the_kubeconfig_dir(void **state)
{
    daap__kubeconfig cfg;
    char cwd[512];

    (void)state;
    write_file("k/config", simple_config);
    write_file("k/ca.crt", CA_PEM);
    write_file("k/secrets/token", TOKEN_A "\n");
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir("/"), 0); /* the working directory must not matter */
    load_ok(&cfg, tmp_path("k/config"), NULL, 0);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(cfg.server, "https://127.0.0.1:18443/prefix");
    assert_string_equal(cfg.namespace_, "team-a");
    assert_string_equal(cfg.ca_pem.ptr, CA_PEM);
    assert_string_equal(cfg.token_file, tmp_path("k/secrets/token")); /* tokenFile wins over token */
    assert_string_equal(cfg.tls_server_name, "kubernetes.default.svc");
    assert_non_null(strstr(cfg.origin, "sim"));
    daap__kubeconfig_dispose(&cfg);
}

static void test_context_selection_and_default_namespace(void **state)
{
    daap__kubeconfig cfg;

    (void)state;
    load_ok(&cfg, tmp_path("k/config"), "bare", 0);
    assert_string_equal(cfg.namespace_, "default");
    assert_null(cfg.token);
    assert_null(cfg.token_file);
    daap__kubeconfig_dispose(&cfg);
    assert_int_equal(load_fails(tmp_path("k/config"), "nope", 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "\"nope\""));
}

static void test_ca_data_token_and_client_cert_data(void **state)
{
    char *ca = b64(CA_PEM), *cert = b64("CERT PEM"), text[2048];
    daap__kubeconfig cfg;

    (void)state;
    snprintf(text, sizeof(text),
             "current-context: c\nclusters:\n- name: cl\n  cluster:\n    server: https://h:6443\n"
             "    certificate-authority-data: %s\ncontexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
             "users:\n- name: u\n  user:\n    token: " TOKEN_A "\n    client-certificate-data: %s\n"
             "    client-key: key.pem\n", ca, cert);
    write_file("d/config", text);
    write_file("d/key.pem", "KEY PEM");
    load_ok(&cfg, tmp_path("d/config"), NULL, 0);
    assert_string_equal(cfg.ca_pem.ptr, CA_PEM);
    assert_string_equal(cfg.token, TOKEN_A);
    assert_string_equal(cfg.client_cert_pem.ptr, "CERT PEM");
    assert_string_equal(cfg.client_key_pem.ptr, "KEY PEM");
    assert_false(cfg.insecure);
    daap__kubeconfig_dispose(&cfg);
    daap__free(ca);
    daap__free(cert);
}

static void test_client_cert_files(void **state)
{
    daap__kubeconfig cfg;

    (void)state;
    write_file("c/config", "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
                           "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
                           "users:\n- name: u\n  user: {client-certificate: crt.pem, client-key: key.pem}\n");
    write_file("c/crt.pem", "CRT");
    write_file("c/key.pem", "KEY");
    load_ok(&cfg, tmp_path("c/config"), NULL, 0);
    assert_string_equal(cfg.client_cert_pem.ptr, "CRT");
    assert_string_equal(cfg.client_key_pem.ptr, "KEY");
    assert_int_equal(cfg.ca_pem.size, 0); /* system trust store */
    daap__kubeconfig_dispose(&cfg);
    write_file("c/config", "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
                           "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
                           "users:\n- name: u\n  user: {client-certificate: crt.pem}\n");
    assert_int_equal(load_fails(tmp_path("c/config"), NULL, 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "without a client key"));
    write_file("c/config", "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
                           "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
                           "users:\n- name: u\n  user: {client-certificate: nothere.pem, client-key: key.pem}\n");
    assert_int_equal(load_fails(tmp_path("c/config"), NULL, 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "nothere.pem"));
}

/* m1 defines user u and current-context; m2 defines u again (ignored), the
 * cluster (used) and its own current-context (ignored). */
static void write_two_files(void)
{
    write_file("m1/config", "current-context: one\ncontexts:\n- name: one\n  context: {cluster: shared, user: u}\n"
                            "users:\n- name: u\n  user: {token: " TOKEN_A "}\n");
    write_file("m2/config", "current-context: two\ncontexts:\n- name: two\n  context: {cluster: shared, user: u}\n"
                            "- name: one\n  context: {cluster: none, user: none}\n"
                            "clusters:\n- name: shared\n  cluster: {server: 'https://m2:443', certificate-authority: ca.crt}\n"
                            "users:\n- name: u\n  user: {token: " TOKEN_B "}\n");
    write_file("m2/ca.crt", CA_PEM);
}

static void test_two_files_first_wins(void **state)
{
    daap__kubeconfig cfg;
    char paths[1024];

    (void)state;
    write_two_files();
    snprintf(paths, sizeof(paths), "%s:%s:%s", tmp_path("missing/config"), tmp_path("m1/config"),
             tmp_path("m2/config"));
    setenv("KUBECONFIG", paths, 1);
    load_ok(&cfg, NULL, NULL, 0);
    unsetenv("KUBECONFIG");
    assert_string_equal(cfg.origin, "kubeconfig context \"one\"");
    assert_string_equal(cfg.token, TOKEN_A);
    assert_string_equal(cfg.server, "https://m2:443");
    assert_string_equal(cfg.ca_pem.ptr, CA_PEM); /* relative to m2's directory */
    daap__kubeconfig_dispose(&cfg);

    snprintf(paths, sizeof(paths), "%s:%s", tmp_path("m2/config"), tmp_path("m1/config"));
    load_ok(&cfg, paths, NULL, 0);
    assert_string_equal(cfg.token, TOKEN_B);
    assert_string_equal(cfg.origin, "kubeconfig context \"two\"");
    daap__kubeconfig_dispose(&cfg);
}

static void test_both_ca_forms_are_an_error(void **state)
{
    (void)state;
    write_file("b/config", "current-context: c\nclusters:\n- name: cl\n  cluster:\n    server: https://h\n"
                           "    certificate-authority: ca.crt\n    certificate-authority-data: Zm9v\n"
                           "contexts:\n- name: c\n  context: {cluster: cl}\n");
    assert_int_equal(load_fails(tmp_path("b/config"), NULL, 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "both certificate-authority and certificate-authority-data"));
}

static void test_insecure_is_refused_unless_allowed(void **state)
{
    daap__kubeconfig cfg;

    (void)state;
    write_file("i/config", "current-context: c\nclusters:\n- name: cl\n  cluster:\n    server: https://h\n"
                           "    insecure-skip-tls-verify: true\ncontexts:\n- name: c\n  context: {cluster: cl}\n");
    assert_int_equal(load_fails(tmp_path("i/config"), NULL, 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "insecure-skip-tls-verify"));
    load_ok(&cfg, tmp_path("i/config"), NULL, DAAP_CTX_ALLOW_INSECURE_TLS);
    assert_true(cfg.insecure);
    daap__kubeconfig_dispose(&cfg);

    write_file("i/config", "current-context: c\nclusters:\n- name: cl\n  cluster:\n    server: https://h\n"
                           "    insecure-skip-tls-verify: true\n    certificate-authority-data: Zm9v\n"
                           "contexts:\n- name: c\n  context: {cluster: cl}\n");
    assert_int_equal(load_fails(tmp_path("i/config"), NULL, DAAP_CTX_ALLOW_INSECURE_TLS), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "insecure flag is not allowed"));
}

static void test_unsupported_auth_is_named_and_tokens_stay_secret(void **state)
{
    static const char *const users[] = {
        "{exec: {command: gcloud, apiVersion: client.authentication.k8s.io/v1}, token: " TOKEN_A "}",
        "{auth-provider: {name: oidc}, token: " TOKEN_A "}",
        "{username: admin, password: " TOKEN_A "}",
        "{as: admin, token: " TOKEN_A "}",
    };
    static const char *const named[] = { "exec", "auth-provider", "basic authentication", "impersonation" };
    char text[1024];
    size_t i;

    (void)state;
    for (i = 0; i < DAAP_ARRAY_SIZE(users); i++) {
        snprintf(text, sizeof(text), "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
                 "contexts:\n- name: c\n  context: {cluster: cl, user: u}\nusers:\n- name: u\n  user: %s\n", users[i]);
        write_file("u/config", text);
        assert_int_equal(load_fails(tmp_path("u/config"), NULL, 0), DAAP_EINVALID);
        assert_non_null(strstr(daap_error_last()->message, named[i]));
    }
}

static void test_json_is_yaml_too(void **state)
{
    daap__kubeconfig cfg;

    (void)state;
    write_file("j/config", "{\"current-context\":\"c\",\"clusters\":[{\"name\":\"cl\",\"cluster\":{\"server\":\"http://h:8080\"}}],"
                           "\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"cl\",\"namespace\":\"ns\"}}]}");
    load_ok(&cfg, tmp_path("j/config"), NULL, 0);
    assert_string_equal(cfg.server, "http://h:8080");
    assert_string_equal(cfg.namespace_, "ns");
    daap__kubeconfig_dispose(&cfg);
}

static void test_broken_files_are_invalid(void **state)
{
    (void)state;
    write_file("y/config", "current-context: [unclosed\n");
    assert_int_equal(load_fails(tmp_path("y/config"), NULL, 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "line"));
    write_file("y/config", "- just\n- a list\n");
    assert_int_equal(load_fails(tmp_path("y/config"), NULL, 0), DAAP_EINVALID);
    write_file("y/config", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                           "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                           "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n");
    assert_int_equal(load_fails(tmp_path("y/config"), NULL, 0), DAAP_EINVALID);
    write_file("y/config", "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'ftp://h'}\n"
                           "contexts:\n- name: c\n  context: {cluster: cl}\n");
    assert_int_equal(load_fails(tmp_path("y/config"), NULL, 0), DAAP_EINVALID);
    write_file("y/config", "");
    assert_int_equal(load_fails(tmp_path("y/config"), NULL, 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "current-context"));
}

static void test_in_cluster(void **state)
{
    daap__kubeconfig cfg;

    (void)state;
    write_file("sa/token", TOKEN_A "\n");
    write_file("sa/ca.crt", CA_PEM);
    write_file("sa/namespace", "team-x\n");
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    load_ok(&cfg, NULL, NULL, 0); /* no $KUBECONFIG, no ~/.kube/config */
    assert_string_equal(cfg.server, "https://10.0.0.1:6443");
    assert_string_equal(cfg.namespace_, "team-x");
    assert_string_equal(cfg.token_file, tmp_path("sa/token"));
    assert_string_equal(cfg.ca_pem.ptr, CA_PEM);
    assert_string_equal(cfg.origin, "in-cluster config");
    daap__kubeconfig_dispose(&cfg);

    setenv("POD_NAMESPACE", "from-env", 1);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    load_ok(&cfg, NULL, NULL, 0);
    assert_string_equal(cfg.server, "https://[fd00::1]:6443");
    assert_string_equal(cfg.namespace_, "from-env");
    daap__kubeconfig_dispose(&cfg);
    unsetenv("POD_NAMESPACE");

    remove(tmp_path("sa/token"));
    assert_int_equal(load_fails(NULL, NULL, 0), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "service-account token"));
    /* an explicit kubeconfig never falls back to in-cluster */
    assert_int_equal(load_fails(tmp_path("missing/config"), NULL, 0), DAAP_ENOTFOUND);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_home_kube_config_is_the_default(void **state)
{
    daap__kubeconfig cfg;

    (void)state;
    write_file(".kube/config", "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://home'}\n"
                               "contexts:\n- name: c\n  context: {cluster: cl}\n");
    load_ok(&cfg, NULL, NULL, 0);
    assert_string_equal(cfg.server, "https://home");
    daap__kubeconfig_dispose(&cfg);
    remove(tmp_path(".kube/config"));
}

static void test_no_configuration_at_all(void **state)
{
    (void)state;
    assert_int_equal(load_fails(NULL, NULL, 0), DAAP_ENOTFOUND);
    assert_non_null(strstr(daap_error_last()->message, "KUBERNETES_SERVICE_HOST"));
    assert_int_equal(load_fails(tmp_path("nothing-here"), NULL, 0), DAAP_ENOTFOUND);
}

static void test_rest_backend_from_config(void **state)
{
    daap_kube_rest_options opts = DAAP_KUBE_REST_OPTIONS_INIT;
    daap_kube_backend *be = NULL, *fake = NULL;
    daap_kube_object *obj = NULL;
    daap_kube_ref ref = { DAAP_KUBE_CLUSTER, NULL, "daap-foo" };
    int64_t start;

    (void)state;
    /* port 9 on loopback: nothing listens, connections are refused at once */
    write_file("r/config", "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'http://127.0.0.1:9'}\n"
                           "contexts:\n- name: c\n  context: {cluster: cl, user: u, namespace: team-r}\n"
                           "users:\n- name: u\n  user: {token: " TOKEN_A "}\n");
    opts.kubeconfig = tmp_path("r/config");
    opts.max_retries = 2;
    opts.timeout_ms = 5000;
    assert_ok(daap_kube_rest_new(&be, &opts));
    assert_ok(daap__kube_check(be));
    assert_string_equal(daap_kube_rest_namespace(be), "team-r");
    start = daap__mono_ms();
    assert_int_equal(daap__kube_get(&obj, be, &ref), DAAP_EUNAVAILABLE);
    assert_true(daap__mono_ms() - start < 4000);
    assert_null(obj);
    assert_non_null(strstr(daap_error_last()->message, "get Cluster team-r/daap-foo"));
    assert_non_null(strstr(daap_error_last()->message, "after 3 attempts"));
    assert_null(strstr(daap_error_last()->message, TOKEN_A));
    daap__kube_free(be);

    assert_ok(daap_kube_fake_new(&fake));
    assert_null(daap_kube_rest_namespace(fake));
    daap__kube_free(fake);
    opts.version = 99;
    assert_int_equal(daap_kube_rest_new(&be, &opts), DAAP_EINVALID);
    assert_null(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relative_paths_resolve_against_the_kubeconfig_dir),
        cmocka_unit_test(test_context_selection_and_default_namespace),
        cmocka_unit_test(test_ca_data_token_and_client_cert_data),
        cmocka_unit_test(test_client_cert_files),
        cmocka_unit_test(test_two_files_first_wins),
        cmocka_unit_test(test_both_ca_forms_are_an_error),
        cmocka_unit_test(test_insecure_is_refused_unless_allowed),
        cmocka_unit_test(test_unsupported_auth_is_named_and_tokens_stay_secret),
        cmocka_unit_test(test_json_is_yaml_too),
        cmocka_unit_test(test_broken_files_are_invalid),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_home_kube_config_is_the_default),
        cmocka_unit_test(test_no_configuration_at_all),
        cmocka_unit_test(test_rest_backend_from_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
