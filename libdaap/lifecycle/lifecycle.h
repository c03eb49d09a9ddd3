/* The request path (lifecycle.c): the local engine, whose slots are
 * create, get, list, update and delete on the store and Kubernetes, and
 * whose reconcile and watch slots are reconcile.c's and watch.c's. */
#ifndef DAAP_INTERNAL_LIFECYCLE_H
#define DAAP_INTERNAL_LIFECYCLE_H

#include "ctx.h"

extern const daap__engine daap__local_engine;

/* Shared with the other request paths (rotate.c). */

/* A live record (not soft-deleted); DAAP_ENOTFOUND otherwise. */
int daap__get_live(daap_db **out, daap_ctx *ctx, const char *id);

/* DAAP_EFORBIDDEN unless caller_team is the record's owner_team. */
int daap__check_owner(const daap_db *db, const char *caller_team);

/* Request-path writes are by `team` unless the call info names the
 * caller; returns the team acted for before, to put back. */
const char *daap__act_for(daap_ctx *ctx, const char *team);

#endif
