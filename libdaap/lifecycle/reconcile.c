/* The reconciler: level-triggered and idempotent. For each record that is
 * not final it compares what should exist with what exists and takes the
 * next step; every status change is a compare-and-set. */
#include "lifecycle/steps.h"
#include "lifecycle/events.h"
#include "kube/kube.h"
#include "storage/storage.h"
#include "lifecycle/reconcile.h"
#include "lifecycle/rotate.h"

#include <stdio.h>
#include <stdlib.h>

#define PAGE_SIZE          500
#define DEFAULT_TIMEOUT_MS 30000
#define PHASE_HEALTHY      "Cluster in healthy state"

/* CNPG phases that mean the cluster will not become ready by itself. */
static const char *const failure_phases[] = {
    "Cluster is unrecoverable and needs manual intervention",
    "Invalid cluster definition",
    "Cluster has incomplete or invalid image catalog",
};

int daap_reconcile_options_init(daap_reconcile_options *opts, unsigned int version)
{
    DAAP_INIT_VERSIONED(opts, version, DAAP_RECONCILE_OPTIONS_VERSION, "daap_reconcile_options");
    return 0;
}

static bool is_failure_phase(const char *phase)
{
    size_t i;
    for (i = 0; phase && i < DAAP_ARRAY_SIZE(failure_phases); i++)
        if (strcmp(phase, failure_phases[i]) == 0)
            return true;
    return false;
}

static bool cluster_ready(const daap_kube_object *cluster)
{
    return cluster && daap_kube_object_condition(cluster, "Ready") == 1;
}

static bool pooler_serving(const daap_kube_object *deployment)
{
    int64_t ready = 0;
    return deployment && daap_kube_object_int(&ready, deployment, "status.readyReplicas") == 0 && ready >= 1;
}

static const char *cluster_phase(const daap_kube_object *cluster)
{
    const char *phase = cluster ? daap_kube_object_str(cluster, "status.phase") : NULL;
    return (phase && *phase) ? phase : NULL;
}

/* ---- observing one record ---- */

static int get_optional(daap_kube_object **out, daap_ctx *ctx, int kind, const char *ns, const char *name)
{
    daap_kube_ref ref = { kind, ns, name };
    int rc = daap__kube_get(out, ctx->kube, &ref);
    return rc == DAAP_ENOTFOUND ? 0 : rc;
}

static int observe(daap__observed *o, daap_ctx *ctx, const daap_db *db)
{
    const char *ns = daap_db_namespace(db);

    memset(o, 0, sizeof(*o));
    DAAP_TRY(get_optional(&o->cluster, ctx, DAAP_KUBE_CLUSTER, ns, daap_db_cluster_name(db)));
    DAAP_TRY(get_optional(&o->pooler, ctx, DAAP_KUBE_POOLER, ns, daap_db_pooler_name(db)));
    o->known = true;
    return 0;
}

/* The pooler Deployment matters only until the record is first ready. */
static int observe_deployment(daap__observed *o, daap_ctx *ctx, const daap_db *db)
{
    if (o->deployment || o->deployment_known || o->pooler == NULL)
        return 0;
    return get_optional(&o->deployment, ctx, DAAP_KUBE_DEPLOYMENT, daap_db_namespace(db), daap_db_pooler_name(db));
}

/* ---- deciding and acting for one record ---- */

static int note(int rc, daap_reconcile_result *res)
{
    if (rc == DAAP_ECONFLICT)
        res->conflicts++;
    else if (rc < 0)
        res->failures++;
    return rc;
}

/* A transition whose event is a warning of its own reason (DeadlinePassed,
 * KubernetesError), or with event_reason NULL the one the change implies. */
static int transition_because(daap_ctx *ctx, daap_db *db, int status, const char *reason,
                              const char *event_reason, daap_reconcile_result *res)
{
    int rc = daap__transition_because(ctx, db, status, reason, event_reason, DAAP_DB_EVENT_WARNING);
    if (rc == 0)
        res->transitions++;
    return note(rc, res);
}

static int transition(daap_ctx *ctx, daap_db *db, int status, const char *reason, daap_reconcile_result *res)
{
    return transition_because(ctx, db, status, reason, NULL, res);
}

/* A Kubernetes error while provisioning shows in status_reason and the
 * event history (KubernetesError) until the next pass gets further, in
 * terms a client may read (daap_error_for_client: no addresses); the error
 * itself, with its cause, goes back to the caller to log and retry. */
static int kube_error(daap_ctx *ctx, daap_db *db, int rc, daap_reconcile_result *res)
{
    char reason[256], cause[512];
    daap_error shown;
    int klass = daap_error_last()->klass;

    if (rc == DAAP_ECONFLICT || daap_db_status(db) != DAAP_DB_PROVISIONING ||
        (klass != DAAP_ERRCLASS_KUBE && klass != DAAP_ERRCLASS_HTTP))
        return note(rc, res);
    snprintf(cause, sizeof(cause), "%s", daap_error_last()->message);
    daap_error_for_client(&shown, daap_error_last());
    snprintf(reason, sizeof(reason), "waiting for Kubernetes: %s", shown.message);
    /* Best effort: a lost race leaves the newer reason. */
    (void)daap__set_reason_because(ctx, db, reason, "KubernetesError", DAAP_DB_EVENT_WARNING);
    daap_error_set(rc, klass, "%s", cause);
    return note(rc, res);
}

/* The record as read may be stale by now: a DELETE that ran meanwhile has
 * removed the objects, and creating them again from the old copy would
 * provision twice (tests/chaos: a Pooler re-made after its record was
 * deleted). Check the revision just before acting; the compare-and-set of
 * the record comes too late to stop a side effect in Kubernetes. */
static int still_current(daap_ctx *ctx, const daap_db *db)
{
    daap_db *now;
    int rc;

    DAAP_TRY(daap__storage_get(&now, ctx->storage, daap_db_id(db)));
    rc = daap_db_revision(now) == daap_db_revision(db) ? 0
       : daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE, "database %s changed while it was reconciled",
                        daap_db_name(db));
    daap_db_free(now);
    return rc;
}

/* A snapshot may not have seen an object that was made a moment ago (its
 * event is still on the way): ask before creating it again. */
static int confirm_missing(daap__observed *o, daap_ctx *ctx, const daap_db *db)
{
    const char *ns = daap_db_namespace(db);

    if (!o->from_cache)
        return 0;
    if (o->cluster == NULL)
        DAAP_TRY(get_optional(&o->cluster, ctx, DAAP_KUBE_CLUSTER, ns, daap_db_cluster_name(db)));
    if (o->pooler == NULL)
        DAAP_TRY(get_optional(&o->pooler, ctx, DAAP_KUBE_POOLER, ns, daap_db_pooler_name(db)));
    return 0;
}

static int ensure_objects(daap_ctx *ctx, daap_db *db, daap__observed *o, bool *cluster_made,
                          daap_reconcile_result *res)
{
    int rc;
    *cluster_made = false;
    if ((o->cluster == NULL || o->pooler == NULL) && (rc = confirm_missing(o, ctx, db)) < 0)
        return rc;
    if ((o->cluster == NULL || o->pooler == NULL) && (rc = still_current(ctx, db)) < 0)
        return rc;
    if (o->cluster == NULL) {
        if ((rc = daap__create_object(ctx, db, DAAP_KUBE_CLUSTER)) < 0)
            return rc;
        /* 1: it was there after all (a snapshot older than the object) */
        *cluster_made = rc == 0;
        res->objects_created += rc == 0;
    }
    if (o->pooler == NULL) {
        if ((rc = daap__create_object(ctx, db, DAAP_KUBE_POOLER)) < 0)
            return rc;
        res->objects_created += rc == 0;
    }
    return 0;
}

static int become_ready(daap_ctx *ctx, daap_db *db, daap_reconcile_result *res)
{
    int rc = daap__read_credentials(ctx, db);
    if (rc < 0)
        return note(rc, res);
    return transition(ctx, db, DAAP_DB_READY, "the Cluster is healthy and the pooler is serving", res);
}

static void failure_reason(char *out, size_t size, const daap_kube_object *cluster)
{
    const char *why = daap_kube_object_str(cluster, "status.phaseReason");
    snprintf(out, size, "CNPG: %s%s%s", cluster_phase(cluster), why && *why ? ": " : "", why && *why ? why : "");
}

static void progress_reason(char *out, size_t size, const daap__observed *o)
{
    const char *phase = cluster_phase(o->cluster);
    if (cluster_ready(o->cluster))
        snprintf(out, size, "the Cluster is healthy; waiting for the pooler to serve");
    else
        snprintf(out, size, "CNPG: %s", phase ? phase : "waiting for the operator to pick up the Cluster");
}

static int reconcile_provisioning(daap_ctx *ctx, daap_db *db, daap__observed *o, daap_reconcile_result *res)
{
    char reason[512];
    int64_t age = daap__now_ms() - daap_db_created_at(db);

    if (o->cluster && is_failure_phase(cluster_phase(o->cluster))) {
        failure_reason(reason, sizeof(reason), o->cluster);
        return transition(ctx, db, DAAP_DB_ERROR, reason, res);
    }
    if (cluster_ready(o->cluster)) {
        int rc = observe_deployment(o, ctx, db);
        if (rc < 0)
            return note(rc, res);
        if (pooler_serving(o->deployment))
            return become_ready(ctx, db, res);
    }
    if (age > ctx->deadline_ms) {
        snprintf(reason, sizeof(reason), "not ready within the provisioning deadline of %lld s (last CNPG phase: %s)",
                 (long long)(ctx->deadline_ms / 1000), cluster_phase(o->cluster) ? cluster_phase(o->cluster) : "none");
        return transition_because(ctx, db, DAAP_DB_ERROR, reason, "DeadlinePassed", res);
    }
    progress_reason(reason, sizeof(reason), o);
    return note(daap__set_reason(ctx, db, reason), res);
}

static int reconcile_error(daap_ctx *ctx, daap_db *db, daap__observed *o, daap_reconcile_result *res)
{
    int rc;
    if (!cluster_ready(o->cluster) || is_failure_phase(cluster_phase(o->cluster)))
        return 0;
    if ((rc = observe_deployment(o, ctx, db)) < 0)
        return note(rc, res);
    return pooler_serving(o->deployment) ? become_ready(ctx, db, res) : 0;
}

/* ---- a resize rolling out (docs/day2.md) ---- */

static bool cluster_has_record_spec(const daap_kube_object *cluster, const daap_db *db)
{
    int64_t instances = 0;
    const char *size = daap_kube_object_str(cluster, "spec.storage.size");

    daap_kube_object_int(&instances, cluster, "spec.instances");
    daap_error_clear();
    return instances == daap_db_instances(db) && size && strcmp(size, daap_db_storage_size(db)) == 0;
}

/* CNPG has caught up with the spec (observedGeneration), every instance it
 * asks for is ready, and the Cluster is healthy. */
static bool rollout_done(const daap_kube_object *cluster, const daap_db *db)
{
    int64_t gen = 0, seen = -1, instances = -1, ready = -1;
    const char *phase = cluster_phase(cluster);

    daap_kube_object_int(&gen, cluster, "metadata.generation");
    if (daap_kube_object_int(&seen, cluster, "status.observedGeneration") < 0)
        seen = gen; /* a status without it (the fake's) is taken as current */
    daap_kube_object_int(&instances, cluster, "status.instances");
    daap_kube_object_int(&ready, cluster, "status.readyInstances");
    daap_error_clear();
    return cluster_ready(cluster) && phase && strcmp(phase, PHASE_HEALTHY) == 0 && seen >= gen
        && instances == daap_db_instances(db) && ready == instances;
}

static void rollout_reason(char *out, size_t size, const daap_db *db, const daap_kube_object *cluster)
{
    int64_t ready = 0;
    const char *phase = cluster_phase(cluster);

    daap_kube_object_int(&ready, cluster, "status.readyInstances");
    daap_error_clear();
    snprintf(out, size, "rolling out: %d instance%s with %s of storage each (CNPG: %s; %lld of %d ready)",
             (int)daap_db_instances(db), daap_db_instances(db) == 1 ? "" : "s", daap_db_storage_size(db),
             phase ? phase : "waiting for the operator", (long long)ready, (int)daap_db_instances(db));
}

/* Kubernetes refused the patch: the record goes back to what the Cluster
 * runs, the change ends, and the reason says why. */
static int refuse_change(daap_ctx *ctx, daap_db *db, const daap_kube_object *cluster, daap_reconcile_result *res)
{
    char reason[512];
    int64_t instances = daap_db_instances(db);
    const char *size = daap_kube_object_str(cluster, "spec.storage.size");
    int rc;

    snprintf(reason, sizeof(reason), "the resize was refused and nothing changed: %s", daap_error_last()->message);
    daap_kube_object_int(&instances, cluster, "spec.instances");
    daap_error_clear();
    if (size && (rc = daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, size)) < 0)
        return note(rc, res);
    db->num[DAAP_DB_F_INSTANCES] = instances;
    db->num[DAAP_DB_F_CHANGE_STARTED_AT] = 0;
    return note(daap__transition(ctx, db, DAAP_DB_READY, reason), res); /* ready stays ready: no transition */
}

/* A ready database whose owner asked for a resize: patch the Cluster until
 * it asks for the record's values, then follow CNPG until it is done. The
 * database stays ready all along (only failure phases, checked before, end
 * that). */
static int reconcile_change(daap_ctx *ctx, daap_db *db, daap__observed *o, daap_reconcile_result *res)
{
    char reason[512];
    int rc;

    if (!cluster_has_record_spec(o->cluster, db)) {
        if ((rc = still_current(ctx, db)) < 0)
            return note(rc, res);
        if ((rc = daap__patch_cluster(ctx, db)) < 0)
            return daap__is_rejection(rc) ? refuse_change(ctx, db, o->cluster, res) : note(rc, res);
        rollout_reason(reason, sizeof(reason), db, o->cluster);
        return note(daap__set_reason(ctx, db, reason), res);
    }
    if (!rollout_done(o->cluster, db)) {
        rollout_reason(reason, sizeof(reason), db, o->cluster);
        return note(daap__set_reason(ctx, db, reason), res);
    }
    /* Done: the plain ready reason again, written even if it were unchanged,
     * because the change ends in the same write. */
    db->num[DAAP_DB_F_CHANGE_STARTED_AT] = 0;
    return note(daap__transition(ctx, db, DAAP_DB_READY, "the Cluster is healthy and the pooler is serving"), res);
}

/* A ready database stays ready through switchovers and rolling updates;
 * only CNPG's failure phases move it to error. */
static int reconcile_ready(daap_ctx *ctx, daap_db *db, daap__observed *o, daap_reconcile_result *res)
{
    char reason[512];
    if (o->cluster && is_failure_phase(cluster_phase(o->cluster))) {
        failure_reason(reason, sizeof(reason), o->cluster);
        return transition(ctx, db, DAAP_DB_ERROR, reason, res);
    }
    /* A rotation first: it also holds change_started_at, but patches nothing. */
    if (o->cluster && daap__rotation_pending(db))
        return note(daap__reconcile_rotation(ctx, db), res);
    if (o->cluster && daap_db_change_started_at(db))
        return reconcile_change(ctx, db, o, res);
    if (cluster_ready(o->cluster))
        snprintf(reason, sizeof(reason), "the Cluster is healthy and the pooler is serving");
    else
        snprintf(reason, sizeof(reason), "still usable; the Cluster is not Ready right now (CNPG: %s)",
                 cluster_phase(o->cluster) ? cluster_phase(o->cluster) : "unknown");
    return note(daap__set_reason(ctx, db, reason), res);
}

static int reconcile_deleting(daap_ctx *ctx, daap_db *db, daap_reconcile_result *res)
{
    int gone = daap__remove_objects(ctx, db, &res->objects_deleted);
    if (gone < 0)
        return note(gone, res);
    if (gone == 0)
        return 0;
    return transition(ctx, db, DAAP_DB_DELETED, "the Pooler and the Cluster are gone", res);
}

/* A deleted record keeps no objects, yet one can appear after its delete
 * finished: a worker that read the record while it was live may create its
 * Cluster a moment later (creates answer before their objects exist,
 * docs/adr/0002), on this replica or another. The watch brings that
 * object's event here with what it saw, and the object goes now, not at the
 * next orphan sweep. Without an observation (no watch) the sweep covers it. */
static int reconcile_deleted(daap_ctx *ctx, daap_db *db, const daap__observed *o, daap_reconcile_result *res)
{
    int gone;

    if (!o->known || (o->cluster == NULL && o->pooler == NULL))
        return 0;
    gone = daap__remove_objects(ctx, db, &res->objects_deleted);
    return gone < 0 ? note(gone, res) : 0;
}

/* One record against what was observed for it. */
static int reconcile_one(daap_ctx *ctx, daap_db *db, daap__observed *o, daap_reconcile_result *res)
{
    int status = daap_db_status(db), rc;
    bool cluster_made;

    res->examined++;
    if (status == DAAP_DB_DELETING)
        return reconcile_deleting(ctx, db, res);
    if (status == DAAP_DB_DELETED)
        return reconcile_deleted(ctx, db, o, res);
    if (!o->known && (rc = observe(o, ctx, db)) < 0)
        return kube_error(ctx, db, rc, res);
    /* A rejected spec (error without a Cluster) is not retried blindly. */
    if (status != DAAP_DB_ERROR && (rc = ensure_objects(ctx, db, o, &cluster_made, res)) < 0) {
        if (status == DAAP_DB_PROVISIONING && daap__is_rejection(rc)) {
            char reason[512];
            snprintf(reason, sizeof(reason), "Kubernetes rejected the database: %s", daap_error_last()->message);
            return transition_because(ctx, db, DAAP_DB_ERROR, reason, "KubernetesError", res);
        }
        return kube_error(ctx, db, rc, res);
    }
    /* A new Cluster is a new, empty database with new credentials: say so,
     * and let the way back from error read them once it is healthy. */
    if (status == DAAP_DB_READY && cluster_made)
        return transition(ctx, db, DAAP_DB_ERROR, "the Cluster was gone and has been created again: its data starts "
                          "empty and its credentials are new; ready again once CNPG has started it", res);
    switch (status) {
    case DAAP_DB_PROVISIONING: return reconcile_provisioning(ctx, db, o, res);
    case DAAP_DB_ERROR:        return reconcile_error(ctx, db, o, res);
    default:                   return reconcile_ready(ctx, db, o, res);
    }
}

/* Writes made while reconciling are the reconciler's, whoever set the call info. */
static int reconcile_record(daap_ctx *ctx, daap_db *db, daap__observed *o, daap_reconcile_result *res)
{
    bool was = ctx->reconciling;
    int rc;

    ctx->reconciling = true;
    rc = reconcile_one(ctx, db, o, res);
    ctx->reconciling = was;
    return rc;
}

/* ---- a full pass: one list per kind, then every record ---- */

/* Observation from the snapshot, for records in the snapshot's namespace. */
static int observe_from(daap__observed *o, const daap__snapshot *s, daap_ctx *ctx, const daap_db *db)
{
    const daap_kube_object *c, *p, *d;

    memset(o, 0, sizeof(*o));
    if (strcmp(daap_db_namespace(db), ctx->namespace_) != 0)
        return 0; /* observed with GETs later */
    c = daap__snapshot_find(s, DAAP_KUBE_CLUSTER, daap_db_cluster_name(db));
    p = daap__snapshot_find(s, DAAP_KUBE_POOLER, daap_db_pooler_name(db));
    d = daap__snapshot_find(s, DAAP_KUBE_DEPLOYMENT, daap_db_pooler_name(db));
    if ((c && daap_kube_object_dup(&o->cluster, c) < 0) || (p && daap_kube_object_dup(&o->pooler, p) < 0)
        || (d && daap_kube_object_dup(&o->deployment, d) < 0)) {
        daap__observed_dispose(o);
        return daap_error_set_oom();
    }
    o->known = true;
    o->from_cache = true;
    o->deployment_known = s->deployments_known;
    return 0;
}

int daap__reconcile_db_in(daap_ctx *ctx, const char *id, const daap__snapshot *s)
{
    daap_reconcile_result res = { DAAP_RECONCILE_RESULT_VERSION };
    daap__observed o = { 0 };
    daap_db *db;
    int rc;

    DAAP_ASSERT_ARG(ctx && id);
    DAAP_TRY(daap__ctx_need_kube(ctx));
    DAAP_TRY(daap__storage_get(&db, ctx->storage, id));
    /* A watch's cache is as new as the event that brought us here. */
    if (s && (rc = observe_from(&o, s, ctx, db)) < 0) {
        daap_db_free(db);
        return rc;
    }
    rc = reconcile_record(ctx, db, &o, &res);
    daap__observed_dispose(&o);
    daap_db_free(db);
    return rc == DAAP_ECONFLICT ? 0 : rc;
}

int daap__reconcile_db_local(void *self, const char *id)
{
    return daap__reconcile_db_in(self, id, NULL);
}

int daap_reconcile_db(daap_ctx *ctx, const char *id)
{
    DAAP_ASSERT_ARG(ctx && id);
    return ctx->engine->reconcile_db(ctx->engine_self, id);
}

/* Sorted ids of every record that may own objects. */
typedef struct {
    char  **ids;
    size_t  count, alloc;
} id_set;

static int id_set_add(id_set *set, const char *id)
{
    if (set->count == set->alloc) {
        size_t n = set->alloc ? set->alloc * 2 : 64;
        char **ids = daap__realloc(set->ids, n * sizeof(*ids));
        DAAP_ERROR_CHECK_ALLOC(ids);
        set->ids = ids;
        set->alloc = n;
    }
    set->ids[set->count] = daap__strdup(id);
    DAAP_ERROR_CHECK_ALLOC(set->ids[set->count]);
    set->count++;
    return 0;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool id_set_has(const id_set *set, const char *id)
{
    return set->count && bsearch(&id, set->ids, set->count, sizeof(char *), compare_ids) != NULL;
}

static void id_set_dispose(id_set *set)
{
    size_t i;
    for (i = 0; i < set->count; i++)
        daap__free(set->ids[i]);
    daap__free(set->ids);
}

static bool out_of_time(int64_t deadline, const daap_reconcile_options *o, const daap_reconcile_result *res)
{
    return daap__mono_ms() > deadline || (o && o->max_records && res->examined >= o->max_records);
}

static int pass_records(daap_ctx *ctx, const daap__snapshot *s, id_set *live, unsigned int status_mask,
                        int64_t deadline, const daap_reconcile_options *opts, daap_reconcile_result *res)
{
    daap_storage_query q = { DAAP_STORAGE_QUERY_VERSION };
    char after[64] = "";
    bool more = true;

    q.status_mask = status_mask;
    q.include_deleted = 1;
    q.limit = PAGE_SIZE;
    while (more && !out_of_time(deadline, opts, res)) {
        daap_db_array rows = { 0 };
        size_t i;
        DAAP_TRY(daap__storage_list(&rows, ctx->storage, &q));
        more = rows.count == PAGE_SIZE;
        for (i = 0; i < rows.count; i++) {
            daap_db *db = rows.items[i];
            daap__observed o;
            if (id_set_add(live, daap_db_id(db)) < 0 || observe_from(&o, s, ctx, db) < 0) {
                daap_db_array_dispose(&rows);
                return DAAP_ERROR;
            }
            if (!out_of_time(deadline, opts, res))
                reconcile_record(ctx, db, &o, res);
            daap__observed_dispose(&o);
            if (daap_db_status(db) != DAAP_DB_DELETED && daap_db_status(db) != DAAP_DB_READY)
                res->pending++;
        }
        if (rows.count) {
            const daap_db *last = rows.items[rows.count - 1];
            snprintf(after, sizeof(after), "%s", daap_db_id(last));
            q.after_created_at = daap_db_created_at(last);
            q.after_id = after;
        }
        daap_db_array_dispose(&rows);
    }
    return 0;
}

/* Is the record that labelled this object gone for good? Checked against the
 * store again, because it may have been created after the record pass. */
static bool owner_gone(daap_ctx *ctx, const id_set *live, const char *id)
{
    daap_db *db;
    bool gone;
    int rc;

    if (id_set_has(live, id))
        return false;
    rc = daap__storage_get(&db, ctx->storage, id);
    if (rc == DAAP_ENOTFOUND)
        return true;
    if (rc < 0)
        return false;
    gone = daap_db_status(db) == DAAP_DB_DELETED;
    daap_db_free(db);
    return gone;
}

static void remove_orphans_of(daap_ctx *ctx, const daap_kube_list *l, int kind, const id_set *live,
                              const daap__snapshot *s, daap_reconcile_result *res)
{
    size_t i;
    for (i = 0; i < l->count; i++) {
        const char *id = daap__object_db_id(l->items[i]);
        daap_kube_ref ref = { kind, ctx->namespace_, daap_kube_object_str(l->items[i], "metadata.name") };
        char pooler[128];

        if (id == NULL || ref.name == NULL || !owner_gone(ctx, live, id))
            continue;
        /* Never pull a Cluster out from under its Pooler. */
        snprintf(pooler, sizeof(pooler), "%s-pooler", ref.name);
        if (kind == DAAP_KUBE_CLUSTER && daap__snapshot_find(s, DAAP_KUBE_POOLER, pooler))
            continue;
        if (note(daap__kube_remove(ctx->kube, &ref), res) == 0)
            res->orphans_removed++;
    }
}

/* Retention: one bounded batch per pass, so a pass after a long pause does
 * not stall on a big delete; the next passes take the rest. A failure only
 * delays the purge. */
static void purge_old_events(daap_ctx *ctx, daap_reconcile_result *res)
{
    uint32_t purged = 0;

    if (ctx->event_retention_ms <= 0)
        return;
    if (note(daap__storage_purge_events(&purged, ctx->storage, daap__now_ms() - ctx->event_retention_ms,
                                        DAAP__EVENT_PURGE_BATCH), res) < 0)
        daap_error_clear();
}

static int check_pass_args(daap_ctx *ctx, const daap_reconcile_options *opts)
{
    DAAP_ASSERT_ARG(ctx);
    DAAP_CHECK_VERSION(opts, DAAP_RECONCILE_OPTIONS_VERSION, "daap_reconcile_options");
    return daap__ctx_need_kube(ctx);
}

int daap__reconcile_pass(daap_reconcile_result *out, daap_ctx *ctx, const daap__snapshot *s,
                         const daap_reconcile_options *opts)
{
    daap_reconcile_result res = { DAAP_RECONCILE_RESULT_VERSION };
    id_set live = { 0 };
    int64_t deadline;
    int rc;

    DAAP_TRY(check_pass_args(ctx, opts));
    deadline = daap__mono_ms() + (opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS);
    /* Records with work to do go first, so a pass cut short by its time
     * bound still moves them; ready ones are only checked for drift. */
    rc = pass_records(ctx, s, &live, DAAP_DB_STATUS_BIT(DAAP_DB_PROVISIONING) | DAAP_DB_STATUS_BIT(DAAP_DB_ERROR) |
                      DAAP_DB_STATUS_BIT(DAAP_DB_DELETING), deadline, opts, &res);
    if (rc == 0)
        rc = pass_records(ctx, s, &live, DAAP_DB_STATUS_BIT(DAAP_DB_READY), deadline, opts, &res);
    if (rc == 0 && !(opts && opts->skip_orphans)) {
        if (live.count > 1)
            qsort(live.ids, live.count, sizeof(char *), compare_ids);
        remove_orphans_of(ctx, &s->poolers, DAAP_KUBE_POOLER, &live, s, &res);
        remove_orphans_of(ctx, &s->clusters, DAAP_KUBE_CLUSTER, &live, s, &res);
    }
    id_set_dispose(&live);
    if (rc == 0)
        purge_old_events(ctx, &res);
    if (out)
        *out = res;
    return rc;
}

int daap_reconcile_once(daap_reconcile_result *out, daap_ctx *ctx, const daap_reconcile_options *opts)
{
    const daap_reconcile_result none = { DAAP_RECONCILE_RESULT_VERSION };

    if (out)
        *out = none;
    DAAP_ASSERT_ARG(ctx);
    DAAP_CHECK_VERSION(opts, DAAP_RECONCILE_OPTIONS_VERSION, "daap_reconcile_options");
    return ctx->engine->reconcile_once(out, ctx->engine_self, opts);
}

int daap__reconcile_once_local(daap_reconcile_result *out, void *self, const daap_reconcile_options *opts)
{
    daap_ctx *ctx = self;
    daap__snapshot s;
    int rc;

    DAAP_TRY(check_pass_args(ctx, opts));
    /* Snapshot first: an object in it was created after its record. */
    if ((rc = daap__snapshot_take(&s, ctx)) == 0)
        rc = daap__reconcile_pass(out, ctx, &s, opts);
    daap__snapshot_dispose(&s);
    return rc;
}
