/* The HTTP edge on libmicrohttpd: N single-thread epoll daemons sharing one
 * port (SO_REUSEPORT), each with its own daap_ctx, because a ctx is
 * single-threaded and MHD's thread pool balances keep-alive badly
 * (reference/perf.md 5.2). */
#ifndef DAAP_SERVER_HTTP_H
#define DAAP_SERVER_HTTP_H

#include <daap/daap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

#define BODY_LIMIT      (64 * 1024)
#define REQUEST_ID_MAX  128
#define EXTRA_HEADERS   8 /* the console sends six (ui.c) */

struct MHD_Connection;
typedef struct http_server http_server;
typedef struct worker worker;

typedef struct {
    const char *name;
    char        value[160];
} extra_header;

/* One request, from its request line to the last byte of the answer. */
typedef struct request {
    worker                *w;
    struct MHD_Connection *conn;
    int64_t                start_us;
    char                   id[REQUEST_ID_MAX + 1];
    const char            *method;  /* points at method_buf */
    char                  *path;    /* raw (still percent-encoded) */
    char                  *query;   /* raw, without '?'; NULL when absent */
    char                  *body;    /* up to BODY_LIMIT bytes, NUL-terminated */
    size_t                 body_len;
    size_t                 body_seen; /* bytes received, kept or not */
    bool                   started;
    bool                   too_large;
    const char            *dropped;  /* why the connection was cut, or NULL */
    char                   method_buf[16];
    int                    early_status; /* refusal decided from the headers */
    char                   early_detail[200];
    int                    status;  /* 0 until a response is queued */
    const struct route    *route;
    extra_header           headers[EXTRA_HEADERS];
    size_t                 nheaders;
} request;

/* What handlers use. */
daap_ctx   *request_ctx(const request *r);
const char *request_header(const request *r, const char *name);
void        request_add_header(request *r, const char *name, const char *value);

/* Queue the answer; each takes what it renders and frees it. */
void respond_json(request *r, int status, daap_buf *body);
void respond_static(request *r, int status, const char *content_type, const char *data, size_t len);
void respond_empty(request *r, int status);
/* An edge refusal: a problem document for `status` (daap_problem_json). */
void respond_problem(request *r, int status, const char *detail);
/* The failure `rc` of the library call just made (daap_error_last). */
void respond_daap_error(request *r, int rc);

/* Start opts->threads daemons; ctxs[i] serves daemon i and is owned by the
 * server from now on, also when the call fails. */
int  http_start(http_server **out, const server_options *opts, daap_ctx **ctxs);
/* The port actually bound (useful with port 0). */
int  http_port(const http_server *s);
/* Stop accepting, let requests in flight finish for up to grace_ms, stop. */
void http_stop(http_server *s, int64_t grace_ms);

int64_t mono_us(void);

#endif
