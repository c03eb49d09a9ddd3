/* Parked requests of the server-side wait and the thread that resumes them
 * (see waiters.h for the rules). */
#include "waiters.h"
#include "clock.h"
#include "log.h"
#include "respond.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct waiters {
    pthread_mutex_t lock;
    pthread_cond_t  cond;     /* parks, kicks and stop wake the poller */
    pthread_t       thread;
    daap_ctx       *ctx;      /* the poller's own: contexts are single-threaded */
    int64_t         poll_us;
    struct request *head;     /* parked requests, newest first */
    size_t          count;
    bool            kicked;
    bool            closed;   /* shutting down: no new waiters */
    bool            stop;
};

/* What the store said about one record, read without the lock. */
typedef struct {
    char    id[40];   /* a copy: the request may go while we read unlocked */
    int64_t revision; /* -1: gone (deleted or unknown) */
    bool    known;    /* false: the store failed; try again next poll */
} record_seen;

/* ---- the list (lock held) */

static void unlink_request(waiters *ws, struct request *r)
{
    wait_state *w = &r->wait;

    if (w->prev)
        w->prev->wait.next = w->next;
    else
        ws->head = w->next;
    if (w->next)
        w->next->wait.prev = w->prev;
    w->prev = w->next = NULL;
    w->parked = false;
    ws->count--;
}

/* The request is ours until MHD_resume_connection: nothing touches it after. */
static void resume(waiters *ws, struct request *r, wake_reason why)
{
    unlink_request(ws, r);
    r->wait.reason = why;
    MHD_resume_connection(r->conn);
}

bool waiters_park(waiters *ws, struct request *r)
{
    bool parked = false;
    size_t count = 0;

    pthread_mutex_lock(&ws->lock);
    if (!ws->closed) {
        /* Suspend before the poller can see it, so a resume always follows a suspend. */
        MHD_suspend_connection(r->conn);
        r->wait.parked = true;
        r->wait.suspended = true;
        r->wait.reason = WAKE_NONE;
        r->wait.prev = NULL;
        r->wait.next = ws->head;
        if (ws->head)
            ws->head->wait.prev = r;
        ws->head = r;
        ws->count++;
        parked = true;
        count = ws->count;
        pthread_cond_signal(&ws->cond); /* its deadline may be the next one */
    }
    pthread_mutex_unlock(&ws->lock);
    if (parked)
        log_line(LOG_DEBUG, "wait: parked", (log_field[]){ LF_STR("request_id", r->id),
                 LF_NUM("waiters", (int64_t)count) }, 2);
    return parked;
}

void waiters_forget(waiters *ws, struct request *r)
{
    if (ws == NULL)
        return;
    pthread_mutex_lock(&ws->lock);
    if (r->wait.parked)
        unlink_request(ws, r);
    pthread_mutex_unlock(&ws->lock);
}

void waiters_kick(waiters *ws)
{
    if (ws == NULL)
        return;
    pthread_mutex_lock(&ws->lock);
    ws->kicked = true;
    pthread_cond_signal(&ws->cond);
    pthread_mutex_unlock(&ws->lock);
}

size_t waiters_count(waiters *ws)
{
    size_t n;

    pthread_mutex_lock(&ws->lock);
    n = ws->count;
    pthread_mutex_unlock(&ws->lock);
    return n;
}

void waiters_close(waiters *ws)
{
    size_t n = 0;

    if (ws == NULL)
        return;
    pthread_mutex_lock(&ws->lock);
    ws->closed = true;
    while (ws->head) {
        resume(ws, ws->head, WAKE_SHUTDOWN);
        n++;
    }
    pthread_mutex_unlock(&ws->lock);
    if (n)
        log_line(LOG_INFO, "wait: answering parked requests before stopping",
                 (log_field[]){ LF_NUM("waiters", (int64_t)n) }, 1);
}

/* ---- the poller's checks (lock held unless said otherwise) */

/* MHD does not see a client leave while its connection is suspended; an
 * orderly close or a reset shows as end-of-file or an error on a peek. */
static bool client_gone(struct request *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char byte;
    ssize_t n;

    if (ci == NULL)
        return false;
    n = recv(ci->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Resume what is over; return the earliest deadline still ahead (or `until`). */
static int64_t expire(waiters *ws, int64_t now, int64_t until)
{
    struct request *r = ws->head, *next;

    for (; r; r = next) {
        next = r->wait.next;
        if (r->wait.deadline_us <= now)
            resume(ws, r, WAKE_DEADLINE);
        else if (r->wait.deadline_us < until)
            until = r->wait.deadline_us;
    }
    return until;
}

static void drop_gone_clients(waiters *ws)
{
    struct request *r = ws->head, *next;
    size_t dropped = 0;

    for (; r; r = next) {
        next = r->wait.next;
        if (client_gone(r)) {
            resume(ws, r, WAKE_CLIENT_GONE);
            dropped++;
        }
    }
    if (dropped)
        log_line(LOG_INFO, "wait: clients went away; dropped their requests",
                 (log_field[]){ LF_NUM("dropped", (int64_t)dropped), LF_NUM("waiters", (int64_t)ws->count) }, 2);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const record_seen *)a)->id, ((const record_seen *)b)->id);
}

/* The distinct ids waited on, sorted. */
static size_t collect_ids(waiters *ws, record_seen *out)
{
    struct request *r;
    size_t n = 0, i, unique = 0;

    /* Only requests whose record was found park, so path_id is a uuid. */
    for (r = ws->head; r; r = r->wait.next, n++)
        snprintf(out[n].id, sizeof(out[n].id), "%s", r->path_id);
    qsort(out, n, sizeof(*out), by_id);
    for (i = 0; i < n; i++)
        if (unique == 0 || strcmp(out[unique - 1].id, out[i].id) != 0)
            out[unique++] = out[i];
    return unique;
}

/* Lock NOT held: store reads may take a while, and parks must not wait. */
static void read_records(waiters *ws, record_seen *seen, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        daap_db *db = NULL;
        int rc = daap_db_get(&db, ws->ctx, seen[i].id);
        seen[i].known = rc == 0 || rc == DAAP_ENOTFOUND;
        seen[i].revision = rc == 0 ? daap_db_revision(db) : -1;
        daap_db_free(db);
    }
}

static void resume_changed(waiters *ws, const record_seen *seen, size_t n)
{
    struct request *r = ws->head, *next;

    for (; r; r = next) {
        record_seen key;
        const record_seen *s;

        next = r->wait.next;
        snprintf(key.id, sizeof(key.id), "%s", r->path_id);
        s = bsearch(&key, seen, n, sizeof(*seen), by_id);
        if (s && s->known && s->revision != r->wait.revision)
            resume(ws, r, WAKE_CHANGED);
    }
}

/* One look at the store for every parked record. Called with the lock held;
 * drops it around the reads. */
static void poll_store(waiters *ws)
{
    size_t n = ws->count;
    record_seen *seen = n ? malloc(n * sizeof(*seen)) : NULL;

    if (seen == NULL)
        return;
    n = collect_ids(ws, seen);
    pthread_mutex_unlock(&ws->lock);
    read_records(ws, seen, n);
    pthread_mutex_lock(&ws->lock);
    resume_changed(ws, seen, n);
    free(seen);
}

static void wait_until(waiters *ws, int64_t until_us)
{
    int64_t delta = until_us - mono_us();
    struct timespec ts;

    if (delta <= 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(delta / 1000000);
    ts.tv_nsec += (long)(delta % 1000000) * 1000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&ws->cond, &ws->lock, &ts);
}

static void *run(void *arg)
{
    waiters *ws = arg;
    int64_t next_poll = mono_us() + ws->poll_us;

    pthread_mutex_lock(&ws->lock);
    while (!ws->stop) {
        int64_t now = mono_us(), until;

        if (ws->head && (ws->kicked || now >= next_poll)) {
            ws->kicked = false;
            drop_gone_clients(ws);
            poll_store(ws);
            next_poll = mono_us() + ws->poll_us;
            continue;
        }
        if (now >= next_poll)
            next_poll = now + ws->poll_us;
        ws->kicked = false;
        until = expire(ws, now, next_poll);
        wait_until(ws, until);
    }
    pthread_mutex_unlock(&ws->lock);
    return NULL;
}

/* ---- start and stop */

static int init_sync(waiters *ws)
{
    pthread_condattr_t attr;
    int rc;

    if (pthread_condattr_init(&attr) != 0)
        return -1;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* wait_until reads CLOCK_MONOTONIC */
    rc = pthread_cond_init(&ws->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&ws->lock, NULL) != 0) {
        pthread_cond_destroy(&ws->cond);
        return -1;
    }
    return 0;
}

int waiters_start(waiters **out, daap_ctx *ctx, int64_t poll_ms)
{
    waiters *ws = calloc(1, sizeof(*ws));

    *out = NULL;
    if (ws == NULL || init_sync(ws) < 0) {
        free(ws);
        daap_ctx_free(ctx);
        return -1;
    }
    ws->ctx = ctx;
    ws->poll_us = (poll_ms > 0 ? poll_ms : 1000) * 1000;
    if (pthread_create(&ws->thread, NULL, run, ws) != 0) {
        pthread_mutex_destroy(&ws->lock);
        pthread_cond_destroy(&ws->cond);
        daap_ctx_free(ctx);
        free(ws);
        return -1;
    }
    *out = ws;
    return 0;
}

void waiters_stop(waiters *ws)
{
    if (ws == NULL)
        return;
    waiters_close(ws);
    pthread_mutex_lock(&ws->lock);
    ws->stop = true;
    pthread_cond_signal(&ws->cond);
    pthread_mutex_unlock(&ws->lock);
    pthread_join(ws->thread, NULL);
    pthread_mutex_destroy(&ws->lock);
    pthread_cond_destroy(&ws->cond);
    daap_ctx_free(ws->ctx);
    free(ws);
}
