/* Packed summaries: the few fields the reconciler reads of a Cluster, Pooler
 * or Deployment, one entry after another in one byte string:
 *
 *   field entry      tag (1..FIELD_COUNT)  value '\0'   (integers as decimal text)
 *   kind entry       TAG_KIND              daap_kube_kind as one byte
 *   condition entry  TAG_CONDITION         type '\0' status '\0'
 *
 * A json-c tree of the same fields costs about 30 times as much (an object
 * is a hash table of 16 slots), which is what held 319.5 MiB at 10,000
 * databases. metadata.name comes first, because the sorted caches compare
 * names. */
#include "kube/summary.h"
#include "kube/kube_object.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <stdio.h>

enum { FIELD_STRING, FIELD_INTEGER, FIELD_LABEL };

typedef struct {
    const char *path; /* as callers spell it for daap_kube_object_str/int */
    int         type;
    const char *label; /* FIELD_LABEL: the key in metadata.labels */
} field;

/* Only daap's own labels are kept: they name the record an object belongs
 * to (libdaap/lifecycle/steps.h DAAP__LABEL_*; tests/kube/test_snapshot.c
 * checks the two agree). */
static const field fields[] = {
    { "metadata.name", FIELD_STRING, NULL },
    { "metadata.namespace", FIELD_STRING, NULL },
    { "metadata.resourceVersion", FIELD_STRING, NULL },
    { "metadata.deletionTimestamp", FIELD_STRING, NULL },
    { "metadata.generation", FIELD_INTEGER, NULL },
    { "metadata.labels.app\\.kubernetes\\.io/managed-by", FIELD_LABEL, "app.kubernetes.io/managed-by" },
    { "metadata.labels.daap\\.dev/database-id", FIELD_LABEL, "daap.dev/database-id" },
    { "status.phase", FIELD_STRING, NULL },
    { "status.phaseReason", FIELD_STRING, NULL },
    { "status.readyInstances", FIELD_INTEGER, NULL },
    { "status.readyReplicas", FIELD_INTEGER, NULL },
    { "status.instances", FIELD_INTEGER, NULL },
    { "status.observedGeneration", FIELD_INTEGER, NULL },
    /* what a resize compares with the record (docs/day2.md) */
    { "spec.instances", FIELD_INTEGER, NULL },
    { "spec.storage.size", FIELD_STRING, NULL },
};

#define FIELD_COUNT   ((int)DAAP_ARRAY_SIZE(fields))
#define TAG_KIND      0xf0
#define TAG_CONDITION 0xf1

/* ---- packing */

static int put_entry(daap_buf *out, int tag, const char *value)
{
    char t = (char)tag;

    DAAP_TRY(daap__buf_put(out, &t, 1));
    return daap__buf_put(out, value, strlen(value) + 1);
}

static int pack_field(daap_buf *out, int tag, const field *f, const daap_kube_object *whole)
{
    const char *s = NULL;
    char number[24];
    int64_t v;

    if (f->type == FIELD_LABEL)
        s = daap_kube_object_label(whole, f->label);
    else if (f->type == FIELD_STRING)
        s = daap_kube_object_str(whole, f->path);
    else if (daap_kube_object_int(&v, whole, f->path) == 0) {
        snprintf(number, sizeof(number), "%lld", (long long)v);
        s = number;
    }
    daap_error_clear();
    return s ? put_entry(out, tag, s) : 0;
}

/* Conditions as type and status only: CNPG's carry long messages. */
static int pack_conditions(daap_buf *out, const daap_kube_object *whole)
{
    json_object *status = NULL, *conds = NULL;
    size_t i, n;

    json_object_object_get_ex(daap__kube_object_json(whole), "status", &status);
    if (!json_object_object_get_ex(status, "conditions", &conds) || !json_object_is_type(conds, json_type_array))
        return 0;
    n = json_object_array_length(conds);
    for (i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i), *t = NULL, *s = NULL;
        if (!json_object_object_get_ex(c, "type", &t) || !json_object_is_type(t, json_type_string))
            continue;
        json_object_object_get_ex(c, "status", &s);
        DAAP_TRY(put_entry(out, TAG_CONDITION, json_object_get_string(t)));
        DAAP_TRY(daap__buf_put(out, json_object_is_type(s, json_type_string) ? json_object_get_string(s) : "",
                               json_object_is_type(s, json_type_string) ? strlen(json_object_get_string(s)) + 1 : 1));
    }
    return 0;
}

int daap__summary_pack(daap_buf *out, const daap_kube_object *whole)
{
    int kind = daap__kube_kind_of(whole);
    int tag;

    daap_error_clear();
    for (tag = 1; tag <= FIELD_COUNT; tag++)
        DAAP_TRY(pack_field(out, tag, &fields[tag - 1], whole));
    if (kind > 0) {
        char entry[2] = { (char)TAG_KIND, (char)kind };
        DAAP_TRY(daap__buf_put(out, entry, 2));
    }
    return pack_conditions(out, whole);
}

/* ---- reading */

typedef struct {
    int         tag;
    const char *value; /* TAG_KIND: the kind byte; TAG_CONDITION: the type */
    const char *extra; /* TAG_CONDITION: the status */
} entry;

/* Step to the next entry; false at the end (or at a truncated entry). */
static bool next_entry(const char **cur, const char *end, entry *e)
{
    const char *p = *cur, *z;

    if (p >= end)
        return false;
    e->tag = (unsigned char)*p++;
    e->value = p;
    e->extra = NULL;
    if (e->tag == TAG_KIND) {
        if (p >= end)
            return false;
        *cur = p + 1;
        return true;
    }
    if ((z = memchr(p, '\0', (size_t)(end - p))) == NULL)
        return false;
    p = z + 1;
    if (e->tag == TAG_CONDITION) {
        e->extra = p;
        if ((z = memchr(p, '\0', (size_t)(end - p))) == NULL)
            return false;
        p = z + 1;
    }
    *cur = p;
    return true;
}

static const char *find_tag(const char *p, size_t n, int tag)
{
    const char *end = p + n;
    entry e;

    while (next_entry(&p, end, &e))
        if (e.tag == tag)
            return e.value;
    return NULL;
}

static int tag_of_path(const char *path)
{
    int i;

    for (i = 0; path && i < FIELD_COUNT; i++)
        if (strcmp(fields[i].path, path) == 0)
            return i + 1;
    return 0;
}

static int packed_kind(const char *p, size_t n)
{
    const char *k = find_tag(p, n, TAG_KIND);
    return k ? (unsigned char)*k : 0;
}

const char *daap__summary_str(const char *p, size_t n, const char *path)
{
    int tag = tag_of_path(path);
    const daap_kube_kind_info *info;

    if (tag > 0)
        return fields[tag - 1].type == FIELD_INTEGER ? NULL : find_tag(p, n, tag);
    if (path && (strcmp(path, "apiVersion") == 0 || strcmp(path, "kind") == 0)) {
        if ((info = daap_kube_kind_describe(packed_kind(p, n))) == NULL)
            return NULL;
        return path[0] == 'a' ? info->api_version : info->kind;
    }
    return NULL;
}

int daap__summary_int(int64_t *out, const char *p, size_t n, const char *path)
{
    int tag = tag_of_path(path);
    const char *text;
    char *end;
    long long v;

    if (tag == 0 || fields[tag - 1].type != FIELD_INTEGER || (text = find_tag(p, n, tag)) == NULL)
        return DAAP_ENOTFOUND;
    v = strtoll(text, &end, 10);
    if (*end != '\0')
        return DAAP_ENOTFOUND;
    *out = v;
    return 0;
}

const char *daap__summary_label(const char *p, size_t n, const char *key)
{
    int i;

    for (i = 0; key && i < FIELD_COUNT; i++)
        if (fields[i].type == FIELD_LABEL && strcmp(fields[i].label, key) == 0)
            return find_tag(p, n, i + 1);
    return NULL;
}

int daap__summary_condition(const char *p, size_t n, const char *type)
{
    const char *end = p + n;
    entry e;

    while (next_entry(&p, end, &e))
        if (e.tag == TAG_CONDITION && strcmp(e.value, type) == 0)
            return strcmp(e.extra, "True") == 0;
    return DAAP_ENOTFOUND;
}

/* ---- back to JSON */

static int inflate_condition(json_object *conds, const entry *e)
{
    json_object *c = json_object_new_object();

    if (c == NULL || json_object_array_add(conds, c) != 0) {
        json_object_put(c);
        return daap_error_set_oom();
    }
    if (json_object_object_add(c, "type", json_object_new_string(e->value)) != 0
        || json_object_object_add(c, "status", json_object_new_string(e->extra)) != 0)
        return daap_error_set_oom();
    return 0;
}

/* obj's status member, made when absent; NULL when out of memory. */
static json_object *status_of(daap_kube_object *obj)
{
    json_object *root = daap__kube_object_json(obj), *status = NULL;

    if (json_object_object_get_ex(root, "status", &status) && json_object_is_type(status, json_type_object))
        return status;
    if ((status = json_object_new_object()) != NULL && json_object_object_add(root, "status", status) != 0) {
        json_object_put(status);
        return NULL;
    }
    return status;
}

static int inflate_entry(daap_kube_object *obj, json_object **conds, const entry *e)
{
    const field *f;
    json_object *status = NULL;

    if (e->tag == TAG_KIND)
        return daap__kube_object_set_kind(obj, (unsigned char)*e->value);
    if (e->tag == TAG_CONDITION) {
        if (*conds == NULL) {
            if ((status = status_of(obj)) == NULL || (*conds = json_object_new_array()) == NULL)
                return daap_error_set_oom();
            if (json_object_object_add(status, "conditions", *conds) != 0) {
                json_object_put(*conds);
                *conds = NULL;
                return daap_error_set_oom();
            }
        }
        return inflate_condition(*conds, e);
    }
    if (e->tag < 1 || e->tag > FIELD_COUNT)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "a summary entry of unknown tag %d", e->tag);
    f = &fields[e->tag - 1];
    if (f->type == FIELD_INTEGER)
        return daap_kube_object_set_int(obj, f->path, strtoll(e->value, NULL, 10));
    return daap_kube_object_set_str(obj, f->path, e->value);
}

int daap__summary_inflate(daap_kube_object **out, const char *p, size_t n)
{
    const char *end = p + n;
    json_object *conds = NULL;
    daap_kube_object *obj;
    entry e;
    int rc = 0;

    *out = NULL;
    DAAP_TRY(daap__kube_object_wrap(&obj, json_object_new_object()));
    while (rc == 0 && next_entry(&p, end, &e))
        rc = inflate_entry(obj, &conds, &e);
    if (rc < 0) {
        daap_kube_object_free(obj);
        return rc;
    }
    *out = obj;
    return 0;
}
