/* The engine behind a context: what every public call that takes a daap_ctx
 * does, in one table. A context gets its engine once, when it opens
 * (open.c picks by the URI's scheme):
 *
 * - the local engine (lifecycle/lifecycle.c, daap__local_engine): the store
 *   and Kubernetes, in this process; `self` is the daap_ctx itself;
 * - the remote engine (remote/remote.c, daap__remote_engine): the same
 *   calls, answered by a daap-server over HTTP(S); `self` is its client.
 *
 * A public function checks its arguments, clears its outputs, and then
 * dispatches once: `return ctx->engine->get(out, ctx->engine_self, id);`.
 * It never asks which engine it has.
 *
 * Adding a public entry point (docs/backends.md says the same):
 * 1. add a slot here, in the order of the public headers;
 * 2. fill it in daap__local_engine and in daap__remote_engine (a call that
 *    only makes sense next to the store answers DAAP_ENOTSUPPORTED there);
 * 3. add it to the slot check in ctx.c (daap__engine_check), which refuses
 *    to open a context on an engine with an empty slot;
 * 4. dispatch from the public function.
 *
 * Types only: the engines live in their folders, the check in ctx.c. */
#ifndef DAAP_INTERNAL_ENGINE_H
#define DAAP_INTERNAL_ENGINE_H

#include "common.h"

typedef struct daap__engine {
    const char *name;   /* "local", "remote": for messages */
    bool        remote; /* daap_ctx_is_remote() */

    /* Release `self` (the context frees the rest). */
    void (*free)(void *self);

    /* ctx.h: daap_ctx_ping */
    int (*ping)(void *self);
    /* migrate.h */
    int (*migrate)(void *self, int32_t target);
    int (*migration_status)(daap_migration_status *out, void *self);

    /* db.h: arguments checked and outputs cleared by the caller */
    int (*create)(daap_db **out, void *self, const daap_db_spec *spec);
    int (*create_json)(daap_db **out, void *self, const char *json, size_t len);
    int (*get)(daap_db **out, void *self, const char *id);
    int (*list)(daap_db_page *out, void *self, const daap_db_list_options *opts);
    int (*list_json)(daap_buf *out, void *self, const daap_db_list_options *opts);
    int (*update)(daap_db **out, void *self, const char *id, const char *caller_team,
                  const daap_db_update_spec *spec);
    int (*update_json)(daap_db **out, void *self, const char *id, const char *caller_team,
                       const char *json, size_t len);
    int (*remove)(daap_db **out, void *self, const char *id, const char *caller_team);
    /* db.h: daap_db_wait (options checked by the caller) */
    int (*wait)(daap_db **out, void *self, const char *id, const daap_db_wait_options *opts);
    int (*events)(daap_db_event_page *out, void *self, const char *id, const daap_db_events_options *opts);
    /* db.h: daap_db_rotate_password */
    int (*rotate_password)(daap_db **out, void *self, const char *id, const char *caller_team);

    /* reconcile.h */
    int (*reconcile_once)(daap_reconcile_result *out, void *self, const daap_reconcile_options *opts);
    int (*reconcile_db)(void *self, const char *id);
    int (*watch_open)(daap_watch **out, void *self);

    /* idempotency.h: arguments checked by the caller */
    int (*idempotency_begin)(daap_idempotency_record *out, void *self, const daap_idempotency_request *req);
    int (*idempotency_finish)(void *self, const daap_idempotency_request *req, int32_t status,
                              const char *location, const char *body, size_t len);
    int (*idempotency_abandon)(void *self, const daap_idempotency_request *req);
    int (*idempotency_purge)(uint32_t *purged, void *self, uint32_t limit);
} daap__engine;

#endif
