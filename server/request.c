/* One request's life on libmicrohttpd:
 *   1. the URI log callback sees the raw request line and creates the state;
 *   2. the first access-handler call checks route, headers and size, and
 *      answers only when a body would otherwise have to be read;
 *   3. body chunks are kept up to the limit;
 *   4. the last call dispatches to the handler. Answering on a later call,
 *      never the first, keeps HTTP keep-alive working (perf.md 5.3.1);
 *   5. the completion callback writes the access log line and frees it. */
#include "request.h"
#include "respond.h"
#include "clock.h"
#include "deadline.h"
#include "log.h"
#include "routes.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A body over BODY_LIMIT is read and thrown away to its end, because
 * libmicrohttpd can only answer once the request is in: that is how a
 * chunked body, whose size nobody declared, still gets its 413. Past this
 * (or past the request timeout) a client is not uploading, it is
 * attacking: drop the connection. */
#define DISCARD_LIMIT ((size_t)1024 * 1024 * 1024)

/* The most header bytes (names and values) a request may carry. The
 * connection's memory (http.c) is larger, so that a request over this
 * reaches begin() and gets a problem+json 431, not libmicrohttpd's page. */
#define HEADER_BYTES_LIMIT (16 * 1024)

/* ---- the request's start */

static bool is_id_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == ':';
}

static bool valid_request_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    size_t i;
    if (n == 0 || n > REQUEST_ID_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!is_id_char(s[i]))
            return false;
    return true;
}

void *request_begin_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    worker *w = cls;
    request *r = calloc(1, sizeof(*r));
    const char *q;

    if (r == NULL)
        return NULL;
    r->w = w;
    r->conn = conn;
    r->start_us = mono_us();
    q = strchr(uri, '?');
    r->path = q ? strndup(uri, (size_t)(q - uri)) : strdup(uri);
    r->query = q ? strdup(q + 1) : NULL;
    if (r->path == NULL || (q && r->query == NULL)) {
        free(r->path);
        free(r->query);
        free(r);
        return NULL;
    }
    atomic_fetch_add(w->inflight, 1);
    return r;
}

static void refuse(request *r, int status, const char *detail)
{
    r->early_status = status;
    snprintf(r->early_detail, sizeof(r->early_detail), "%s", detail);
}

static char *strip(char *s)
{
    char *end;
    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

/* "application/json", optionally "; charset=utf-8"; nothing else. */
static bool media_type_ok(const char *ct, bool merge_patch)
{
    char buf[128], *save = NULL, *part;

    if (strlen(ct) >= sizeof(buf))
        return false;
    strcpy(buf, ct);
    part = strtok_r(buf, ";", &save);
    if (part == NULL)
        return false;
    part = strip(part);
    if (strcasecmp(part, "application/json") != 0 &&
        !(merge_patch && strcasecmp(part, "application/merge-patch+json") == 0))
        return false;
    while ((part = strtok_r(NULL, ";", &save)) != NULL) {
        part = strip(part);
        if (strcasecmp(part, "charset=utf-8") != 0 && strcasecmp(part, "charset=\"utf-8\"") != 0)
            return false;
    }
    return true;
}

static bool has_body(const request *r)
{
    const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL || (cl && strtoull(cl, NULL, 10) > 0);
}

static void check_body_headers(request *r)
{
    const char *ct = request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);

    if (cl && strtoull(cl, NULL, 10) > BODY_LIMIT)
        refuse(r, 413, "the request body is larger than 65536 bytes");
    else if (ct == NULL)
        refuse(r, 415, "send the body as Content-Type: application/json");
    else if (!media_type_ok(ct, (r->route->flags & ROUTE_MERGE_PATCH) != 0))
        refuse(r, 415, "the body must be application/json (UTF-8)");
}

static void check_route(request *r)
{
    char allow[64], detail[160];

    /* Refusing raw bytes here keeps them out of every message. */
    if (!is_printable_ascii(r->path) || !is_printable_ascii(r->query)) {
        refuse(r, 400, "the request target must be printable ASCII; percent-encode other bytes");
        return;
    }
    r->route = route_find(r->method, r->path, allow, sizeof(allow));
    if (r->route == NULL && allow[0]) {
        request_add_header(r, "Allow", allow);
        snprintf(detail, sizeof(detail), "%s is not allowed here; use %s", r->method, allow);
        refuse(r, 405, detail);
        return;
    }
    if (r->route == NULL) {
        refuse(r, 404, "no such endpoint");
        return;
    }
    r->path_id = route_path_id(r->route, r->path);
    if (r->query && !(r->route->flags & ROUTE_QUERY))
        refuse(r, 400, "this endpoint takes no query parameters");
    else if (r->route->flags & ROUTE_BODY)
        check_body_headers(r);
}

static enum MHD_Result add_header_bytes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    size_t *total = cls;

    (void)kind;
    *total += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

static size_t header_bytes(const request *r)
{
    size_t total = strlen(r->path) + (r->query ? strlen(r->query) + 1 : 0);

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header_bytes, &total);
    return total;
}

/* What libmicrohttpd would refuse itself with an HTML page when strict
 * (http.c runs it lenient), refused here as problem+json instead. */
static void check_headers(request *r, const char *version)
{
    if (header_bytes(r) > HEADER_BYTES_LIMIT)
        refuse(r, 431, "the request line and headers are larger than 16384 bytes");
    else if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && request_header(r, MHD_HTTP_HEADER_HOST) == NULL)
        refuse(r, 400, "an HTTP/1.1 request must carry a Host header");
}

static enum MHD_Result begin(request *r, const char *method, const char *version)
{
    const char *id = request_header(r, "X-Request-Id");

    r->started = true;
    header_deadline_headers_done(r->conn);
    snprintf(r->method_buf, sizeof(r->method_buf), "%s", method);
    r->method = r->method_buf;
    if (valid_request_id(id))
        snprintf(r->id, sizeof(r->id), "%s", id);
    else
        request_new_id(r->id);
    check_headers(r, version);
    if (!r->early_status)
        check_route(r);
    /* A refused request's body is never read: answer now, and MHD closes
     * the connection after the answer. Otherwise wait (keep-alive). */
    if (r->early_status && has_body(r))
        respond_problem(r, r->early_status, r->early_detail);
    return MHD_YES;
}

/* ---- the body */

static enum MHD_Result take_upload(request *r, const char *data, size_t *size)
{
    size_t n = *size;
    int64_t limit_us = r->w->opts->request_timeout_ms * 1000;

    *size = 0;
    r->body_seen += n;
    /* MHD cannot send an answer while a body is arriving, so a client too
     * slow or too greedy is cut off; the log line says why. */
    if (r->body_seen > DISCARD_LIMIT) {
        r->dropped = "body far over the limit";
        return MHD_NO;
    }
    if (mono_us() - r->start_us > limit_us) {
        r->dropped = "body slower than the request timeout";
        return MHD_NO;
    }
    if (r->status || r->early_status || r->too_large)
        return MHD_YES; /* discard */
    if (r->body_seen > BODY_LIMIT) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        return MHD_YES;
    }
    if (r->body == NULL && (r->body = malloc(BODY_LIMIT + 1)) == NULL)
        return MHD_NO;
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return MHD_YES;
}

static enum MHD_Result finish(request *r)
{
    if (r->early_status)
        respond_problem(r, r->early_status, r->early_detail);
    else if (r->too_large)
        respond_problem(r, 413, "the request body is larger than 65536 bytes");
    else
        r->route->fn(r);
    if (r->wait.suspended) { /* the handler runs again on resume */
        r->wait.suspended = false;
        return MHD_YES;
    }
    return r->status ? MHD_YES : MHD_NO;
}

enum MHD_Result request_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    request *r = *con_cls;

    (void)cls; (void)url;
    if (r == NULL)
        return MHD_NO;
    r->conn = conn;
    if (!r->started)
        return begin(r, method, version);
    if (*upload_data_size)
        return take_upload(r, upload_data, upload_data_size);
    if (r->status)
        return MHD_YES;
    return finish(r);
}

/* ---- the end: one log line */

static void remote_addr(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)size);
}

static const char *outcome(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:       return "ok";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:    return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:    return "shutdown";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:       return "client_abort";
    case MHD_REQUEST_TERMINATED_READ_ERROR:         return "read_error";
    default:                                        return "error";
    }
}

static void log_request(const request *r, enum MHD_RequestTerminationCode toe)
{
    char remote[INET6_ADDRSTRLEN];
    log_field f[10];
    size_t n = 0;

    remote_addr(r->conn, remote, sizeof(remote));
    f[n++] = LF_STR("request_id", r->started ? r->id : "");
    f[n++] = LF_STR("method", r->started ? r->method : "");
    f[n++] = LF_STR("path", r->path);
    f[n++] = LF_NUM("status", r->status);
    f[n++] = LF_MS("duration_ms", mono_us() - r->start_us);
    f[n++] = LF_NUM("bytes_in", r->body_seen);
    f[n++] = LF_STR("remote", remote);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        f[n++] = LF_STR("outcome", outcome(toe));
    if (r->dropped)
        f[n++] = LF_STR("dropped", r->dropped);
    log_line(r->status >= 500 || r->status == 0 ? LOG_WARN : LOG_INFO, "request", f, n);
}

void request_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    request *r = *con_cls;

    (void)cls;
    if (r == NULL)
        return;
    r->conn = conn;
    if (r->wait.active) /* parked is the poller's to change: ask under its lock */
        waiters_forget(r->w->waiters, r);
    log_request(r, toe);
    header_deadline_request_done(conn);
    atomic_fetch_sub(r->w->inflight, 1);
    free(r->body);
    free(r->path);
    free(r->query);
    free(r);
    *con_cls = NULL;
}
