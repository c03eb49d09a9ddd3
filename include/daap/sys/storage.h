/**
 * @file daap/sys/storage.h
 * @brief The storage backend vtable, for backend authors.
 *
 * A backend keeps database records. Implementations embed
 * daap_storage_backend as their first member. The core calls backends only
 * through its own wrappers, which check the version and required methods
 * when the backend is installed. Every write is a compare-and-set on the
 * record's revision.
 */
#ifndef DAAP_SYS_STORAGE_H
#define DAAP_SYS_STORAGE_H

#include "../common.h"
#include "../types.h"
#include "../migrate.h"
#include "../ctx.h"
#include "../idempotency.h"
#include "db.h"

DAAP_BEGIN_DECL

/** A list query, already validated by the core. */
typedef struct {
    unsigned int version;       /**< DAAP_STORAGE_QUERY_VERSION */
    const char  *owner_team;    /**< NULL: any */
    unsigned int status_mask;   /**< OR of DAAP_DB_STATUS_BIT(); 0: any */
    const char  *name_prefix;   /**< NULL: any; matched literally (no LIKE wildcards) */
    int32_t      include_deleted; /**< 0: only rows with deleted_at unset */
    int64_t      after_created_at; /**< keyset: rows strictly after (created_at, id) */
    const char  *after_id;      /**< NULL: from the start */
    uint32_t     limit;         /**< max rows; 0: no limit */
    /* version 2 */
    int32_t      skip_connection; /**< non-zero: the caller does not read the
                                       connection fields (host … direct_port),
                                       so the backend may leave them unset */
} daap_storage_query;

#define DAAP_STORAGE_QUERY_VERSION 2

/** An event page query (version 3), already validated by the core. */
typedef struct {
    unsigned int version;       /**< DAAP_STORAGE_EVENT_QUERY_VERSION */
    const char  *database_id;
    int64_t      before_id;     /**< keyset: ids strictly below; INT64_MAX from the newest */
    int32_t      warnings_only; /**< non-zero: only DAAP_DB_EVENT_WARNING */
    uint32_t     limit;         /**< max rows, at least 1 */
} daap_storage_event_query;

#define DAAP_STORAGE_EVENT_QUERY_VERSION 1

/**
 * Receives one row of daap_storage_backend.scan(). The record is borrowed
 * and valid only during the call: copy it with daap_db_dup() to keep it.
 *
 * @return 0 to go on, 1 to stop the scan early (not an error), or a
 *         negative daap_error_code, which the scan returns
 */
typedef int (*daap_storage_row_cb)(const daap_db *row, void *payload);

/** An idempotency key as the store sees it (version 3 of the vtable). */
typedef struct {
    unsigned int version;     /**< DAAP_STORAGE_IDEM_VERSION */
    const char  *scope;       /**< the caller's team, "" for none */
    const char  *key;         /**< the key, 1 to DAAP_IDEMPOTENCY_KEY_MAX characters */
    const char  *fingerprint; /**< hex SHA-256 of the request */
    int64_t      now;         /**< ms since the epoch: rows with expires_at <= now are free */
    int64_t      expires_at;  /**< ms: idem_begin: end of the lease; idem_finish: end of the key's life */
} daap_storage_idem;

#define DAAP_STORAGE_IDEM_VERSION 1

/** The vtable. Methods are appended only. */
struct daap_storage_backend {
    unsigned int version;  /**< DAAP_STORAGE_BACKEND_VERSION */
    const char  *name;     /**< "sqlite", "postgres": for messages */

    /** Required. Insert a new record (revision as given, normally 1).
     *  @return 0, DAAP_EEXISTS (id, or a name held by a record whose status
     *  is not deleted), DAAP_EUNAVAILABLE */
    int  (*insert)(daap_storage_backend *be, const daap_db *db);

    /** Required. Fetch by id, soft-deleted records included.
     *  @return 0 or DAAP_ENOTFOUND */
    int  (*get)(daap_db **out, daap_storage_backend *be, const char *id);

    /** Required. Rows matching `q` in (created_at, id) order, appended to `out`.
     *  Must use an index and never sort the whole table. */
    int  (*list)(daap_db_array *out, daap_storage_backend *be, const daap_storage_query *q);

    /** Required. Write every field of `db` where id matches and revision
     *  equals `expected_revision`. `db`'s revision must be expected+1.
     *  @return 0, DAAP_ENOTFOUND, DAAP_ECONFLICT (revision moved on),
     *  DAAP_EEXISTS (the name is held by another live record) */
    int  (*update)(daap_storage_backend *be, const daap_db *db, int64_t expected_revision);

    /** Required. Release the backend. */
    void (*free)(daap_storage_backend *be);

    /** Optional. Cheap round trip. NULL: assumed up. */
    int  (*ping)(daap_storage_backend *be);

    /** Optional. Migrate to `target` (-1: latest); see daap_migrate().
     *  NULL: the backend needs no schema. */
    int  (*migrate)(daap_storage_backend *be, int32_t target);

    /** Optional. Report migrations; NULL: DAAP_ENOTSUPPORTED. */
    int  (*migration_status)(daap_migration_status *out, daap_storage_backend *be);

    /* version 2 */

    /** Optional. The rows of list(), in the same order, handed to `cb` one
     *  at a time without copying them: the fast path for rendering pages.
     *  NULL: the core uses list().
     *  @return 0 (also when `cb` stopped the scan), the first negative code
     *  `cb` returned, or DAAP_EUNAVAILABLE */
    int  (*scan)(daap_storage_backend *be, const daap_storage_query *q, daap_storage_row_cb cb, void *payload);

    /* version 3: event history */

    /** Optional. insert() and the events that describe it, in one
     *  transaction: both are written or neither is. Each event is folded
     *  into the record's newest event when type, reason and message match
     *  (count + 1, last_at = its at), else appended. The events' id,
     *  database_id, last_at and count are ignored (the record's id is used).
     *  NULL: the core calls insert() and keeps no history.
     *  @return as insert() */
    int  (*insert_with_events)(daap_storage_backend *be, const daap_db *db,
                               const daap_db_event *events, size_t count);

    /** Optional. update() and its events in one transaction, folded as in
     *  insert_with_events(). NULL: the core calls update() alone.
     *  @return as update() */
    int  (*update_with_events)(daap_storage_backend *be, const daap_db *db, int64_t expected_revision,
                               const daap_db_event *events, size_t count);

    /** Optional. A record's events newest first (by id), appended to `out`
     *  with daap_db_event_page_push(); next_cursor is the core's. Must read
     *  the (database_id, id) index. NULL: DAAP_ENOTSUPPORTED.
     *  @return 0 or DAAP_EUNAVAILABLE */
    int  (*events)(daap_db_event_page *out, daap_storage_backend *be, const daap_storage_event_query *q);

    /** Optional. Delete at most `max_rows` events whose last_at is before
     *  `before_ms`, oldest first; `*purged` receives how many went. NULL:
     *  nothing to purge.
     *  @return 0 or DAAP_EUNAVAILABLE */
    int  (*purge_events)(uint32_t *purged, daap_storage_backend *be, int64_t before_ms, uint32_t max_rows);
    /* version 3: idempotency keys (daap/idempotency.h). Optional as a set:
     * a backend has all four or none; NULL: DAAP_ENOTSUPPORTED. */

    /** Claim k->key in k->scope, atomically across every process on the
     *  store: remove the row if its expires_at <= k->now, insert it in
     *  flight (fingerprint, expires_at = k->expires_at) unless a row
     *  exists, then read it. Fill `out`: STARTED (inserted), IN_FLIGHT,
     *  DONE (status, location, body set with daap_buf_put()) or MISMATCH
     *  (the row has another fingerprint).
     *  @return 0 or DAAP_EUNAVAILABLE */
    int  (*idem_begin)(daap_idempotency_record *out, daap_storage_backend *be, const daap_storage_idem *k);

    /** Store the response of the in-flight row with k's scope, key and
     *  fingerprint, and set its expires_at to k->expires_at.
     *  @return 0, DAAP_ECONFLICT (no such in-flight row), DAAP_EUNAVAILABLE */
    int  (*idem_finish)(daap_storage_backend *be, const daap_storage_idem *k, int32_t status,
                        const char *location, const char *body, size_t len);

    /** Delete the in-flight row with k's scope, key and fingerprint, if any.
     *  @return 0 or DAAP_EUNAVAILABLE */
    int  (*idem_abandon)(daap_storage_backend *be, const daap_storage_idem *k);

    /** Delete up to `limit` rows with expires_at <= now, through the index
     *  on expires_at; *purged receives the count.
     *  @return 0 or DAAP_EUNAVAILABLE */
    int  (*idem_purge)(uint32_t *purged, daap_storage_backend *be, int64_t now, uint32_t limit);
};

#define DAAP_STORAGE_BACKEND_VERSION 3

/**
 * Initialiser for a storage backend: this header's version, every method
 * NULL. Start from it and set the methods you implement, so a backend built
 * against a newer header gets NULL for methods it does not know:
 * `daap_storage_backend be = DAAP_STORAGE_BACKEND_INIT;` (docs/backends.md).
 * @since 0.1
 */
#define DAAP_STORAGE_BACKEND_INIT { DAAP_STORAGE_BACKEND_VERSION }

/**
 * A list() for backends that implement scan(): runs be->scan() and appends
 * a copy of every row to `out`. Built-in backends use it as their list().
 *
 * @return as scan()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_storage_list_by_scan(daap_db_array *out, daap_storage_backend *be,
                                           const daap_storage_query *q);

/**
 * Factory for a URI scheme.
 *
 * @param[out] out  receives a backend the caller will own
 * @param uri       the full store URI
 * @param payload   the pointer given to daap_storage_register()
 */
typedef int (*daap_storage_factory)(daap_storage_backend **out, const char *uri, void *payload);

/**
 * Register a factory for a URI scheme ("sqlite", "postgres", ...). Do this
 * before opening contexts. Registering a scheme again replaces it.
 *
 * @return 0, DAAP_EINVALID, DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_storage_register(const char *scheme, daap_storage_factory factory, void *payload);

/**
 * Open the built-in SQLite backend.
 *
 * @param[out] out  receives the backend
 * @param path      a file path, or ":memory:"
 * @return 0, DAAP_EUNAVAILABLE (cannot open), DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_storage_sqlite_new(daap_storage_backend **out, const char *path);

/**
 * Open the built-in PostgreSQL backend.
 *
 * @param[out] out  receives the backend
 * @param conninfo  a libpq URI or keyword string
 * @return 0, DAAP_EUNAVAILABLE, DAAP_EAUTH, DAAP_ENOTSUPPORTED (not built)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_storage_postgres_new(daap_storage_backend **out, const char *conninfo);

/**
 * Open a context on backends you built. On success the context owns both
 * backends and frees them; on failure the caller still owns them.
 *
 * @param[out] out  receives the context; release with daap_ctx_free()
 * @param storage   required
 * @param kube      may be NULL for storage-only use
 * @param opts      options (store_uri and kubeconfig are ignored), or NULL
 * @return 0 or DAAP_EINVALID (version or required methods missing)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_ctx_open_backends(daap_ctx **out, daap_storage_backend *storage,
                                        daap_kube_backend *kube, const daap_ctx_options *opts);

DAAP_END_DECL

#endif
