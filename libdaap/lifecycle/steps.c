/* The single steps of the lifecycle, shared by requests and the reconciler. */
#include "lifecycle/steps.h"
#include "lifecycle/events.h"
#include "kube/kube.h"
#include "storage/storage.h"
#include "manifest/template.h"

#include <stdio.h>

#define PG_PORT 5432

void daap__observed_dispose(daap__observed *o)
{
    daap_kube_object_free(o->cluster);
    daap_kube_object_free(o->pooler);
    daap_kube_object_free(o->deployment);
    memset(o, 0, sizeof(*o));
}

/* The record and the events that describe its change, in one write. */
static int write_cas(daap_ctx *ctx, daap_db *db, const daap__events *e)
{
    int64_t rev = db->num[DAAP_DB_F_REVISION];
    int rc;

    db->num[DAAP_DB_F_REVISION] = rev + 1;
    db->num[DAAP_DB_F_UPDATED_AT] = daap__now_ms();
    rc = daap__storage_update_with_events(ctx->storage, db, rev, e->items, e->count);
    if (rc < 0)
        db->num[DAAP_DB_F_REVISION] = rev;
    return rc;
}

int daap__transition(daap_ctx *ctx, daap_db *db, int status, const char *reason)
{
    return daap__transition_because(ctx, db, status, reason, NULL, DAAP_DB_EVENT_NORMAL);
}

int daap__transition_because(daap_ctx *ctx, daap_db *db, int status, const char *reason,
                             const char *event_reason, int event_type)
{
    int64_t old_ready = db->num[DAAP_DB_F_READY_AT];
    int from = daap_db_status(db);
    daap__events e;

    DAAP_TRY(daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, reason));
    db->num[DAAP_DB_F_STATUS] = status;
    if (status == DAAP_DB_READY && old_ready == 0)
        db->num[DAAP_DB_F_READY_AT] = daap__now_ms();
    daap__events_init(&e);
    if (event_reason)
        daap__events_add(&e, ctx, event_type, event_reason, reason, from, status);
    else
        daap__events_for_status(&e, ctx, from, db);
    return write_cas(ctx, db, &e);
}

int daap__set_reason(daap_ctx *ctx, daap_db *db, const char *reason)
{
    return daap__set_reason_because(ctx, db, reason, NULL, DAAP_DB_EVENT_NORMAL);
}

int daap__set_reason_because(daap_ctx *ctx, daap_db *db, const char *reason,
                             const char *event_reason, int event_type)
{
    const char *cur = daap_db_status_reason(db);
    daap__events e;

    if (cur && reason && strcmp(cur, reason) == 0)
        return 0;
    DAAP_TRY(daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, reason));
    daap__events_init(&e);
    if (event_reason)
        daap__events_add(&e, ctx, event_type, event_reason, reason, -1, -1);
    else
        daap__events_for_status(&e, ctx, daap_db_status(db), db);
    return write_cas(ctx, db, &e);
}

int daap__write_with_event(daap_ctx *ctx, daap_db *db, const char *event_reason, int event_type,
                           const char *message)
{
    daap__events e;

    daap__events_init(&e);
    daap__events_add(&e, ctx, event_type, event_reason, message, -1, -1);
    return write_cas(ctx, db, &e);
}

const char *daap__object_db_id(const daap_kube_object *obj)
{
    const char *managed = daap_kube_object_label(obj, DAAP__LABEL_MANAGED_BY);
    if (managed == NULL || strcmp(managed, "daap") != 0)
        return NULL;
    return daap_kube_object_label(obj, DAAP__LABEL_DB_ID);
}

/* Every marker of the table gets its value from one record; a marker the
 * table gained without a value here is refused, not rendered empty. */
static int marker_values(daap__template_value *values, const char *const *text, const bool *is_int)
{
    int m;

    for (m = 0; m < DAAP__MARKER__COUNT; m++) {
        if (text[m] == NULL)
            return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CONFIG, "template marker %s has no value",
                                  daap__template_marker_name((daap__marker)m));
        values[m] = (daap__template_value){ daap__template_marker_name((daap__marker)m), text[m], is_int[m] };
    }
    return 0;
}

int daap__render(daap_kube_object **out, daap_ctx *ctx, const daap_db *db, int kind)
{
    char instances[16], version[16], ident[64];
    const char *image = daap__ctx_image(ctx, daap_db_pg_version(db));
    const char *text[DAAP__MARKER__COUNT] = { NULL };
    bool is_int[DAAP__MARKER__COUNT] = { false };
    daap__template_value values[DAAP__MARKER__COUNT];

    if (image == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "no image configured for PostgreSQL %d", (int)daap_db_pg_version(db));
    snprintf(instances, sizeof(instances), "%d", (int)daap_db_instances(db));
    snprintf(version, sizeof(version), "%d", (int)daap_db_pg_version(db));
    daap__pg_identifier(ident, sizeof(ident), daap_db_name(db));
    text[DAAP__MARKER_NAME] = daap_db_name(db);
    text[DAAP__MARKER_CLUSTER_NAME] = daap_db_cluster_name(db);
    text[DAAP__MARKER_POOLER_NAME] = daap_db_pooler_name(db);
    text[DAAP__MARKER_NAMESPACE] = daap_db_namespace(db);
    text[DAAP__MARKER_INSTANCES] = instances;
    text[DAAP__MARKER_STORAGE_SIZE] = daap_db_storage_size(db);
    text[DAAP__MARKER_IMAGE] = image;
    text[DAAP__MARKER_PG_VERSION] = version;
    text[DAAP__MARKER_DATABASE] = ident;
    text[DAAP__MARKER_OWNER] = ident;
    text[DAAP__MARKER_DATABASE_ID] = daap_db_id(db);
    text[DAAP__MARKER_OWNER_TEAM] = daap_db_owner_team(db);
    is_int[DAAP__MARKER_INSTANCES] = is_int[DAAP__MARKER_PG_VERSION] = true;
    DAAP_TRY(marker_values(values, text, is_int));
    return daap__template_render(out, ctx->templates,
                                 kind == DAAP_KUBE_CLUSTER ? DAAP__TEMPLATE_CLUSTER : DAAP__TEMPLATE_POOLER,
                                 values, DAAP_ARRAY_SIZE(values));
}

static void object_ref(daap_kube_ref *ref, const daap_db *db, int kind)
{
    ref->kind = kind;
    ref->namespace_ = daap_db_namespace(db);
    ref->name = kind == DAAP_KUBE_POOLER ? daap_db_pooler_name(db) : daap_db_cluster_name(db);
}

/* A retried create, or the reconciler, may find the object already there. */
static int adopt_existing(daap_ctx *ctx, const daap_db *db, int kind)
{
    daap_kube_object *existing;
    daap_kube_ref ref;
    const char *owner;
    int rc;

    object_ref(&ref, db, kind);
    DAAP_TRY(daap__kube_get(&existing, ctx->kube, &ref));
    owner = daap__object_db_id(existing);
    rc = (owner && strcmp(owner, daap_db_id(db)) == 0) ? 1
       : daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_KUBE,
                        "%s %s/%s already exists and does not belong to this database",
                        daap_kube_kind_describe(kind)->kind, ref.namespace_, ref.name);
    daap_kube_object_free(existing);
    return rc;
}

int daap__create_object(daap_ctx *ctx, const daap_db *db, int kind)
{
    daap_kube_object *obj;
    int rc;

    DAAP_TRY(daap__render(&obj, ctx, db, kind));
    rc = daap__kube_create(NULL, ctx->kube, obj);
    daap_kube_object_free(obj);
    if (rc == DAAP_EEXISTS)
        rc = adopt_existing(ctx, db, kind);
    return rc;
}

int daap__patch_cluster(daap_ctx *ctx, const daap_db *db)
{
    daap_kube_object *cluster;
    daap_buf patch = DAAP_BUF_INIT;
    daap_kube_ref ref;
    int rc;

    DAAP_TRY(daap__render(&cluster, ctx, db, DAAP_KUBE_CLUSTER));
    rc = daap__cluster_resize_patch(&patch, cluster);
    daap_kube_object_free(cluster);
    object_ref(&ref, db, DAAP_KUBE_CLUSTER);
    if (rc == 0)
        rc = daap__kube_patch(NULL, ctx->kube, &ref, patch.ptr, patch.size);
    daap_buf_dispose(&patch);
    return rc;
}

/* 1 when the object is gone, 0 when it still exists. */
static int object_gone(daap_ctx *ctx, const daap_db *db, int kind)
{
    daap_kube_object *obj;
    daap_kube_ref ref;
    int rc;

    object_ref(&ref, db, kind);
    rc = daap__kube_get(&obj, ctx->kube, &ref);
    if (rc == DAAP_ENOTFOUND)
        return 1;
    if (rc < 0)
        return rc;
    daap_kube_object_free(obj);
    return 0;
}

static int remove_one(daap_ctx *ctx, const daap_db *db, int kind, uint32_t *deleted)
{
    daap_kube_ref ref;
    int rc;

    object_ref(&ref, db, kind);
    rc = daap__kube_remove(ctx->kube, &ref);
    if (rc == DAAP_ENOTFOUND)
        return 1;
    if (rc < 0)
        return rc;
    if (deleted)
        (*deleted)++;
    return object_gone(ctx, db, kind);
}

int daap__remove_objects(daap_ctx *ctx, const daap_db *db, uint32_t *deleted)
{
    int gone;

    /* Pooler first: deleting a Cluster under a live Pooler sends the CNPG
     * operator into a loop (cloudnative-pg issue 10752). */
    gone = remove_one(ctx, db, DAAP_KUBE_POOLER, deleted);
    if (gone != 1)
        return gone;
    return remove_one(ctx, db, DAAP_KUBE_CLUSTER, deleted);
}

static int secret_text(daap_buf *out, const daap_kube_object *secret, const char *key, const char *name)
{
    int rc = daap_kube_object_secret_value(out, secret, key);
    if (rc < 0)
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_KUBE, "Secret %s has no usable '%s'", name, key);
    return 0;
}

/* Host and port of the pooler Service: its load-balancer address when it
 * has one, else the in-cluster DNS name. */
static int pooler_endpoint(daap_ctx *ctx, daap_db *db)
{
    daap_kube_ref ref = { DAAP_KUBE_SERVICE, daap_db_namespace(db), daap_db_pooler_name(db) };
    daap_kube_object *svc;
    const char *lb;
    char host[256];
    int64_t port = PG_PORT;

    DAAP_TRY(daap__kube_get(&svc, ctx->kube, &ref));
    lb = daap_kube_object_str(svc, "status.loadBalancer.ingress.0.ip");
    if (lb == NULL)
        lb = daap_kube_object_str(svc, "status.loadBalancer.ingress.0.hostname");
    if (lb)
        snprintf(host, sizeof(host), "%s", lb);
    else
        snprintf(host, sizeof(host), "%s.%s.svc.%s", ref.name, ref.namespace_, ctx->cluster_domain);
    if (daap_kube_object_int(&port, svc, "spec.ports.0.port") < 0 || port <= 0 || port > 65535)
        port = PG_PORT;
    daap_kube_object_free(svc);
    db->num[DAAP_DB_F_PORT] = port;
    return daap_db_set_text(db, DAAP_DB_F_HOST, host);
}

static int direct_endpoint(daap_ctx *ctx, daap_db *db)
{
    char host[256];
    snprintf(host, sizeof(host), "%s-rw.%s.svc.%s", daap_db_cluster_name(db), daap_db_namespace(db), ctx->cluster_domain);
    db->num[DAAP_DB_F_DIRECT_PORT] = PG_PORT;
    return daap_db_set_text(db, DAAP_DB_F_DIRECT_HOST, host);
}

static int store_secret(daap_ctx *ctx, daap_db *db, const daap_kube_object *secret, const char *name)
{
    daap_buf user = DAAP_BUF_INIT, pass = DAAP_BUF_INIT, dbname = DAAP_BUF_INIT, sealed = DAAP_BUF_INIT;
    int rc;

    if ((rc = secret_text(&user, secret, "username", name)) == 0 &&
        (rc = secret_text(&pass, secret, "password", name)) == 0 &&
        (rc = secret_text(&dbname, secret, "dbname", name)) == 0 &&
        (rc = daap__seal(&sealed, &ctx->key, pass.ptr, daap_db_id(db))) == 0 &&
        (rc = daap_db_set_text(db, DAAP_DB_F_USERNAME, user.ptr)) == 0 &&
        (rc = daap_db_set_text(db, DAAP_DB_F_DBNAME, dbname.ptr)) == 0 &&
        (rc = daap_db_set_blob(db, DAAP_DB_F_PASSWORD, (unsigned char *)sealed.ptr, sealed.size)) == 0)
        rc = daap__db_set_password(db, pass.ptr);
    if (pass.ptr)
        memset(pass.ptr, 0, pass.size);
    daap_buf_dispose(&user);
    daap_buf_dispose(&pass);
    daap_buf_dispose(&dbname);
    daap_buf_dispose(&sealed);
    return rc;
}

int daap__read_credentials(daap_ctx *ctx, daap_db *db)
{
    char name[128];
    daap_kube_ref ref = { DAAP_KUBE_SECRET, daap_db_namespace(db), name };
    daap_kube_object *secret;
    int rc;

    snprintf(name, sizeof(name), "%s-app", daap_db_cluster_name(db));
    DAAP_TRY(daap__kube_get(&secret, ctx->kube, &ref));
    rc = store_secret(ctx, db, secret, name);
    daap_kube_object_free(secret);
    DAAP_TRY(rc);
    DAAP_TRY(pooler_endpoint(ctx, db));
    return direct_endpoint(ctx, db);
}

int daap__unseal_password(daap_ctx *ctx, daap_db *db)
{
    daap_buf plain = DAAP_BUF_INIT;
    int rc;

    if (db->blob == NULL)
        return 0;
    rc = daap__open(&plain, &ctx->key, db->blob, db->blob_len, daap_db_id(db));
    if (rc == 0)
        rc = daap__db_set_password(db, plain.ptr);
    if (plain.ptr)
        memset(plain.ptr, 0, plain.size);
    daap_buf_dispose(&plain);
    return rc;
}
