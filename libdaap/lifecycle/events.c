/* Building the events of a record write (see events.h). */
#include "lifecycle/events.h"
#include "db/db_json.h"
#include "db/event.h"
#include "ids.h"
#include "storage/storage.h"

#include <stdio.h>

const char *daap__events_actor(const daap_ctx *ctx)
{
    if (ctx->reconciling)
        return DAAP__ACTOR_RECONCILER;
    if (ctx->call_actor)
        return ctx->call_actor;
    return ctx->acting_team ? ctx->acting_team : DAAP__ACTOR_RECONCILER;
}

void daap__events_init(daap__events *e)
{
    memset(e, 0, sizeof(*e));
}

void daap__events_add(daap__events *e, const daap_ctx *ctx, int type, const char *reason,
                      const char *message, int from_status, int to_status)
{
    daap_db_event *ev;

    if (e->count == DAAP__EVENTS_MAX)
        return;
    ev = &e->items[e->count];
    memset(ev, 0, sizeof(*ev));
    snprintf(e->text[e->count], sizeof(e->text[e->count]), "%s", message ? message : "");
    ev->at = daap__now_ms();
    ev->type = type;
    ev->reason = reason;
    ev->message = e->text[e->count];
    ev->from_status = from_status >= 0 ? daap_db_status_name(from_status) : NULL;
    ev->to_status = to_status >= 0 ? daap_db_status_name(to_status) : NULL;
    ev->actor = daap__events_actor(ctx);
    ev->request_id = ctx->reconciling ? NULL : ctx->call_request_id;
    e->count++;
}

static const char *reason_for_status(int from, int to, int *type)
{
    *type = DAAP_DB_EVENT_NORMAL;
    switch (to) {
    case DAAP_DB_READY:    return from == DAAP_DB_ERROR ? "Recovered" : "Ready";
    case DAAP_DB_ERROR:    *type = DAAP_DB_EVENT_WARNING; return "Failed";
    case DAAP_DB_DELETING: return "DeleteRequested";
    case DAAP_DB_DELETED:  return "Deleted";
    default:               return "Progress";
    }
}

void daap__events_for_status(daap__events *e, const daap_ctx *ctx, int from, const daap_db *after)
{
    int to = daap_db_status(after), type;
    const char *reason = reason_for_status(from, to, &type);

    if (from == to)
        daap__events_add(e, ctx, type, reason, daap_db_status_reason(after), -1, -1);
    else
        daap__events_add(e, ctx, type, reason, daap_db_status_reason(after), from, to);
}

static bool text_changed(const daap_db *a, const daap_db *b, int field)
{
    const char *x = daap_db_get_text(a, field), *y = daap_db_get_text(b, field);
    return (x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0);
}

void daap__events_for_update(daap__events *e, const daap_ctx *ctx, const daap_db *before, const daap_db *after)
{
    char message[DAAP__EVENT_MESSAGE_MAX];

    if (text_changed(before, after, DAAP_DB_F_OWNER_TEAM)) {
        snprintf(message, sizeof(message), "owner_team changed from %s to %s",
                 daap_db_owner_team(before), daap_db_owner_team(after));
        daap__events_add(e, ctx, DAAP_DB_EVENT_NORMAL, "OwnerChanged", message, -1, -1);
    }
    if (text_changed(before, after, DAAP_DB_F_PURPOSE)) {
        snprintf(message, sizeof(message), "purpose changed to '%.400s'", daap_db_purpose(after));
        daap__events_add(e, ctx, DAAP_DB_EVENT_NORMAL, "PurposeChanged", message, -1, -1);
    }
    if (daap_db_deletion_protection(before) != daap_db_deletion_protection(after))
        daap__events_add(e, ctx, DAAP_DB_EVENT_NORMAL, "ProtectionChanged",
                         daap_db_deletion_protection(after) ? "deletion protection turned on"
                                                            : "deletion protection turned off", -1, -1);
    if (text_changed(before, after, DAAP_DB_F_STORAGE_SIZE) ||
        daap_db_instances(before) != daap_db_instances(after)) {
        snprintf(message, sizeof(message), "resize asked: storage_size %s to %s, instances %d to %d",
                 daap_db_storage_size(before), daap_db_storage_size(after),
                 (int)daap_db_instances(before), (int)daap_db_instances(after));
        daap__events_add(e, ctx, DAAP_DB_EVENT_NORMAL, "Resized", message, -1, -1);
    }
    if (e->count == 0)
        daap__events_add(e, ctx, DAAP_DB_EVENT_NORMAL, "Updated", "the update changed nothing", -1, -1);
}

/* ---- reading the history: daap_db_events() and the local engine's slot */

int daap_db_events(daap_db_event_page *out, daap_ctx *ctx, const char *id, const daap_db_events_options *opts)
{
    DAAP_ASSERT_ARG(out && ctx && id);
    memset(out, 0, sizeof(*out));
    DAAP_CHECK_VERSION(opts, DAAP_DB_EVENTS_OPTIONS_VERSION, "daap_db_events_options");
    return ctx->engine->events(out, ctx->engine_self, id, opts);
}

static int bad_option(const char *field, const char *code, const char *message)
{
    daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "%s", message);
    daap_error_add_field(field, code, message);
    return DAAP_EINVALID;
}

static int to_event_query(daap_storage_event_query *q, const char *id, const daap_db_events_options *o)
{
    memset(q, 0, sizeof(*q));
    q->version = DAAP_STORAGE_EVENT_QUERY_VERSION;
    q->database_id = id;
    q->limit = o && o->limit ? o->limit : DAAP__EVENTS_LIMIT_DEFAULT;
    if (q->limit > DAAP__EVENTS_LIMIT_MAX)
        return bad_option("limit", "out_of_range", "limit must be between 1 and 200");
    if (o && o->cursor && *o->cursor && daap__event_cursor_decode(&q->before_id, id, o->cursor) < 0)
        return bad_option("cursor", "invalid", "cursor is not one this server issued for this database");
    q->warnings_only = o ? o->warnings_only != 0 : 0;
    return 0;
}

/* The history outlives the record: a soft-deleted database answers too. */
static int check_known(daap_ctx *ctx, const char *id)
{
    daap_db *db;

    if (!daap__uuid_valid(id))
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_INVALID, "no database with id '%.64s'", id);
    DAAP_TRY(daap__storage_get(&db, ctx->storage, id));
    daap_db_free(db);
    return 0;
}

int daap__events_local(daap_db_event_page *out, void *self, const char *id, const daap_db_events_options *opts)
{
    daap_ctx *ctx = self;
    daap_storage_event_query q;
    uint32_t want;
    int rc;

    DAAP_TRY(to_event_query(&q, id, opts));
    DAAP_TRY(check_known(ctx, id));
    want = q.limit;
    q.limit = want + 1; /* one more row tells whether another page exists */
    DAAP_TRY(daap__storage_events(out, ctx->storage, &q));
    if (out->count <= want)
        return 0;
    daap__event_page_truncate(out, want);
    if ((rc = daap__event_cursor_encode(&out->next_cursor, out->items[want - 1].id, id)) < 0)
        daap_db_event_page_dispose(out);
    return rc;
}
