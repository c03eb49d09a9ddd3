/* The header deadline (deadline.h). Each connection is on a list from its
 * accept to its close; a thread looks at the list a few times per deadline
 * and shuts down the sockets that are late. shutdown(), not close(): the fd
 * stays libmicrohttpd's, which sees the end of the stream and closes the
 * connection itself. The list's mutex is also held by the close callback,
 * so a listed connection's fd is always still open. */
#include "deadline.h"
#include "clock.h"
#include "log.h"
#include "respond.h"

#include <daap/daap.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

typedef struct watched {
    header_deadline *hd;
    struct watched  *prev, *next;
    MHD_socket       fd;
    int64_t          deadline_us; /* 0: headers complete, no deadline */
} watched;

struct header_deadline {
    pthread_mutex_t lock;
    pthread_cond_t  wake;
    pthread_t       thread;
    bool            stopping;
    watched        *head;
    int64_t         header_us;
    int64_t         idle_us;
    int64_t         period_us;
};

static void link_conn(header_deadline *hd, watched *c)
{
    c->next = hd->head;
    if (hd->head)
        hd->head->prev = c;
    hd->head = c;
}

static void unlink_conn(header_deadline *hd, watched *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        hd->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void on_started(header_deadline *hd, struct MHD_Connection *conn, void **socket_context)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    watched *c = calloc(1, sizeof(*c));

    if (c == NULL || ci == NULL) {
        free(c); /* unwatched: it still has libmicrohttpd's idle timeout */
        return;
    }
    c->hd = hd;
    c->fd = ci->connect_fd;
    pthread_mutex_lock(&hd->lock);
    c->deadline_us = mono_us() + hd->header_us;
    link_conn(hd, c);
    pthread_mutex_unlock(&hd->lock);
    *socket_context = c;
}

void header_deadline_notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
    header_deadline *hd = cls;
    watched *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        on_started(hd, conn, socket_context);
        return;
    }
    if (c == NULL)
        return;
    pthread_mutex_lock(&hd->lock);
    unlink_conn(hd, c);
    pthread_mutex_unlock(&hd->lock);
    free(c);
    *socket_context = NULL;
}

static watched *watched_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void set_deadline(struct MHD_Connection *conn, bool headers_done)
{
    watched *c = watched_of(conn);

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->hd->lock);
    c->deadline_us = headers_done ? 0 : mono_us() + c->hd->idle_us + c->hd->header_us;
    pthread_mutex_unlock(&c->hd->lock);
}

void header_deadline_headers_done(struct MHD_Connection *conn)
{
    set_deadline(conn, true);
}

void header_deadline_request_done(struct MHD_Connection *conn)
{
    set_deadline(conn, false);
}

/* A 408 problem+json written straight to the socket: libmicrohttpd cannot
 * answer a request whose headers it has not finished reading. Best effort:
 * a client that reads nothing simply sees the connection close. */
static void send_408(MHD_socket fd, const char *request_id)
{
    daap_buf doc = DAAP_BUF_INIT;
    char head[512], body[512];
    int hn, bn;

    if (daap_problem_json(&doc, 408, "the request headers did not arrive in time", NULL) < 0 ||
        doc.size == 0 || doc.size >= sizeof(body) - 64) {
        daap_buf_dispose(&doc);
        return;
    }
    bn = snprintf(body, sizeof(body), "%.*s,\"request_id\":\"%s\"}", (int)(doc.size - 1), doc.ptr, request_id);
    daap_buf_dispose(&doc);
    hn = snprintf(head, sizeof(head), "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\n"
                  "Cache-Control: no-store\r\nConnection: close\r\nX-Request-Id: %s\r\nContent-Length: %d\r\n\r\n",
                  request_id, bn);
    if (send(fd, head, (size_t)hn, MSG_DONTWAIT | MSG_NOSIGNAL) == hn)
        (void)send(fd, body, (size_t)bn, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Bytes that arrived and were not read yet mean the server is behind (its
 * thread busy with another request), not the client: not the client's fault. */
static bool unread_input(MHD_socket fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

static int sweep(header_deadline *hd)
{
    int64_t now = mono_us();
    int closed = 0;
    watched *c;

    for (c = hd->head; c; c = c->next) {
        char id[REQUEST_ID_MAX + 1];
        if (c->deadline_us == 0 || now < c->deadline_us || unread_input(c->fd))
            continue;
        request_new_id(id);
        send_408(c->fd, id);
        shutdown(c->fd, SHUT_RDWR);
        c->deadline_us = 0; /* once: libmicrohttpd closes it soon */
        closed++;
    }
    return closed;
}

static void wait_period(header_deadline *hd)
{
    struct timespec ts;
    int64_t ns;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ns = ts.tv_nsec + (hd->period_us % 1000000) * 1000;
    ts.tv_sec += (time_t)(hd->period_us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&hd->wake, &hd->lock, &ts);
}

static void *watch(void *arg)
{
    header_deadline *hd = arg;

    pthread_mutex_lock(&hd->lock);
    while (!hd->stopping) {
        int closed = sweep(hd);
        if (closed) { /* not under the lock: a slow log must not hold up accepts */
            pthread_mutex_unlock(&hd->lock);
            log_line(LOG_WARN, "request headers too slow; connections closed",
                     (log_field[]){ LF_NUM("connections", closed), LF_MS("header_timeout_ms", hd->header_us) }, 2);
            pthread_mutex_lock(&hd->lock);
            if (hd->stopping)
                break;
        }
        wait_period(hd);
    }
    pthread_mutex_unlock(&hd->lock);
    return NULL;
}

int header_deadline_start(header_deadline **out, int64_t header_ms, int64_t idle_ms)
{
    header_deadline *hd = calloc(1, sizeof(*hd));
    pthread_condattr_t attr;

    *out = NULL;
    if (hd == NULL)
        return -1;
    hd->header_us = header_ms * 1000;
    hd->idle_us = idle_ms * 1000;
    /* Late by at most a fifth of the deadline, looked at no more than 20 times a second. */
    hd->period_us = hd->header_us / 5 < 50000 ? 50000 : hd->header_us / 5 > 1000000 ? 1000000 : hd->header_us / 5;
    pthread_mutex_init(&hd->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&hd->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&hd->thread, NULL, watch, hd) != 0) {
        pthread_cond_destroy(&hd->wake);
        pthread_mutex_destroy(&hd->lock);
        free(hd);
        return -1;
    }
    *out = hd;
    return 0;
}

void header_deadline_stop(header_deadline *hd)
{
    if (hd == NULL)
        return;
    pthread_mutex_lock(&hd->lock);
    hd->stopping = true;
    pthread_cond_signal(&hd->wake);
    pthread_mutex_unlock(&hd->lock);
    pthread_join(hd->thread, NULL);
    pthread_cond_destroy(&hd->wake);
    pthread_mutex_destroy(&hd->lock);
    free(hd);
}
