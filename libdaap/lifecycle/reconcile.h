/* The reconciler's entry points inside lifecycle/ (reconcile.c): for
 * watches, and the local engine's slots. */
#ifndef DAAP_INTERNAL_RECONCILE_H
#define DAAP_INTERNAL_RECONCILE_H

#include "lifecycle/snapshot.h"

/* Reconcile one record against `s` (NULL: observe it with GETs). */
int daap__reconcile_db_in(daap_ctx *ctx, const char *id, const daap__snapshot *s);

/* One full pass of every record against `s`. */
int daap__reconcile_pass(daap_reconcile_result *out, daap_ctx *ctx, const daap__snapshot *s,
                         const daap_reconcile_options *opts);

/* The local engine's reconcile_once and reconcile_db (engine.h); self is the context. */
int daap__reconcile_once_local(daap_reconcile_result *out, void *self, const daap_reconcile_options *opts);
int daap__reconcile_db_local(void *self, const char *id);

#endif
