/**
 * @file daap/workqueue.h
 * @brief A thread-safe queue of keys for reconciler workers, after client-go's workqueue.
 *
 * The library starts no threads: a front-end runs its own workers, each of
 * which loops on daap_workqueue_get(), reconciles the key it got (for example
 * with daap_reconcile_db() on a context of its own) and then calls
 * daap_workqueue_done(). The queue guarantees:
 *
 * - de-duplication: a key added while it waits is queued once;
 * - no key handed to two workers at once: a key added while a worker holds
 *   it is queued again when that worker calls daap_workqueue_done();
 * - per-key exponential backoff for retries (daap_workqueue_add_rate_limited),
 *   reset by daap_workqueue_forget();
 * - shutdown that lets workers finish what they hold (daap_workqueue_shutdown).
 */
#ifndef DAAP_WORKQUEUE_H
#define DAAP_WORKQUEUE_H

#include "common.h"

#include <stddef.h>

DAAP_BEGIN_DECL

/** A queue of string keys (at most DAAP_WORKQUEUE_KEY_MAX bytes each). */
typedef struct daap_workqueue daap_workqueue;

/** Longest key, terminator excluded. */
#define DAAP_WORKQUEUE_KEY_MAX 63

/** How a queue retries. Zero fields take the documented default. */
typedef struct {
    unsigned int version;       /**< DAAP_WORKQUEUE_OPTIONS_VERSION */
    int64_t      base_delay_ms; /**< first retry delay; default 50 ms, doubled per failure */
    int64_t      max_delay_ms;  /**< longest retry delay; default 10 s */
} daap_workqueue_options;

#define DAAP_WORKQUEUE_OPTIONS_VERSION 1
#define DAAP_WORKQUEUE_OPTIONS_INIT { DAAP_WORKQUEUE_OPTIONS_VERSION }

/** Does the shutdown hand out what is still queued? */
typedef enum {
    DAAP_WORKQUEUE_DROP  = 0, /**< no: waiting keys are dropped; held ones finish */
    DAAP_WORKQUEUE_DRAIN = 1  /**< yes: workers get every key queued now, then stop */
} daap_workqueue_shutdown_mode;

/**
 * Make a queue.
 *
 * @param[out] out  receives the queue; release with daap_workqueue_free()
 * @param opts      retry delays, or NULL for defaults
 * @return 0, DAAP_EINVALID (bad version or negative delays), DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_workqueue_new(daap_workqueue **out, const daap_workqueue_options *opts);

/**
 * Queue a key now. A key already waiting is not queued twice; a key a worker
 * holds is queued again once that worker is done with it.
 *
 * @return 0, DAAP_EINVALID (key empty or too long), DAAP_ERROR (out of memory),
 *         DAAP_ITEROVER (the queue is shut down; the key is ignored)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_workqueue_add(daap_workqueue *q, const char *key);

/**
 * Queue a key once delay_ms has passed (at once when delay_ms <= 0). A key
 * already waiting for a later time is moved to the earlier one.
 *
 * @return as daap_workqueue_add()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_workqueue_add_after(daap_workqueue *q, const char *key, int64_t delay_ms);

/**
 * Queue a key after its backoff: base_delay_ms * 2^(failures so far), at
 * most max_delay_ms; the key's failure count goes up by one.
 *
 * @return as daap_workqueue_add()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_workqueue_add_rate_limited(daap_workqueue *q, const char *key);

/** Reset a key's failure count (call it after a success). @since 0.1 */
DAAP_EXTERN(void) daap_workqueue_forget(daap_workqueue *q, const char *key);

/** How many times the key has been added rate-limited since its last forget. @since 0.1 */
DAAP_EXTERN(unsigned int) daap_workqueue_failures(daap_workqueue *q, const char *key);

/**
 * Take the next key, waiting up to timeout_ms for one (< 0: wait for ever).
 * The caller holds the key until daap_workqueue_done(); no other caller gets
 * it meanwhile.
 *
 * @param[out] key  receives the key
 * @param size      size of key; at least DAAP_WORKQUEUE_KEY_MAX + 1
 * @return 0, DAAP_ETIMEOUT (nothing came), DAAP_ITEROVER (shut down and
 *         nothing more to hand out: the worker should exit), DAAP_EINVALID
 * @since 0.1
 */
DAAP_EXTERN(int) daap_workqueue_get(daap_workqueue *q, char *key, size_t size, int32_t timeout_ms);

/** Give back a key taken with daap_workqueue_get(). @since 0.1 */
DAAP_EXTERN(void) daap_workqueue_done(daap_workqueue *q, const char *key);

/** Keys queued and ready now (not those held or waiting for a delay). @since 0.1 */
DAAP_EXTERN(size_t) daap_workqueue_len(daap_workqueue *q);

/**
 * Stop the queue: adds are ignored from now on, delayed keys are dropped,
 * and daap_workqueue_get() returns DAAP_ITEROVER once it has nothing more
 * to hand out (mode says whether keys queued now are still handed out).
 * Wakes every waiting worker. Keys held by workers stay theirs until done.
 * @since 0.1
 */
DAAP_EXTERN(void) daap_workqueue_shutdown(daap_workqueue *q, daap_workqueue_shutdown_mode mode);

/**
 * Wait until no worker holds a key, up to timeout_ms (< 0: for ever).
 * @return 0, or DAAP_ETIMEOUT
 * @since 0.1
 */
DAAP_EXTERN(int) daap_workqueue_wait_idle(daap_workqueue *q, int32_t timeout_ms);

/** Free a queue no worker uses any more. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_workqueue_free(daap_workqueue *q);

DAAP_END_DECL

#endif
