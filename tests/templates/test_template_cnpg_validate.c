/* Every rendered Cluster and Pooler passes ../shared/cnpg/validate.py --strict
 * (the CRD schemas plus part of the CNPG webhooks), and a broken template
 * does not, which shows the harness can fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"
#include "tplutil.h"
#include "ids.h"
#include "db/validate.h"

#define CASES 45   /* name lengths 3..45 each appear at least once */

typedef struct {
    char *script;   /* validate.py */
    char *dir;      /* scratch files */
} fixture;

static int setup(void **state)
{
    const char *src = daap_test_env("DAAP_SOURCE_DIR");
    fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    if (src == NULL)
        src = DAAP_TEST_SOURCE_DIR;
    if (asprintf(&f->script, "%s/../shared/cnpg/validate.py", src) < 0)
        return -1;
    if (f->script != NULL && access(f->script, R_OK) != 0) {
        free(f->script);
        f->script = NULL;
    }
    f->dir = tpl_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    tpl_rmdir(f->dir);
    free(f->script);
    free(f);
    return 0;
}

static void skip_without_validator(const fixture *f)
{
    if (f->script == NULL) {
        printf("skipped: ../shared/cnpg/validate.py not found\n");
        fflush(stdout);
        skip();
    }
}

/* Run python3 validate.py --strict files...; returns the exit status and the
 * combined output in *out (malloc'd). */
static int run_validator(const fixture *f, char **files, size_t n, char **out)
{
    const char **argv = calloc(n + 4, sizeof(*argv));
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    int fds[2], status;
    ssize_t got;
    pid_t pid;

    assert_non_null(argv);
    assert_non_null(buf);
    argv[0] = "python3";
    argv[1] = f->script;
    argv[2] = "--strict";
    memcpy(argv + 3, files, n * sizeof(*files));
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    while ((got = read(fds[0], buf + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (cap - len < 1024)
            assert_non_null(buf = realloc(buf, cap *= 2));
    }
    buf[len] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    free(argv);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
    size_t n = 0;
    const char *p = text;

    while (p && *p) {
        n += strncmp(p, prefix, strlen(prefix)) == 0;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return n;
}

/* Write json to <dir>/<stem>.json and dispose of it; returns the malloc'd path. */
static char *write_json(const fixture *f, daap_buf *json, const char *stem)
{
    char *path;
    FILE *fp;

    assert_true(asprintf(&path, "%s/%s.json", f->dir, stem) > 0);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(json->ptr, 1, json->size, fp), json->size);
    assert_int_equal(fclose(fp), 0);
    daap_buf_dispose(json);
    return path;
}

/* Render and write <dir>/<stem>.json; returns the malloc'd path. */
static char *write_rendered(const fixture *f, const daap__templates *t, daap__template_kind kind,
                            const tpl_values *v, const char *stem)
{
    daap_kube_object *obj = NULL;
    daap_buf json = DAAP_BUF_INIT;

    assert_ok(daap__template_render(&obj, t, kind, v->v, TPL_MARKERS));
    assert_ok(daap_kube_object_to_json(&json, obj));
    daap_kube_object_free(obj);
    return write_json(f, &json, stem);
}

/* One spread of inputs per case index. Strings live in *c. */
typedef struct {
    char name[DAAP__NAME_MAX + 1];
    char cluster[DAAP__CLUSTER_NAME_MAX + 16];
    char pooler[DAAP__CLUSTER_NAME_MAX + 16];
    char ident[DAAP__NAME_MAX + 1];
    char id[DAAP__UUID_STRLEN + 1];
    char instances[4];
    char version[4];
} case_strings;

static const char *const sizes[] = { "1Gi", "10Gi", "500Mi", "1Ti" };
static const char *const images[] = {
    "ghcr.io/cloudnative-pg/postgresql:14.19-system-bookworm",
    "ghcr.io/cloudnative-pg/postgresql:15.14",
    "ghcr.io/cloudnative-pg/postgresql:16.10-standard-trixie",
    "ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie",
    "ghcr.io/cloudnative-pg/postgresql:18.0-minimal-trixie@sha256:"
        "3f1b1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
};
/* Odd but valid DNS-label teams: digits only, words YAML would type, the
 * longest allowed, doubled hyphens. */
static const char *const teams[] = {
    "a", "0", "123", "true", "null", "on", "9lives", "team-42", "x--y", "e2e", "1e3",
    "abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghijklmnopqrstuvwxy",
};
static const char *const namespaces[] = { "default", "dbaas", "team-a-prod-eu-west-1" };

/* A valid database name of len characters: letter first, letter last. */
static void make_name(char *out, size_t len, size_t seed)
{
    static const char fill[] = "x9-k2m";
    size_t i;

    out[0] = (char)('a' + seed % 26);
    for (i = 1; i + 1 < len; i++)
        out[i] = fill[(i + seed) % (sizeof(fill) - 1)];
    out[len - 1] = 'z';
    out[len] = '\0';
}

static void fill_case(tpl_values *v, case_strings *c, size_t i)
{
    int version = 14 + (int)(i % 5);

    make_name(c->name, 3 + i % (DAAP__NAME_MAX - 2), i);
    daap__cluster_name(c->cluster, sizeof(c->cluster), c->name);
    daap__pooler_name(c->pooler, sizeof(c->pooler), c->name);
    daap__pg_identifier(c->ident, sizeof(c->ident), c->name);
    assert_ok(daap__uuid7(c->id, 1700000000000 + (int64_t)i));
    snprintf(c->instances, sizeof(c->instances), "%d", 1 + (int)(i % 9));
    snprintf(c->version, sizeof(c->version), "%d", version);
    tpl_values_default(v);
    tpl_values_set(v, "NAME", c->name, 0);
    tpl_values_set(v, "CLUSTER_NAME", c->cluster, 0);
    tpl_values_set(v, "POOLER_NAME", c->pooler, 0);
    tpl_values_set(v, "DATABASE", c->ident, 0);
    tpl_values_set(v, "OWNER", c->ident, 0);
    tpl_values_set(v, "DATABASE_ID", c->id, 0);
    tpl_values_set(v, "INSTANCES", c->instances, 1);
    tpl_values_set(v, "PG_VERSION", c->version, 1);
    tpl_values_set(v, "STORAGE_SIZE", sizes[i % 4], 0);
    tpl_values_set(v, "IMAGE", images[version - 14], 0);
    tpl_values_set(v, "OWNER_TEAM", teams[i % (sizeof(teams) / sizeof(teams[0]))], 0);
    tpl_values_set(v, "NAMESPACE", namespaces[i % 3], 0);
}

static void free_files(char **files, size_t n)
{
    while (n > 0)
        free(files[--n]);
}

static void test_builtins_pass(void **state)
{
    fixture *f = *state;
    daap__templates *t = NULL;
    char *files[2 * CASES], stem[32], *out;
    case_strings c;
    tpl_values v;
    size_t i, n = 0, longest = 0;
    int rc;

    skip_without_validator(f);
    assert_ok(daap__templates_load(&t, NULL));
    for (i = 0; i < CASES; i++) {
        fill_case(&v, &c, i);
        longest = strlen(c.cluster) > longest ? strlen(c.cluster) : longest;
        snprintf(stem, sizeof(stem), "cluster-%02zu", i);
        files[n++] = write_rendered(f, t, DAAP__TEMPLATE_CLUSTER, &v, stem);
        snprintf(stem, sizeof(stem), "pooler-%02zu", i);
        files[n++] = write_rendered(f, t, DAAP__TEMPLATE_POOLER, &v, stem);
    }
    assert_int_equal(longest, DAAP__CLUSTER_NAME_MAX);
    rc = run_validator(f, files, n, &out);
    if (rc != 0 || count_lines_starting(out, "OK ") != n)
        fail_msg("validate.py exit %d, %zu OK lines for %zu files:\n%s", rc,
                 count_lines_starting(out, "OK "), n, out);
    free(out);
    free_files(files, n);
    daap__templates_free(t);
}

/* instances: 0 and poolMode: statement are valid YAML with valid markers
 * that CNPG refuses; validate.py must say so. */
static const char broken_cluster[] =
    "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n"
    "  name: {{CLUSTER_NAME}}\n  namespace: {{NAMESPACE}}\n"
    "  labels:\n    app.kubernetes.io/managed-by: daap\n    daap.dev/database-id: {{DATABASE_ID}}\n"
    "spec:\n  instances: 0\n  imageName: {{IMAGE}}\n  storage: {size: {{STORAGE_SIZE}}}\n";
static const char broken_pooler[] =
    "apiVersion: postgresql.cnpg.io/v1\nkind: Pooler\nmetadata:\n"
    "  name: {{POOLER_NAME}}\n  namespace: {{NAMESPACE}}\n"
    "  labels:\n    app.kubernetes.io/managed-by: daap\n    daap.dev/database-id: {{DATABASE_ID}}\n"
    "spec:\n  cluster: {name: {{CLUSTER_NAME}}}\n  type: rw\n  pgbouncer: {poolMode: statement}\n";

static void check_rejected(const fixture *f, const daap__templates *t, daap__template_kind kind,
                           const char *stem, const char *want)
{
    char *file, *out;
    case_strings c;
    tpl_values v;
    int rc;

    fill_case(&v, &c, 7);
    file = write_rendered(f, t, kind, &v, stem);
    rc = run_validator(f, &file, 1, &out);
    if (rc != 1 || strstr(out, want) == NULL)
        fail_msg("validate.py exit %d (want 1 and '%s'):\n%s", rc, want, out);
    free(out);
    free(file);
}

static void test_broken_override_rejected(void **state)
{
    fixture *f = *state;
    daap__templates *t = NULL;
    char *tdir;

    skip_without_validator(f);
    tdir = tpl_mkdtemp();
    tpl_write(tdir, "cluster.yaml", broken_cluster);
    tpl_write(tdir, "pooler.yaml", broken_pooler);
    assert_ok(daap__templates_load(&t, tdir));
    check_rejected(f, t, DAAP__TEMPLATE_CLUSTER, "broken-cluster", "spec.instances");
    check_rejected(f, t, DAAP__TEMPLATE_POOLER, "broken-pooler", "spec.pgbouncer.poolMode");
    daap__templates_free(t);
    tpl_rmdir(tdir);
}

/* Write the resize merge patch of a rendered Cluster to <dir>/<stem>.json. */
static char *write_patch(const fixture *f, const daap__templates *t, const tpl_values *v, const char *stem)
{
    daap_kube_object *cluster = NULL;
    daap_buf patch = DAAP_BUF_INIT;

    assert_ok(daap__template_render(&cluster, t, DAAP__TEMPLATE_CLUSTER, v->v, TPL_MARKERS));
    assert_ok(daap__cluster_resize_patch(&patch, cluster));
    daap_kube_object_free(cluster);
    return write_json(f, &patch, stem);
}

/* The merge patch a resize sends (docs/day2.md) is itself a valid Cluster
 * for every case, and one that asks for 0 instances is refused. */
static void test_resize_patch_passes(void **state)
{
    fixture *f = *state;
    daap__templates *t = NULL;
    char *files[CASES], stem[32], *out, *bad;
    case_strings c;
    tpl_values v;
    size_t i;
    int rc;

    skip_without_validator(f);
    assert_ok(daap__templates_load(&t, NULL));
    for (i = 0; i < CASES; i++) {
        fill_case(&v, &c, i);
        snprintf(stem, sizeof(stem), "patch-%02zu", i);
        files[i] = write_patch(f, t, &v, stem);
    }
    rc = run_validator(f, files, CASES, &out);
    if (rc != 0 || count_lines_starting(out, "OK ") != CASES)
        fail_msg("validate.py exit %d, %zu OK lines for %d patches:\n%s", rc,
                 count_lines_starting(out, "OK "), CASES, out);
    free(out);
    free_files(files, CASES);

    fill_case(&v, &c, 3);
    tpl_values_set(&v, "INSTANCES", "0", 1);
    bad = write_patch(f, t, &v, "patch-bad");
    rc = run_validator(f, &bad, 1, &out);
    if (rc != 1 || strstr(out, "spec.instances") == NULL)
        fail_msg("validate.py exit %d for a patch to 0 instances:\n%s", rc, out);
    free(out);
    free(bad);
    daap__templates_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtins_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_override_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_patch_passes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
