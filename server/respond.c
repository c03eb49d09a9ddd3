/* Reading a request and queueing its answer: what handlers use, and what
 * request.c answers its own refusals with. */
#include "respond.h"
#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

daap_ctx *request_ctx(const request *r)
{
    return r->w->ctx;
}

const char *request_header(const request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

typedef struct {
    const char *name;
    const char *value;
    unsigned    count;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    header_count *hc = cls;

    (void)kind;
    if (key != NULL && strcasecmp(key, hc->name) == 0) {
        hc->value = value;
        hc->count++;
    }
    return MHD_YES;
}

/* With --trusted-proxies, only those peers may say who the caller is. */
static bool peer_may_send_team(const request *r)
{
    const union MHD_ConnectionInfo *ci;

    if (r->w->opts->trusted_proxies.count == 0)
        return true;
    ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci != NULL && net_list_contains(&r->w->opts->trusted_proxies, ci->client_addr);
}

/* A header that must come at most once (Idempotency-Key): a repeated one
 * is refused, since which copy counts would depend on the proxy. */
int request_single_header(request *r, const char *name, const char **value)
{
    header_count hc = { name, NULL, 0 };
    char detail[160];

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &hc);
    *value = hc.value;
    if (hc.count > 1) {
        snprintf(detail, sizeof(detail), "%s was sent more than once; send it once", name);
        respond_problem(r, 400, detail);
        return -1;
    }
    return 0;
}

const char *request_added_header(const request *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* A proxy that appends instead of replacing would send the caller's team
 * beside its own, and whichever came first would win: so the team header
 * must be there once, with one value. A team from a peer that is not a
 * trusted proxy is refused, never silently used or ignored. */
int request_team(request *r, const char **team)
{
    const char *name = r->w->opts->team_header ? r->w->opts->team_header : "X-Daap-Team";
    header_count hc = { name, NULL, 0 };
    char detail[200];

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &hc);
    *team = hc.value;
    detail[0] = '\0';
    if (hc.count > 1)
        snprintf(detail, sizeof(detail), "%s was sent more than once; send it once, with one team", name);
    else if (hc.value != NULL && strchr(hc.value, ',') != NULL)
        snprintf(detail, sizeof(detail), "%s holds a list; send one team", name);
    if (detail[0]) {
        respond_problem(r, 400, detail);
        return -1;
    }
    if (hc.value != NULL && !peer_may_send_team(r)) {
        snprintf(detail, sizeof(detail), "%s is accepted only from this server's trusted proxies; "
                 "send the request through the proxy", name);
        respond_problem(r, 403, detail);
        return -1;
    }
    return 0;
}

void request_add_header(request *r, const char *name, const char *value)
{
    if (r->nheaders == EXTRA_HEADERS)
        return;
    r->headers[r->nheaders].name = name;
    snprintf(r->headers[r->nheaders].value, sizeof(r->headers[0].value), "%s", value);
    r->nheaders++;
}

static void put_hex64(char *out, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    int i;

    for (i = 15; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 15];
}

/* Unique, not secret: a random prefix per thread and a counter, so that a
 * request costs no getrandom() call. */
void request_new_id(char *out)
{
    static _Thread_local uint64_t prefix, counter;
    static atomic_ullong fallback;

    if (prefix == 0 && getrandom(&prefix, sizeof(prefix), 0) != (ssize_t)sizeof(prefix))
        prefix = (uint64_t)mono_us() ^ ((uint64_t)atomic_fetch_add(&fallback, 1) << 48);
    prefix |= 1; /* never 0 again, also when getrandom gave 0 */
    put_hex64(out, prefix);
    put_hex64(out + 16, ++counter);
    out[32] = '\0';
}

/* ---- answers */

/* Bodies may hold a password: wipe before freeing. */
static void wipe_and_free(void *p)
{
    if (p) {
        memset(p, 0, strlen(p));
        daap_free(p);
    }
}

static void queue(request *r, int status, struct MHD_Response *resp, const char *content_type, bool no_store,
                  const char *body, size_t len)
{
    size_t i;

    if (resp == NULL)
        return; /* out of memory: the access handler returns MHD_NO and MHD drops the connection */
    if (r->on_answer)
        r->on_answer(r, status, body, len);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (no_store)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    if (atomic_load(r->w->draining))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (MHD_queue_response(r->conn, (unsigned int)status, resp) == MHD_YES)
        r->status = status;
    MHD_destroy_response(resp);
}

/* Hands body->ptr to MHD, which frees it after sending. */
static void respond_buf(request *r, int status, daap_buf *body, const char *content_type)
{
    struct MHD_Response *resp;

    if (body->ptr == NULL) {
        respond_static(r, status, content_type, "", 0);
        return;
    }
    resp = MHD_create_response_from_buffer_with_free_callback(body->size, body->ptr, wipe_and_free);
    if (resp == NULL) {
        daap_buf_dispose(body);
        return;
    }
    queue(r, status, resp, content_type, true, body->ptr, body->size);
    body->ptr = NULL;
    body->size = body->asize = 0;
}

void respond_json(request *r, int status, daap_buf *body)
{
    respond_buf(r, status, body, "application/json");
}

void respond_problem_body(request *r, int status, daap_buf *doc)
{
    respond_buf(r, status, doc, "application/problem+json");
}

void respond_static(request *r, int status, const char *content_type, const char *data, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    queue(r, status, resp, content_type, false, data, len);
}

void respond_empty(request *r, int status)
{
    respond_static(r, status, NULL, "", 0);
}

/* The path as a problem's "instance", unless it is too long or not ASCII. */
static const char *instance_of(const request *r)
{
    if (r->path == NULL || strlen(r->path) > 512 || !is_printable_ascii(r->path))
        return NULL;
    return r->path;
}

/* Hands a problem document to MHD with the request id as a member, so that
 * a client who quotes the body quotes what the server log has. 503 tells
 * the client when to come back. */
static void respond_problem_doc(request *r, int status, daap_buf *doc)
{
    static const char member[] = ",\"request_id\":\"\"}";
    struct MHD_Response *resp;
    size_t n = doc->size;
    char *body;

    if (doc->ptr == NULL || n == 0 || doc->ptr[n - 1] != '}' || (body = malloc(n + sizeof(member) + strlen(r->id))) == NULL) {
        daap_buf_dispose(doc);
        return;
    }
    /* r->id holds only [A-Za-z0-9._:-] (request.c), so it needs no escaping. */
    n = (size_t)sprintf(body, "%.*s,\"request_id\":\"%s\"}", (int)(n - 1), doc->ptr, r->id);
    daap_buf_dispose(doc);
    if (status == 503)
        request_add_header(r, "Retry-After", RETRY_AFTER_SECONDS);
    resp = MHD_create_response_from_buffer_with_free_callback(n, body, free);
    if (resp == NULL)
        free(body);
    queue(r, status, resp, "application/problem+json", true, body, n);
}

void respond_problem(request *r, int status, const char *detail)
{
    daap_buf out = DAAP_BUF_INIT;

    if (daap_problem_json(&out, status, detail, instance_of(r)) < 0) {
        daap_buf_dispose(&out);
        return;
    }
    respond_problem_doc(r, status, &out);
}

/* The last error as a client may see it (daap_error_for_client). What it
 * hides goes to the log under the request id. */
static void error_for_client(daap_error *shown, const request *r, int rc)
{
    const daap_error *e = daap_error_last();

    if (e->code != rc) { /* the library returned rc without recording it */
        memset(shown, 0, sizeof(*shown));
        shown->code = rc;
        shown->message = daap_strerror(rc);
        return;
    }
    if (daap_error_for_client(shown, e) > 0)
        log_line(daap_error_http_status(rc) >= 500 ? LOG_ERROR : LOG_WARN, "request failed",
                 (log_field[]){ LF_STR("request_id", r->id), LF_STR("code", daap_error_code_name(rc)),
                                LF_STR("class", daap_error_class_name(e->klass)), LF_STR("error", e->message) }, 4);
}

void respond_daap_error(request *r, int rc)
{
    daap_buf out = DAAP_BUF_INIT;
    daap_error shown;

    error_for_client(&shown, r, rc);
    if (daap_error_to_problem_json(&out, &shown, instance_of(r)) < 0) {
        daap_buf_dispose(&out);
        return;
    }
    respond_problem_doc(r, daap_error_http_status(rc), &out);
}

void respond_daap_error_status(request *r, int status, int rc)
{
    daap_error shown;

    error_for_client(&shown, r, rc);
    respond_problem(r, status, shown.message);
}

/* RFC 3986: a request target is printable ASCII; anything else must come
 * percent-encoded. */
bool is_printable_ascii(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}
