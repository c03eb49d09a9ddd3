/* Event-driven reconciliation: watches on daap-labelled Clusters and Poolers
 * and on pooler Deployments; each event reconciles just the record it
 * touches, so readiness shows within a second instead of at the next resync.
 *
 * The watch also keeps a cache of what it saw (a snapshot of summaries,
 * the informer idea), so that a resync of the watched namespace compares
 * the records with the cache instead of listing again: at rest, the API
 * sees only the watches (bench figure 4). */
#include "lifecycle/steps.h"
#include "kube/kube.h"
#include "lifecycle/reconcile.h"
#include "lifecycle/watch.h"

#include <stdio.h>
#include <time.h>

#define POLL_SLICE_MS  10
#define MAX_BATCH      256
#define POOLER_SELECTOR "cnpg.io/poolerName"

typedef struct {
    int              kind;
    const char      *selector;
    daap_kube_watch *stream;
    char            *rv;          /* resume point */
    bool             need_relist; /* after 410 Gone */
} stream_state;

struct daap_watch {
    daap_ctx       *ctx;
    stream_state    streams[3];
    daap__snapshot  cache;         /* Clusters, Poolers and Deployments as last seen */
    char           *batch[MAX_BATCH];
    size_t          nbatch;
    bool            resync_needed; /* a relist happened: events may be lost */
};

static void set_rv(stream_state *s, const char *rv)
{
    if (rv == NULL || *rv == '\0')
        return;
    daap__free(s->rv);
    s->rv = daap__strdup(rv);
}

/* A list gives the point to watch from, and the cache its contents; what
 * happened before it is the resync's job. */
static int relist(daap_watch *w, stream_state *s)
{
    daap_kube_list *into = s->kind == DAAP_KUBE_CLUSTER ? &w->cache.clusters
                         : s->kind == DAAP_KUBE_POOLER ? &w->cache.poolers : &w->cache.deployments;
    int rc = daap__kube_list_summaries(into, w->ctx->kube, s->kind, w->ctx->namespace_, s->selector);

    if (rc == 0) {
        if (s->kind == DAAP_KUBE_DEPLOYMENT)
            w->cache.deployments_known = true;
        set_rv(s, into->resource_version);
        s->need_relist = false;
        w->resync_needed = true;
    }
    return rc;
}

static int open_stream(daap_watch *w, stream_state *s)
{
    if (s->stream)
        return 0;
    if ((s->need_relist || s->rv == NULL))
        DAAP_TRY(relist(w, s));
    return daap__kube_watch(&s->stream, w->ctx->kube, s->kind, w->ctx->namespace_, s->selector, s->rv);
}

static void close_stream(daap_watch *w, stream_state *s)
{
    if (s->stream)
        daap__kube_watch_free(w->ctx->kube, s->stream);
    s->stream = NULL;
}

int daap_watch_open(daap_watch **out, daap_ctx *ctx)
{
    DAAP_ASSERT_ARG(out && ctx);
    *out = NULL;
    return ctx->engine->watch_open(out, ctx->engine_self);
}

int daap__watch_open_local(daap_watch **out, void *self)
{
    daap_ctx *ctx = self;
    daap_watch *w;
    size_t i;
    int rc = 0;

    DAAP_TRY(daap__ctx_need_kube(ctx));
    if (!(ctx->kube->caps & DAAP_KUBE_CAP_WATCH))
        return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_KUBE, "the Kubernetes backend cannot watch");
    w = daap__calloc(1, sizeof(*w));
    DAAP_ERROR_CHECK_ALLOC(w);
    w->ctx = ctx;
    w->streams[0] = (stream_state){ DAAP_KUBE_POOLER, DAAP__SELECTOR, NULL, NULL, false };
    w->streams[1] = (stream_state){ DAAP_KUBE_CLUSTER, DAAP__SELECTOR, NULL, NULL, false };
    w->streams[2] = (stream_state){ DAAP_KUBE_DEPLOYMENT, POOLER_SELECTOR, NULL, NULL, false };
    for (i = 0; i < 3 && rc == 0; i++)
        rc = open_stream(w, &w->streams[i]);
    if (rc < 0) {
        daap_watch_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* Deployments are not labelled by daap: their Pooler, of the same name, is. */
static const char *pooler_owner(const daap_watch *w, const char *pooler)
{
    const daap_kube_object *p = daap__snapshot_find(&w->cache, DAAP_KUBE_POOLER, pooler);
    return p ? daap__object_db_id(p) : NULL;
}

static void queue_record(daap_watch *w, const char *id)
{
    size_t i;
    if (id == NULL)
        return;
    for (i = 0; i < w->nbatch; i++)
        if (strcmp(w->batch[i], id) == 0)
            return;
    if (w->nbatch < MAX_BATCH && (w->batch[w->nbatch] = daap__strdup(id)) != NULL)
        w->nbatch++;
}

static void handle_event(daap_watch *w, stream_state *s, const daap_kube_event *ev)
{
    const char *name = daap_kube_object_str(ev->object, "metadata.name");
    const char *id;

    set_rv(s, daap_kube_object_str(ev->object, "metadata.resourceVersion"));
    if (ev->type == DAAP_KUBE_BOOKMARK || name == NULL)
        return;
    id = s->kind == DAAP_KUBE_DEPLOYMENT ? pooler_owner(w, name) : daap__object_db_id(ev->object);
    queue_record(w, id);
    if (ev->type == DAAP_KUBE_DELETED)
        daap__snapshot_drop(&w->cache, s->kind, name);
    else if (daap__snapshot_put(&w->cache, s->kind, ev->object) < 0)
        s->need_relist = true; /* out of memory: the cache is no longer whole */
}

/* Drain what one stream has now; reopen or relist when it ends. */
static int poll_stream(daap_watch *w, stream_state *s, int32_t timeout_ms)
{
    daap_kube_event ev;
    int rc;

    DAAP_TRY(open_stream(w, s));
    /* Stop at a full batch: what is left stays in the stream for the next
     * step. Reading on would drop ids, and those records would wait for the
     * next resync (bench/fig3-readiness: p99 of 27 s in a burst). */
    if (w->nbatch == MAX_BATCH)
        return 0;
    while ((rc = daap__kube_watch_next(&ev, w->ctx->kube, s->stream, timeout_ms)) == 0) {
        handle_event(w, s, &ev);
        daap_kube_object_free(ev.object);
        timeout_ms = 0;
        if (w->nbatch == MAX_BATCH)
            return 0;
    }
    if (rc == DAAP_ETIMEOUT)
        return 0;
    close_stream(w, s);
    if (rc == DAAP_EEXPIRED)
        s->need_relist = true;
    return rc == DAAP_ITEROVER || rc == DAAP_EEXPIRED ? 0 : rc;
}

static void reconcile_batch(daap_watch *w, daap_reconcile_result *res)
{
    size_t i;
    for (i = 0; i < w->nbatch; i++) {
        if (daap__reconcile_db_in(w->ctx, w->batch[i], &w->cache) == 0)
            res->examined++;
        else
            res->failures++;
        daap__free(w->batch[i]);
    }
    w->nbatch = 0;
}

int daap_watch_step(daap_watch *w, int32_t timeout_ms, daap_reconcile_result *out)
{
    daap_reconcile_result res = { DAAP_RECONCILE_RESULT_VERSION };
    int64_t deadline;
    int rc = 0;
    size_t i;

    DAAP_ASSERT_ARG(w);
    deadline = daap__mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    do {
        for (i = 0; i < 3 && rc == 0; i++)
            rc = poll_stream(w, &w->streams[i], POLL_SLICE_MS);
        if (w->nbatch)
            reconcile_batch(w, &res);
        if (rc == 0 && w->resync_needed) {
            /* What changed while no watch was open is found by one full pass. */
            daap_reconcile_result pass;
            w->resync_needed = false;
            if (daap__reconcile_pass(&pass, w->ctx, &w->cache, NULL) == 0)
                res.examined += pass.examined;
            else
                w->resync_needed = true;
        }
    } while (rc == 0 && res.examined == 0 && daap__mono_ms() < deadline);
    if (rc < 0 && daap__mono_ms() < deadline)
        daap__sleep_ms((int32_t)(deadline - daap__mono_ms())); /* API down: do not spin */
    if (out)
        *out = res;
    return rc;
}

int daap_watch_resync(daap_reconcile_result *out, daap_watch *w, const daap_reconcile_options *opts)
{
    size_t i;

    DAAP_ASSERT_ARG(w);
    /* A stream that needs a relist would leave the cache incomplete. */
    for (i = 0; i < 3; i++)
        DAAP_TRY(open_stream(w, &w->streams[i]));
    w->resync_needed = false;
    return daap__reconcile_pass(out, w->ctx, &w->cache, opts);
}

void daap_watch_free(daap_watch *w)
{
    size_t i;
    if (w == NULL)
        return;
    for (i = 0; i < 3; i++) {
        close_stream(w, &w->streams[i]);
        daap__free(w->streams[i].rv);
    }
    for (i = 0; i < w->nbatch; i++)
        daap__free(w->batch[i]);
    daap__snapshot_dispose(&w->cache);
    daap__free(w);
}
