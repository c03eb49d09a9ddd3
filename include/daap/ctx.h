/**
 * @file daap/ctx.h
 * @brief Opening a library context on a store and a Kubernetes cluster.
 *
 * A context is used by one thread at a time; it may move between threads.
 * Open one context per thread that calls the library.
 */
#ifndef DAAP_CTX_H
#define DAAP_CTX_H

#include "common.h"
#include "types.h"

DAAP_BEGIN_DECL

/** Flags for daap_ctx_options.flags. */
typedef enum {
    /** Allow kubeconfigs with insecure-skip-tls-verify (refused otherwise). */
    DAAP_CTX_ALLOW_INSECURE_TLS = (1u << 0),
    /** Create the secret key file (mode 0600) when it does not exist. */
    DAAP_CTX_CREATE_KEY         = (1u << 1),
    /** Do not connect to Kubernetes at all (storage-only tools, migrations). */
    DAAP_CTX_NO_KUBE            = (1u << 2),
    /** Skip the check that the store's schema is fully migrated. */
    DAAP_CTX_NO_SCHEMA_CHECK    = (1u << 3)
} daap_ctx_flag;

/**
 * How to open a context. Zero or NULL fields take the documented default.
 * Append-only; start from DAAP_CTX_OPTIONS_INIT or daap_ctx_options_init().
 */
typedef struct {
    unsigned int version;            /**< DAAP_CTX_OPTIONS_VERSION */
    /** Store URI: sqlite:///path/daap.db, sqlite::memory:, postgres://...,
     *  postgresql://..., or http(s)://host:port for a remote daap-server.
     *  Default: $DAAP_STORE, else sqlite://var/daap.db. */
    const char  *store_uri;
    /** Kubeconfig path(s), ':'-separated; "fake" for the in-memory backend.
     *  Default: $KUBECONFIG, ~/.kube/config, then in-cluster config. */
    const char  *kubeconfig;
    const char  *kube_context;       /**< context name; default current-context */
    const char  *namespace_;         /**< namespace for new databases; default "daap" */
    const char  *template_dir;       /**< override templates; default $DAAP_TEMPLATE_DIR */
    const char  *secret_key_file;    /**< AES key file; default $DAAP_SECRET_KEY_FILE */
    const char  *cluster_domain;     /**< default "cluster.local" */
    /** PostgreSQL image per major: "16=ghcr.io/...:16.9,17=...". Default: built in. */
    const char  *image_map;
    int32_t      default_pg_version; /**< default 17 */
    int32_t      max_instances;      /**< default 9 */
    int64_t      provisioning_deadline_ms; /**< default 15 minutes */
    int32_t      kube_timeout_ms;    /**< per Kubernetes call; default 10000 */
    unsigned int flags;              /**< OR of daap_ctx_flag */
    const char  *team;               /**< caller's team for remote contexts (X-Daap-Team) */
    /* version 2 */
    /** How long events are kept after they last happened; the reconciler
     *  purges older ones in bounded batches. Default: $DAAP_EVENT_RETENTION_MS,
     *  else 30 days. */
    int64_t      event_retention_ms;
    /** Largest storage_size a resize may grow a database to, a Kubernetes
     *  quantity. Default: "64Ti", the largest a create may ask for. */
    const char  *max_storage_size;
} daap_ctx_options;

#define DAAP_CTX_OPTIONS_VERSION 2
#define DAAP_CTX_OPTIONS_INIT { DAAP_CTX_OPTIONS_VERSION }

/**
 * Initialise options to their defaults (for bindings that cannot use the macro).
 *
 * @param opts     the structure to fill
 * @param version  DAAP_CTX_OPTIONS_VERSION
 * @return 0 or DAAP_EINVALID for an unknown version
 * @since 0.1
 */
DAAP_EXTERN(int) daap_ctx_options_init(daap_ctx_options *opts, unsigned int version);

/**
 * Open a context from options: pick the storage backend by the URI scheme,
 * load the Kubernetes configuration, the templates and the secret key.
 *
 * Templates are parsed here, so a broken template fails now rather than at
 * the first create.
 *
 * @param[out] out  receives the context; release with daap_ctx_free()
 * @param opts      options, or NULL for all defaults
 * @return 0, DAAP_EINVALID (bad options, URI, template or kubeconfig),
 *         DAAP_EUNAVAILABLE (store unreachable), or another code
 * @since 0.1
 */
DAAP_EXTERN(int) daap_ctx_open(daap_ctx **out, const daap_ctx_options *opts);

/**
 * Open a context on a store URI with every other option at its default.
 *
 * @param[out] out  receives the context; release with daap_ctx_free()
 * @param store_uri see daap_ctx_options.store_uri
 * @return as daap_ctx_open()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_ctx_open_uri(daap_ctx **out, const char *store_uri);

/**
 * Close a context and free its backends. Accepts NULL.
 * @since 0.1
 */
DAAP_EXTERN(void) daap_ctx_free(daap_ctx *ctx);

/**
 * Check that the store and Kubernetes answer (for readiness probes).
 *
 * @return 0, or DAAP_EUNAVAILABLE naming the part that is down
 * @since 0.1
 */
DAAP_EXTERN(int) daap_ctx_ping(daap_ctx *ctx);

/**
 * The namespace new databases go to (borrowed from the context).
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_ctx_namespace(const daap_ctx *ctx);

/**
 * Whether the context talks to a remote daap-server (http:// store URI).
 * @return 1 or 0
 * @since 0.1
 */
DAAP_EXTERN(int) daap_ctx_is_remote(const daap_ctx *ctx);

/**
 * Write a new random 256-bit key file with mode 0600, if none exists.
 *
 * @param path  where the key goes
 * @return 0 (also when the file already existed) or DAAP_ERROR (class OS)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_secret_key_create(const char *path);

/**
 * Who a context's next calls are made for, recorded with the events they
 * write (DESIGN.md section 11). A server sets it per request and clears it
 * after. Append-only; start from DAAP_CALL_INFO_INIT or daap_call_info_init().
 */
typedef struct {
    unsigned int version;     /**< DAAP_CALL_INFO_VERSION */
    const char  *actor;       /**< the caller's team; NULL: the request's own team, or "reconciler" */
    const char  *request_id;  /**< the request id (e.g. X-Request-Id); NULL: none */
} daap_call_info;

#define DAAP_CALL_INFO_VERSION 1
#define DAAP_CALL_INFO_INIT { DAAP_CALL_INFO_VERSION }

/** @return 0 or DAAP_EINVALID for an unknown version. @since 0.1 */
DAAP_EXTERN(int) daap_call_info_init(daap_call_info *info, unsigned int version);

/**
 * Set (copy) or, with NULL, clear the call info of a context. Reconciler
 * writes are always by "reconciler", whatever is set.
 *
 * @param ctx   an open context
 * @param info  the call info, or NULL to clear it
 * @return 0, DAAP_EINVALID (bad version, or a value longer than 128 bytes
 *         or with control characters), DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_ctx_set_call_info(daap_ctx *ctx, const daap_call_info *info);

DAAP_END_DECL

#endif
