/**
 * @file daap/db.h
 * @brief The database record and its lifecycle: create, get, list, update, delete.
 */
#ifndef DAAP_DB_H
#define DAAP_DB_H

#include "common.h"
#include "types.h"
#include "buffer.h"
#include "errors.h"

DAAP_BEGIN_DECL

/** What a caller asks for. Zero fields take the context's defaults. */
typedef struct {
    unsigned int version;      /**< DAAP_DB_SPEC_VERSION */
    const char  *name;         /**< required; see DESIGN naming rules */
    const char  *owner_team;   /**< required */
    const char  *purpose;      /**< required */
    int32_t      instances;    /**< 0: default 1 */
    const char  *storage_size; /**< NULL: "1Gi" */
    int32_t      pg_version;   /**< 0: the context's default */
    /* version 2: idempotency keys */
    /** NULL: none. A key (daap/idempotency.h) makes a retried create safe:
     *  the same key with the same spec gives back the database the first
     *  call made, never a second one. A spec field rather than a call
     *  option, because the key belongs to this one request as its fields
     *  do, and the spec already carries a version to grow by. Remote
     *  contexts send it as the Idempotency-Key header; local ones keep it
     *  in the store, scoped to owner_team, and store only successes. */
    const char  *idempotency_key;
    /* version 2 also: deletion protection */
    int32_t      deletion_protection; /**< non-zero: DELETE is refused until it is turned off */
} daap_db_spec;

#define DAAP_DB_SPEC_VERSION 2
#define DAAP_DB_SPEC_INIT { DAAP_DB_SPEC_VERSION }

/** @return 0 or DAAP_EINVALID. @since 0.1 */
DAAP_EXTERN(int) daap_db_spec_init(daap_db_spec *spec, unsigned int version);

/**
 * Validate a spec without creating anything.
 *
 * Every bad field is reported at once in daap_error_last()->fields.
 *
 * @return 0 or DAAP_EINVALID
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_validate(daap_ctx *ctx, const daap_db_spec *spec);

/**
 * Create a database: validate, record it as provisioning, create the CNPG
 * Cluster and Pooler.
 *
 * When Kubernetes cannot be reached the record stays provisioning and the
 * reconciler creates the objects later (see docs/adr/0002-create-semantics.md);
 * the call still succeeds.
 *
 * With spec->idempotency_key (version 2) a second call with the same key
 * and spec answers the first call's record instead of creating again.
 *
 * @param[out] out  receives the new record; release with daap_db_free()
 * @return 0, DAAP_EINVALID (field errors, or the key was used with another
 *         spec), DAAP_EEXISTS (name in use), DAAP_ECONFLICT (a call with
 *         the key is still in flight), DAAP_EUNAVAILABLE (store down)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_create(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec);

/**
 * Create a database from a JSON request body ({"name", "owner_team",
 * "purpose", "instances"?, "storage_size"?, "pg_version"?}).
 *
 * Malformed JSON, duplicate keys, unknown fields, wrong types, invalid UTF-8
 * and control characters are all DAAP_EINVALID with field errors.
 *
 * @param[out] out  receives the new record; release with daap_db_free()
 * @param json      the body (need not be NUL-terminated)
 * @param len       its length in bytes
 * @return as daap_db_create()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_create_json(daap_db **out, daap_ctx *ctx, const char *json, size_t len);

/**
 * Fetch a live record. When it is ready, the connection details are
 * decrypted and available through the getters.
 *
 * @param[out] out  receives the record; release with daap_db_free()
 * @param id        the record id
 * @return 0, DAAP_ENOTFOUND (unknown or soft-deleted), DAAP_ECRYPTO,
 *         DAAP_EUNAVAILABLE
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_get(daap_db **out, daap_ctx *ctx, const char *id);

/** Filters and paging for daap_db_list(). */
typedef struct {
    unsigned int version;      /**< DAAP_DB_LIST_OPTIONS_VERSION */
    const char  *owner_team;   /**< NULL: any team */
    unsigned int status_mask;  /**< OR of DAAP_DB_STATUS_BIT(); 0: any */
    const char  *name_prefix;  /**< NULL: any name */
    int32_t      include_deleted; /**< non-zero: include soft-deleted records */
    uint32_t     limit;        /**< page size; 0: 20; at most 100 */
    const char  *cursor;       /**< next_cursor of the previous page, or NULL */
} daap_db_list_options;

#define DAAP_DB_LIST_OPTIONS_VERSION 1
#define DAAP_DB_LIST_OPTIONS_INIT { DAAP_DB_LIST_OPTIONS_VERSION }

/** @return 0 or DAAP_EINVALID. @since 0.1 */
DAAP_EXTERN(int) daap_db_list_options_init(daap_db_list_options *opts, unsigned int version);

/** One page of records, owned by the caller. */
typedef struct {
    daap_db **items;   /**< count records */
    size_t    count;
    char     *next_cursor; /**< opaque; NULL on the last page */
} daap_db_page;

/**
 * List records in (created_at, id) order, one keyset page at a time.
 *
 * @param[out] out  receives the page; release with daap_db_page_dispose()
 * @param opts      filters, or NULL for the first page of everything
 * @return 0, DAAP_EINVALID (bad limit or cursor), DAAP_EUNAVAILABLE
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_list(daap_db_page *out, daap_ctx *ctx, const daap_db_list_options *opts);

/**
 * Render a list page straight to JSON ({"items": [...], "next_cursor": ...})
 * without building records, for the fast list path of servers.
 *
 * @param[out] out  receives the JSON; release with daap_buf_dispose()
 * @return as daap_db_list()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_list_json(daap_buf *out, daap_ctx *ctx, const daap_db_list_options *opts);

/** Free a page's records and cursor. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_db_page_dispose(daap_db_page *page);

/** The mutable fields. NULL means unchanged. */
typedef struct {
    unsigned int version;    /**< DAAP_DB_UPDATE_VERSION */
    const char  *owner_team;
    const char  *purpose;
    /* version 2 */
    int32_t      deletion_protection; /**< a daap_db_protection; 0: unchanged */
    /* version 3: a resize of a ready database (docs/day2.md) */
    int32_t      instances;    /**< 1..max_instances; 0: unchanged */
    const char  *storage_size; /**< grow only, up to max_storage_size; NULL: unchanged */
} daap_db_update_spec;

/** What an update does to deletion protection. */
typedef enum {
    DAAP_DB_PROTECTION_UNCHANGED = 0,
    DAAP_DB_PROTECTION_ON        = 1, /**< refuse DELETE from now on */
    DAAP_DB_PROTECTION_OFF       = 2  /**< allow DELETE again */
} daap_db_protection;

#define DAAP_DB_UPDATE_VERSION 3
#define DAAP_DB_UPDATE_INIT { DAAP_DB_UPDATE_VERSION }

/** @return 0 or DAAP_EINVALID. @since 0.1 */
DAAP_EXTERN(int) daap_db_update_spec_init(daap_db_update_spec *spec, unsigned int version);

/**
 * Change owner_team, purpose and/or deletion protection, or resize: grow
 * storage_size and/or change instances. The caller's team must own the
 * record.
 *
 * A resize needs a ready database with no other resize rolling out; the
 * record keeps the new values at once and the reconciler patches the
 * Cluster, while the database stays ready with a status_reason that says
 * what is rolling out, until CNPG reports it done.
 *
 * @param[out] out   receives the updated record (may be NULL)
 * @param id         the record id
 * @param caller_team the team making the change
 * @return 0, DAAP_ENOTFOUND, DAAP_EFORBIDDEN, DAAP_EINVALID (also a storage
 *         shrink, or more than the maximum), DAAP_ECONFLICT (also a resize of
 *         a database that is not ready or is still rolling out a change)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_update(daap_db **out, daap_ctx *ctx, const char *id,
                                const char *caller_team, const daap_db_update_spec *spec);

/**
 * Update from a JSON body. Fields other than owner_team, purpose,
 * deletion_protection (a boolean), instances and storage_size are rejected
 * as "immutable"; unknown ones as "unknown_field".
 *
 * @return as daap_db_update()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_update_json(daap_db **out, daap_ctx *ctx, const char *id,
                                     const char *caller_team, const char *json, size_t len);

/* ---- password rotation (docs/day2.md) */

/**
 * Rotate the password of a ready database: a new random password (64
 * letters and digits, as CNPG makes them) is stored encrypted in the record
 * as pending, and the reconciler writes it into the Cluster's `-app`
 * Secret (label `cnpg.io/reload: "true"`, so CNPG applies it to the role).
 * Only once a login with it succeeds through the pooler does the record
 * take it as its password, with a PasswordRotated event. A rotation that
 * cannot log in within the rotation deadline ($DAAP_ROTATION_DEADLINE_MS,
 * default 2 minutes) puts the old password back into the Secret, keeps the
 * old credentials in the record and writes a PasswordRotationFailed
 * warning event that says why. The database stays ready all along, with a
 * status_reason that starts with "rotating password:" while it is under
 * way. The pending password never appears in JSON, lists or events.
 *
 * @param[out] out   receives the record as it is after the call (may be
 *                   NULL); it still carries the old password
 * @param id         the record id
 * @param caller_team the team making the change: the owner team
 * @return 0, DAAP_ENOTFOUND, DAAP_EFORBIDDEN (not the owner team),
 *         DAAP_ECONFLICT (not ready, or a resize or another rotation is
 *         still under way)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_rotate_password(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team);

/**
 * Delete a database: soft-delete the record (status deleting), remove the
 * Pooler, then the Cluster. The record becomes deleted once both are gone,
 * here or in a later reconcile pass.
 *
 * @param[out] out   receives the record as it is after the call (may be NULL)
 * @param id         the record id
 * @param caller_team the team making the change
 * @return 0 (out's status is deleting, or deleted when it was already
 *         gone), DAAP_ENOTFOUND (unknown id), DAAP_EFORBIDDEN,
 *         DAAP_EPROTECTED (deletion protection is on; turn it off with an
 *         update first)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_delete(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team);

/** Free a record. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_db_free(daap_db *db);

/** @name Getters. Strings are borrowed from the record; NULL when unset.
 *  @{ */
DAAP_EXTERN(const char *) daap_db_id(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_name(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_owner_team(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_purpose(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_namespace(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_cluster_name(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_pooler_name(const daap_db *db);
DAAP_EXTERN(int32_t)      daap_db_instances(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_storage_size(const daap_db *db);
DAAP_EXTERN(int32_t)      daap_db_pg_version(const daap_db *db);
DAAP_EXTERN(int)          daap_db_status(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_status_reason(const daap_db *db);
DAAP_EXTERN(int64_t)      daap_db_revision(const daap_db *db);
/** When the resize now rolling out began (ms since the epoch); 0 when none is. @since 0.1 */
DAAP_EXTERN(int64_t)      daap_db_change_started_at(const daap_db *db);
/** Non-zero while DELETE is refused (deletion protection). @since 0.1 */
DAAP_EXTERN(int)          daap_db_deletion_protection(const daap_db *db);
/** Timestamps: milliseconds since the Unix epoch, UTC; 0 when unset. */
DAAP_EXTERN(int64_t)      daap_db_created_at(const daap_db *db);
DAAP_EXTERN(int64_t)      daap_db_updated_at(const daap_db *db);
DAAP_EXTERN(int64_t)      daap_db_ready_at(const daap_db *db);
DAAP_EXTERN(int64_t)      daap_db_deleted_at(const daap_db *db);
/** Pooled (PgBouncer) endpoint; set once ready. */
DAAP_EXTERN(const char *) daap_db_host(const daap_db *db);
DAAP_EXTERN(int32_t)      daap_db_port(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_dbname(const daap_db *db);
DAAP_EXTERN(const char *) daap_db_username(const daap_db *db);
/** The password: only for ready records fetched with daap_db_get(). */
DAAP_EXTERN(const char *) daap_db_password(const daap_db *db);
/** Direct endpoint at <cluster>-rw, for sessions that need session state. */
DAAP_EXTERN(const char *) daap_db_direct_host(const daap_db *db);
DAAP_EXTERN(int32_t)      daap_db_direct_port(const daap_db *db);
/** @} */

/**
 * The pooled connection URI, postgresql://user:password@host:port/dbname.
 *
 * @param[out] out  receives the URI; release with daap_buf_dispose()
 * @return 0, or DAAP_ENOTFOUND when the record is not ready or has no password
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_uri(daap_buf *out, const daap_db *db);

/** Flags for daap_db_to_json(). */
typedef enum {
    DAAP_JSON_PRETTY      = (1u << 0), /**< indent for people */
    DAAP_JSON_NO_SECRETS  = (1u << 1)  /**< omit the connection object */
} daap_json_flag;

/**
 * Render a record as the API's JSON. The "connection" object appears only
 * for ready records that carry a password, unless DAAP_JSON_NO_SECRETS.
 *
 * @param[out] out  receives the JSON (appended); release with daap_buf_dispose()
 * @param flags     OR of daap_json_flag
 * @return 0 or DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_to_json(daap_buf *out, const daap_db *db, unsigned int flags);

/**
 * Render a page as {"items": [...], "next_cursor": "..."|null}.
 * @return 0 or DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_page_to_json(daap_buf *out, const daap_db_page *page, unsigned int flags);

/**
 * Render the calling thread's last error as an RFC 9457 problem document
 * ({type, title, status, detail, errors[]}), with the HTTP status from
 * daap_error_http_status().
 *
 * @param[out] out  receives the JSON; release with daap_buf_dispose()
 * @param instance  the request path or id for "instance", or NULL
 * @return 0 or DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_error_to_problem_json(daap_buf *out, const daap_error *err, const char *instance);

/**
 * Parse the query string of GET /databases (owner_team, status, name, limit,
 * cursor, include_deleted) into options. Strings in opts point into storage
 * owned by `scratch`, which the caller disposes after use.
 *
 * @param[out] opts     filled options
 * @param[out] scratch  holds the decoded strings; release with daap_buf_dispose()
 * @param query         the raw query string (without '?'), may be NULL
 * @return 0 or DAAP_EINVALID with a field error naming the parameter
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_list_options_parse(daap_db_list_options *opts, daap_buf *scratch, const char *query);

/* ---- waiting for a change (server-side wait, DESIGN.md section 11) */

/** The longest one server-side wait lasts: GET /databases/{id}?wait= is capped here. */
#define DAAP_DB_WAIT_MAX_MS 60000

/** What daap_db_wait() waits for. */
typedef struct {
    unsigned int version;    /**< DAAP_DB_WAIT_OPTIONS_VERSION */
    int64_t      revision;   /**< answer once the record's revision differs from this */
    int64_t      timeout_ms; /**< give up after this long; 0: look once */
} daap_db_wait_options;

#define DAAP_DB_WAIT_OPTIONS_VERSION 1
#define DAAP_DB_WAIT_OPTIONS_INIT { DAAP_DB_WAIT_OPTIONS_VERSION }

/** @return 0 or DAAP_EINVALID. @since 0.1 */
DAAP_EXTERN(int) daap_db_wait_options_init(daap_db_wait_options *opts, unsigned int version);

/**
 * Parse the query string of GET /databases/{id} (`wait` and `revision`,
 * both or neither) into options. `wait` is a duration such as 500ms, 30s
 * or 1m (a bare number is seconds); a longer wait than DAAP_DB_WAIT_MAX_MS
 * is cut to it. `revision` is a non-negative integer.
 *
 * @param[out] opts     filled options
 * @param[out] waiting  set to 1 when the query asks to wait, 0 when it is empty
 * @param query         the raw query string (without '?'), may be NULL
 * @return 0 or DAAP_EINVALID with a field error naming the parameter
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_wait_options_parse(daap_db_wait_options *opts, int32_t *waiting, const char *query);

/**
 * Wait until the record's revision differs from opts->revision, it is
 * deleted, or opts->timeout_ms passes. A local context reads the store
 * every 100 ms; a remote one asks its daap-server to hold the request
 * (GET /databases/{id}?wait=&revision=, in rounds of at most
 * DAAP_DB_WAIT_MAX_MS), so the answer comes as soon as the server writes.
 * The call blocks the calling thread for up to opts->timeout_ms (plus one
 * store or HTTP round trip).
 *
 * @param[out] out  receives the changed record; release with daap_db_free().
 *                  NULL on every failure, timeouts included
 * @param id        the record id
 * @param opts      what to wait for (required: a revision is needed)
 * @return 0 (the revision differs), DAAP_ENOTFOUND (deleted, or never
 *         existed), DAAP_ETIMEOUT (still at opts->revision when the time was
 *         up), DAAP_EINVALID (bad options), DAAP_EUNAVAILABLE
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_wait(daap_db **out, daap_ctx *ctx, const char *id, const daap_db_wait_options *opts);

/** @name Event history (DESIGN.md section 11)
 * What happened to a database and when: every status and status_reason
 * change, every accepted PATCH and DELETE and every Kubernetes error the
 * reconciler meets. A repeat of the newest event's type, reason and message
 * folds into it (count, last_at), as Kubernetes event series do.
 * @{ */

/** The kind of an event. Values are frozen. */
typedef enum {
    DAAP_DB_EVENT_NORMAL  = 0,
    DAAP_DB_EVENT_WARNING = 1
} daap_db_event_type;

/** One event. Strings are owned by the page that holds it. */
typedef struct {
    int64_t     id;          /**< increasing per installation; the cursor key */
    const char *database_id;
    int64_t     at;          /**< first seen, ms since the Unix epoch (UTC) */
    int64_t     last_at;     /**< last seen (equals at while count is 1) */
    int32_t     type;        /**< daap_db_event_type */
    const char *reason;      /**< CamelCase: Created, Progress, Ready, Failed, ... */
    const char *message;     /**< for people */
    const char *from_status; /**< status name before, or NULL when unchanged */
    const char *to_status;   /**< status name after, or NULL when unchanged */
    const char *actor;       /**< the caller's team, or "reconciler" */
    const char *request_id;  /**< the HTTP request id, or NULL */
    int64_t     count;       /**< how many times it happened (folded repeats) */
} daap_db_event;

/** One page of events, newest first, owned by the caller. */
typedef struct {
    daap_db_event *items;
    size_t         count;
    char          *next_cursor; /**< opaque; NULL on the last page */
} daap_db_event_page;

/** Paging and filter for daap_db_events(). */
typedef struct {
    unsigned int version;       /**< DAAP_DB_EVENTS_OPTIONS_VERSION */
    uint32_t     limit;         /**< page size; 0: 50; at most 200 */
    const char  *cursor;        /**< next_cursor of the previous page, or NULL */
    int32_t      warnings_only; /**< non-zero: only DAAP_DB_EVENT_WARNING */
} daap_db_events_options;

#define DAAP_DB_EVENTS_OPTIONS_VERSION 1
#define DAAP_DB_EVENTS_OPTIONS_INIT { DAAP_DB_EVENTS_OPTIONS_VERSION }

/** @return 0 or DAAP_EINVALID. @since 0.1 */
DAAP_EXTERN(int) daap_db_events_options_init(daap_db_events_options *opts, unsigned int version);

/**
 * Read a page of a database's event history, newest first. Works for
 * soft-deleted databases too: the trail outlives the record.
 *
 * @param[out] out  receives the page; release with daap_db_event_page_dispose()
 * @param ctx       an open context
 * @param id        the database id
 * @param opts      paging and filter, or NULL for the first 50
 * @return 0, DAAP_ENOTFOUND (no such database), DAAP_EINVALID (bad limit
 *         or cursor, with a field error), DAAP_ENOTSUPPORTED (the storage
 *         backend keeps no history), or another negative daap_error_code
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_events(daap_db_event_page *out, daap_ctx *ctx, const char *id,
                                const daap_db_events_options *opts);

/** Free a page's events and cursor. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_db_event_page_dispose(daap_db_event_page *page);

/** The name of an event type: "normal" or "warning" (NULL when unknown). @since 0.1 */
DAAP_EXTERN(const char *) daap_db_event_type_name(int type);

/**
 * Render a page as {"items": [...], "next_cursor": "..."|null}, each item
 * {id, database_id, at, last_at, type, reason, message, from_status,
 * to_status, actor, request_id, count} with RFC 3339 times.
 *
 * @param[out] out  receives the JSON (appended); release with daap_buf_dispose()
 * @param flags     DAAP_JSON_PRETTY or 0
 * @return 0 or DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_event_page_to_json(daap_buf *out, const daap_db_event_page *page, unsigned int flags);

/**
 * Parse the query string of GET /databases/{id}/events (limit, cursor, and
 * type, whose one value is "warning") into options. Strings in
 * opts point into `scratch`, which the caller disposes after use.
 *
 * @param[out] opts     filled options
 * @param[out] scratch  holds the decoded strings; release with daap_buf_dispose()
 * @param query         the raw query string (without '?'), may be NULL
 * @return 0 or DAAP_EINVALID with a field error naming the parameter
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_events_options_parse(daap_db_events_options *opts, daap_buf *scratch,
                                              const char *query);
/** @} */

DAAP_END_DECL

#endif
