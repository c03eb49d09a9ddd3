/* The API's handlers. Every rule (validation, ownership, state, JSON shape,
 * error mapping) is libdaap's; a handler picks the call and the status. */
#include "handlers.h"
#include "kube_probe.h"
#include "log.h"
#include "reconciler.h"
#include "clock.h"

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

/* The record is written here; its Cluster and Pooler are the reconciler's
 * (docs/adr/0002-create-semantics.md), so the answer never waits on
 * Kubernetes. */
void handle_create(request *r)
{
    daap_db *db = NULL;
    int rc = daap_db_create_json(&db, request_ctx(r), body_ptr(r), r->body_len);

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
    rc = daap_db_update_json(&db, request_ctx(r), r->path_id, team, body_ptr(r), r->body_len);

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
    rc = daap_db_delete(&db, request_ctx(r), r->path_id, team);

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
