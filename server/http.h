/* The HTTP edge on libmicrohttpd: N single-thread epoll daemons sharing one
 * port (SO_REUSEPORT), each with its own daap_ctx, because a ctx is
 * single-threaded and MHD's thread pool balances keep-alive badly
 * (reference/perf.md 5.2). */
#ifndef DAAP_SERVER_HTTP_H
#define DAAP_SERVER_HTTP_H

#include <daap/daap.h>
#include <stdint.h>

#include "options.h"
#include "waiters.h"

typedef struct http_server http_server;

/* What the handlers hand Kubernetes work to, ask about it, and park waiting
 * GETs in; not owned. */
typedef struct {
    struct reconciler *reconciler;
    struct kube_probe *probe;
    waiters           *waiters;
} http_services;

/* Start opts->threads daemons; ctxs[i] (store-only contexts) serves daemon i
 * and is owned by the server from now on, also when the call fails.
 * http_stop() resumes every waiting GET before the daemons stop. */
int  http_start(http_server **out, const server_options *opts, daap_ctx **ctxs, const http_services *svc);
/* The port actually bound (useful with port 0). */
int  http_port(const http_server *s);
/* Stop accepting, answer the waiting requests, let requests in flight
 * finish for up to grace_ms, stop. */
void http_stop(http_server *s, int64_t grace_ms);

#endif
