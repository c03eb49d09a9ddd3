/* An in-memory Kubernetes with a simulated CNPG operator: a real vtable
 * implementation for tests and examples, with call counters and fault
 * injection. Everything happens at once and in the caller's thread: there
 * is no time in the fake, so watch_next never waits. */
#include "kube/kube.h"
#include "kube/kube_object.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <json-c/json.h>

#define HISTORY_MAX      4096 /* events a watch can resume from; older RVs get 410 */
#define PASSWORD_LEN     64
#define CLUSTER_NAME_MAX 50   /* CNPG's webhook limit */
#define FAKE_PHASE_HEALTHY    "Cluster in healthy state"
#define PHASE_SETUP      "Setting up primary"

typedef struct {
    int               kind;
    daap_kube_object *obj;
} entry;

typedef struct {
    int               type;
    int               kind;
    uint64_t          rv;
    daap_kube_object *obj;
} logged_event;

typedef struct queued_event {
    struct queued_event *next;
    daap_kube_event      ev;
} queued_event;

typedef struct fake_backend fake_backend;

typedef struct fake_watch {
    struct fake_watch *next;
    fake_backend      *fb; /* NULL once the backend is freed */
    int                kind;
    char              *namespace_;
    char              *selector;
    queued_event      *head, *tail;
    int                pending_error; /* delivered after the queued events */
    bool               ended;
} fake_watch;

typedef struct {
    int      code;   /* 0: no fault */
    bool     always;
    uint64_t at;     /* the call number that fails */
} fault;

struct fake_backend {
    daap_kube_backend parent;
    entry            *objects;
    size_t            count, alloc;
    uint64_t          rv, uid_seq, rng;
    logged_event      history[HISTORY_MAX];
    size_t            history_start, history_count;
    uint64_t          compacted_rv; /* events up to here are forgotten */
    fake_watch       *watches;
    uint64_t          calls[DAAP_KUBE_FAKE__METHODS];
    fault             faults[DAAP_KUBE_FAKE__METHODS];
    bool              auto_ready;
};

static const char *const method_names[DAAP_KUBE_FAKE__METHODS] = {
    "create", "get", "remove", "list", "watch", "patch"
};

static void fake_free(daap_kube_backend *be);

static fake_backend *as_fake(const daap_kube_backend *be)
{
    return be && be->free == fake_free ? (fake_backend *)be : NULL;
}

/* ---- calls and faults */

static int count_call(fake_backend *fb, int method)
{
    fault *f = &fb->faults[method];
    uint64_t n = ++fb->calls[method];
    int code = f->code;

    if (code == 0 || (!f->always && n != f->at))
        return 0;
    if (!f->always)
        f->code = 0;
    return daap_error_set(code, DAAP_ERRCLASS_KUBE, "fake kube: injected failure of %s call %llu (%s)",
                          method_names[method], (unsigned long long)n, daap_strerror(code));
}

int daap_kube_fake_fail(daap_kube_backend *be, int method, uint32_t nth, int code)
{
    fake_backend *fb = as_fake(be);

    if (fb == NULL || method < 0 || method >= DAAP_KUBE_FAKE__METHODS || code > 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "daap_kube_fake_fail needs the fake backend, a method and a negative code");
    fb->faults[method].code = code;
    fb->faults[method].always = nth == 0;
    fb->faults[method].at = fb->calls[method] + nth;
    return 0;
}

uint64_t daap_kube_fake_calls(const daap_kube_backend *be, int method)
{
    const fake_backend *fb = as_fake(be);
    return fb && method >= 0 && method < DAAP_KUBE_FAKE__METHODS ? fb->calls[method] : 0;
}

size_t daap_kube_fake_count(const daap_kube_backend *be, int kind)
{
    const fake_backend *fb = as_fake(be);
    size_t i, n = 0;

    for (i = 0; fb && i < fb->count; i++)
        n += fb->objects[i].kind == kind;
    return n;
}

int daap_kube_fake_set_auto_ready(daap_kube_backend *be, int on)
{
    fake_backend *fb = as_fake(be);

    if (fb == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "not the fake kube backend");
    fb->auto_ready = on != 0;
    return 0;
}

/* ---- small helpers */

static const char *meta(const daap_kube_object *obj, const char *field)
{
    char path[64];
    snprintf(path, sizeof(path), "metadata.%s", field);
    return daap_kube_object_str(obj, path);
}

/* How Kubernetes names things in messages: "clusters.postgresql.cnpg.io"
 * and "Cluster.postgresql.cnpg.io" (resource), "secrets" and "Secret". */
static void qualified_name(char *buf, size_t size, int kind, bool resource)
{
    const daap_kube_kind_info *info = daap_kube_kind_describe(kind);
    const char *slash = strchr(info->api_version, '/');
    const char *name = resource ? info->plural : info->kind;

    if (slash)
        snprintf(buf, size, "%s.%.*s", name, (int)(slash - info->api_version), info->api_version);
    else
        snprintf(buf, size, "%s", name);
}

static void resource_name(char *buf, size_t size, int kind)
{
    qualified_name(buf, size, kind, true);
}

static bool is_crd(int kind)
{
    return kind == DAAP_KUBE_CLUSTER || kind == DAAP_KUBE_POOLER;
}

static int parse_printf(daap_kube_object **out, const char *fmt, ...) DAAP_PRINTF(2, 3);
static int parse_printf(daap_kube_object **out, const char *fmt, ...)
{
    daap_buf b = DAAP_BUF_INIT;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = daap__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = daap_kube_object_parse(out, b.ptr, b.size);
    daap_buf_dispose(&b);
    return rc;
}

static void timestamp(char out[32])
{
    time_t now = (time_t)(daap__now_ms() / 1000);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t next_random(fake_backend *fb)
{
    fb->rng ^= fb->rng << 13;
    fb->rng ^= fb->rng >> 7;
    fb->rng ^= fb->rng << 17;
    return fb->rng;
}

/* RFC 1123 label (RFC 1035 when the first character must be a letter). */
static bool dns_label(const char *s, size_t len, size_t max, bool rfc1035)
{
    size_t i;

    if (len == 0 || len > max || s[len - 1] == '-' || s[0] == '-' || (rfc1035 && (s[0] < 'a' || s[0] > 'z')))
        return false;
    for (i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static bool dns_subdomain(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253)
        return false;
    while (*s) {
        size_t len = strcspn(s, ".");
        if (!dns_label(s, len, 63, false))
            return false;
        s += len + (s[len] == '.');
    }
    return true;
}

static bool valid_name(int kind, const char *name)
{
    switch (kind) {
    case DAAP_KUBE_SECRET:     return dns_subdomain(name);
    case DAAP_KUBE_CLUSTER:    return dns_label(name, strlen(name), CLUSTER_NAME_MAX, true);
    case DAAP_KUBE_POOLER:
    case DAAP_KUBE_SERVICE:    return dns_label(name, strlen(name), 63, true);
    default:                   return dns_label(name, strlen(name), 63, false);
    }
}

/* A selector requirement "k=v", "k==v", "k!=v", "k" or "!k" against labels.
 * @return 1 match, 0 no match, -1 unsupported syntax */
static int requirement_matches(const char *req, size_t len, const daap_kube_object *obj)
{
    bool want_absent = false, negate = false;
    const char *eq, *value = NULL, *label;
    size_t klen, vlen = 0;
    char key[320];

    while (len > 0 && *req == ' ') {
        req++;
        len--;
    }
    while (len > 0 && req[len - 1] == ' ')
        len--;
    if (len > 0 && *req == '!') {
        want_absent = true;
        req++;
        len--;
    }
    eq = memchr(req, '=', len);
    klen = eq ? (size_t)(eq - req) : len;
    if (eq) {
        if (want_absent)
            return -1;
        if (klen > 0 && req[klen - 1] == '!') {
            negate = true;
            klen--;
        }
        value = eq + 1;
        if (!negate && value < req + len && *value == '=')
            value++;
        vlen = (size_t)(req + len - value);
    }
    if (klen == 0 || klen >= sizeof(key) || memchr(req, '(', len))
        return -1;
    memcpy(key, req, klen);
    key[klen] = '\0';
    label = daap_kube_object_label(obj, key);
    if (eq == NULL)
        return (label != NULL) != want_absent;
    return (label && strlen(label) == vlen && memcmp(label, value, vlen) == 0) != negate;
}

/* Equality selectors only, which is all daap uses. -1: unsupported. */
static int selector_matches(const char *selector, const daap_kube_object *obj)
{
    const char *p = selector;

    if (p == NULL)
        return 1;
    while (*p) {
        size_t len = strcspn(p, ",");
        int m = requirement_matches(p, len, obj);
        if (m <= 0)
            return m;
        p += len + (p[len] == ',');
    }
    return 1;
}

static int check_selector(const char *selector)
{
    daap_kube_object *empty;
    int m;

    if (selector == NULL)
        return 0;
    DAAP_TRY(daap_kube_object_parse(&empty, "{}", 2));
    m = selector_matches(selector, empty);
    daap_kube_object_free(empty);
    return m < 0 ? daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                                  "fake kube supports only equality label selectors, not '%s'", selector) : 0;
}

static bool matches(const daap_kube_object *obj, int obj_kind, int kind, const char *namespace_,
                    const char *selector)
{
    const char *ns = meta(obj, "namespace");

    return obj_kind == kind && (namespace_ == NULL || (ns && strcmp(ns, namespace_) == 0))
        && selector_matches(selector, obj) == 1;
}

/* ---- the store, its history and watches */

static entry *find(fake_backend *fb, int kind, const char *namespace_, const char *name)
{
    size_t i;

    for (i = 0; i < fb->count; i++) {
        const char *ns = meta(fb->objects[i].obj, "namespace");
        if (fb->objects[i].kind == kind && strcmp(meta(fb->objects[i].obj, "name"), name) == 0
            && (namespace_ == NULL || (ns && strcmp(ns, namespace_) == 0)))
            return &fb->objects[i];
    }
    return NULL;
}

static int queue_event(fake_watch *w, int type, const daap_kube_object *obj)
{
    queued_event *q = daap__calloc(1, sizeof(*q));

    DAAP_ERROR_CHECK_ALLOC(q);
    if (daap_kube_object_dup(&q->ev.object, obj) < 0) {
        daap__free(q);
        return DAAP_ERROR;
    }
    q->ev.type = type;
    if (w->tail)
        w->tail->next = q;
    else
        w->head = q;
    w->tail = q;
    return 0;
}

static int remember(fake_backend *fb, int type, int kind, const daap_kube_object *obj)
{
    logged_event *slot;

    if (fb->history_count == HISTORY_MAX) {
        slot = &fb->history[fb->history_start];
        fb->compacted_rv = slot->rv;
        daap_kube_object_free(slot->obj);
        fb->history_start = (fb->history_start + 1) % HISTORY_MAX;
        fb->history_count--;
    }
    slot = &fb->history[(fb->history_start + fb->history_count) % HISTORY_MAX];
    DAAP_TRY(daap_kube_object_dup(&slot->obj, obj));
    slot->type = type;
    slot->kind = kind;
    slot->rv = fb->rv;
    fb->history_count++;
    return 0;
}

/* Give obj the next resourceVersion and tell history and watches. */
static int emit(fake_backend *fb, int type, int kind, daap_kube_object *obj)
{
    char rv[24];
    fake_watch *w;

    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)++fb->rv);
    DAAP_TRY(daap_kube_object_set_str(obj, "metadata.resourceVersion", rv));
    DAAP_TRY(remember(fb, type, kind, obj));
    for (w = fb->watches; w; w = w->next)
        if (!w->ended && matches(obj, kind, w->kind, w->namespace_, w->selector))
            DAAP_TRY(queue_event(w, type, obj));
    return 0;
}

/* Stamp server-side metadata on a new object and store it (ADDED). */
static int store(fake_backend *fb, int kind, daap_kube_object *obj, entry **stored)
{
    char uid[40], ts[32];
    int rc;

    if (fb->count == fb->alloc) {
        size_t n = fb->alloc ? fb->alloc * 2 : 32;
        entry *objects = daap__realloc(fb->objects, n * sizeof(*objects));
        if (objects == NULL) {
            daap_kube_object_free(obj);
            return daap_error_set_oom();
        }
        fb->objects = objects;
        fb->alloc = n;
    }
    snprintf(uid, sizeof(uid), "00000000-fa6e-4000-8000-%012llx", (unsigned long long)++fb->uid_seq);
    timestamp(ts);
    if ((rc = daap_kube_object_set_str(obj, "metadata.uid", uid)) < 0
        || (rc = daap_kube_object_set_str(obj, "metadata.creationTimestamp", ts)) < 0
        || (is_crd(kind) && (rc = daap_kube_object_set_int(obj, "metadata.generation", 1)) < 0)
        || (rc = emit(fb, DAAP_KUBE_ADDED, kind, obj)) < 0) {
        daap_kube_object_free(obj);
        return rc;
    }
    fb->objects[fb->count].kind = kind;
    fb->objects[fb->count].obj = obj;
    *stored = &fb->objects[fb->count++];
    return 0;
}

static bool owned_by(const daap_kube_object *obj, const char *uid)
{
    char path[64];
    const char *owner;
    int i;

    for (i = 0; i < 8; i++) {
        snprintf(path, sizeof(path), "metadata.ownerReferences.%d.uid", i);
        if ((owner = daap_kube_object_str(obj, path)) == NULL)
            return false;
        if (strcmp(owner, uid) == 0)
            return true;
    }
    return false;
}

/* Delete an entry (DELETED with a new RV), then what it owns, as the
 * garbage collector does with background propagation. */
static int delete_entry(fake_backend *fb, size_t idx)
{
    entry gone = fb->objects[idx];
    char *uid = daap__strdup(meta(gone.obj, "uid"));
    size_t i;
    int rc;

    memmove(&fb->objects[idx], &fb->objects[idx + 1], (fb->count - idx - 1) * sizeof(entry));
    fb->count--;
    rc = uid ? emit(fb, DAAP_KUBE_DELETED, gone.kind, gone.obj) : daap_error_set_oom();
    daap_kube_object_free(gone.obj);
    for (i = 0; rc == 0 && i < fb->count;) {
        if (owned_by(fb->objects[i].obj, uid)) {
            rc = delete_entry(fb, i);
            i = 0; /* that removed more objects, maybe before i */
        } else {
            i++;
        }
    }
    daap__free(uid);
    return rc;
}

/* ---- the simulated CNPG operator */

static int owner_reference(daap_buf *out, const char *kind, const daap_kube_object *owner)
{
    return daap__buf_printf(out, "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"%s\",\"name\":\"%s\","
                            "\"uid\":\"%s\",\"controller\":true,\"blockOwnerDeletion\":true}",
                            kind, meta(owner, "name"), meta(owner, "uid"));
}

static int put_secret_printf(daap_kube_object *secret, const char *key, const char *fmt, ...) DAAP_PRINTF(3, 4);
static int put_secret_printf(daap_kube_object *secret, const char *key, const char *fmt, ...)
{
    daap_buf value = DAAP_BUF_INIT, b64 = DAAP_BUF_INIT;
    char path[64];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = daap__buf_vprintf(&value, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "data.%s", key);
    if (rc == 0 && (rc = daap__base64_encode(&b64, value.ptr, value.size)) == 0)
        rc = daap_kube_object_set_str(secret, path, b64.ptr);
    daap_buf_dispose(&value);
    daap_buf_dispose(&b64);
    return rc;
}

/* The 11 keys of CNPG's <cluster>-app Secret (reference/cnpg.md 3.1). */
static int fill_app_secret(fake_backend *fb, daap_kube_object *secret, const daap_kube_object *cluster)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const char *name = meta(cluster, "name"), *ns = meta(cluster, "namespace");
    const char *db = daap_kube_object_str(cluster, "spec.bootstrap.initdb.database");
    const char *user = daap_kube_object_str(cluster, "spec.bootstrap.initdb.owner");
    char pw[PASSWORD_LEN + 1];
    size_t i;
    int rc;

    db = db ? db : "app";
    user = user ? user : db;
    for (i = 0; i < PASSWORD_LEN; i++)
        pw[i] = alnum[next_random(fb) % (sizeof(alnum) - 1)];
    pw[PASSWORD_LEN] = '\0';
    if ((rc = put_secret_printf(secret, "username", "%s", user)) < 0
        || (rc = put_secret_printf(secret, "user", "%s", user)) < 0
        || (rc = put_secret_printf(secret, "password", "%s", pw)) < 0
        || (rc = put_secret_printf(secret, "dbname", "%s", db)) < 0
        || (rc = put_secret_printf(secret, "host", "%s-rw", name)) < 0
        || (rc = put_secret_printf(secret, "port", "5432")) < 0
        || (rc = put_secret_printf(secret, "pgpass", "%s-rw:5432:%s:%s:%s\n", name, db, user, pw)) < 0
        || (rc = put_secret_printf(secret, "uri", "postgresql://%s:%s@%s-rw.%s:5432/%s",
                                   user, pw, name, ns, db)) < 0
        || (rc = put_secret_printf(secret, "jdbc-uri", "jdbc:postgresql://%s-rw.%s:5432/%s?password=%s&user=%s",
                                   name, ns, db, pw, user)) < 0
        || (rc = put_secret_printf(secret, "fqdn-uri", "postgresql://%s:%s@%s-rw.%s.svc.cluster.local:5432/%s",
                                   user, pw, name, ns, db)) < 0)
        return rc;
    return put_secret_printf(secret, "fqdn-jdbc-uri",
                             "jdbc:postgresql://%s-rw.%s.svc.cluster.local:5432/%s?password=%s&user=%s",
                             name, ns, db, pw, user);
}

static int add_app_secret(fake_backend *fb, const daap_kube_object *cluster, const char *owner_ref)
{
    const char *name = meta(cluster, "name"), *ns = meta(cluster, "namespace");
    daap_kube_object *secret;
    entry *stored;
    int rc;

    if (daap_kube_object_str(cluster, "spec.bootstrap.initdb.secret.name"))
        return 0; /* the user brought the credentials; CNPG makes no -app Secret */
    DAAP_TRY(parse_printf(&secret,
        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":\"kubernetes.io/basic-auth\","
        "\"metadata\":{\"name\":\"%s-app\",\"namespace\":\"%s\",\"labels\":{\"cnpg.io/cluster\":\"%s\","
        "\"cnpg.io/userType\":\"app\",\"cnpg.io/reload\":\"true\",\"app.kubernetes.io/managed-by\":\"cloudnative-pg\"},"
        "\"ownerReferences\":[%s]},\"data\":{}}", name, ns, name, owner_ref));
    if ((rc = fill_app_secret(fb, secret, cluster)) < 0) {
        daap_kube_object_free(secret);
        return rc;
    }
    return store(fb, DAAP_KUBE_SECRET, secret, &stored);
}

/* target_port and selector are JSON fragments. */
static int add_service(fake_backend *fb, const char *name, const char *ns, const char *port_name,
                       const char *target_port, const char *labels, const char *owner_ref)
{
    daap_kube_object *svc;
    entry *stored;

    DAAP_TRY(parse_printf(&svc,
        "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
        "\"labels\":{%s},\"ownerReferences\":[%s]},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.%u.%u\","
        "\"ports\":[{\"name\":\"%s\",\"port\":5432,\"protocol\":\"TCP\",\"targetPort\":%s}],\"selector\":{%s}}}",
        name, ns, labels, owner_ref, (unsigned)(fb->uid_seq >> 8) & 255, (unsigned)fb->uid_seq & 255,
        port_name, target_port, labels));
    return store(fb, DAAP_KUBE_SERVICE, svc, &stored);
}

static int add_cluster_services(fake_backend *fb, const daap_kube_object *cluster, const char *owner_ref)
{
    static const char *const suffixes[] = { "rw", "ro", "r" };
    const char *name = meta(cluster, "name"), *ns = meta(cluster, "namespace");
    daap_buf svc = DAAP_BUF_INIT, labels = DAAP_BUF_INIT;
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < DAAP_ARRAY_SIZE(suffixes); i++) {
        daap__buf_clear(&svc);
        daap__buf_clear(&labels);
        if ((rc = daap__buf_printf(&svc, "%s-%s", name, suffixes[i])) == 0
            && (rc = daap__buf_printf(&labels, "\"cnpg.io/cluster\":\"%s\"", name)) == 0)
            rc = add_service(fb, svc.ptr, ns, "postgres", "5432", labels.ptr, owner_ref);
    }
    daap_buf_dispose(&svc);
    daap_buf_dispose(&labels);
    return rc;
}

/* Status as CNPG writes it: phase, Ready condition, instance counts. */
static int set_cluster_status(daap_kube_object *cluster, const char *phase)
{
    const char *name = meta(cluster, "name");
    bool healthy = phase == NULL;
    int64_t instances = 1;
    daap_buf b = DAAP_BUF_INIT;
    daap_kube_object *status = NULL;
    char ts[32];
    int rc;

    daap_kube_object_int(&instances, cluster, "spec.instances");
    daap_error_clear();
    timestamp(ts);
    if ((rc = daap__buf_printf(&b, "{\"instances\":%lld,\"readyInstances\":%lld,\"phase\":",
                               (long long)instances, healthy ? (long long)instances : 0LL)) == 0
        && (rc = daap__buf_put_json_str(&b, healthy ? FAKE_PHASE_HEALTHY : phase)) == 0
        && (rc = daap__buf_printf(&b, ",\"currentPrimary\":\"%s-1\",\"writeService\":\"%s-rw\","
                                  "\"readService\":\"%s-r\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
                                  "\"reason\":\"%s\",\"message\":\"%s\",\"lastTransitionTime\":\"%s\"}]}",
                                  name, name, name, healthy ? "True" : "False",
                                  healthy ? "ClusterIsReady" : "ClusterIsNotReady",
                                  healthy ? "Cluster is Ready" : "Cluster Is Not Ready", ts)) == 0)
        rc = daap_kube_object_parse(&status, b.ptr, b.size);
    daap_buf_dispose(&b);
    if (rc == 0 && json_object_object_add(daap__kube_object_json(cluster), "status",
                                          json_object_get(daap__kube_object_json(status))) != 0)
        rc = daap_error_set_oom();
    daap_kube_object_free(status);
    return rc;
}

static bool fake_cluster_ready(fake_backend *fb, const char *ns, const char *name)
{
    entry *c = name ? find(fb, DAAP_KUBE_CLUSTER, ns, name) : NULL;
    return c && daap_kube_object_condition(c->obj, "Ready") == 1;
}

/* A pooler Deployment serves once its cluster is Ready. */
static int update_pooler_deployments(fake_backend *fb, const daap_kube_object *cluster)
{
    const char *name = meta(cluster, "name"), *ns = meta(cluster, "namespace");
    bool ready = daap_kube_object_condition(cluster, "Ready") == 1;
    size_t i;

    for (i = 0; i < fb->count; i++) {
        daap_kube_object *dep = fb->objects[i].obj;
        const char *of = daap_kube_object_label(dep, "cnpg.io/cluster");
        int64_t replicas = 1, current = -1;

        if (fb->objects[i].kind != DAAP_KUBE_DEPLOYMENT || !of || strcmp(of, name) != 0
            || strcmp(meta(dep, "namespace"), ns) != 0 || !daap_kube_object_label(dep, "cnpg.io/poolerName"))
            continue;
        daap_kube_object_int(&replicas, dep, "spec.replicas");
        daap_kube_object_int(&current, dep, "status.readyReplicas");
        if (!ready || current == replicas)
            continue;
        DAAP_TRY(daap_kube_object_set_int(dep, "status.readyReplicas", replicas));
        DAAP_TRY(daap_kube_object_set_int(dep, "status.availableReplicas", replicas));
        DAAP_TRY(emit(fb, DAAP_KUBE_MODIFIED, DAAP_KUBE_DEPLOYMENT, dep));
    }
    daap_error_clear();
    return 0;
}

static int on_cluster_created(fake_backend *fb, daap_kube_object *cluster)
{
    daap_buf owner = DAAP_BUF_INIT;
    int rc;

    if ((rc = owner_reference(&owner, "Cluster", cluster)) == 0
        && (rc = add_app_secret(fb, cluster, owner.ptr)) == 0
        && (rc = add_cluster_services(fb, cluster, owner.ptr)) == 0
        && fb->auto_ready && (rc = set_cluster_status(cluster, NULL)) == 0
        && (rc = emit(fb, DAAP_KUBE_MODIFIED, DAAP_KUBE_CLUSTER, cluster)) == 0)
        rc = update_pooler_deployments(fb, cluster);
    daap_buf_dispose(&owner);
    return rc;
}

static int on_pooler_created(fake_backend *fb, const daap_kube_object *pooler)
{
    const char *name = meta(pooler, "name"), *ns = meta(pooler, "namespace");
    const char *cluster = daap_kube_object_str(pooler, "spec.cluster.name");
    int64_t replicas = 1;
    daap_buf owner = DAAP_BUF_INIT, labels = DAAP_BUF_INIT;
    daap_kube_object *dep = NULL;
    entry *stored;
    int rc;

    daap_kube_object_int(&replicas, pooler, "spec.instances");
    daap_error_clear();
    if ((rc = owner_reference(&owner, "Pooler", pooler)) == 0
        && (rc = daap__buf_printf(&labels, "\"cnpg.io/poolerName\":\"%s\"", name)) == 0
        && (rc = add_service(fb, name, ns, "pgbouncer", "\"pgbouncer\"", labels.ptr, owner.ptr)) == 0
        && (rc = parse_printf(&dep,
               "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
               "\"labels\":{\"cnpg.io/poolerName\":\"%s\",\"cnpg.io/cluster\":\"%s\"},\"ownerReferences\":[%s]},"
               "\"spec\":{\"replicas\":%lld,\"selector\":{\"matchLabels\":{\"cnpg.io/poolerName\":\"%s\"}}},"
               "\"status\":{\"replicas\":%lld,\"readyReplicas\":%lld}}",
               name, ns, name, cluster, owner.ptr, (long long)replicas, name, (long long)replicas,
               fake_cluster_ready(fb, ns, cluster) ? (long long)replicas : 0LL)) == 0)
        rc = store(fb, DAAP_KUBE_DEPLOYMENT, dep, &stored);
    daap_buf_dispose(&owner);
    daap_buf_dispose(&labels);
    return rc;
}

int daap_kube_fake_set_cluster_phase(daap_kube_backend *be, const char *namespace_, const char *name,
                                     const char *phase)
{
    fake_backend *fb = as_fake(be);
    entry *c;

    if (fb == NULL || name == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "not the fake kube backend, or no name");
    if ((c = find(fb, DAAP_KUBE_CLUSTER, namespace_ ? namespace_ : "default", name)) == NULL)
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_KUBE,
                              "clusters.postgresql.cnpg.io \"%s\" not found", name);
    DAAP_TRY(set_cluster_status(c->obj, phase));
    DAAP_TRY(emit(fb, DAAP_KUBE_MODIFIED, DAAP_KUBE_CLUSTER, c->obj));
    return update_pooler_deployments(fb, c->obj);
}

/* ---- the vtable */

/* What the API server checks before it stores an object. */
static int admit(int kind, const daap_kube_object *obj, const char *ns)
{
    const char *name = meta(obj, "name");
    char what[80];

    qualified_name(what, sizeof(what), kind, false);
    if (name == NULL || !valid_name(kind, name))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "%s \"%s\" is invalid: metadata.name: Invalid value: \"%s\": must be a "
                              "lowercase DNS name%s", what, name ? name : "", name ? name : "",
                              kind == DAAP_KUBE_CLUSTER ? " of at most 50 characters" : "");
    if (ns && !dns_label(ns, strlen(ns), 63, false))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "namespace \"%s\" is not a valid name", ns);
    if (kind == DAAP_KUBE_POOLER && daap_kube_object_str(obj, "spec.cluster.name") == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "Pooler.postgresql.cnpg.io \"%s\" is invalid: spec.cluster.name: Required value", name);
    return 0;
}

static int fake_create(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj)
{
    fake_backend *fb = (fake_backend *)be;
    daap_kube_object *copy;
    const char *ns;
    char res[80];
    entry *stored;
    int kind;

    if (out)
        *out = NULL;
    DAAP_TRY(count_call(fb, DAAP_KUBE_FAKE_CREATE));
    DAAP_ASSERT_ARG(obj);
    DAAP_TRY(kind = daap__kube_kind_of(obj));
    ns = daap_kube_kind_describe(kind)->namespaced ? (meta(obj, "namespace") ? meta(obj, "namespace") : "default") : NULL;
    DAAP_TRY(admit(kind, obj, ns));
    if (find(fb, kind, ns, meta(obj, "name"))) {
        resource_name(res, sizeof(res), kind);
        return daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_KUBE, "%s \"%s\" already exists", res, meta(obj, "name"));
    }
    DAAP_TRY(daap_kube_object_dup(&copy, obj));
    if (is_crd(kind)) /* status is the operator's, via the subresource */
        json_object_object_del(daap__kube_object_json(copy), "status");
    if (ns && daap_kube_object_set_str(copy, "metadata.namespace", ns) < 0) {
        daap_kube_object_free(copy);
        return DAAP_ERROR;
    }
    if (kind == DAAP_KUBE_CLUSTER && set_cluster_status(copy, PHASE_SETUP) < 0) {
        daap_kube_object_free(copy);
        return DAAP_ERROR;
    }
    DAAP_TRY(store(fb, kind, copy, &stored));
    copy = stored->obj; /* `stored` moves when the operator adds objects */
    if (kind == DAAP_KUBE_CLUSTER)
        DAAP_TRY(on_cluster_created(fb, copy));
    else if (kind == DAAP_KUBE_POOLER)
        DAAP_TRY(on_pooler_created(fb, copy));
    return out ? daap_kube_object_dup(out, copy) : 0;
}

static const char *ref_namespace(const daap_kube_ref *ref)
{
    const daap_kube_kind_info *info = daap_kube_kind_describe(ref->kind);
    return info && info->namespaced ? (ref->namespace_ ? ref->namespace_ : "default") : NULL;
}

static int not_found(const daap_kube_ref *ref)
{
    char res[80];

    if (daap_kube_kind_describe(ref->kind) == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "unknown kube kind %d", ref->kind);
    resource_name(res, sizeof(res), ref->kind);
    return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_KUBE, "%s \"%s\" not found", res, ref->name);
}

static int fake_get(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref)
{
    fake_backend *fb = (fake_backend *)be;
    entry *e;

    *out = NULL;
    DAAP_TRY(count_call(fb, DAAP_KUBE_FAKE_GET));
    DAAP_ASSERT_ARG(ref && ref->name);
    if ((e = find(fb, ref->kind, ref_namespace(ref), ref->name)) == NULL)
        return not_found(ref);
    return daap_kube_object_dup(out, e->obj);
}

#define FAKE_PHASE_ROLLOUT "Waiting for the instances to become active"

static bool cluster_spec_changed(const daap_kube_object *before, const daap_kube_object *after)
{
    int64_t a = 1, b = 1;
    const char *sa = daap_kube_object_str(before, "spec.storage.size");
    const char *sb = daap_kube_object_str(after, "spec.storage.size");

    daap_kube_object_int(&a, before, "spec.instances");
    daap_kube_object_int(&b, after, "spec.instances");
    daap_error_clear();
    return a != b || (sa == NULL) != (sb == NULL) || (sa && strcmp(sa, sb) != 0);
}

/* As CNPG: a healthy Cluster whose instances or storage change rolls the
 * change out, not Ready meanwhile, until daap_kube_fake_set_cluster_phase()
 * (or at once with auto-ready). The generation moves with every spec change. */
static int after_cluster_patch(fake_backend *fb, const daap_kube_object *before, daap_kube_object *cluster)
{
    int64_t gen = 1;

    if (!cluster_spec_changed(before, cluster))
        return 0;
    daap_kube_object_int(&gen, before, "metadata.generation");
    daap_error_clear();
    DAAP_TRY(daap_kube_object_set_int(cluster, "metadata.generation", gen + 1));
    if (daap_kube_object_condition(before, "Ready") != 1)
        return 0;
    DAAP_TRY(set_cluster_status(cluster, fb->auto_ready ? NULL : FAKE_PHASE_ROLLOUT));
    return daap_kube_object_set_int(cluster, "status.observedGeneration", gen + 1);
}

static int fake_patch(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref,
                      const char *patch, size_t len)
{
    fake_backend *fb = (fake_backend *)be;
    daap_kube_object *before = NULL;
    entry *e;
    int rc;

    if (out)
        *out = NULL;
    DAAP_TRY(count_call(fb, DAAP_KUBE_FAKE_PATCH));
    DAAP_ASSERT_ARG(ref && ref->name && patch);
    if ((e = find(fb, ref->kind, ref_namespace(ref), ref->name)) == NULL)
        return not_found(ref);
    DAAP_TRY(daap_kube_object_dup(&before, e->obj));
    rc = daap__kube_object_merge_patch(e->obj, patch, len);
    if (rc == 0 && ref->kind == DAAP_KUBE_CLUSTER)
        rc = after_cluster_patch(fb, before, e->obj);
    daap_kube_object_free(before);
    if (rc == 0)
        rc = emit(fb, DAAP_KUBE_MODIFIED, ref->kind, e->obj);
    if (rc == 0 && ref->kind == DAAP_KUBE_CLUSTER)
        rc = update_pooler_deployments(fb, e->obj);
    if (rc == 0 && out)
        rc = daap_kube_object_dup(out, e->obj);
    return rc;
}

static int fake_remove(daap_kube_backend *be, const daap_kube_ref *ref)
{
    fake_backend *fb = (fake_backend *)be;
    entry *e;

    DAAP_TRY(count_call(fb, DAAP_KUBE_FAKE_REMOVE));
    DAAP_ASSERT_ARG(ref && ref->name);
    if ((e = find(fb, ref->kind, ref_namespace(ref), ref->name)) == NULL)
        return not_found(ref);
    return delete_entry(fb, (size_t)(e - fb->objects));
}

static int fake_list(daap_kube_list *out, daap_kube_backend *be, int kind, const char *namespace_,
                     const char *label_selector)
{
    fake_backend *fb = (fake_backend *)be;
    char rv[24];
    size_t i;

    DAAP_TRY(count_call(fb, DAAP_KUBE_FAKE_LIST));
    DAAP_ASSERT_ARG(out && daap_kube_kind_describe(kind));
    DAAP_TRY(check_selector(label_selector));
    for (i = 0; i < fb->count; i++) {
        daap_kube_object *copy;
        if (!matches(fb->objects[i].obj, fb->objects[i].kind, kind, namespace_, label_selector))
            continue;
        DAAP_TRY(daap_kube_object_dup(&copy, fb->objects[i].obj));
        DAAP_TRY(daap_kube_list_push(out, copy));
    }
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)fb->rv);
    daap__free(out->resource_version);
    out->resource_version = daap__strdup(rv);
    return out->resource_version ? 0 : daap_error_set_oom();
}

static void fake_watch_free(daap_kube_watch *handle)
{
    fake_watch *w = (fake_watch *)handle, **link;
    queued_event *q, *next;

    if (w == NULL)
        return;
    for (link = w->fb ? &w->fb->watches : NULL; link && *link; link = &(*link)->next)
        if (*link == w) {
            *link = w->next;
            break;
        }
    for (q = w->head; q; q = next) {
        next = q->next;
        daap_kube_object_free(q->ev.object);
        daap__free(q);
    }
    daap__free(w->namespace_);
    daap__free(w->selector);
    daap__free(w);
}

/* Fill a new watch: the current objects, or the history after `rv`. */
static int replay(fake_backend *fb, fake_watch *w, const char *rv)
{
    char *end;
    unsigned long long from;
    size_t i;

    if (rv == NULL || *rv == '\0' || strcmp(rv, "0") == 0) {
        for (i = 0; i < fb->count; i++)
            if (matches(fb->objects[i].obj, fb->objects[i].kind, w->kind, w->namespace_, w->selector))
                DAAP_TRY(queue_event(w, DAAP_KUBE_ADDED, fb->objects[i].obj));
        return 0;
    }
    from = strtoull(rv, &end, 10);
    if (*end != '\0')
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "invalid resourceVersion \"%s\"", rv);
    if (from < fb->compacted_rv) {
        w->pending_error = DAAP_EEXPIRED;
        return 0;
    }
    for (i = 0; i < fb->history_count; i++) {
        const logged_event *e = &fb->history[(fb->history_start + i) % HISTORY_MAX];
        if (e->rv > from && matches(e->obj, e->kind, w->kind, w->namespace_, w->selector))
            DAAP_TRY(queue_event(w, e->type, e->obj));
    }
    return 0;
}

static int fake_watch_open(daap_kube_watch **out, daap_kube_backend *be, int kind, const char *namespace_,
                           const char *label_selector, const char *resource_version)
{
    fake_backend *fb = (fake_backend *)be;
    fake_watch *w;
    int rc;

    *out = NULL;
    DAAP_TRY(count_call(fb, DAAP_KUBE_FAKE_WATCH));
    DAAP_ASSERT_ARG(daap_kube_kind_describe(kind));
    DAAP_TRY(check_selector(label_selector));
    DAAP_ERROR_CHECK_ALLOC(w = daap__calloc(1, sizeof(*w)));
    w->kind = kind;
    w->namespace_ = daap__strdup(namespace_);
    w->selector = daap__strdup(label_selector);
    if ((namespace_ && !w->namespace_) || (label_selector && !w->selector))
        rc = daap_error_set_oom();
    else
        rc = replay(fb, w, resource_version);
    if (rc < 0) {
        fake_watch_free((daap_kube_watch *)w);
        return rc;
    }
    w->fb = fb;
    w->next = fb->watches;
    fb->watches = w;
    *out = (daap_kube_watch *)w;
    return 0;
}

static int fake_watch_next(daap_kube_event *out, daap_kube_watch *handle, int32_t timeout_ms)
{
    fake_watch *w = (fake_watch *)handle;
    queued_event *q = w->head;
    int code;

    out->type = 0;
    out->object = NULL;
    if (q) {
        w->head = q->next;
        if (w->head == NULL)
            w->tail = NULL;
        *out = q->ev;
        daap__free(q);
        return 0;
    }
    if ((code = w->pending_error) != 0) {
        w->pending_error = 0;
        w->ended = true; /* like a server closing the stream after its ERROR */
        return daap_error_set(code, DAAP_ERRCLASS_KUBE, "watch: 410 Expired: too old resource version");
    }
    if (w->ended || w->fb == NULL)
        return DAAP_ITEROVER;
    (void)timeout_ms; /* nothing can happen while we wait: the fake has no time */
    return daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_KUBE, "fake kube: no watch event pending");
}

static int fake_ping(daap_kube_backend *be)
{
    (void)be;
    return 0;
}

static void fake_free(daap_kube_backend *be)
{
    fake_backend *fb = (fake_backend *)be;
    fake_watch *w;
    size_t i;

    if (fb == NULL)
        return;
    for (w = fb->watches; w; w = w->next)
        w->fb = NULL; /* open watches now end with DAAP_ITEROVER */
    for (i = 0; i < fb->count; i++)
        daap_kube_object_free(fb->objects[i].obj);
    for (i = 0; i < fb->history_count; i++)
        daap_kube_object_free(fb->history[(fb->history_start + i) % HISTORY_MAX].obj);
    daap__free(fb->objects);
    daap__free(fb);
}

int daap_kube_fake_new(daap_kube_backend **out)
{
    fake_backend *fb;

    DAAP_ASSERT_ARG(out);
    *out = NULL;
    DAAP_ERROR_CHECK_ALLOC(fb = daap__calloc(1, sizeof(*fb)));
    fb->parent.version = DAAP_KUBE_BACKEND_VERSION;
    fb->parent.name = "fake";
    fb->parent.caps = DAAP_KUBE_CAP_WATCH;
    fb->parent.create = fake_create;
    fb->parent.get = fake_get;
    fb->parent.remove = fake_remove;
    fb->parent.list = fake_list;
    fb->parent.free = fake_free;
    fb->parent.watch = fake_watch_open;
    fb->parent.watch_next = fake_watch_next;
    fb->parent.watch_free = fake_watch_free;
    fb->parent.ping = fake_ping;
    fb->parent.patch = fake_patch;
    fb->rv = 1000;
    fb->rng = 0x2545f4914f6cdd1dULL; /* fixed: the fake's passwords repeat from run to run */
    *out = &fb->parent;
    return 0;
}
