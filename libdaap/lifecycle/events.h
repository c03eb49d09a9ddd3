/* The events of one record write (events.c): built before the write and
 * handed to the store with it, so the history never disagrees with the
 * record (DESIGN.md section 11). Who acted comes from the context: the
 * reconciler while it reconciles, else the call info the front-end set
 * (daap_ctx_set_call_info), else the team the request path names. */
#ifndef DAAP_INTERNAL_EVENTS_H
#define DAAP_INTERNAL_EVENTS_H

#include "ctx.h"
#include "db/db.h"

/* Most events one write carries: a PATCH of both owner_team and purpose. */
#define DAAP__EVENTS_MAX 2
#define DAAP__EVENT_MESSAGE_MAX 512

#define DAAP__ACTOR_RECONCILER "reconciler"

/* Retention (daap_ctx_options.event_retention_ms): the most rows one
 * reconcile pass purges. */
#define DAAP__EVENT_PURGE_BATCH 500

typedef struct {
    daap_db_event items[DAAP__EVENTS_MAX];
    size_t        count;
    char          text[DAAP__EVENTS_MAX][DAAP__EVENT_MESSAGE_MAX]; /* messages that are built */
} daap__events;

/* Who the context's writes are by now (never NULL). */
const char *daap__events_actor(const daap_ctx *ctx);

/* An empty set. */
void daap__events_init(daap__events *e);

/* Add an event by the context's actor, now; `message` is copied (cut at
 * DAAP__EVENT_MESSAGE_MAX - 1 bytes), from/to are statuses or -1. More
 * than DAAP__EVENTS_MAX events are dropped. */
void daap__events_add(daap__events *e, const daap_ctx *ctx, int type, const char *reason,
                      const char *message, int from_status, int to_status);

/* The event of a status change from `from` to the record's status, with
 * its status_reason as the message: Ready, Recovered, Failed, DeleteRequested,
 * Deleted or Progress. */
void daap__events_for_status(daap__events *e, const daap_ctx *ctx, int from, const daap_db *after);

/* The events of a PATCH: OwnerChanged and PurposeChanged for the fields it
 * changes, Updated when it changes none. */
void daap__events_for_update(daap__events *e, const daap_ctx *ctx, const daap_db *before, const daap_db *after);

/* The local engine's daap_db_events(). */
int daap__events_local(daap_db_event_page *out, void *self, const char *id, const daap_db_events_options *opts);

#endif
