/* The API's handlers. Every rule (validation, ownership, state, JSON shape,
 * error mapping) is libdaap's; a handler picks the call and the status. */
#include "handlers.h"
#include "kube_probe.h"
#include "log.h"
#include "reconciler.h"
#include "clock.h"
#include "routes.h"

#include <stdio.h>
#include <string.h>

static const char *body_ptr(const request *r)
{
    return r->body ? r->body : "";
}

/* Render a record and hand it out; the record is freed here. */
static void respond_record(request *r, int status, daap_db *db, bool location)
{
    daap_buf out = DAAP_BUF_INIT;
    int rc = daap_db_to_json(&out, db, 0);

    if (rc == 0 && location) {
        char loc[160];
        snprintf(loc, sizeof(loc), "/databases/%s", daap_db_id(db));
        request_add_header(r, "Location", loc);
    }
    daap_db_free(db);
    if (rc < 0) {
        daap_buf_dispose(&out);
        respond_daap_error(r, rc);
        return;
    }
    respond_json(r, status, &out);
}

/* ---- event history: who a write is by (daap_ctx_set_call_info) */

/* The caller's team and this request's id go with the events the next
 * call writes. A team the library would refuse is left out (the call then
 * names the team itself, or refuses it); the request id is always valid. */
static void begin_call(request *r, const char *team)
{
    daap_call_info info = DAAP_CALL_INFO_INIT;

    info.actor = team;
    info.request_id = r->id[0] ? r->id : NULL;
    if (daap_ctx_set_call_info(request_ctx(r), &info) < 0) {
        info.actor = NULL;
        (void)daap_ctx_set_call_info(request_ctx(r), &info);
    }
}

/* The context serves other requests next: forget this one's caller. */
static void end_call(request *r)
{
    (void)daap_ctx_set_call_info(request_ctx(r), NULL);
}

/* The record is written here; its Cluster and Pooler are the reconciler's
 * (docs/adr/0002-create-semantics.md), so the answer never waits on
 * Kubernetes. */
void handle_create(request *r)
{
    daap_db *db = NULL;
    const char *team;
    int rc;

    if (request_team(r, &team) < 0)
        return;
    /* Without a team header the create is by the owner_team it names. */
    begin_call(r, team);
    rc = daap_db_create_json(&db, request_ctx(r), body_ptr(r), r->body_len);
    end_call(r);

    if (rc < 0) {
        respond_daap_error(r, rc);
        return;
    }
    reconciler_enqueue(r->w->reconciler, daap_db_id(db));
    respond_record(r, 201, db, true);
}

void handle_list(request *r)
{
    daap_db_list_options opts;
    daap_buf scratch = DAAP_BUF_INIT, out = DAAP_BUF_INIT;
    int rc = daap_db_list_options_parse(&opts, &scratch, r->query);

    if (rc == 0)
        rc = daap_db_list_json(&out, request_ctx(r), &opts);
    daap_buf_dispose(&scratch);
    if (rc < 0) {
        daap_buf_dispose(&out);
        respond_daap_error(r, rc);
        return;
    }
    respond_json(r, 200, &out);
}

/* ---- GET /databases/{id}[?wait=&revision=]: the server-side wait.
 * A waiting request runs this handler once per wake-up (waiters.h): each
 * time it reads the record and answers, or parks again. */

static int start_wait(request *r)
{
    daap_db_wait_options opts;
    int32_t waiting = 0;
    int rc = daap_db_wait_options_parse(&opts, &waiting, r->query);

    if (rc < 0) {
        respond_daap_error(r, rc);
        return -1;
    }
    r->wait.active = waiting != 0;
    r->wait.revision = opts.revision;
    r->wait.deadline_us = r->start_us + opts.timeout_ms * 1000;
    return 0;
}

static bool wait_is_over(const request *r, const daap_db *db)
{
    return daap_db_revision(db) != r->wait.revision || r->wait.reason == WAKE_DEADLINE ||
           r->wait.reason == WAKE_SHUTDOWN || mono_us() >= r->wait.deadline_us;
}

void handle_get(request *r)
{
    daap_db *db = NULL;
    int rc;

    if (r->wait.reason == WAKE_CLIENT_GONE) {
        r->dropped = "client left while waiting"; /* no status: MHD closes */
        return;
    }
    if (!r->wait.active && r->query && start_wait(r) < 0)
        return;
    rc = daap_db_get(&db, request_ctx(r), r->path_id);
    if (rc < 0)
        respond_daap_error(r, rc); /* 404 also when it was deleted while we waited */
    else if (!r->wait.active || wait_is_over(r, db) || !waiters_park(r->w->waiters, r))
        respond_record(r, 200, db, false);
    else
        daap_db_free(db);
}

void handle_update(request *r)
{
    daap_db *db = NULL;
    const char *team;
    int rc;

    if (request_team(r, &team) < 0)
        return;
    begin_call(r, team);
    rc = daap_db_update_json(&db, request_ctx(r), r->path_id, team, body_ptr(r), r->body_len);
    end_call(r);

    if (rc < 0) {
        respond_daap_error(r, rc);
        return;
    }
    /* day-2: a resize is the reconciler's to patch onto the Cluster */
    if (daap_db_change_started_at(db))
        reconciler_enqueue(r->w->reconciler, daap_db_id(db));
    respond_record(r, 200, db, false);
}

/* 202 while the objects are being removed, which a reconciler worker does;
 * 204 once they are gone. */
void handle_delete(request *r)
{
    daap_db *db = NULL;
    const char *team;
    int rc;

    if (request_team(r, &team) < 0)
        return;
    begin_call(r, team);
    rc = daap_db_delete(&db, request_ctx(r), r->path_id, team);
    end_call(r);

    if (rc < 0) {
        respond_daap_error(r, rc);
    } else if (daap_db_status(db) == DAAP_DB_DELETED) {
        daap_db_free(db);
        respond_empty(r, 204);
    } else {
        reconciler_enqueue(r->w->reconciler, daap_db_id(db));
        respond_record(r, 202, db, false);
    }
}

/* The {id} of a path with a suffix ("/databases/{id}/events"); a longer
 * segment is no database id: cut, it answers 404. */
static void path_record_id(const request *r, char *id, size_t size)
{
    size_t n = strcspn(r->path_id, "/");

    snprintf(id, size, "%.*s", (int)(n < size ? n : size - 1), r->path_id);
}

/* ---- POST /databases/{id}/rotate-password (docs/day2.md) */

/* The record now holds the new password as pending; a reconciler worker
 * writes the Secret and verifies the login, so the answer never waits on
 * either. It leaves the credentials out: it may be stored with its
 * Idempotency-Key, and its password is the one on its way out. */
void handle_rotate_password(request *r)
{
    daap_buf out = DAAP_BUF_INIT;
    daap_db *db = NULL;
    const char *team;
    char id[64];
    int rc;

    if (request_team(r, &team) < 0)
        return;
    path_record_id(r, id, sizeof(id));
    begin_call(r, team);
    rc = daap_db_rotate_password(&db, request_ctx(r), id, team);
    end_call(r);

    if (rc < 0) {
        respond_daap_error(r, rc);
        return;
    }
    reconciler_enqueue(r->w->reconciler, daap_db_id(db));
    rc = daap_db_to_json(&out, db, DAAP_JSON_NO_SECRETS);
    daap_db_free(db);
    if (rc < 0) {
        daap_buf_dispose(&out);
        respond_daap_error(r, rc);
        return;
    }
    respond_json(r, 202, &out);
}

/* GET /databases/{id}/events: newest first, any team may read it, as it
 * may read the record; a soft-deleted database's trail still answers. */
void handle_events(request *r)
{
    daap_db_events_options opts;
    daap_db_event_page page;
    daap_buf scratch = DAAP_BUF_INIT, out = DAAP_BUF_INIT;
    char id[64];
    int rc;

    path_record_id(r, id, sizeof(id));
    memset(&page, 0, sizeof(page));
    rc = daap_db_events_options_parse(&opts, &scratch, r->query);
    if (rc == 0)
        rc = daap_db_events(&page, request_ctx(r), id, &opts);
    if (rc == 0)
        rc = daap_db_event_page_to_json(&out, &page, 0);
    daap_db_event_page_dispose(&page);
    daap_buf_dispose(&scratch);
    if (rc < 0) {
        daap_buf_dispose(&out);
        respond_daap_error(r, rc);
        return;
    }
    respond_json(r, 200, &out);
}

void handle_healthz(request *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    respond_static(r, 200, "application/json", ok, sizeof(ok) - 1);
}

/* Any failure to reach a dependency means "do not send traffic": 503. The
 * store is asked now (the request's context has no Kubernetes); Kubernetes
 * by the probe's thread, whose answer is read here without waiting. */
void handle_readyz(request *r)
{
    static const char ready[] = "{\"status\":\"ready\"}";
    char why[128], cause[512];
    int rc = daap_ctx_ping(request_ctx(r));

    if (rc < 0) {
        respond_daap_error_status(r, 503, rc);
    } else if (r->w->probe && !kube_probe_ready(r->w->probe, why, sizeof(why), cause, sizeof(cause))) {
        log_line(LOG_WARN, "request failed", (log_field[]){ LF_STR("request_id", r->id),
                 LF_STR("code", "unavailable"), LF_STR("error", cause) }, 3);
        respond_problem(r, 503, why);
    } else
        respond_static(r, 200, "application/json", ready, sizeof(ready) - 1);
}

void handle_openapi(request *r)
{
    respond_static(r, 200, "application/json", daap_server_openapi, daap_server_openapi_len);
}

/* ---- Idempotency-Key on every POST (docs/idempotency.md) */

/* What one keyed request carries from its claim to its answer. */
typedef struct {
    daap_idempotency_request req;
    char                     key[DAAP_IDEMPOTENCY_KEY_MAX + 1];
    bool                     answered;
} keyed_request;

/* Validation failures are not stored, so a corrected request may reuse the
 * key (Stripe's rule); nor is a 503, where nothing was done and the client
 * is told to come back. Everything else is the outcome to replay. */
static bool answer_is_stored(int status)
{
    return status != 400 && status != 413 && status != 415 && status != 422 && status != 503;
}

static void keyed_answered(request *r, int status, const char *body, size_t len)
{
    keyed_request *k = r->on_answer_payload;
    int rc;

    k->answered = true;
    r->on_answer = NULL;
    if (answer_is_stored(status))
        rc = daap_idempotency_finish(request_ctx(r), &k->req, status, request_added_header(r, "Location"), body, len);
    else
        rc = daap_idempotency_abandon(request_ctx(r), &k->req);
    /* The answer stands either way; a key that was not stored is a retry
     * that runs again (a create then finds its name taken). */
    if (rc < 0)
        log_line(LOG_WARN, "idempotency key not recorded",
                 (log_field[]){ LF_STR("request_id", r->id), LF_STR("error", daap_error_last()->message) }, 2);
}

static void replay(request *r, const daap_idempotency_record *rec)
{
    daap_buf body = DAAP_BUF_INIT;

    if (rec->location.size)
        request_add_header(r, "Location", rec->location.ptr);
    request_add_header(r, "Idempotent-Replayed", "true");
    if (rec->body.size == 0) {
        respond_empty(r, rec->status);
        return;
    }
    if (daap_buf_put(&body, rec->body.ptr, rec->body.size) < 0) {
        respond_daap_error(r, DAAP_ERROR);
        return;
    }
    if (rec->status >= 400)
        respond_problem_body(r, rec->status, &body);
    else
        respond_json(r, rec->status, &body);
}

static void answer_existing(request *r, const daap_idempotency_record *rec)
{
    switch (rec->state) {
    case DAAP_IDEMPOTENCY_IN_FLIGHT:
        request_add_header(r, "Retry-After", "1");
        respond_problem(r, 409, "A request with this Idempotency-Key is still being processed; "
                                "retry it once that one has finished");
        break;
    case DAAP_IDEMPOTENCY_MISMATCH:
        respond_problem(r, 422, "This Idempotency-Key was already used for another request "
                                "(another method, path, team or body); use a new key for a new request");
        break;
    default:
        replay(r, rec);
        break;
    }
}

static int read_key(request *r, keyed_request *k, const char **team)
{
    const char *header;

    if (request_single_header(r, "Idempotency-Key", &header) < 0 || header == NULL)
        return header == NULL ? 0 : -1;
    if (daap_idempotency_key_parse(k->key, sizeof(k->key), header) < 0) {
        respond_problem(r, 400, daap_error_last()->message);
        return -1;
    }
    if (request_team(r, team) < 0)
        return -1;
    return 1;
}

void handle_keyed_post(request *r)
{
    const server_options *o = r->w->opts;
    daap_idempotency_record rec;
    keyed_request k = { DAAP_IDEMPOTENCY_REQUEST_INIT, "", false };
    const char *team = NULL;
    int rc = read_key(r, &k, &team);

    if (rc <= 0) {
        if (rc == 0)
            r->route->inner(r);
        return;
    }
    k.req = (daap_idempotency_request){ DAAP_IDEMPOTENCY_REQUEST_VERSION, team, k.key, r->method, r->path,
                                        body_ptr(r), r->body_len, o->idempotency_ttl_ms, o->idempotency_lease_ms };
    if ((rc = daap_idempotency_begin(&rec, request_ctx(r), &k.req)) < 0) {
        respond_daap_error(r, rc);
        return;
    }
    if (rec.state != DAAP_IDEMPOTENCY_STARTED) {
        answer_existing(r, &rec);
        daap_idempotency_record_dispose(&rec);
        return;
    }
    r->on_answer = keyed_answered;
    r->on_answer_payload = &k;
    r->route->inner(r);
    r->on_answer = NULL;
    /* No answer could be queued (out of memory): free the key for a retry. */
    if (!k.answered)
        (void)daap_idempotency_abandon(request_ctx(r), &k.req);
}
