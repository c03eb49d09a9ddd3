/* The loops the library leaves to front-ends (it starts no threads): one
 * thread follows the watches and runs the periodic pass; N workers take the
 * ids the API hands over (a new database, a delete) from a work queue, so
 * that a request never waits on Kubernetes (docs/adr/0002). */
#include "reconciler.h"
#include "clock.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define STEP_MS          250   /* how long one watch step may wait: bounds shutdown latency */
#define PASS_TIMEOUT_MS  5000  /* a resync pass starts no new work after this */
#define REOPEN_MIN_MS    500
#define REOPEN_MAX_MS    10000
#define WORKER_WAIT_MS   250   /* how long a worker waits for a key: bounds shutdown latency */

typedef struct {
    pthread_t       thread;
    daap_ctx       *ctx;
    daap_workqueue *queue;
    waiters        *waiters;
    bool            started;
} rec_worker;

struct reconciler {
    pthread_t   thread;
    daap_workqueue *queue;
    rec_worker     *workers;
    int         nworkers;
    daap_ctx   *ctx;
    daap_watch *watch;
    atomic_bool stop;
    int64_t     resync_period_ms;
    int64_t     next_resync_ms;
    int64_t     next_open_ms;
    int64_t     reopen_delay_ms;
    bool        healthy;     /* last call succeeded: log only changes */
    bool        watch_unsupported;
    waiters    *waiters;     /* kicked after a write (server-side wait) */
};

static int64_t now_ms(void)
{
    return mono_us() / 1000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Log a failure once, and the recovery once, not every step. */
static void note_outcome(reconciler *r, int rc, const char *what)
{
    if (rc < 0 && r->healthy) {
        log_line(LOG_WARN, "reconciler: Kubernetes or the store is failing; retrying",
                 (log_field[]){ LF_STR("during", what), LF_STR("error", daap_error_last()->message),
                                LF_STR("code", daap_error_code_name(rc)) }, 3);
    } else if (rc == 0 && !r->healthy) {
        log_line(LOG_INFO, "reconciler: recovered", (log_field[]){ LF_STR("during", what) }, 1);
    }
    r->healthy = rc == 0;
}

static bool wrote(const daap_reconcile_result *res)
{
    return res->transitions || res->objects_created || res->objects_deleted || res->orphans_removed;
}

/* A watch step examines only records whose objects changed: any of them may
 * have had its status_reason or revision rewritten, so those count too. */
static void wake_waiters(reconciler *r, const daap_reconcile_result *res, bool from_watch)
{
    if (wrote(res) || (from_watch && res->examined))
        waiters_kick(r->waiters);
}

static void log_result(const char *what, const daap_reconcile_result *res)
{
    bool changed = wrote(res);
    log_field f[] = {
        LF_STR("trigger", what), LF_NUM("examined", res->examined), LF_NUM("transitions", res->transitions),
        LF_NUM("objects_created", res->objects_created), LF_NUM("objects_deleted", res->objects_deleted),
        LF_NUM("orphans_removed", res->orphans_removed), LF_NUM("conflicts", res->conflicts),
        LF_NUM("failures", res->failures), LF_NUM("pending", res->pending),
    };
    log_line(changed ? LOG_INFO : LOG_DEBUG, "reconcile", f, sizeof(f) / sizeof(f[0]));
}

/* Expired idempotency keys go with each resync, in bounded batches so
 * that a backlog never holds the loop up for long; the rest waits for the
 * next pass. */
#define PURGE_BATCH   500
#define PURGE_BATCHES 10

static void purge_idempotency_keys(reconciler *r)
{
    uint32_t purged = PURGE_BATCH, total = 0;
    int i, rc = 0;

    for (i = 0; i < PURGE_BATCHES && purged == PURGE_BATCH && rc == 0; i++) {
        rc = daap_idempotency_purge(&purged, r->ctx, PURGE_BATCH);
        total += rc == 0 ? purged : 0;
    }
    if (rc < 0 && rc != DAAP_ENOTSUPPORTED)
        note_outcome(r, rc, "idempotency key purge");
    if (total)
        log_line(LOG_DEBUG, "expired idempotency keys purged", (log_field[]){ LF_NUM("count", total) }, 1);
}

static void resync(reconciler *r)
{
    daap_reconcile_options opts = DAAP_RECONCILE_OPTIONS_INIT;
    daap_reconcile_result res = { DAAP_RECONCILE_RESULT_VERSION };
    int rc;

    opts.timeout_ms = PASS_TIMEOUT_MS;
    /* With a watch open, its cache stands in for listing everything again. */
    rc = r->watch ? daap_watch_resync(&res, r->watch, &opts) : daap_reconcile_once(&res, r->ctx, &opts);
    note_outcome(r, rc, "resync");
    if (rc == 0) {
        wake_waiters(r, &res, false);
        log_result("resync", &res);
    }
    purge_idempotency_keys(r);
    r->next_resync_ms = now_ms() + r->resync_period_ms;
}

static void open_watch(reconciler *r)
{
    int rc = daap_watch_open(&r->watch, r->ctx);

    if (rc == DAAP_ENOTSUPPORTED) { /* e.g. a backend without watches: resync alone */
        log_line(LOG_INFO, "reconciler: no watch support; relying on the periodic resync",
                 (log_field[]){ LF_STR("reason", daap_error_last()->message) }, 1);
        r->watch_unsupported = true;
        return;
    }
    note_outcome(r, rc, "watch");
    if (rc == 0) {
        r->reopen_delay_ms = REOPEN_MIN_MS;
        return;
    }
    r->next_open_ms = now_ms() + r->reopen_delay_ms;
    r->reopen_delay_ms = r->reopen_delay_ms * 2 > REOPEN_MAX_MS ? REOPEN_MAX_MS : r->reopen_delay_ms * 2;
}

static void step(reconciler *r)
{
    daap_reconcile_result res = { DAAP_RECONCILE_RESULT_VERSION };
    int rc = daap_watch_step(r->watch, STEP_MS, &res);

    note_outcome(r, rc, "watch");
    if (rc == 0 && res.examined) {
        wake_waiters(r, &res, true);
        log_result("watch", &res);
    }
}

static void *run(void *arg)
{
    reconciler *r = arg;

    while (!atomic_load(&r->stop)) {
        /* The watch first: its lists fill the cache the first resync then
         * compares with, where a resync before it would list everything
         * once more (at 100,000 databases, 400 list requests). */
        if (r->watch == NULL && !r->watch_unsupported && now_ms() >= r->next_open_ms)
            open_watch(r);
        if (now_ms() >= r->next_resync_ms)
            resync(r);
        if (r->watch)
            step(r);
        else
            sleep_ms(STEP_MS);
    }
    return NULL;
}

/* ---- the workers */

/* A failure is retried with the key's own backoff; Kubernetes trouble is
 * logged by the watch thread, which meets the same API. */
static void reconcile_key(rec_worker *w, const char *id)
{
    int rc = daap_reconcile_db(w->ctx, id);

    waiters_kick(w->waiters); /* it may have written the record */
    if (rc == 0 || rc == DAAP_ENOTFOUND) {
        daap_workqueue_forget(w->queue, id);
        return;
    }
    log_line(LOG_DEBUG, "reconciler: retrying a database", (log_field[]){
        LF_STR("database_id", id), LF_STR("error", daap_error_last()->message),
        LF_NUM("failures", daap_workqueue_failures(w->queue, id)) }, 3);
    daap_workqueue_add_rate_limited(w->queue, id);
}

static void *work(void *arg)
{
    rec_worker *w = arg;
    char id[DAAP_WORKQUEUE_KEY_MAX + 1];
    int rc;

    while ((rc = daap_workqueue_get(w->queue, id, sizeof(id), WORKER_WAIT_MS)) != DAAP_ITEROVER) {
        if (rc != 0)
            continue;
        reconcile_key(w, id);
        daap_workqueue_done(w->queue, id);
    }
    return NULL;
}

static int start_workers(reconciler *r, daap_ctx **ctxs, int n)
{
    int i, failed = 0;

    if ((r->workers = calloc((size_t)n, sizeof(rec_worker))) == NULL)
        failed = 1;
    for (i = 0; i < n; i++) {
        if (failed) {
            daap_ctx_free(ctxs[i]);
            continue;
        }
        r->workers[i].ctx = ctxs[i];
        r->workers[i].queue = r->queue;
        r->workers[i].waiters = r->waiters;
        r->workers[i].started = pthread_create(&r->workers[i].thread, NULL, work, &r->workers[i]) == 0;
        r->nworkers = i + 1;
        failed = !r->workers[i].started;
    }
    return failed ? -1 : 0;
}

/* What is still queued is dropped: every record is durable, and the next
 * start's first pass picks it up. What a worker holds is finished. */
static void stop_workers(reconciler *r)
{
    int i;

    if (r->queue)
        daap_workqueue_shutdown(r->queue, DAAP_WORKQUEUE_DROP);
    for (i = 0; i < r->nworkers; i++) {
        if (r->workers[i].started)
            pthread_join(r->workers[i].thread, NULL);
        daap_ctx_free(r->workers[i].ctx);
    }
    free(r->workers);
    daap_workqueue_free(r->queue);
}

void reconciler_enqueue(reconciler *r, const char *id)
{
    if (r && id && daap_workqueue_add(r->queue, id) < 0 && daap_error_last()->code != DAAP_ITEROVER)
        log_line(LOG_WARN, "reconciler: cannot queue a database; the next pass picks it up",
                 (log_field[]){ LF_STR("database_id", id), LF_STR("error", daap_error_last()->message) }, 2);
}

/* A rotation's verifying login is a worker's, never the watch thread's
 * (lifecycle/rotate.c): the watch context hands such records over. */
static void hand_to_workers(const char *id, void *payload)
{
    reconciler_enqueue(payload, id);
}

/* ---- start and stop */

static void free_ctxs(daap_ctx **ctxs, int n)
{
    int i;
    for (i = 0; i < n; i++)
        daap_ctx_free(ctxs[i]);
}

int reconciler_start(reconciler **out, daap_ctx *ctx, daap_ctx **worker_ctxs, int nworkers,
                     const server_options *opts, waiters *ws)
{
    reconciler *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL || daap_workqueue_new(&r->queue, NULL) < 0) {
        free(r);
        daap_ctx_free(ctx);
        free_ctxs(worker_ctxs, nworkers);
        return -1;
    }
    r->ctx = ctx;
    r->waiters = ws;
    r->resync_period_ms = opts->resync_period_ms;
    r->reopen_delay_ms = REOPEN_MIN_MS;
    r->healthy = true;
    atomic_init(&r->stop, false);
    if (nworkers > 0)
        (void)daap_reconcile_set_handoff(ctx, hand_to_workers, r);
    if (start_workers(r, worker_ctxs, nworkers) < 0 || pthread_create(&r->thread, NULL, run, r) != 0) {
        stop_workers(r);
        daap_ctx_free(ctx);
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

void reconciler_stop(reconciler *r)
{
    if (r == NULL)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    stop_workers(r);
    daap_watch_free(r->watch);
    daap_ctx_free(r->ctx);
    free(r);
}
