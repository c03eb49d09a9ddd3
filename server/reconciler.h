/* The background reconciler: a thread that follows Kubernetes watches (so a
 * Cluster turning Ready shows within a second) and runs a periodic full
 * pass that catches whatever a watch missed, and a pool of workers that
 * take database ids from a work queue (de-duplicated, one worker per id at
 * a time, retried with backoff per id), which the API feeds. */
#ifndef DAAP_SERVER_RECONCILER_H
#define DAAP_SERVER_RECONCILER_H

#include <daap/daap.h>

#include "options.h"
#include "waiters.h"

typedef struct reconciler reconciler;

/* Takes ctx and the nworkers worker_ctxs (contexts of their own: contexts are
 * single-threaded), also when the call fails; not the worker_ctxs array.
 * After a write it kicks ws (not owned; may be NULL) so that waiting GETs
 * see the change at once. */
int  reconciler_start(reconciler **out, daap_ctx *ctx, daap_ctx **worker_ctxs, int nworkers,
                      const server_options *opts, waiters *ws);
/* Have a worker reconcile this database soon. Never blocks on Kubernetes;
 * thread-safe. Accepts NULL (no reconciler: the periodic pass does it). */
void reconciler_enqueue(reconciler *r, const char *id);
/* Ask the thread to stop, wait for it, free everything. Accepts NULL. */
void reconciler_stop(reconciler *r);

#endif
