#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "tplutil.h"

char *tpl_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path;

    assert_true(asprintf(&path, "%s/daap-tpl-XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(path));
    return path;
}

void tpl_write(const char *dir, const char *name, const char *text)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

void tpl_rmdir(char *dir)
{
    char path[4096];
    struct dirent *e;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        assert_int_equal(unlink(path), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

void tpl_values_default(tpl_values *vals)
{
    static const daap__template_value defaults[TPL_MARKERS] = {
        { "CLUSTER_NAME", "daap-orders", 0 },
        { "POOLER_NAME", "daap-orders-pooler", 0 },
        { "NAMESPACE", "team-a", 0 },
        { "NAME", "orders", 0 },
        { "DATABASE_ID", "01890a5d-ac96-774b-bcce-b302099a8057", 0 },
        { "OWNER_TEAM", "payments", 0 },
        { "INSTANCES", "3", 1 },
        { "IMAGE", "ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie", 0 },
        { "PG_VERSION", "17", 1 },
        { "STORAGE_SIZE", "10Gi", 0 },
        { "DATABASE", "orders", 0 },
        { "OWNER", "orders", 0 },
    };
    memcpy(vals->v, defaults, sizeof(defaults));
}

void tpl_values_set(tpl_values *vals, const char *name, const char *value, int is_int)
{
    size_t i;

    for (i = 0; i < TPL_MARKERS; i++) {
        if (strcmp(vals->v[i].name, name) == 0) {
            vals->v[i].value = value;
            vals->v[i].is_int = is_int;
            return;
        }
    }
    fail_msg("unknown marker %s", name);
}

json_object *tpl_render_json(const daap__templates *t, daap__template_kind kind,
                             const daap__template_value *v, size_t n, int *rc)
{
    daap_kube_object *obj = NULL;
    daap_buf json = DAAP_BUF_INIT;
    json_object *root;

    *rc = daap__template_render(&obj, t, kind, v, n);
    if (*rc != 0) {
        assert_null(obj);
        return NULL;
    }
    assert_int_equal(daap_kube_object_to_json(&json, obj), 0);
    daap_kube_object_free(obj);
    root = json_tokener_parse(json.ptr);
    assert_non_null(root);
    daap_buf_dispose(&json);
    return root;
}

json_object *tpl_get(json_object *root, ...)
{
    const char *key;
    va_list ap;

    va_start(ap, root);
    while (root != NULL && (key = va_arg(ap, const char *)) != NULL)
        if (!json_object_object_get_ex(root, key, &root))
            root = NULL;
    va_end(ap);
    return root;
}

int tpl_error_has(const char *s)
{
    const char *msg = daap_error_last()->message;

    if (strstr(msg, s) != NULL)
        return 1;
    fprintf(stderr, "error message '%s' lacks '%s'\n", msg, s);
    return 0;
}
