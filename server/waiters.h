/* Server-side wait (GET /databases/{id}?wait=&revision=): parked requests.
 *
 * A waiting request is a suspended libmicrohttpd connection, not a thread.
 * One thread of our own (the poller) resumes it when one of these happens:
 *   - its record's revision changed or the record went away: a store poll
 *     every poll interval, or at once when the reconciler kicks (it wrote);
 *   - its deadline passed (a suspended connection never times out in MHD);
 *   - its client left (MHD does not notice while suspended: we peek the
 *     socket at each poll);
 *   - the server is stopping (MHD_stop_daemon must not meet a suspended
 *     connection).
 * Whoever resumes removes the waiter under the lock first; the request then
 * runs its handler again, which looks at the record and answers (or parks
 * again after a wake that was not for it). */
#ifndef DAAP_SERVER_WAITERS_H
#define DAAP_SERVER_WAITERS_H

#include <daap/daap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct request;

typedef struct waiters waiters;

/* Why a parked request was resumed. */
typedef enum {
    WAKE_NONE = 0,   /* still parked, or never parked */
    WAKE_CHANGED,    /* the record's revision differs, or it is gone */
    WAKE_DEADLINE,   /* its wait is over: answer with the record as it is */
    WAKE_SHUTDOWN,   /* the server is stopping: answer now */
    WAKE_CLIENT_GONE /* nobody to answer: close the connection */
} wake_reason;

/* A request's part in the registry; lives inside struct request. */
typedef struct wait_state {
    bool               active;    /* the request asked to wait */
    bool               parked;    /* in the registry, connection suspended (the lock's) */
    bool               suspended; /* this handler call suspended it: the MHD thread's own,
                                   * since the poller may resume before the call returns */
    wake_reason        reason;    /* set by whoever resumed it */
    int64_t            revision;  /* answer once the record's differs */
    int64_t            deadline_us; /* mono_us() when the wait is over */
    struct request    *prev, *next;
} wait_state;

/* Start the poller on ctx (owned from now on, also when the call fails).
 * poll_ms: how often the store is read for what other replicas wrote. */
int  waiters_start(waiters **out, daap_ctx *ctx, int64_t poll_ms);
/* Suspend r's connection and park it. Call only from r's access handler.
 * False (nothing suspended) once waiters_close() ran: answer at once. */
bool waiters_park(waiters *ws, struct request *r);
/* Remove r if it is still parked (its connection is being freed). */
void waiters_forget(waiters *ws, struct request *r);
/* Read the store now (the reconciler wrote a record). Thread-safe, cheap. */
void waiters_kick(waiters *ws);
/* Resume every waiter with WAKE_SHUTDOWN and refuse new ones. Before
 * MHD_stop_daemon. Accepts NULL. */
void waiters_close(waiters *ws);
/* Stop the poller and free everything (after the daemons stopped). Accepts NULL. */
void waiters_stop(waiters *ws);
/* How many requests are parked now. */
size_t waiters_count(waiters *ws);

#endif
