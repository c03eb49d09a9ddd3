/* The background reconciler: a thread that follows Kubernetes watches (so a
 * Cluster turning Ready shows within a second) and runs a periodic full
 * pass that catches whatever a watch missed. */
#ifndef DAAP_SERVER_RECONCILER_H
#define DAAP_SERVER_RECONCILER_H

#include <daap/daap.h>

#include "options.h"
#include "waiters.h"

typedef struct reconciler reconciler;

/* Takes ctx (a context of its own: contexts are single-threaded), also when
 * the call fails. After a pass or watch step that wrote, it kicks ws (not
 * owned; may be NULL) so that waiting GETs see the change at once. */
int  reconciler_start(reconciler **out, daap_ctx *ctx, const server_options *opts, waiters *ws);
/* Ask the thread to stop, wait for it, free everything. Accepts NULL. */
void reconciler_stop(reconciler *r);

#endif
