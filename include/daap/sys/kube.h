/**
 * @file daap/sys/kube.h
 * @brief The Kubernetes backend vtable and object accessors, for backend authors.
 *
 * A Kubernetes backend creates, reads, lists, watches and deletes the few
 * object kinds daap uses. Objects are JSON documents behind an opaque handle;
 * accessors read fields by dotted path.
 */
#ifndef DAAP_SYS_KUBE_H
#define DAAP_SYS_KUBE_H

#include "../common.h"
#include "../types.h"
#include "../buffer.h"

DAAP_BEGIN_DECL

/** The object kinds daap touches. Values are frozen. */
typedef enum {
    DAAP_KUBE_CLUSTER = 1,   /**< postgresql.cnpg.io/v1 Cluster */
    DAAP_KUBE_POOLER,        /**< postgresql.cnpg.io/v1 Pooler */
    DAAP_KUBE_SECRET,        /**< v1 Secret */
    DAAP_KUBE_SERVICE,       /**< v1 Service */
    DAAP_KUBE_DEPLOYMENT,    /**< apps/v1 Deployment */
    DAAP_KUBE_NAMESPACE      /**< v1 Namespace (cluster-scoped) */
} daap_kube_kind;

/** Names one object. */
typedef struct {
    int         kind;       /**< a daap_kube_kind */
    const char *namespace_; /**< NULL for cluster-scoped kinds */
    const char *name;
} daap_kube_ref;

/** Static facts about a kind: API path pieces and names. */
typedef struct {
    const char *api_version; /**< "postgresql.cnpg.io/v1", "v1", "apps/v1" */
    const char *kind;        /**< "Cluster" */
    const char *plural;      /**< "clusters" */
    const char *api_prefix;  /**< "/apis/postgresql.cnpg.io/v1" or "/api/v1" */
    int         namespaced;
} daap_kube_kind_info;

/** @return the facts for `kind`, or NULL. @since 0.1 */
DAAP_EXTERN(const daap_kube_kind_info *) daap_kube_kind_describe(int kind);

/**
 * Parse a JSON object into a new Kubernetes object.
 *
 * @param[out] out  receives the object; release with daap_kube_object_free()
 * @return 0 or DAAP_EINVALID (not a JSON object)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_object_parse(daap_kube_object **out, const char *json, size_t len);

/**
 * Serialise an object as compact JSON (appended to out).
 * @return 0 or DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_object_to_json(daap_buf *out, const daap_kube_object *obj);

/** A deep copy. @return 0 or DAAP_ERROR. @since 0.1 */
DAAP_EXTERN(int) daap_kube_object_dup(daap_kube_object **out, const daap_kube_object *obj);

/** Free an object. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_kube_object_free(daap_kube_object *obj);

/**
 * A string field by dotted path ("metadata.name", "status.phase"); a path
 * element may be an array index ("spec.ports.0.port" is not a string: use
 * daap_kube_object_int). Keys containing dots are written with a backslash
 * before each dot ("metadata.labels.app\\.kubernetes\\.io/name").
 *
 * @return the borrowed string, or NULL when absent or not a string
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_kube_object_str(const daap_kube_object *obj, const char *path);

/**
 * An integer field by dotted path.
 * @return 0 or DAAP_ENOTFOUND (absent or not an integer)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_object_int(int64_t *out, const daap_kube_object *obj, const char *path);

/**
 * Set a string field by dotted path, creating intermediate objects.
 * @return 0, DAAP_EINVALID, DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_object_set_str(daap_kube_object *obj, const char *path, const char *value);

/**
 * Set an integer field by dotted path, creating intermediate objects.
 * @return 0, DAAP_EINVALID, DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_object_set_int(daap_kube_object *obj, const char *path, int64_t value);

/**
 * A label value, or NULL.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_kube_object_label(const daap_kube_object *obj, const char *key);

/**
 * The status of condition `type` in status.conditions.
 * @return 1 for "True", 0 for "False"/"Unknown", DAAP_ENOTFOUND when absent
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_object_condition(const daap_kube_object *obj, const char *type);

/**
 * Decode a base64 value of a Secret's data map.
 * @param[out] out  receives the decoded bytes; release with daap_buf_dispose()
 * @return 0, DAAP_ENOTFOUND, DAAP_EINVALID (bad base64)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_object_secret_value(daap_buf *out, const daap_kube_object *obj, const char *key);

/** A list result. */
typedef struct {
    daap_kube_object **items;
    size_t             count;
    size_t             alloc;
    char              *resource_version; /**< the list's RV, to watch from */
} daap_kube_list;

/** Append an object; the list takes ownership (also on failure). @since 0.1 */
DAAP_EXTERN(int) daap_kube_list_push(daap_kube_list *list, daap_kube_object *obj);

/** Free a list's objects and storage. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_kube_list_dispose(daap_kube_list *list);

/** Watch event types. */
typedef enum {
    DAAP_KUBE_ADDED = 1,
    DAAP_KUBE_MODIFIED,
    DAAP_KUBE_DELETED,
    DAAP_KUBE_BOOKMARK
} daap_kube_event_type;

/** One watch event; the caller owns `object`. */
typedef struct {
    int                type;   /**< a daap_kube_event_type */
    daap_kube_object  *object;
} daap_kube_event;

/** An open watch stream, backend-defined. */
typedef struct daap_kube_watch daap_kube_watch;

/**
 * What a list keeps of each object: `map` takes ownership of `obj` and sets
 * `*kept` to the object to keep (obj itself, a smaller one, or NULL to keep
 * nothing). A negative return (a DAAP_E* code) ends the list with it.
 * @since 0.3
 */
typedef int (*daap_kube_map_fn)(daap_kube_object **kept, daap_kube_object *obj, void *arg);

/** Capability bits. */
typedef enum {
    DAAP_KUBE_CAP_WATCH = (1u << 0)   /**< watch methods are implemented */
} daap_kube_cap;

/** The vtable. Methods are appended only. */
struct daap_kube_backend {
    unsigned int version;  /**< DAAP_KUBE_BACKEND_VERSION */
    const char  *name;     /**< "rest", "fake" */
    unsigned int caps;     /**< OR of daap_kube_cap */

    /** Required. Create `obj` (its metadata.namespace/name and kind name it).
     *  @param[out] out  the stored object (may be NULL: not wanted)
     *  @return 0, DAAP_EEXISTS, DAAP_EINVALID (422 / 4xx rejection, with the
     *  server's message), DAAP_EUNAVAILABLE, DAAP_EAUTH, DAAP_ETIMEOUT */
    int  (*create)(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj);

    /** Required. @return 0, DAAP_ENOTFOUND, DAAP_EUNAVAILABLE, ... */
    int  (*get)(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref);

    /** Required. Delete (background propagation).
     *  @return 0, DAAP_ENOTFOUND (already gone), DAAP_EUNAVAILABLE, ... */
    int  (*remove)(daap_kube_backend *be, const daap_kube_ref *ref);

    /** Required. List a kind in a namespace (NULL: all namespaces) with an
     *  optional label selector. Objects are appended to `out`. */
    int  (*list)(daap_kube_list *out, daap_kube_backend *be, int kind,
                 const char *namespace_, const char *label_selector);

    /** Required. Release the backend. */
    void (*free)(daap_kube_backend *be);

    /** Optional (DAAP_KUBE_CAP_WATCH). Open a watch from `resource_version`
     *  (NULL or "": synthetic ADDED events first). */
    int  (*watch)(daap_kube_watch **out, daap_kube_backend *be, int kind,
                  const char *namespace_, const char *label_selector,
                  const char *resource_version);

    /** Optional. Next event within timeout_ms.
     *  @return 0 (event filled), DAAP_ETIMEOUT (none yet), DAAP_ITEROVER
     *  (stream ended: reopen from the last RV), DAAP_EEXPIRED (410: relist),
     *  DAAP_EUNAVAILABLE */
    int  (*watch_next)(daap_kube_event *out, daap_kube_watch *w, int32_t timeout_ms);

    /** Optional. Close a watch. */
    void (*watch_free)(daap_kube_watch *w);

    /** Optional. Cheap round trip (GET /version or similar). */
    int  (*ping)(daap_kube_backend *be);

    /* version 2 */

    /** Optional. Apply a JSON merge patch (RFC 7386, `patch` of `len`
     *  bytes) to the object `ref` names: how daap changes a live Cluster.
     *  Repeating the same patch is harmless, so it may be retried.
     *  @param[out] out  the object after the patch (may be NULL: not wanted)
     *  @return 0, DAAP_ENOTFOUND, DAAP_EINVALID (rejected, e.g. by a
     *  webhook, with the server's message), DAAP_EUNAVAILABLE, DAAP_EAUTH,
     *  DAAP_ETIMEOUT; the core answers DAAP_ENOTSUPPORTED for backends
     *  without it */
    int  (*patch)(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref,
                  const char *patch, size_t len);

    /* version 3 */

    /** Optional. As `list`, but each object goes through `map` as soon as
     *  it is parsed and only what map keeps is appended to `out`: how the
     *  core holds a list of 100,000 objects as small summaries, with no
     *  more than a page of whole objects at once. The core lists and then
     *  maps for backends without it. */
    int  (*list_map)(daap_kube_list *out, daap_kube_backend *be, int kind,
                     const char *namespace_, const char *label_selector,
                     daap_kube_map_fn map, void *arg);
};

#define DAAP_KUBE_BACKEND_VERSION 3

/**
 * Initialiser for a Kubernetes backend: this header's version, no name, no
 * capabilities, every method NULL. Start from it and set what you implement:
 * `daap_kube_backend be = DAAP_KUBE_BACKEND_INIT;` (docs/backends.md).
 * @since 0.1
 */
#define DAAP_KUBE_BACKEND_INIT { DAAP_KUBE_BACKEND_VERSION }

/** Options for the REST backend. */
typedef struct {
    unsigned int version;     /**< DAAP_KUBE_REST_OPTIONS_VERSION */
    const char  *kubeconfig;  /**< ':'-separated paths; NULL: $KUBECONFIG, ~/.kube/config, in-cluster */
    const char  *context;     /**< NULL: current-context */
    int32_t      timeout_ms;  /**< per call, retries and back-off included; 0: 10000 */
    int32_t      max_retries; /**< retries after the first try (see daap_kube_rest_new); 0: 4; negative: none */
    unsigned int flags;       /**< DAAP_CTX_ALLOW_INSECURE_TLS honoured */
} daap_kube_rest_options;

#define DAAP_KUBE_REST_OPTIONS_VERSION 1
#define DAAP_KUBE_REST_OPTIONS_INIT { DAAP_KUBE_REST_OPTIONS_VERSION }

/**
 * The Kubernetes REST backend on libcurl.
 *
 * Configuration follows kubectl: the files in opts->kubeconfig (else
 * $KUBECONFIG, else ~/.kube/config) are merged with the first definition of
 * every name winning, relative paths resolve against their file's
 * directory, and without any file the in-cluster service account is used
 * (KUBERNETES_SERVICE_HOST; $DAAP_SERVICEACCOUNT_DIR overrides the account
 * directory). exec and auth-provider plugins, basic auth and impersonation
 * are refused with DAAP_EINVALID. No credentials are sent to http:// servers.
 *
 * Calls: GET, LIST and DELETE are retried after connection failures, 429
 * (honouring Retry-After) and 500/502/503/504, with capped exponential
 * back-off and jitter. A create (POST) is retried only when the server
 * provably did not act on it: the connection could not be opened, or 429
 * or 503; a 409 on such a retry therefore means another writer made the
 * object and is reported as DAAP_EEXISTS. A TLS verification failure is
 * DAAP_EAUTH with a message that says so.
 *
 * Watches own their connection and may outlive the backend.
 *
 * @param[out] out  receives the backend
 * @return 0, DAAP_EINVALID (kubeconfig problem, with the reason),
 *         DAAP_ENOTFOUND (no configuration found at all)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_rest_new(daap_kube_backend **out, const daap_kube_rest_options *opts);

/**
 * The namespace of the REST backend's selected context ("default" when the
 * context names none), borrowed from the backend; NULL for other backends.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_kube_rest_namespace(const daap_kube_backend *be);

/**
 * An in-memory Kubernetes with a simulated CNPG operator, for tests and
 * examples. Created Clusters get their -app Secret and -rw/-ro/-r Services
 * at once and stay in "Setting up primary" until
 * daap_kube_fake_set_cluster_phase() (or become Ready at once with
 * daap_kube_fake_set_auto_ready()); Poolers get a Deployment (ready once
 * their Cluster is) and a Service. Deletes remove owned objects.
 *
 * Label selectors support equality only (k=v, k==v, k!=v, k, !k). Watches
 * replay from a resourceVersion (the last 4096 events; older ones give
 * DAAP_EEXPIRED), and watch_next never waits: with nothing pending it
 * returns DAAP_ETIMEOUT at once. Everything runs in the caller's thread.
 *
 * @param[out] out  receives the backend
 * @return 0 or DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_fake_new(daap_kube_backend **out);

/** Methods of the fake, for fault injection. */
typedef enum {
    DAAP_KUBE_FAKE_CREATE = 0,
    DAAP_KUBE_FAKE_GET,
    DAAP_KUBE_FAKE_REMOVE,
    DAAP_KUBE_FAKE_LIST,
    DAAP_KUBE_FAKE_WATCH,
    DAAP_KUBE_FAKE_PATCH,
    DAAP_KUBE_FAKE__METHODS
} daap_kube_fake_method;

/**
 * Make the fake's Cluster `name` Ready (phase healthy) and its pooler
 * Deployments ready, or fail it with `phase` when phase is not NULL.
 *
 * @return 0 or DAAP_ENOTFOUND
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_fake_set_cluster_phase(daap_kube_backend *be, const char *namespace_,
                                                  const char *name, const char *phase);

/**
 * Make every Cluster Ready as soon as it is created (default off).
 * @return 0 or DAAP_EINVALID (not the fake)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_fake_set_auto_ready(daap_kube_backend *be, int on);

/**
 * Make call number `nth` (1-based, counted from now) of `method` fail with
 * `code`; nth 0 makes every call fail until cleared with code 0.
 * @return 0 or DAAP_EINVALID
 * @since 0.1
 */
DAAP_EXTERN(int) daap_kube_fake_fail(daap_kube_backend *be, int method, uint32_t nth, int code);

/**
 * How many times `method` was called.
 * @since 0.1
 */
DAAP_EXTERN(uint64_t) daap_kube_fake_calls(const daap_kube_backend *be, int method);

/**
 * Number of objects of a kind the fake holds (all namespaces).
 * @since 0.1
 */
DAAP_EXTERN(size_t) daap_kube_fake_count(const daap_kube_backend *be, int kind);

DAAP_END_DECL

#endif
