/* The background reconciler: a thread that follows Kubernetes watches (so a
 * Cluster turning Ready shows within a second) and runs a periodic full
 * pass that catches whatever a watch missed. */
#ifndef DAAP_SERVER_RECONCILER_H
#define DAAP_SERVER_RECONCILER_H

#include <daap/daap.h>

#include "options.h"

typedef struct reconciler reconciler;

/* Takes ctx (a context of its own: contexts are single-threaded), also when
 * the call fails. */
int  reconciler_start(reconciler **out, daap_ctx *ctx, const server_options *opts);
/* Ask the thread to stop, wait for it, free everything. Accepts NULL. */
void reconciler_stop(reconciler *r);

#endif
