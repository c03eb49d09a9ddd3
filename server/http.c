/* Starting and stopping the libmicrohttpd daemons. */
#include "http.h"
#include "clock.h"
#include "deadline.h"
#include "log.h"
#include "request.h"
#include "respond.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Each connection's memory pool, which holds its request line and headers.
 * Well above request.c's header limit, so that an oversized request reaches
 * our handler and gets a problem+json 431; pages are touched only as bytes
 * arrive, so an idle connection costs little of it. */
#define CONNECTION_MEMORY (128 * 1024)

struct http_server {
    const server_options *opts;
    worker               *workers;
    header_deadline      *deadline;
    int                   nworkers;
    int                   port;
    atomic_int            inflight;  /* requests between request line and completion */
    atomic_bool           draining;  /* shutting down: answer with Connection: close */
    waiters              *waiters;
};

/* Paths stay percent-encoded: routing and ids see exactly what was sent, so
 * "%2F" can never become a separator and "%00" never truncates. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls; (void)c;
    return strlen(s);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;
    log_field f;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    f = LF_STR("detail", msg);
    log_line(LOG_WARN, "libmicrohttpd", &f, 1);
}

static int resolve(struct sockaddr_storage *out, const server_options *o)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = o->listen_ipv6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", o->listen_port);
    rc = getaddrinfo(o->listen_host[0] ? o->listen_host : NULL, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "daap-server: cannot listen on %s:%d: %s\n", o->listen_host, o->listen_port, gai_strerror(rc));
        return -1;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static void set_port(struct sockaddr_storage *sa, int port)
{
    if (sa->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)(void *)sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)(void *)sa)->sin_port = htons((uint16_t)port);
}

static unsigned int seconds_ceil(int64_t ms)
{
    int64_t s = (ms + 999) / 1000;
    return s < 1 ? 1u : (unsigned int)s;
}

/* A limit over all daemons, as each daemon's share (0 stays "none"). */
static unsigned int per_daemon(int total, int threads)
{
    unsigned int n = (unsigned int)(total / threads);
    return total > 0 && n == 0 ? 1u : n;
}

static struct MHD_Daemon *start_daemon(worker *w, const server_options *o, struct sockaddr_storage *sa,
                                       header_deadline *hd)
{
    /* ALLOW_SUSPEND_RESUME: waiting GETs are suspended connections (waiters.h). */
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

    if (sa->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, 0, NULL, NULL, request_access_cb, w,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, /* first, or MHD warns */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_URI_LOG_CALLBACK, request_begin_cb, w,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed_cb, w,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, header_deadline_notify_cb, hd,
        MHD_OPTION_CONNECTION_LIMIT, per_daemon(o->max_connections, o->threads),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_daemon(o->max_connections_per_ip, o->threads),
        MHD_OPTION_CONNECTION_TIMEOUT, seconds_ceil(o->connection_timeout_ms),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        /* Lenient: request.c checks Host itself and answers problem+json. */
        MHD_OPTION_STRICT_FOR_CLIENT, 0,
        MHD_OPTION_END);
}

/* Port 0 means "any": the first daemon picks, the others share its port. */
static int start_all(http_server *s, const server_options *o)
{
    struct sockaddr_storage sa;
    int i;

    if (resolve(&sa, o) < 0)
        return -1;
    for (i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        w->daemon = start_daemon(w, o, &sa, s->deadline);
        if (w->daemon == NULL) {
            fprintf(stderr, "daap-server: cannot listen on %s:%d (in use, or not an address of this host)\n",
                    o->listen_host, s->port ? s->port : o->listen_port);
            return -1;
        }
        if (i == 0) {
            const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
            s->port = di ? di->port : o->listen_port;
            set_port(&sa, s->port);
        }
    }
    return 0;
}

static void free_server(http_server *s)
{
    int i;
    for (i = 0; i < s->nworkers; i++) {
        if (s->workers[i].daemon)
            MHD_stop_daemon(s->workers[i].daemon);
        daap_ctx_free(s->workers[i].ctx);
    }
    header_deadline_stop(s->deadline); /* after the daemons: they use it until they stop */
    free(s->workers);
    free(s);
}

int http_start(http_server **out, const server_options *opts, daap_ctx **ctxs, const http_services *svc)
{
    http_server *s = calloc(1, sizeof(*s));
    int i;

    *out = NULL;
    if (s == NULL || (s->workers = calloc((size_t)opts->threads, sizeof(worker))) == NULL) {
        for (i = 0; i < opts->threads; i++)
            daap_ctx_free(ctxs[i]);
        free(s);
        return -1;
    }
    s->opts = opts;
    s->nworkers = opts->threads;
    s->waiters = svc->waiters;
    atomic_init(&s->inflight, 0);
    atomic_init(&s->draining, false);
    for (i = 0; i < s->nworkers; i++) {
        s->workers[i].ctx = ctxs[i];
        s->workers[i].reconciler = svc->reconciler;
        s->workers[i].probe = svc->probe;
        s->workers[i].opts = opts;
        s->workers[i].inflight = &s->inflight;
        s->workers[i].draining = &s->draining;
        s->workers[i].waiters = svc->waiters;
    }
    if (header_deadline_start(&s->deadline, opts->header_timeout_ms, opts->connection_timeout_ms) < 0 ||
        start_all(s, opts) < 0) {
        free_server(s);
        return -1;
    }
    *out = s;
    return 0;
}

int http_port(const http_server *s)
{
    return s->port;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

void http_stop(http_server *s, int64_t grace_ms)
{
    int64_t deadline = mono_us() + grace_ms * 1000;
    int i;

    if (s == NULL)
        return;
    atomic_store(&s->draining, true);
    for (i = 0; i < s->nworkers; i++) {
        MHD_socket fd = MHD_quiesce_daemon(s->workers[i].daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    /* A suspended connection must be resumed before MHD_stop_daemon. */
    waiters_close(s->waiters);
    while (atomic_load(&s->inflight) > 0 && mono_us() < deadline)
        sleep_ms(10);
    if (atomic_load(&s->inflight) > 0)
        log_line(LOG_WARN, "shutdown grace period over; dropping requests in flight",
                 (log_field[]){ LF_NUM("requests", atomic_load(&s->inflight)) }, 1);
    free_server(s);
}
