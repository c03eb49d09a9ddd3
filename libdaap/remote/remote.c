/* Remote contexts: the daap API served by a daap-server over HTTP(S).
 *
 * Requests go through the library's HTTP transport (transport/transport.h):
 * pooled curl handles keep the connection alive between calls, and the
 * retry loop and the curl error mapping are the ones the Kubernetes client
 * uses.
 *
 * Time: every call is bounded by one deadline, retries and back-off
 * included (DAAP_HTTP_TIMEOUT_MS, default 60 s; the connect phase has its
 * own 5 s). daap_ctx_ping asks for at most PING_TIMEOUT_MS.
 *
 * Retries (ADR 0003), up to MAX_RETRIES more attempts:
 * - any request whose connection could not be opened (nothing was sent, so
 *   nothing can have happened on the server): DAAP__RETRY_UNSENT;
 * - GET also after a connection broke mid-way and after 429/5xx, because
 *   reading twice is harmless (DAAP__RETRY_SAFE). POST, PATCH and DELETE
 *   are never repeated once sent: the server may have acted on them;
 *   except a create with an Idempotency-Key and a password rotation (which
 *   always sends a fresh one), which the server answers again instead of
 *   acting twice (DAAP__RETRY_SAFE too).
 * - the readiness probe never: a probe must answer now.
 *
 * Errors: the server answers with RFC 9457 problem documents whose `code`
 * is daap_error_code_name(); that maps back to the same daap code, the
 * `detail` becomes the message and `errors[]` the field errors, so a caller
 * sees the error the server's library call returned.
 */
#include "remote/remote.h"
#include "db/db_parse.h"
#include "errors.h"
#include "ids.h"
#include "transport/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <json-c/json.h>

#define DEFAULT_TIMEOUT_MS 60000
#define PING_TIMEOUT_MS    5000
#define MAX_RETRIES        3
#define BODY_MAX           (16u * 1024 * 1024)
#define SNIPPET_MAX        160
#define WHAT_MAX           200

struct daap__remote {
    daap__transport *http;
    char    *base;    /* the URL as given, without trailing '/' */
    char    *shown;   /* the same without user:password, for messages */
    char    *team;    /* default X-Daap-Team */
};

typedef struct {
    const char      *method;     /* GET, POST, PATCH, DELETE */
    const char      *path;       /* "/databases/..." including any query */
    const char      *body;       /* NULL: none */
    size_t           body_len;
    const char      *team;       /* X-Daap-Team, or NULL */
    daap__http_retry retry;
    int32_t          timeout_ms; /* 0: the context's */
    const char      *idempotency_key; /* sent as Idempotency-Key, or NULL */
} http_req;

typedef daap__http_exchange http_resp;

/* ---- opening and closing */

static int bad_url(const char *why, const char *uri)
{
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "bad daap-server URL '%.200s': %s", uri, why);
}

/* scheme://host[:port][/path] without credentials, for messages. */
static int shown_url(char **out, CURLU *u)
{
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    daap_buf b = DAAP_BUF_INIT;
    int rc;

    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    rc = daap__buf_printf(&b, "%s://%s%s%s%s", scheme ? scheme : "", host ? host : "",
                          port ? ":" : "", port ? port : "", path && strcmp(path, "/") ? path : "");
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    if (rc < 0) {
        daap_buf_dispose(&b);
        return rc;
    }
    *out = daap__buf_detach(&b);
    DAAP_ERROR_CHECK_ALLOC(*out);
    return 0;
}

/* A base URL takes paths appended to it: no query and no fragment. */
static int check_url(daap__remote *r, const char *uri)
{
    CURLU *u = curl_url();
    char *query = NULL, *fragment = NULL;
    int rc = 0;

    DAAP_ERROR_CHECK_ALLOC(u);
    if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK)
        rc = bad_url("not an absolute http(s) URL", uri);
    else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
        rc = bad_url("a query or fragment cannot be part of it", uri);
    else
        rc = shown_url(&r->shown, u);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(u);
    return rc;
}

static int32_t timeout_from_env(void)
{
    const char *e = getenv("DAAP_HTTP_TIMEOUT_MS");
    long long v = e && *e ? strtoll(e, NULL, 10) : 0;
    return v > 0 && v <= INT32_MAX ? (int32_t)v : DEFAULT_TIMEOUT_MS;
}

static int transport_open(daap__remote *r)
{
    daap__transport_options to = { DAAP_ERRCLASS_HTTP, "daap-server", NULL, NULL, 0, MAX_RETRIES, BODY_MAX };

    to.server = r->shown;
    to.timeout_ms = timeout_from_env();
    return daap__transport_new(&r->http, &to);
}

static int remote_new(daap__remote **out, const char *uri, const daap_ctx_options *opts)
{
    daap__remote *r = daap__calloc(1, sizeof(*r));
    size_t n = strlen(uri);

    DAAP_ERROR_CHECK_ALLOC(r);
    *out = r;
    while (n > 0 && uri[n - 1] == '/')
        n--;
    r->base = daap__strndup(uri, n);
    r->team = opts && opts->team && *opts->team ? daap__strdup(opts->team) : NULL;
    if (r->base == NULL || (opts && opts->team && *opts->team && r->team == NULL))
        return daap_error_set_oom();
    DAAP_TRY(check_url(r, uri));
    return transport_open(r);
}

int daap__remote_open(daap__remote **out, const char *uri, const daap_ctx_options *opts)
{
    return remote_new(out, uri, opts);
}

static void remote_free(void *self)
{
    daap__remote *r = self;

    if (r == NULL)
        return;
    daap__transport_free(r->http);
    daap__free(r->base);
    daap__free(r->shown);
    daap__free(r->team);
    daap__free(r);
}

/* ---- one exchange */

/* A header value may not smuggle in further headers. */
static int check_team(const char *team)
{
    const char *p;
    for (p = team; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "the caller's team contains control characters");
    return 0;
}

/* The key as the draft's structured-field string: quoted, with '"' and
 * '\\' escaped. daap_db_create() has checked it is printable ASCII. */
static void idempotency_header(char *out, size_t size, const char *key)
{
    size_t n = (size_t)snprintf(out, size, "Idempotency-Key: \"");
    const char *p;

    for (p = key; *p && n + 3 < size; p++) {
        if (*p == '"' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    out[n++] = '"';
    out[n] = '\0';
}

static int build_headers(struct curl_slist **out, const http_req *q)
{
    const char *lines[5];
    char team[320], key[2 * DAAP_IDEMPOTENCY_KEY_MAX + 32];
    struct curl_slist *h = NULL;
    size_t i, n = 0;

    *out = NULL;
    lines[n++] = "Accept: application/json, application/problem+json";
    if (q->body) {
        lines[n++] = "Content-Type: application/json";
        lines[n++] = "Expect:"; /* no 100-continue round trip for small bodies */
    }
    if (q->team) {
        DAAP_TRY(check_team(q->team));
        snprintf(team, sizeof(team), "X-Daap-Team: %.300s", q->team);
        lines[n++] = team;
    }
    if (q->idempotency_key) {
        idempotency_header(key, sizeof(key), q->idempotency_key);
        lines[n++] = key;
    }
    for (i = 0; i < n; i++) {
        struct curl_slist *next = curl_slist_append(h, lines[i]);
        if (next == NULL) {
            curl_slist_free_all(h);
            return daap_error_set_oom();
        }
        h = next;
    }
    *out = h;
    return 0;
}

/* THE request: the transport's retry loop with this call's headers. On
 * success the caller reads p->status (any status, errors included). */
static int exchange(daap__remote *r, const http_req *q, http_resp *p)
{
    struct curl_slist *headers;
    daap_buf url = DAAP_BUF_INIT;
    char what[WHAT_MAX];
    int rc;

    DAAP_TRY(build_headers(&headers, q));
    snprintf(what, sizeof(what), "%s %s", q->method, q->path);
    if ((rc = daap__buf_printf(&url, "%s%s", r->base, q->path)) == 0) {
        daap__http_request hr = { q->method, url.ptr, headers, q->body, q->body_len, q->retry, what,
                                  q->timeout_ms, false, NULL, NULL };
        rc = daap__transport_call(r->http, &hr, p);
    }
    curl_slist_free_all(headers);
    daap_buf_dispose(&url);
    return rc;
}

/* ---- problem documents -> daap errors */

static int code_for_status(long status)
{
    switch (status) {
    case 400: case 413: case 414: case 415: case 422: return DAAP_EINVALID;
    case 401: return DAAP_EAUTH;
    case 403: return DAAP_EFORBIDDEN;
    case 404: return DAAP_ENOTFOUND;
    case 409: case 412: return DAAP_ECONFLICT;
    case 410: return DAAP_EEXPIRED;
    case 408: case 504: return DAAP_ETIMEOUT;
    case 429: case 502: case 503: return DAAP_EUNAVAILABLE;
    case 501: return DAAP_ENOTSUPPORTED;
    default:  return DAAP_ERROR;
    }
}

static const char *member_str(json_object *obj, const char *key)
{
    json_object *v;
    if (obj && json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static void add_field_errors(json_object *problem)
{
    json_object *list;
    size_t i, n;

    if (!json_object_object_get_ex(problem, "errors", &list) || !json_object_is_type(list, json_type_array))
        return;
    n = json_object_array_length(list);
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(list, i);
        const char *field = member_str(e, "field");
        if (field)
            daap_error_add_field(field, member_str(e, "code"), member_str(e, "message"));
    }
}

/* A body that is not a problem document (a proxy's HTML page) still says
 * something; show its printable start. */
static int non_problem_error(const daap__remote *r, const http_resp *p, int code)
{
    char snippet[SNIPPET_MAX + 1];
    size_t i, n = p->body.size < SNIPPET_MAX ? p->body.size : SNIPPET_MAX;

    for (i = 0; i < n; i++)
        snippet[i] = (p->body.ptr[i] >= 0x20 && p->body.ptr[i] < 0x7f) ? p->body.ptr[i] : ' ';
    snippet[n] = '\0';
    return daap_error_set(code, DAAP_ERRCLASS_HTTP, "HTTP %ld from daap-server at %s%s%s", p->status, r->shown,
                          n ? ": " : "", snippet);
}

static int http_error(const daap__remote *r, const http_resp *p)
{
    json_object *problem = NULL;
    const char *detail;
    int code = code_for_status(p->status), named;

    if (p->body.size == 0 || daap__json_parse(&problem, p->body.ptr, p->body.size, "problem") < 0 ||
        !json_object_is_type(problem, json_type_object)) {
        json_object_put(problem);
        return non_problem_error(r, p, code);
    }
    if ((named = daap__error_code_from_name(member_str(problem, "code"))) != DAAP_OK)
        code = named;
    detail = member_str(problem, "detail");
    if (detail == NULL)
        detail = member_str(problem, "title");
    if (detail)
        daap_error_set(code, DAAP_ERRCLASS_HTTP, "%s", detail);
    else
        daap_error_set(code, DAAP_ERRCLASS_HTTP, "HTTP %ld from daap-server at %s", p->status, r->shown);
    add_field_errors(problem);
    json_object_put(problem);
    return code;
}

/* ---- requests and answers */

/* Run a request and insist on one of two success statuses. */
static int call(daap__remote *r, const http_req *q, http_resp *p, long ok1, long ok2)
{
    memset(p, 0, sizeof(*p));
    DAAP_TRY(exchange(r, q, p));
    if (p->status == ok1 || p->status == ok2)
        return 0;
    return http_error(r, p);
}

static void resp_dispose(daap__remote *r, http_resp *p)
{
    daap__http_exchange_dispose(r->http, p);
}

static int record_answer(daap_db **out, daap__remote *r, const http_req *q, long ok1, long ok2)
{
    http_resp p;
    daap_db *db = NULL;
    int rc = call(r, q, &p, ok1, ok2);

    if (rc == 0)
        rc = daap__db_from_json(&db, p.body.ptr, p.body.size);
    resp_dispose(r, &p);
    if (rc < 0)
        return rc;
    if (out)
        *out = db;
    else
        daap_db_free(db);
    return 0;
}

static int record_path(daap_buf *b, const char *id)
{
    DAAP_TRY(daap__buf_puts(b, "/databases/"));
    return daap__buf_put_uri_escaped(b, id);
}

static const char *team_or_default(const daap__remote *r, const char *team)
{
    return team && *team ? team : r->team;
}

static int remote_ping(void *self)
{
    daap__remote *r = self;
    http_req q = { "GET", "/readyz", NULL, 0, NULL, DAAP__RETRY_NEVER, PING_TIMEOUT_MS };
    http_resp p;
    int rc = call(r, &q, &p, 200, 200);

    resp_dispose(r, &p);
    if (rc < 0 && rc != DAAP_EUNAVAILABLE && rc != DAAP_ETIMEOUT) /* "not ready" in any shape */
        rc = daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_HTTP, "daap-server at %s is not ready: %s",
                            r->shown, daap_error_last()->message);
    return rc;
}

static int remote_create_json(daap_db **out, void *self, const char *json, size_t len)
{
    daap__remote *r = self;
    http_req q = { "POST", "/databases", json ? json : "", json ? len : 0, NULL, DAAP__RETRY_UNSENT, 0 };
    return record_answer(out, r, &q, 201, 201);
}

static int remote_get(daap_db **out, void *self, const char *id)
{
    daap__remote *r = self;
    daap_buf path = DAAP_BUF_INIT;
    int rc = record_path(&path, id);
    http_req q = { "GET", path.ptr, NULL, 0, NULL, DAAP__RETRY_SAFE, 0 };

    if (rc == 0)
        rc = record_answer(out, r, &q, 200, 200);
    daap_buf_dispose(&path);
    return rc;
}

static int remote_update_json(daap_db **out, void *self, const char *id, const char *team,
                              const char *json, size_t len)
{
    daap__remote *r = self;
    daap_buf path = DAAP_BUF_INIT;
    int rc = record_path(&path, id);
    http_req q = { "PATCH", path.ptr, json ? json : "", json ? len : 0, team_or_default(r, team), DAAP__RETRY_UNSENT, 0 };

    if (rc == 0)
        rc = record_answer(out, r, &q, 200, 200);
    daap_buf_dispose(&path);
    return rc;
}

/* A rotation answers 202 with the record: still the old password, and a
 * status_reason that says the rotation is under way. It goes with a fresh
 * Idempotency-Key, so the transport may send it again after a connection
 * broke mid-way: the server answers a repeat from the key instead of
 * refusing it as a second rotation (409). */
static int remote_rotate_password(daap_db **out, void *self, const char *id, const char *team)
{
    daap__remote *r = self;
    daap_buf path = DAAP_BUF_INIT;
    char key[DAAP__UUID_STRLEN + 1];
    int rc = record_path(&path, id);
    http_req q = { "POST", NULL, "", 0, team_or_default(r, team), DAAP__RETRY_SAFE, 0, key };

    if (rc == 0)
        rc = daap__uuid4(key);
    if (rc == 0)
        rc = daap__buf_puts(&path, "/rotate-password");
    q.path = path.ptr;
    if (rc == 0)
        rc = record_answer(out, r, &q, 202, 202);
    daap_buf_dispose(&path);
    return rc;
}

/* 204 means the objects are already gone and carries no body: report the
 * little that is known, the id and the final status. */
static int deleted_record(daap_db **out, const char *id)
{
    daap_db *db;
    int rc;

    DAAP_TRY(daap_db_new(&db));
    if ((rc = daap_db_set_text(db, DAAP_DB_F_ID, id)) < 0 ||
        (rc = daap_db_set_int(db, DAAP_DB_F_STATUS, DAAP_DB_DELETED)) < 0) {
        daap_db_free(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int delete_answer(daap_db **out, const http_resp *p, const char *id)
{
    daap_db *db = NULL;

    if (p->status == 204)
        DAAP_TRY(deleted_record(&db, id));
    else
        DAAP_TRY(daap__db_from_json(&db, p->body.ptr, p->body.size));
    if (out)
        *out = db;
    else
        daap_db_free(db);
    return 0;
}

static int remote_remove(daap_db **out, void *self, const char *id, const char *team)
{
    daap__remote *r = self;
    daap_buf path = DAAP_BUF_INIT;
    http_resp p;
    int rc = record_path(&path, id);
    http_req q = { "DELETE", path.ptr, NULL, 0, team_or_default(r, team), DAAP__RETRY_UNSENT, 0 };

    memset(&p, 0, sizeof(p));
    if (rc == 0)
        rc = call(r, &q, &p, 202, 204);
    if (rc == 0)
        rc = delete_answer(out, &p, id);
    resp_dispose(r, &p);
    daap_buf_dispose(&path);
    return rc;
}

/* ---- daap_db_wait: the server holds each GET for up to DAAP_DB_WAIT_MAX_MS */

/* What the transport allows one held GET beyond the wait it asked for. */
#define WAIT_SLACK_MS 15000

static int wait_round(daap_db **out, daap__remote *r, const char *id, int64_t revision, int64_t wait_ms)
{
    daap_buf path = DAAP_BUF_INIT;
    char query[80];
    int rc = record_path(&path, id);
    http_req q = { "GET", NULL, NULL, 0, NULL, DAAP__RETRY_SAFE, (int32_t)(wait_ms + WAIT_SLACK_MS) };

    snprintf(query, sizeof(query), "?wait=%lldms&revision=%lld", (long long)wait_ms, (long long)revision);
    if (rc == 0)
        rc = daap__buf_puts(&path, query);
    q.path = path.ptr;
    if (rc == 0)
        rc = record_answer(out, r, &q, 200, 200); /* 404 once deleted: DAAP_ENOTFOUND */
    daap_buf_dispose(&path);
    return rc;
}

/* ---- event history: GET /databases/{id}/events */

static int events_path(daap_buf *b, const char *id, const daap_db_events_options *o)
{
    char limit[16];
    size_t start;

    DAAP_TRY(record_path(b, id));
    DAAP_TRY(daap__buf_puts(b, "/events"));
    if (o == NULL)
        return 0;
    start = b->size;
    if (o->limit) {
        snprintf(limit, sizeof(limit), "%u", (unsigned)o->limit);
        DAAP_TRY(daap__buf_printf(b, "%climit=%s", b->size > start ? '&' : '?', limit));
    }
    if (o->cursor && *o->cursor) {
        DAAP_TRY(daap__buf_printf(b, "%ccursor=", b->size > start ? '&' : '?'));
        DAAP_TRY(daap__buf_put_uri_escaped(b, o->cursor));
    }
    if (o->warnings_only)
        DAAP_TRY(daap__buf_printf(b, "%ctype=warning", b->size > start ? '&' : '?'));
    return 0;
}

static int remote_events(daap_db_event_page *out, void *self, const char *id, const daap_db_events_options *opts)
{
    daap__remote *r = self;
    daap_buf path = DAAP_BUF_INIT;
    http_resp p;
    int rc = events_path(&path, id, opts);
    http_req q = { "GET", path.ptr, NULL, 0, NULL, DAAP__RETRY_SAFE, 0 };

    memset(&p, 0, sizeof(p));
    if (rc == 0)
        rc = call(r, &q, &p, 200, 200);
    if (rc == 0)
        rc = daap__event_page_from_json(out, p.body.ptr, p.body.size);
    resp_dispose(r, &p);
    daap_buf_dispose(&path);
    return rc;
}

static int remote_wait(daap_db **out, void *self, const char *id, const daap_db_wait_options *opts)
{
    int64_t deadline = daap__mono_ms() + opts->timeout_ms;

    for (;;) {
        int64_t left = deadline - daap__mono_ms();
        daap_db *db = NULL;

        if (left < 0)
            left = 0;
        DAAP_TRY(wait_round(&db, self, id, opts->revision,
                            left < DAAP_DB_WAIT_MAX_MS ? left : DAAP_DB_WAIT_MAX_MS));
        if (daap_db_revision(db) != opts->revision) {
            *out = db;
            return 0;
        }
        daap_db_free(db);
        if (daap__mono_ms() >= deadline)
            return daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_HTTP,
                                  "database %.64s is still at revision %lld", id, (long long)opts->revision);
    }
}

/* ---- lists */

static int put_param(daap_buf *b, const char *key, const char *value)
{
    DAAP_TRY(daap__buf_printf(b, "%c%s=", b->size ? '&' : '?', key));
    return daap__buf_put_uri_escaped(b, value);
}

static int put_status_param(daap_buf *b, unsigned int mask)
{
    char names[96] = "";
    int s;

    for (s = DAAP_DB_PROVISIONING; s <= DAAP_DB_DELETED; s++)
        if (mask & DAAP_DB_STATUS_BIT(s))
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? "," : "",
                     daap_db_status_name(s));
    return names[0] ? put_param(b, "status", names) : 0;
}

/* The query string of GET /databases, starting with '?' (or empty). */
static int list_query(daap_buf *b, const daap_db_list_options *o)
{
    char limit[16];

    if (o == NULL)
        return 0;
    DAAP_CHECK_VERSION(o, DAAP_DB_LIST_OPTIONS_VERSION, "daap_db_list_options");
    if (o->owner_team && *o->owner_team)
        DAAP_TRY(put_param(b, "owner_team", o->owner_team));
    DAAP_TRY(put_status_param(b, o->status_mask));
    if (o->name_prefix && *o->name_prefix)
        DAAP_TRY(put_param(b, "name", o->name_prefix));
    if (o->limit) {
        snprintf(limit, sizeof(limit), "%u", (unsigned)o->limit);
        DAAP_TRY(put_param(b, "limit", limit));
    }
    if (o->cursor && *o->cursor)
        DAAP_TRY(put_param(b, "cursor", o->cursor));
    if (o->include_deleted)
        DAAP_TRY(put_param(b, "include_deleted", "true"));
    return 0;
}

static int page_items(daap_db_array *arr, json_object *items)
{
    size_t i, n;

    if (items == NULL || !json_object_is_type(items, json_type_array))
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_HTTP, "list JSON: 'items' must be an array");
    n = json_object_array_length(items);
    for (i = 0; i < n; i++) {
        daap_db *db;
        DAAP_TRY(daap__db_from_json_object(&db, json_object_array_get_idx(items, i)));
        DAAP_TRY(daap_db_array_push(arr, db));
    }
    return 0;
}

static int parse_page(daap_db_page *out, const http_resp *p)
{
    daap_db_array arr = { NULL, 0, 0 };
    json_object *root, *items = NULL;
    int rc;

    DAAP_TRY(daap__json_parse(&root, p->body.ptr, p->body.size, "list JSON"));
    if (json_object_is_type(root, json_type_object))
        json_object_object_get_ex(root, "items", &items);
    rc = page_items(&arr, items);
    if (rc == 0)
        rc = daap__json_next_cursor(&out->next_cursor, root, "list JSON");
    json_object_put(root);
    if (rc < 0) {
        daap_db_array_dispose(&arr);
        return rc;
    }
    out->items = arr.items;
    out->count = arr.count;
    return 0;
}

static int remote_list(daap_db_page *out, void *self, const daap_db_list_options *opts)
{
    daap__remote *r = self;
    daap_buf path = DAAP_BUF_INIT;
    http_resp p;
    int rc;

    memset(&p, 0, sizeof(p));
    rc = daap__buf_puts(&path, "/databases");
    if (rc == 0) {
        daap_buf query = DAAP_BUF_INIT;
        rc = list_query(&query, opts);
        if (rc == 0 && query.size)
            rc = daap__buf_put(&path, query.ptr, query.size);
        daap_buf_dispose(&query);
    }
    if (rc == 0) {
        http_req q = { "GET", path.ptr, NULL, 0, NULL, DAAP__RETRY_SAFE, 0 };
        rc = call(r, &q, &p, 200, 200);
    }
    if (rc == 0)
        rc = parse_page(out, &p);
    resp_dispose(r, &p);
    daap_buf_dispose(&path);
    return rc;
}

/* ---- typed calls rendered to the API's request bodies */

static int put_member(daap_buf *b, const char *key, const char *value)
{
    if (value == NULL)
        return 0;
    DAAP_TRY(daap__buf_printf(b, "%s\"%s\":", b->size > 1 ? "," : "", key));
    return daap__buf_put_json_str(b, value);
}

static int put_int_member(daap_buf *b, const char *key, int32_t value)
{
    if (value == 0)
        return 0;
    return daap__buf_printf(b, "%s\"%s\":%d", b->size > 1 ? "," : "", key, (int)value);
}

static int put_bool_member(daap_buf *b, const char *key, bool value)
{
    return daap__buf_printf(b, "%s\"%s\":%s", b->size > 1 ? "," : "", key, value ? "true" : "false");
}

static int spec_json(daap_buf *b, const daap_db_spec *s)
{
    DAAP_TRY(daap__buf_putc(b, '{'));
    DAAP_TRY(put_member(b, "name", s->name));
    DAAP_TRY(put_member(b, "owner_team", s->owner_team));
    DAAP_TRY(put_member(b, "purpose", s->purpose));
    DAAP_TRY(put_int_member(b, "instances", s->instances));
    DAAP_TRY(put_member(b, "storage_size", s->storage_size));
    DAAP_TRY(put_int_member(b, "pg_version", s->pg_version));
    /* a version 1 spec ends before deletion_protection */
    if (s->version >= 2 && s->deletion_protection)
        DAAP_TRY(put_bool_member(b, "deletion_protection", true));
    return daap__buf_putc(b, '}');
}

/* With a key the create is idempotent, so the transport may retry it
 * like a read: a retry that reaches the server is answered by the key. */
static int remote_create(daap_db **out, void *self, const daap_db_spec *spec)
{
    daap_buf body = DAAP_BUF_INIT;
    const char *key = spec->version >= 2 ? spec->idempotency_key : NULL;
    int rc = spec_json(&body, spec);

    if (rc == 0 && key) {
        http_req q = { "POST", "/databases", body.ptr, body.size, NULL, DAAP__RETRY_SAFE, 0, key };
        rc = record_answer(out, self, &q, 201, 201);
    } else if (rc == 0) {
        rc = remote_create_json(out, self, body.ptr, body.size);
    }
    daap_buf_dispose(&body);
    return rc;
}

static int remote_update(daap_db **out, void *self, const char *id, const char *team,
                         const daap_db_update_spec *spec)
{
    daap_buf body = DAAP_BUF_INIT;
    int rc = daap__buf_putc(&body, '{');

    if (rc == 0) rc = put_member(&body, "owner_team", spec->owner_team);
    if (rc == 0) rc = put_member(&body, "purpose", spec->purpose);
    if (rc == 0 && spec->version >= 2 && spec->deletion_protection != DAAP_DB_PROTECTION_UNCHANGED)
        rc = put_bool_member(&body, "deletion_protection", spec->deletion_protection == DAAP_DB_PROTECTION_ON);
    if (rc == 0 && spec->version >= 3) /* a resize */
        rc = put_int_member(&body, "instances", spec->instances);
    if (rc == 0 && spec->version >= 3)
        rc = put_member(&body, "storage_size", spec->storage_size);
    if (rc == 0) rc = daap__buf_putc(&body, '}');
    if (rc == 0)
        rc = remote_update_json(out, self, id, team, body.ptr, body.size);
    daap_buf_dispose(&body);
    return rc;
}

/* ---- the engine */

static int remote_list_json(daap_buf *out, void *self, const daap_db_list_options *opts)
{
    daap_db_page page;
    int rc;

    memset(&page, 0, sizeof(page));
    DAAP_TRY(remote_list(&page, self, opts));
    rc = daap_db_page_to_json(out, &page, 0);
    daap_db_page_dispose(&page);
    return rc;
}

static int migrations_not_here(void)
{
    return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_CONFIG, "migrations run against a store, not a daap-server");
}

static int remote_migrate(void *self, int32_t target)
{
    (void)self;
    (void)target;
    return migrations_not_here();
}

static int remote_migration_status(daap_migration_status *out, void *self)
{
    (void)out;
    (void)self;
    return migrations_not_here();
}

static int reconcile_not_here(void)
{
    return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_CONFIG, "reconcile runs next to the store, not through a daap-server");
}

static int remote_reconcile_once(daap_reconcile_result *out, void *self, const daap_reconcile_options *opts)
{
    (void)out;
    (void)self;
    (void)opts;
    return reconcile_not_here();
}

static int remote_reconcile_db(void *self, const char *id)
{
    (void)self;
    (void)id;
    return reconcile_not_here();
}

static int remote_watch_open(daap_watch **out, void *self)
{
    (void)out;
    (void)self;
    return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_CONFIG, "watches run next to the store, not through a daap-server");
}

static int keys_not_here(void)
{
    return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_CONFIG,
                          "idempotency keys are kept next to the store; through a daap-server, send "
                          "daap_db_spec.idempotency_key instead");
}

static int remote_idempotency_begin(daap_idempotency_record *out, void *self, const daap_idempotency_request *req)
{
    (void)out;
    (void)self;
    (void)req;
    return keys_not_here();
}

static int remote_idempotency_finish(void *self, const daap_idempotency_request *req, int32_t status,
                                     const char *location, const char *body, size_t len)
{
    (void)self;
    (void)req;
    (void)status;
    (void)location;
    (void)body;
    (void)len;
    return keys_not_here();
}

static int remote_idempotency_abandon(void *self, const daap_idempotency_request *req)
{
    (void)self;
    (void)req;
    return keys_not_here();
}

static int remote_idempotency_purge(uint32_t *purged, void *self, uint32_t limit)
{
    (void)purged;
    (void)self;
    (void)limit;
    return keys_not_here();
}

const daap__engine daap__remote_engine = {
    .name             = "remote",
    .remote           = true,
    .free             = remote_free,
    .ping             = remote_ping,
    .migrate          = remote_migrate,
    .migration_status = remote_migration_status,
    .create           = remote_create,
    .create_json      = remote_create_json,
    .get              = remote_get,
    .list             = remote_list,
    .list_json        = remote_list_json,
    .update           = remote_update,
    .update_json      = remote_update_json,
    .remove           = remote_remove,
    .wait             = remote_wait,
    .events           = remote_events,
    .rotate_password  = remote_rotate_password,
    .reconcile_once   = remote_reconcile_once,
    .reconcile_db     = remote_reconcile_db,
    .watch_open       = remote_watch_open,
    /* idempotency keys */
    .idempotency_begin   = remote_idempotency_begin,
    .idempotency_finish  = remote_idempotency_finish,
    .idempotency_abandon = remote_idempotency_abandon,
    .idempotency_purge   = remote_idempotency_purge,
};
