/* Kubernetes objects: a json-c document behind an opaque handle, read and
 * written by dotted path; or a packed summary (summary.c) behind the same
 * readers, turned back into JSON when someone writes to it. */
#include "kube/kube.h"
#include "kube/kube_object.h"
#include "kube/summary.h"
#include "db/db_parse.h"

#include <json-c/json.h>
#include <stdio.h>

struct daap_kube_object {
    json_object *json;       /* NULL: a packed summary */
    uint32_t     packed_len;
    char         packed[];   /* one allocation with the handle: a summary costs one malloc */
};

/* Deep enough for managedFields of CRDs; json-c's default (32) is not. */
#define OBJECT_PARSE_DEPTH 128
/* Longest path segment: a label key is at most 253 + 1 + 63 bytes. */
#define SEGMENT_MAX 512

static const daap_kube_kind_info kinds[] = {
    [DAAP_KUBE_CLUSTER]    = { "postgresql.cnpg.io/v1", "Cluster", "clusters", "/apis/postgresql.cnpg.io/v1", 1 },
    [DAAP_KUBE_POOLER]     = { "postgresql.cnpg.io/v1", "Pooler", "poolers", "/apis/postgresql.cnpg.io/v1", 1 },
    [DAAP_KUBE_SECRET]     = { "v1", "Secret", "secrets", "/api/v1", 1 },
    [DAAP_KUBE_SERVICE]    = { "v1", "Service", "services", "/api/v1", 1 },
    [DAAP_KUBE_DEPLOYMENT] = { "apps/v1", "Deployment", "deployments", "/apis/apps/v1", 1 },
    [DAAP_KUBE_NAMESPACE]  = { "v1", "Namespace", "namespaces", "/api/v1", 0 },
};

const daap_kube_kind_info *daap_kube_kind_describe(int kind)
{
    if (kind < DAAP_KUBE_CLUSTER || kind > DAAP_KUBE_NAMESPACE)
        return NULL;
    return &kinds[kind];
}

int daap__kube_object_wrap(daap_kube_object **out, json_object *json)
{
    daap_kube_object *obj;

    *out = NULL;
    if (json == NULL || !json_object_is_type(json, json_type_object)) {
        json_object_put(json);
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "a Kubernetes object must be a JSON object");
    }
    obj = daap__malloc(sizeof(*obj));
    if (obj == NULL) {
        json_object_put(json);
        return daap_error_set_oom();
    }
    obj->json = json;
    obj->packed_len = 0;
    *out = obj;
    return 0;
}

static int new_packed(daap_kube_object **out, const char *packed, size_t len)
{
    daap_kube_object *obj;

    *out = NULL;
    if (len > UINT32_MAX || (obj = daap__malloc(sizeof(*obj) + len)) == NULL)
        return daap_error_set_oom();
    obj->json = NULL;
    obj->packed_len = (uint32_t)len;
    memcpy(obj->packed, packed, len);
    *out = obj;
    return 0;
}

/* A summary that is about to be written to becomes a json-c document; the
 * packed bytes stay allocated, unused, until the object is freed. */
static int ensure_json(daap_kube_object *obj)
{
    daap_kube_object *whole;

    if (obj->json)
        return 0;
    DAAP_TRY(daap__summary_inflate(&whole, obj->packed, obj->packed_len));
    obj->json = whole->json;
    obj->packed_len = 0;
    daap__free(whole);
    return 0;
}

json_object *daap__kube_object_json(const daap_kube_object *obj)
{
    return obj->json;
}

int daap_kube_object_parse(daap_kube_object **out, const char *json, size_t len)
{
    json_object *root;

    DAAP_ASSERT_ARG(out && (json || len == 0));
    *out = NULL;
    DAAP_TRY(daap__json_parse_as(&root, json, len, OBJECT_PARSE_DEPTH, DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                                 "Kubernetes object"));
    return daap__kube_object_wrap(out, root);
}

int daap_kube_object_to_json(daap_buf *out, const daap_kube_object *obj)
{
    size_t len;
    const char *text;

    DAAP_ASSERT_ARG(out && obj);
    if (obj->json == NULL) {
        daap_kube_object *whole;
        int rc;
        DAAP_TRY(daap__summary_inflate(&whole, obj->packed, obj->packed_len));
        rc = daap_kube_object_to_json(out, whole);
        daap_kube_object_free(whole);
        return rc;
    }
    text = json_object_to_json_string_length(obj->json,
               JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (text == NULL)
        return daap_error_set_oom();
    return daap__buf_put(out, text, len);
}

int daap_kube_object_dup(daap_kube_object **out, const daap_kube_object *obj)
{
    json_object *copy = NULL;

    DAAP_ASSERT_ARG(out && obj);
    *out = NULL;
    if (obj->json == NULL)
        return new_packed(out, obj->packed, obj->packed_len);
    if (json_object_deep_copy(obj->json, &copy, NULL) != 0)
        return daap_error_set_oom();
    return daap__kube_object_wrap(out, copy);
}

void daap_kube_object_free(daap_kube_object *obj)
{
    if (obj == NULL)
        return;
    json_object_put(obj->json);
    daap__free(obj);
}

/* Read the next segment of a dotted path into seg, turning "\." into ".".
 * @return 1 (segment read), 0 (end of path), -1 (empty or too long) */
static int next_segment(const char **path, char *seg, size_t size)
{
    const char *p = *path;
    size_t n = 0;

    if (*p == '\0')
        return 0;
    for (; *p && *p != '.'; p++) {
        if (p[0] == '\\' && p[1] == '.')
            p++;
        if (n + 1 >= size)
            return -1;
        seg[n++] = *p;
    }
    seg[n] = '\0';
    if (*p == '.' && p[1] == '\0')
        return -1; /* "a." has an empty last segment */
    *path = *p ? p + 1 : p;
    return n ? 1 : -1;
}

static bool parse_index(const char *seg, size_t *out)
{
    char *end;
    unsigned long v;

    if (*seg < '0' || *seg > '9')
        return false;
    v = strtoul(seg, &end, 10);
    if (*end != '\0')
        return false;
    *out = v;
    return true;
}

static json_object *child(json_object *node, const char *seg)
{
    json_object *next = NULL;
    size_t idx;

    if (json_object_is_type(node, json_type_object))
        json_object_object_get_ex(node, seg, &next);
    else if (json_object_is_type(node, json_type_array) && parse_index(seg, &idx)
             && idx < json_object_array_length(node))
        next = json_object_array_get_idx(node, idx);
    return next;
}

static json_object *lookup(const daap_kube_object *obj, const char *path)
{
    char seg[SEGMENT_MAX];
    json_object *node;
    int more;

    if (obj == NULL || path == NULL || *path == '\0')
        return NULL;
    node = obj->json;
    while (node && (more = next_segment(&path, seg, sizeof(seg))) != 0) {
        if (more < 0)
            return NULL;
        node = child(node, seg);
    }
    return node;
}

const char *daap_kube_object_str(const daap_kube_object *obj, const char *path)
{
    json_object *v;

    if (obj && obj->json == NULL)
        return daap__summary_str(obj->packed, obj->packed_len, path);
    v = lookup(obj, path);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int daap_kube_object_int(int64_t *out, const daap_kube_object *obj, const char *path)
{
    json_object *v = NULL;
    bool found;

    DAAP_ASSERT_ARG(out);
    if (obj && obj->json == NULL)
        found = daap__summary_int(out, obj->packed, obj->packed_len, path) == 0;
    else if ((found = json_object_is_type(v = lookup(obj, path), json_type_int)))
        *out = json_object_get_int64(v);
    if (!found)
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_KUBE, "no integer at %s", path ? path : "(null)");
    return 0;
}

/* Store `value` (owned) under `seg` of an object or an existing array slot. */
static int put_child(json_object *node, const char *seg, json_object *value, const char *path)
{
    size_t idx;

    if (json_object_is_type(node, json_type_object)) {
        if (json_object_object_add(node, seg, value) == 0)
            return 0;
    } else if (json_object_is_type(node, json_type_array) && parse_index(seg, &idx)
               && idx < json_object_array_length(node)) {
        if (json_object_array_put_idx(node, idx, value) == 0)
            return 0;
    } else {
        json_object_put(value);
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "cannot set %s: '%s' is not inside an object or an existing array element", path, seg);
    }
    json_object_put(value);
    return daap_error_set_oom();
}

/* Walk to the parent of the last segment, creating objects on the way. */
static int set_value(daap_kube_object *obj, const char *path, json_object *value)
{
    char seg[SEGMENT_MAX];
    const char *p = path;
    json_object *node, *next;
    int rc;

    if (value == NULL)
        return daap_error_set_oom();
    if ((rc = ensure_json(obj)) < 0) {
        json_object_put(value);
        return rc;
    }
    node = obj->json;
    for (;;) {
        if (next_segment(&p, seg, sizeof(seg)) <= 0) {
            json_object_put(value);
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "bad object path '%s'", path);
        }
        if (*p == '\0')
            return put_child(node, seg, value, path);
        next = child(node, seg);
        if (next == NULL) {
            next = json_object_new_object();
            if (next == NULL || (rc = put_child(node, seg, next, path)) < 0) {
                json_object_put(value);
                return next ? rc : daap_error_set_oom();
            }
        }
        node = next;
    }
}

int daap_kube_object_set_str(daap_kube_object *obj, const char *path, const char *value)
{
    DAAP_ASSERT_ARG(obj && path && value);
    return set_value(obj, path, json_object_new_string(value));
}

int daap_kube_object_set_int(daap_kube_object *obj, const char *path, int64_t value)
{
    DAAP_ASSERT_ARG(obj && path);
    return set_value(obj, path, json_object_new_int64(value));
}

/* A string member of a map such as metadata.labels; keys are taken as is. */
static const char *map_value(const daap_kube_object *obj, const char *map, const char *key)
{
    json_object *m = lookup(obj, map), *v = NULL;

    if (key == NULL || !json_object_is_type(m, json_type_object)
        || !json_object_object_get_ex(m, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

const char *daap_kube_object_label(const daap_kube_object *obj, const char *key)
{
    if (obj && obj->json == NULL)
        return daap__summary_label(obj->packed, obj->packed_len, key);
    return map_value(obj, "metadata.labels", key);
}

int daap_kube_object_condition(const daap_kube_object *obj, const char *type)
{
    json_object *conds = lookup(obj, "status.conditions");
    size_t i, n;

    DAAP_ASSERT_ARG(type);
    if (obj && obj->json == NULL) {
        int status = daap__summary_condition(obj->packed, obj->packed_len, type);
        return status >= 0 ? status : daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_KUBE, "no condition %s", type);
    }
    n = json_object_is_type(conds, json_type_array) ? json_object_array_length(conds) : 0;
    for (i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i), *t, *s;
        if (json_object_object_get_ex(c, "type", &t) && json_object_is_type(t, json_type_string)
            && strcmp(json_object_get_string(t), type) == 0) {
            return json_object_object_get_ex(c, "status", &s) && json_object_is_type(s, json_type_string)
                   && strcmp(json_object_get_string(s), "True") == 0;
        }
    }
    return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_KUBE, "no condition %s", type);
}

int daap_kube_object_secret_value(daap_buf *out, const daap_kube_object *obj, const char *key)
{
    const char *b64 = map_value(obj, "data", key);
    const char *name = daap_kube_object_str(obj, "metadata.name");
    int rc;

    DAAP_ASSERT_ARG(out && obj && key);
    if (b64 == NULL)
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_KUBE, "Secret %s has no key %s",
                              name ? name : "?", key);
    rc = daap__base64_decode(out, b64, strlen(b64));
    if (rc == DAAP_EINVALID) /* say which value; never show it */
        daap_error_set(rc, DAAP_ERRCLASS_KUBE, "Secret %s: key %s is not valid base64",
                       name ? name : "?", key);
    return rc;
}

int daap__kube_object_summary(daap_kube_object **out, const daap_kube_object *obj)
{
    daap_buf packed = DAAP_BUF_INIT;
    int rc;

    *out = NULL;
    if (obj->json == NULL)
        return new_packed(out, obj->packed, obj->packed_len);
    if ((rc = daap__summary_pack(&packed, obj)) == 0)
        rc = new_packed(out, packed.ptr ? packed.ptr : "", packed.size);
    daap_buf_dispose(&packed);
    return rc;
}

size_t daap__kube_object_packed_size(const daap_kube_object *obj)
{
    return obj->json ? 0 : obj->packed_len;
}

/* RFC 7386: objects merge member by member, null removes, anything else
 * replaces. `target` may be NULL or not an object; the result is returned. */
static json_object *merge(json_object *target, json_object *patch)
{
    json_object *out = target;

    if (!json_object_is_type(patch, json_type_object)) {
        json_object_put(target);
        return json_object_get(patch);
    }
    if (!json_object_is_type(out, json_type_object)) {
        json_object_put(out);
        if ((out = json_object_new_object()) == NULL)
            return NULL;
    }
    json_object_object_foreach(patch, key, value) {
        json_object *cur = NULL, *next;
        if (value == NULL) {
            json_object_object_del(out, key);
            continue;
        }
        if (json_object_object_get_ex(out, key, &cur))
            json_object_get(cur);
        next = merge(cur, value);
        if (next != NULL && next == cur) { /* merged in place: already the member */
            json_object_put(next);
            continue;
        }
        if (next == NULL || json_object_object_add(out, key, next) != 0) {
            json_object_put(next);
            json_object_put(out);
            return NULL;
        }
    }
    return out;
}

int daap__kube_object_merge_patch(daap_kube_object *obj, const char *patch, size_t len)
{
    daap_kube_object *p;
    json_object *merged;

    DAAP_TRY(ensure_json(obj));
    DAAP_TRY(daap_kube_object_parse(&p, patch, len));
    if (!json_object_is_type(p->json, json_type_object)) {
        daap_kube_object_free(p);
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "a merge patch must be a JSON object");
    }
    merged = merge(json_object_get(obj->json), p->json);
    daap_kube_object_free(p);
    if (merged == NULL)
        return daap_error_set_oom();
    json_object_put(obj->json); /* the reference merge() took is the one kept */
    obj->json = merged;
    return 0;
}

int daap__kube_kind_of(const daap_kube_object *obj)
{
    const char *api_version = daap_kube_object_str(obj, "apiVersion");
    const char *kind = daap_kube_object_str(obj, "kind");
    int k;

    for (k = DAAP_KUBE_CLUSTER; k <= DAAP_KUBE_NAMESPACE; k++)
        if (api_version && kind && strcmp(kinds[k].api_version, api_version) == 0
            && strcmp(kinds[k].kind, kind) == 0)
            return k;
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "unsupported object kind %s %s",
                          api_version ? api_version : "(no apiVersion)", kind ? kind : "(no kind)");
}

int daap__kube_object_set_kind(daap_kube_object *obj, int kind)
{
    const daap_kube_kind_info *info = daap_kube_kind_describe(kind);

    DAAP_ASSERT_ARG(info);
    if (daap_kube_object_str(obj, "apiVersion") == NULL)
        DAAP_TRY(daap_kube_object_set_str(obj, "apiVersion", info->api_version));
    if (daap_kube_object_str(obj, "kind") == NULL)
        DAAP_TRY(daap_kube_object_set_str(obj, "kind", info->kind));
    return 0;
}

int daap_kube_list_push(daap_kube_list *list, daap_kube_object *obj)
{
    if (list == NULL || obj == NULL) {
        daap_kube_object_free(obj);
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "invalid argument: list && obj");
    }
    if (list->count == list->alloc) {
        size_t n = list->alloc ? list->alloc * 2 : 16;
        daap_kube_object **items = n > SIZE_MAX / sizeof(*items) ? NULL
                                 : daap__realloc(list->items, n * sizeof(*items));
        if (items == NULL) {
            daap_kube_object_free(obj);
            return daap_error_set_oom();
        }
        list->items = items;
        list->alloc = n;
    }
    list->items[list->count++] = obj;
    return 0;
}

void daap_kube_list_dispose(daap_kube_list *list)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < list->count; i++)
        daap_kube_object_free(list->items[i]);
    daap__free(list->items);
    daap__free(list->resource_version);
    memset(list, 0, sizeof(*list));
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int daap__base64_encode(daap_buf *out, const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t i;

    DAAP_TRY(daap__buf_grow(out, (len + 2) / 3 * 4));
    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        char quad[4];
        if (i + 1 < len) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        quad[0] = b64_alphabet[(v >> 18) & 63];
        quad[1] = b64_alphabet[(v >> 12) & 63];
        quad[2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < len ? b64_alphabet[v & 63] : '=';
        DAAP_TRY(daap__buf_put(out, quad, 4));
    }
    return 0;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

int daap__base64_decode(daap_buf *out, const char *text, size_t len)
{
    size_t i, start = out->size;

    if (len % 4 != 0)
        goto bad;
    DAAP_TRY(daap__buf_grow(out, len / 4 * 3));
    for (i = 0; i < len; i += 4) {
        int a = b64_value(text[i]), b = b64_value(text[i + 1]);
        int c = text[i + 2] == '=' ? -2 : b64_value(text[i + 2]);
        int d = text[i + 3] == '=' ? -2 : b64_value(text[i + 3]);
        bool last = i + 4 == len;
        char bytes[3];
        size_t n = 3;

        if (a < 0 || b < 0 || c == -1 || d == -1 || (!last && (c == -2 || d == -2)) || (c == -2 && d != -2))
            goto bad;
        bytes[0] = (char)((a << 2) | (b >> 4));
        bytes[1] = (char)(((b & 15) << 4) | (c < 0 ? 0 : c >> 2));
        bytes[2] = (char)(((c < 0 ? 0 : c & 3) << 6) | (d < 0 ? 0 : d));
        if (c == -2)
            n = 1;
        else if (d == -2)
            n = 2;
        daap__buf_put(out, bytes, n); /* cannot fail: grown above */
    }
    return 0;
bad:
    out->size = start;
    if (out->ptr)
        out->ptr[start] = '\0';
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "invalid base64");
}
