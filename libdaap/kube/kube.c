/* Kubernetes backend dispatch: the single seam between the core and every
 * kube backend, and the one table from Kubernetes errors to daap codes. */
#include "kube/kube.h"
#include "kube/kube_object.h"

#include <assert.h>
#include <stdio.h>
#include <json-c/json.h>

int daap__kube_check(const daap_kube_backend *be)
{
    DAAP_ASSERT_ARG(be);
    if (be->version == 0 || be->version > DAAP_KUBE_BACKEND_VERSION)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "kube backend version %u not supported", be->version);
    if (!be->create || !be->get || !be->remove || !be->list || !be->free)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "kube backend '%s' lacks a required method", be->name ? be->name : "?");
    if ((be->caps & DAAP_KUBE_CAP_WATCH) && (!be->watch || !be->watch_next || !be->watch_free))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "kube backend '%s' claims watch support but lacks watch methods",
                              be->name ? be->name : "?");
    return 0;
}

/* A backend that fails without setting an error still gets a useful one. */
static int ensure_error(int rc, const daap_kube_backend *be, const char *op)
{
    if (rc < 0 && rc != DAAP_ITEROVER && daap_error_last()->code != rc)
        daap_error_set(rc, DAAP_ERRCLASS_KUBE, "%s: %s failed: %s",
                       be->name ? be->name : "kube", op, daap_strerror(rc));
    return rc;
}

int daap__kube_create(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj)
{
    daap_kube_object *created = NULL;
    int rc;

    if (out)
        *out = NULL;
    rc = be->create(out ? &created : NULL, be, obj);
    if (rc < 0) {
        daap_kube_object_free(created);
        return ensure_error(rc, be, "create");
    }
    assert(out == NULL || created != NULL);
    if (out)
        *out = created;
    return rc;
}

int daap__kube_get(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref)
{
    int rc;

    *out = NULL;
    rc = be->get(out, be, ref);
    if (rc < 0 && *out) {
        daap_kube_object_free(*out);
        *out = NULL;
    }
    assert(rc < 0 || *out != NULL);
    return ensure_error(rc, be, "get");
}

int daap__kube_remove(daap_kube_backend *be, const daap_kube_ref *ref)
{
    return ensure_error(be->remove(be, ref), be, "remove");
}

int daap__kube_patch(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref,
                     const char *patch, size_t len)
{
    daap_kube_object *patched = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (be->version < 2 || be->patch == NULL)
        return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_KUBE,
                              "kube backend '%s' cannot patch objects", be->name ? be->name : "?");
    rc = be->patch(out ? &patched : NULL, be, ref, patch, len);
    if (rc < 0) {
        daap_kube_object_free(patched);
        return ensure_error(rc, be, "patch");
    }
    if (out)
        *out = patched;
    return rc;
}

/* For backends without list_map: map what list appended, in place. */
static int map_after_list(daap_kube_list *out, size_t from, daap_kube_map_fn map, void *arg)
{
    size_t i, kept = from;
    int rc = 0;

    for (i = from; i < out->count; i++) {
        daap_kube_object *obj = out->items[i], *small = NULL;
        out->items[i] = NULL;
        if (rc < 0)
            daap_kube_object_free(obj);
        else if ((rc = map(&small, obj, arg)) == 0 && small)
            out->items[kept++] = small;
    }
    out->count = kept;
    return rc;
}

int daap__kube_list_map(daap_kube_list *out, daap_kube_backend *be, int kind, const char *namespace_,
                        const char *label_selector, daap_kube_map_fn map, void *arg)
{
    size_t before = out->count;
    char *rv = out->resource_version;
    int rc;

    if (map && be->version >= 3 && be->list_map)
        rc = be->list_map(out, be, kind, namespace_, label_selector, map, arg);
    else if ((rc = be->list(out, be, kind, namespace_, label_selector)) == 0 && map)
        rc = map_after_list(out, before, map, arg);
    if (rc < 0) {
        while (out->count > before)
            daap_kube_object_free(out->items[--out->count]);
        if (out->resource_version != rv) {
            daap__free(out->resource_version);
            out->resource_version = rv;
        }
    }
    return ensure_error(rc, be, "list");
}

int daap__kube_list(daap_kube_list *out, daap_kube_backend *be, int kind,
                    const char *namespace_, const char *label_selector)
{
    return daap__kube_list_map(out, be, kind, namespace_, label_selector, NULL, NULL);
}

int daap__kube_watch(daap_kube_watch **out, daap_kube_backend *be, int kind,
                     const char *namespace_, const char *label_selector,
                     const char *resource_version)
{
    *out = NULL;
    if (!(be->caps & DAAP_KUBE_CAP_WATCH) || !be->watch)
        return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_KUBE,
                              "kube backend '%s' cannot watch", be->name ? be->name : "?");
    return ensure_error(be->watch(out, be, kind, namespace_, label_selector, resource_version),
                        be, "watch");
}

int daap__kube_watch_next(daap_kube_event *out, daap_kube_backend *be, daap_kube_watch *w,
                          int32_t timeout_ms)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = be->watch_next(out, w, timeout_ms);
    if (rc < 0 && out->object) {
        daap_kube_object_free(out->object);
        out->object = NULL;
    }
    assert(rc < 0 || out->object != NULL);
    return ensure_error(rc, be, "watch");
}

void daap__kube_watch_free(daap_kube_backend *be, daap_kube_watch *w)
{
    if (w)
        be->watch_free(w);
}

int daap__kube_ping(daap_kube_backend *be)
{
    return be->ping ? ensure_error(be->ping(be), be, "ping") : 0;
}

void daap__kube_free(daap_kube_backend *be)
{
    if (be)
        be->free(be);
}

const char *daap__kube_ref_string(char *buf, size_t size, const daap_kube_ref *ref)
{
    const daap_kube_kind_info *info = daap_kube_kind_describe(ref->kind);
    const char *kind = info ? info->kind : "object";
    const char *name = ref->name ? ref->name : "";

    if (ref->namespace_ && (info == NULL || info->namespaced))
        snprintf(buf, size, "%s %s/%s", kind, ref->namespace_, name);
    else
        snprintf(buf, size, "%s %s", kind, name);
    return buf;
}

typedef struct {
    long        http;
    const char *reason; /* NULL: any */
    int         code;
} status_rule;

/* THE table from Kubernetes errors to daap codes; first match wins. Other
 * 4xx are rejections of what we sent, other 5xx a server in trouble. */
static const status_rule status_rules[] = {
    { 401, NULL,            DAAP_EAUTH },
    { 403, NULL,            DAAP_EAUTH },
    { 404, NULL,            DAAP_ENOTFOUND },
    { 409, "AlreadyExists", DAAP_EEXISTS },
    { 409, NULL,            DAAP_ECONFLICT },
    { 410, NULL,            DAAP_EEXPIRED },
    { 429, NULL,            DAAP_EUNAVAILABLE },
    { 504, NULL,            DAAP_ETIMEOUT },
};

static int status_code(long http, const char *reason)
{
    size_t i;

    for (i = 0; i < DAAP_ARRAY_SIZE(status_rules); i++)
        if (status_rules[i].http == http
            && (status_rules[i].reason == NULL || (reason && strcmp(reason, status_rules[i].reason) == 0)))
            return status_rules[i].code;
    if (http >= 400 && http < 500)
        return DAAP_EINVALID;
    if (http >= 500 && http < 600)
        return DAAP_EUNAVAILABLE;
    return DAAP_ERROR;
}

static const char *member_str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
           ? json_object_get_string(v) : NULL;
}

/* Append the causes a message does not already spell out: a 422's details
 * are what tells a human which field was wrong. */
static void append_causes(char *msg, size_t size, const daap_kube_object *status)
{
    json_object *details, *causes;
    size_t i, n, len;
    bool first = true;

    if (!json_object_object_get_ex(daap__kube_object_json(status), "details", &details)
        || !json_object_object_get_ex(details, "causes", &causes)
        || !json_object_is_type(causes, json_type_array))
        return;
    n = json_object_array_length(causes);
    for (i = 0; i < n; i++) {
        json_object *cause = json_object_array_get_idx(causes, i);
        const char *field = member_str(cause, "field"), *text = member_str(cause, "message");

        if (text == NULL || strstr(msg, text) != NULL)
            continue;
        len = strlen(msg);
        snprintf(msg + len, size - len, "%s%s%s%s", first ? " (" : "; ",
                 field ? field : "", field ? ": " : "", text);
        first = false;
    }
    len = strlen(msg);
    if (!first)
        snprintf(msg + len, size - len, ")");
}

int daap__kube_status_error(long http_status, const daap_kube_object *status, const char *what)
{
    const char *reason = status ? daap_kube_object_str(status, "reason") : NULL;
    const char *message = status ? daap_kube_object_str(status, "message") : NULL;
    int code = status_code(http_status, reason);
    char msg[900];

    snprintf(msg, sizeof(msg), "%s", message && *message ? message : daap_strerror(code));
    if (status)
        append_causes(msg, sizeof(msg), status);
    return daap_error_set(code, DAAP_ERRCLASS_KUBE, "%s: %ld %s: %s", what, http_status,
                          reason && *reason ? reason : "error", msg);
}
