/* The context: its engine (engine.h), and for the local engine one storage
 * backend, one Kubernetes backend and the configuration. */
#ifndef DAAP_INTERNAL_CTX_H
#define DAAP_INTERNAL_CTX_H

#include "common.h"
#include "crypto.h"
#include "db/validate.h"
#include "engine.h"
#include <daap/sys/storage.h>
#include <daap/sys/kube.h>

#define DAAP__MAX_IMAGES 16

typedef struct daap__templates daap__templates;

/* A login to check: where and as whom (lifecycle/login.h). */
typedef struct {
    const char *host;
    int64_t     port;
    const char *dbname;
    const char *user;
    const char *password;
    int32_t     connect_timeout_s;
} daap__login;

/* 0 when the login succeeds; else a negative code with the server's
 * message in daap_error_last() (never the password). */
typedef int (*daap__login_check)(void *payload, const daap__login *login);

typedef struct {
    int32_t major;
    char   *image;
} daap__image;

struct daap_ctx {
    daap_storage_backend *storage;
    daap_kube_backend    *kube;
    daap__templates      *templates;
    const daap__engine   *engine;     /* what the public calls dispatch to */
    void                 *engine_self; /* its state: the context itself, or a remote client */
    daap__key             key;
    char                 *namespace_;
    char                 *cluster_domain;
    daap__image           images[DAAP__MAX_IMAGES];
    size_t                image_count;
    int32_t               default_pg_version;
    int32_t               max_instances;
    int64_t               deadline_ms;
    daap__limits          limits;
    /* event history (lifecycle/events.h) */
    char                 *call_actor;      /* daap_ctx_set_call_info(); NULL: none */
    char                 *call_request_id;
    const char           *acting_team;     /* the team a request path acts for (borrowed, for one call) */
    bool                  reconciling;     /* writes now are the reconciler's */
    int64_t               event_retention_ms;
    /* password rotation (lifecycle/rotate.c) */
    int64_t               rotation_deadline_ms; /* a rotation that cannot log in by then is undone */
    daap__login_check     login_check;          /* the verifying login; NULL: libpq (lifecycle/login.c) */
    void                 *login_payload;
    daap_reconcile_handoff_cb handoff;          /* daap_reconcile_set_handoff(); NULL: do it here */
    void                 *handoff_payload;
};

/* The image for a PostgreSQL major, or NULL. */
const char *daap__ctx_image(const daap_ctx *ctx, int32_t major);

/* Fail with DAAP_ENOTSUPPORTED when the context has no Kubernetes backend. */
int daap__ctx_need_kube(const daap_ctx *ctx);

/* The store URI the options (or DAAP_STORE, or the default) name. */
const char *daap__ctx_store_uri(const daap_ctx_options *opts);

/* A context on these backends, run by `engine` with the context as its
 * self. On failure the caller keeps its backends. */
int daap__ctx_open_local(daap_ctx **out, daap_storage_backend *storage, daap_kube_backend *kube,
                         const daap_ctx_options *opts, const daap__engine *engine);

/* Open the store `uri` names and Kubernetes as the options say, then
 * daap__ctx_open_local. */
int daap__ctx_open_store(daap_ctx **out, const char *uri, const daap_ctx_options *opts,
                         const daap__engine *engine);

/* A context whose calls another process answers: no backends, and only
 * the limits that do not depend on that process's configuration. On
 * failure `self` is released with engine->free. */
int daap__ctx_open_served(daap_ctx **out, const daap__engine *engine, void *self);

#endif
