/* Remote contexts: the daap API served by a daap-server over HTTP(S).
 *
 * One reused libcurl easy handle per context (a context is used by one
 * thread at a time, so the handle needs no lock) keeps the connection alive
 * between calls.
 *
 * Time: every call is bounded by one deadline, retries and back-off
 * included (DAAP_HTTP_TIMEOUT_MS, default 60 s; the connect phase has its
 * own 5 s).
 *
 * Retries, with capped exponential back-off and jitter:
 * - any request whose connection could not be opened (nothing was sent, so
 *   nothing can have happened on the server);
 * - GET also after a connection broke mid-way and after 429/502/503/504,
 *   because reading twice is harmless. POST, PATCH and DELETE are never
 *   repeated once sent: the server may have acted on them.
 *
 * Errors: the server answers with RFC 9457 problem documents whose `code`
 * is daap_error_code_name(); that maps back to the same daap code, the
 * `detail` becomes the message and `errors[]` the field errors, so a caller
 * sees the error the server's library call returned.
 */
#include "remote/remote.h"
#include "db/db_parse.h"
#include "errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>

#define DEFAULT_TIMEOUT_MS 60000
#define CONNECT_TIMEOUT_MS 5000
#define MAX_ATTEMPTS       4
#define BACKOFF_BASE_MS    200
#define BACKOFF_CAP_MS     2000
#define BODY_MAX           (16u * 1024 * 1024)
#define SNIPPET_MAX        160

struct daap__remote {
    CURL    *easy;
    char    *base;    /* the URL as given, without trailing '/' */
    char    *shown;   /* the same without user:password, for messages */
    char    *team;    /* default X-Daap-Team */
    int64_t  timeout_ms;
    uint64_t rng;     /* back-off jitter */
    char     errbuf[CURL_ERROR_SIZE];
};

typedef struct {
    const char *method;     /* GET, POST, PATCH, DELETE */
    const char *path;       /* "/databases/..." including any query */
    const char *body;       /* NULL: none */
    size_t      body_len;
    const char *team;       /* X-Daap-Team, or NULL */
    bool        retry_status; /* GET: retry 429/502/503/504 as well */
} http_req;

typedef struct {
    long     status;
    daap_buf body;
    bool     too_big;
} http_resp;

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

static int64_t timeout_from_env(void)
{
    const char *e = getenv("DAAP_HTTP_TIMEOUT_MS");
    long long v = e && *e ? strtoll(e, NULL, 10) : 0;
    return v > 0 ? (int64_t)v : DEFAULT_TIMEOUT_MS;
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
    r->easy = curl_easy_init();
    r->timeout_ms = timeout_from_env();
    r->rng = (uint64_t)daap__mono_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)r;
    if (r->rng == 0)
        r->rng = 1;
    if (r->base == NULL || r->easy == NULL || (opts && opts->team && *opts->team && r->team == NULL))
        return daap_error_set_oom();
    return check_url(r, uri);
}

/* Instance and version limits are the server's configuration: a remote
 * context checks locally only what does not depend on it, so
 * daap_db_validate() works and the server has the last word. */
static int any_pg_version(const void *payload, int32_t v)
{
    (void)payload;
    (void)v;
    return 1;
}

int daap__remote_open(daap_ctx **out, const char *uri, const daap_ctx_options *opts)
{
    daap__remote *r = NULL;
    daap_ctx *ctx;
    int rc;

    *out = NULL;
    if ((rc = remote_new(&r, uri, opts)) < 0) {
        daap__remote_free(r);
        return rc;
    }
    ctx = daap__calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        daap__remote_free(r);
        return daap_error_set_oom();
    }
    ctx->remote = r;
    ctx->max_instances = INT32_MAX;
    ctx->limits.max_instances = INT32_MAX;
    ctx->limits.has_pg_version = any_pg_version;
    *out = ctx;
    return 0;
}

void daap__remote_free(daap__remote *r)
{
    if (r == NULL)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    daap__free(r->base);
    daap__free(r->shown);
    daap__free(r->team);
    daap__free(r);
}

/* ---- one exchange */

static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
    http_resp *p = payload;
    size_t len = size * n;

    if (p->body.size + len > BODY_MAX) {
        p->too_big = true;
        return 0; /* aborts the transfer */
    }
    return daap__buf_put(&p->body, data, len) < 0 ? 0 : len;
}

/* A header value may not smuggle in further headers. */
static int check_team(const char *team)
{
    const char *p;
    for (p = team; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "the caller's team contains control characters");
    return 0;
}

static int build_headers(struct curl_slist **out, const http_req *q)
{
    const char *lines[4];
    char team[320];
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

static void prepare(daap__remote *r, const http_req *q, http_resp *p, const char *url,
                    struct curl_slist *headers, int64_t remaining_ms)
{
    CURL *h = r->easy;

    curl_easy_reset(h); /* keeps the connection cache */
    daap__buf_clear(&p->body);
    p->status = 0;
    p->too_big = false;
    r->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libdaap/" DAAP_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(remaining_ms < CONNECT_TIMEOUT_MS ? remaining_ms : CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)remaining_ms);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
    }
}

/* Refused or unreachable: nothing was sent. (A name that does not resolve
 * is not retried: DNS does not heal within a second.) */
static bool nothing_sent(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool connection_broke(CURLcode cc)
{
    return cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
           cc == CURLE_PARTIAL_FILE || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

static bool should_retry(const http_req *q, CURLcode cc, long status)
{
    bool is_get = strcmp(q->method, "GET") == 0;

    if (cc != CURLE_OK)
        return nothing_sent(cc) || (is_get && connection_broke(cc));
    return is_get && q->retry_status && (status == 429 || status == 502 || status == 503 || status == 504);
}

static int64_t backoff_ms(daap__remote *r, int attempt)
{
    int64_t step = (int64_t)BACKOFF_BASE_MS << attempt;

    if (step > BACKOFF_CAP_MS)
        step = BACKOFF_CAP_MS;
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return step / 2 + (int64_t)(r->rng % (uint64_t)(step / 2 + 1));
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static bool is_tls_verification(CURLcode cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
           cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_INVALIDCERTSTATUS;
}

static int transport_error(const daap__remote *r, const http_req *q, const http_resp *p, CURLcode cc, int attempts)
{
    const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);
    char tries[32] = "";

    if (attempts > 1)
        snprintf(tries, sizeof(tries), " (after %d attempts)", attempts);
    if (is_tls_verification(cc))
        return daap_error_set(DAAP_EAUTH, DAAP_ERRCLASS_HTTP, "TLS certificate verification failed for %s: %s",
                              r->shown, detail);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_HTTP, "%s %s: no answer from %s within %lld ms",
                              q->method, q->path, r->shown, (long long)r->timeout_ms);
    if (p->too_big)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_HTTP, "%s %s: the answer is larger than %u MiB",
                              q->method, q->path, BODY_MAX >> 20);
    return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_HTTP, "cannot reach daap-server at %s: %s%s",
                          r->shown, detail, tries);
}

/* THE request loop: one deadline, retries as described at the top. On
 * success the caller reads p->status (any status, errors included). */
static int exchange(daap__remote *r, const http_req *q, http_resp *p)
{
    int64_t deadline = daap__mono_ms() + r->timeout_ms;
    struct curl_slist *headers;
    daap_buf url = DAAP_BUF_INIT;
    CURLcode cc = CURLE_OK;
    int attempt, rc = 0;

    DAAP_TRY(build_headers(&headers, q));
    if ((rc = daap__buf_printf(&url, "%s%s", r->base, q->path)) < 0) {
        curl_slist_free_all(headers);
        return rc;
    }
    for (attempt = 1;; attempt++) {
        int64_t left = deadline - daap__mono_ms(), delay;

        prepare(r, q, p, url.ptr, headers, left > 1 ? left : 1);
        cc = curl_easy_perform(r->easy);
        if (cc == CURLE_OK)
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &p->status);
        if (attempt >= MAX_ATTEMPTS || !should_retry(q, cc, p->status))
            break;
        delay = backoff_ms(r, attempt - 1);
        if (daap__mono_ms() + delay >= deadline)
            break;
        sleep_ms(delay);
    }
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL); /* the list dies here */
    curl_slist_free_all(headers);
    daap_buf_dispose(&url);
    if (cc != CURLE_OK)
        return transport_error(r, q, p, cc, attempt);
    return 0;
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

static void resp_dispose(http_resp *p)
{
    if (p->body.ptr)
        memset(p->body.ptr, 0, p->body.size); /* may hold a password */
    daap_buf_dispose(&p->body);
}

static int record_answer(daap_db **out, daap__remote *r, const http_req *q, long ok1, long ok2)
{
    http_resp p;
    daap_db *db = NULL;
    int rc = call(r, q, &p, ok1, ok2);

    if (rc == 0)
        rc = daap__db_from_json(&db, p.body.ptr, p.body.size);
    resp_dispose(&p);
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

int daap__remote_ping(daap__remote *r)
{
    http_req q = { "GET", "/readyz", NULL, 0, NULL, false };
    http_resp p;
    int rc = call(r, &q, &p, 200, 200);

    resp_dispose(&p);
    if (rc < 0 && rc != DAAP_EUNAVAILABLE && rc != DAAP_ETIMEOUT) /* "not ready" in any shape */
        rc = daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_HTTP, "daap-server at %s is not ready: %s",
                            r->shown, daap_error_last()->message);
    return rc;
}

int daap__remote_create(daap_db **out, daap__remote *r, const char *json, size_t len)
{
    http_req q = { "POST", "/databases", json ? json : "", json ? len : 0, NULL, false };
    return record_answer(out, r, &q, 201, 201);
}

int daap__remote_get(daap_db **out, daap__remote *r, const char *id)
{
    daap_buf path = DAAP_BUF_INIT;
    int rc = record_path(&path, id);
    http_req q = { "GET", path.ptr, NULL, 0, NULL, true };

    if (rc == 0)
        rc = record_answer(out, r, &q, 200, 200);
    daap_buf_dispose(&path);
    return rc;
}

int daap__remote_update(daap_db **out, daap__remote *r, const char *id, const char *team, const char *json, size_t len)
{
    daap_buf path = DAAP_BUF_INIT;
    int rc = record_path(&path, id);
    http_req q = { "PATCH", path.ptr, json ? json : "", json ? len : 0, team_or_default(r, team), false };

    if (rc == 0)
        rc = record_answer(out, r, &q, 200, 200);
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

int daap__remote_delete(daap_db **out, daap__remote *r, const char *id, const char *team)
{
    daap_buf path = DAAP_BUF_INIT;
    http_resp p;
    int rc = record_path(&path, id);
    http_req q = { "DELETE", path.ptr, NULL, 0, team_or_default(r, team), false };

    memset(&p, 0, sizeof(p));
    if (rc == 0)
        rc = call(r, &q, &p, 202, 204);
    if (rc == 0)
        rc = delete_answer(out, &p, id);
    resp_dispose(&p);
    daap_buf_dispose(&path);
    return rc;
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

static int page_cursor(char **out, json_object *root)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(root, "next_cursor", &v) || v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_HTTP, "list JSON: 'next_cursor' must be a string or null");
    if (json_object_get_string_len(v) == 0)
        return 0;
    *out = daap__strdup(json_object_get_string(v));
    DAAP_ERROR_CHECK_ALLOC(*out);
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
        rc = page_cursor(&out->next_cursor, root);
    json_object_put(root);
    if (rc < 0) {
        daap_db_array_dispose(&arr);
        return rc;
    }
    out->items = arr.items;
    out->count = arr.count;
    return 0;
}

int daap__remote_list(daap_db_page *out, daap__remote *r, const daap_db_list_options *opts)
{
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
        http_req q = { "GET", path.ptr, NULL, 0, NULL, true };
        rc = call(r, &q, &p, 200, 200);
    }
    if (rc == 0)
        rc = parse_page(out, &p);
    resp_dispose(&p);
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

static int spec_json(daap_buf *b, const daap_db_spec *s)
{
    DAAP_TRY(daap__buf_putc(b, '{'));
    DAAP_TRY(put_member(b, "name", s->name));
    DAAP_TRY(put_member(b, "owner_team", s->owner_team));
    DAAP_TRY(put_member(b, "purpose", s->purpose));
    DAAP_TRY(put_int_member(b, "instances", s->instances));
    DAAP_TRY(put_member(b, "storage_size", s->storage_size));
    DAAP_TRY(put_int_member(b, "pg_version", s->pg_version));
    return daap__buf_putc(b, '}');
}

int daap__remote_create_spec(daap_db **out, daap__remote *r, const daap_db_spec *spec)
{
    daap_buf body = DAAP_BUF_INIT;
    int rc = spec_json(&body, spec);

    if (rc == 0)
        rc = daap__remote_create(out, r, body.ptr, body.size);
    daap_buf_dispose(&body);
    return rc;
}

int daap__remote_update_spec(daap_db **out, daap__remote *r, const char *id, const char *team,
                             const daap_db_update_spec *spec)
{
    daap_buf body = DAAP_BUF_INIT;
    int rc = daap__buf_putc(&body, '{');

    if (rc == 0) rc = put_member(&body, "owner_team", spec->owner_team);
    if (rc == 0) rc = put_member(&body, "purpose", spec->purpose);
    if (rc == 0) rc = daap__buf_putc(&body, '}');
    if (rc == 0)
        rc = daap__remote_update(out, r, id, team, body.ptr, body.size);
    daap_buf_dispose(&body);
    return rc;
}
