/**
 * @file daap/reconcile.h
 * @brief Bringing Kubernetes and the records together: one pass, or event-driven.
 *
 * The library starts no threads: callers run these from their own loop.
 */
#ifndef DAAP_RECONCILE_H
#define DAAP_RECONCILE_H

#include "common.h"
#include "types.h"

DAAP_BEGIN_DECL

/** Bounds for one pass. */
typedef struct {
    unsigned int version;    /**< DAAP_RECONCILE_OPTIONS_VERSION */
    int64_t      timeout_ms; /**< stop starting new work after this; 0: 30 s */
    uint32_t     max_records;/**< 0: no limit */
    int32_t      skip_orphans; /**< non-zero: do not look for orphaned objects */
} daap_reconcile_options;

#define DAAP_RECONCILE_OPTIONS_VERSION 1
#define DAAP_RECONCILE_OPTIONS_INIT { DAAP_RECONCILE_OPTIONS_VERSION }

/** @return 0 or DAAP_EINVALID. @since 0.1 */
DAAP_EXTERN(int) daap_reconcile_options_init(daap_reconcile_options *opts, unsigned int version);

/** What a pass did. */
typedef struct {
    unsigned int version;       /**< DAAP_RECONCILE_RESULT_VERSION */
    uint32_t examined;          /**< records looked at */
    uint32_t transitions;       /**< status changes written */
    uint32_t objects_created;   /**< Clusters/Poolers (re)created */
    uint32_t objects_deleted;   /**< Clusters/Poolers deleted */
    uint32_t orphans_removed;   /**< objects without a live record removed */
    uint32_t conflicts;         /**< compare-and-set lost to another writer */
    uint32_t failures;          /**< records whose step failed; retried next pass */
    uint32_t pending;           /**< records still not final after the pass */
} daap_reconcile_result;

#define DAAP_RECONCILE_RESULT_VERSION 1

/**
 * One bounded, level-triggered pass over every record that is not final:
 * create missing objects, move records to ready or error, finish deletes,
 * and remove daap-labelled objects that no live record owns. Idempotent.
 *
 * @param[out] out  receives counters (may be NULL)
 * @param opts      bounds, or NULL for defaults
 * @return 0 (even when single records failed: see out->failures),
 *         DAAP_EUNAVAILABLE (store or Kubernetes down)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_reconcile_once(daap_reconcile_result *out, daap_ctx *ctx,
                                     const daap_reconcile_options *opts);

/**
 * Reconcile a single record now.
 *
 * @return 0, DAAP_ENOTFOUND, DAAP_EUNAVAILABLE
 * @since 0.1
 */
DAAP_EXTERN(int) daap_reconcile_db(daap_ctx *ctx, const char *id);

/**
 * Called with the id of a record whose next step would wait on the network
 * beyond a Kubernetes call (a password rotation's verifying login through
 * the pooler). The callback must not block; it typically queues the id for
 * a worker thread that calls daap_reconcile_db() on a context of its own.
 */
typedef void (*daap_reconcile_handoff_cb)(const char *id, void *payload);

/**
 * Hand such steps off instead of doing them in this context's passes,
 * watch steps and daap_reconcile_db() calls, so that the thread that runs
 * them (a server's watch thread) never waits on a login. Without a handoff
 * (the default) every step is done in the calling thread, bounded by a few
 * seconds per record and pass.
 *
 * @param cb       the callback, or NULL to do every step here again
 * @param payload  passed to cb; borrowed, must outlive the context's use
 * @return 0 or DAAP_EINVALID (a remote context, whose server reconciles)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_reconcile_set_handoff(daap_ctx *ctx, daap_reconcile_handoff_cb cb, void *payload);

/**
 * Start watching daap-labelled Clusters, Poolers and pooler Deployments.
 * The watch uses the context; give it a context of its own.
 *
 * @param[out] out  receives the watch; release with daap_watch_free()
 * @return 0, DAAP_EUNAVAILABLE, DAAP_ENOTSUPPORTED
 * @since 0.1
 */
DAAP_EXTERN(int) daap_watch_open(daap_watch **out, daap_ctx *ctx);

/**
 * Wait up to timeout_ms for events and reconcile the records they touch.
 * Reconnects dropped watches from the last resourceVersion and relists after
 * 410 Gone by itself.
 *
 * @param[out] out  receives counters (may be NULL)
 * @return 0 (events handled or none arrived), DAAP_EUNAVAILABLE (the API is
 *         down; call again later, the watch recovers)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_watch_step(daap_watch *w, int32_t timeout_ms, daap_reconcile_result *out);

/**
 * A full pass, as daap_reconcile_once(), that compares the records with
 * what the watch has seen instead of listing Clusters and Poolers again:
 * the periodic resync of a front-end that keeps a watch open. It costs no
 * Kubernetes request unless a stream must be reopened or a record needs
 * an action. Records in other namespaces are observed with GETs.
 *
 * @param[out] out  receives counters (may be NULL)
 * @param opts      bounds, or NULL for defaults
 * @return as daap_reconcile_once()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_watch_resync(daap_reconcile_result *out, daap_watch *w,
                                   const daap_reconcile_options *opts);

/** Close a watch. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_watch_free(daap_watch *w);

DAAP_END_DECL

#endif
