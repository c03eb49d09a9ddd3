/* Opening and closing contexts: configuration, backends, templates, key.
 * Which engine a context gets is open.c's choice; this file builds the
 * context around it and dispatches the context-wide calls to it. */
#include "ctx.h"
#include "storage/storage.h"
#include "kube/kube.h"
#include "manifest/template.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_NAMESPACE      "daap"
#define DEFAULT_CLUSTER_DOMAIN "cluster.local"
#define DEFAULT_PG_VERSION     17
#define DEFAULT_MAX_INSTANCES  9
#define DEFAULT_DEADLINE_MS    (15 * 60 * 1000)
#define DEFAULT_ROTATION_DEADLINE_MS (2 * 60 * 1000)
#define DEFAULT_STORE          "sqlite://var/daap.db"

/* CNPG 1.30 supports PostgreSQL 14-18. Operators should pin their own tags
 * with the image map; these are the operator-default minimal images. */
#define DEFAULT_IMAGE_MAP \
    "14=ghcr.io/cloudnative-pg/postgresql:14.19-system-trixie," \
    "15=ghcr.io/cloudnative-pg/postgresql:15.14-system-trixie," \
    "16=ghcr.io/cloudnative-pg/postgresql:16.10-system-trixie," \
    "17=ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie," \
    "18=ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie"

/* Per version, how much of the struct a caller of that version has. */
static const size_t ctx_options_sizes[] = { offsetof(daap_ctx_options, event_retention_ms),
                                            sizeof(daap_ctx_options) };

int daap_ctx_options_init(daap_ctx_options *opts, unsigned int version)
{
    DAAP_INIT_VERSIONS(opts, version, DAAP_CTX_OPTIONS_VERSION, ctx_options_sizes, "daap_ctx_options");
    return 0;
}

static const char *pick(const char *value, const char *env, const char *fallback)
{
    const char *e;
    if (value && *value)
        return value;
    e = env ? getenv(env) : NULL;
    return (e && *e) ? e : fallback;
}

const char *daap__ctx_image(const daap_ctx *ctx, int32_t major)
{
    size_t i;
    for (i = 0; i < ctx->image_count; i++)
        if (ctx->images[i].major == major)
            return ctx->images[i].image;
    return NULL;
}

static int has_pg_version(const void *payload, int32_t v)
{
    return daap__ctx_image(payload, v) != NULL;
}

/* "16=repo/image:16.9,17=repo/image:17.6" */
static int parse_image_map(daap_ctx *ctx, const char *map)
{
    const char *p = map;

    while (*p) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        char *num_end;
        long major = eq ? strtol(p, &num_end, 10) : 0;

        if (eq == NULL || num_end != eq || major < 10 || major > 99 || eq + 1 == end)
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                                  "bad image map entry '%.*s' (want MAJOR=IMAGE, e.g. 17=ghcr.io/cloudnative-pg/postgresql:17.6)",
                                  (int)(end - p), p);
        if (ctx->image_count == DAAP__MAX_IMAGES)
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "image map has more than %d entries", DAAP__MAX_IMAGES);
        ctx->images[ctx->image_count].major = (int32_t)major;
        ctx->images[ctx->image_count].image = daap__strndup(eq + 1, (size_t)(end - eq - 1));
        DAAP_ERROR_CHECK_ALLOC(ctx->images[ctx->image_count].image);
        ctx->image_count++;
        p = comma ? comma + 1 : end;
    }
    return 0;
}

/* Events are kept for 30 days after they last happened (docs/operations.md). */
#define DEFAULT_EVENT_RETENTION_MS (30LL * 24 * 3600 * 1000)

static int configure_retention(daap_ctx *ctx, const daap_ctx_options *o)
{
    const char *env = getenv("DAAP_EVENT_RETENTION_MS");
    char *end = NULL;

    if (o->version >= 2 && o->event_retention_ms)
        ctx->event_retention_ms = o->event_retention_ms;
    else if (env && *env)
        ctx->event_retention_ms = strtoll(env, &end, 10);
    else
        ctx->event_retention_ms = DEFAULT_EVENT_RETENTION_MS;
    /* "30d" read as 30 ms would purge the whole history: digits only. */
    if (ctx->event_retention_ms <= 0 || (end && *end))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "event retention must be a positive number of milliseconds (DAAP_EVENT_RETENTION_MS)");
    return 0;
}

#define DEFAULT_MAX_STORAGE "64Ti"

/* The largest size a resize may ask for ($DAAP_MAX_STORAGE_SIZE too); it
 * must itself be a storage_size a create could ask for. */
static int set_max_storage(daap_ctx *ctx, const char *configured)
{
    const char *size = pick(configured, "DAAP_MAX_STORAGE_SIZE", DEFAULT_MAX_STORAGE);
    daap__fields f;

    daap__fields_init(&f);
    daap__check_storage_size(&f, "max_storage_size", size);
    if (daap__fields_result(&f, "max_storage_size") < 0 || !daap__parse_quantity(size, &ctx->limits.max_storage_bytes))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "max_storage_size '%.40s' is not a quantity between 1Gi and 64Ti", size);
    snprintf(ctx->limits.max_storage_size, sizeof(ctx->limits.max_storage_size), "%s", size);
    return 0;
}

/* How long a rotation may try to log in with its new password before it
 * puts the old one back ($DAAP_ROTATION_DEADLINE_MS, milliseconds). */
static int configure_rotation(daap_ctx *ctx)
{
    const char *env = getenv("DAAP_ROTATION_DEADLINE_MS");
    char *end = NULL;

    ctx->rotation_deadline_ms = env && *env ? strtoll(env, &end, 10) : DEFAULT_ROTATION_DEADLINE_MS;
    if (ctx->rotation_deadline_ms <= 0 || (end && *end))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "the rotation deadline must be a positive number of milliseconds (DAAP_ROTATION_DEADLINE_MS)");
    return 0;
}

static int configure(daap_ctx *ctx, const daap_ctx_options *o)
{
    static const daap_ctx_options defaults = DAAP_CTX_OPTIONS_INIT;
    const char *env_deadline = getenv("DAAP_PROVISIONING_DEADLINE_MS");

    if (o == NULL)
        o = &defaults;
    ctx->namespace_ = daap__strdup(pick(o->namespace_, "DAAP_NAMESPACE", DEFAULT_NAMESPACE));
    ctx->cluster_domain = daap__strdup(pick(o->cluster_domain, "DAAP_CLUSTER_DOMAIN", DEFAULT_CLUSTER_DOMAIN));
    DAAP_ERROR_CHECK_ALLOC(ctx->namespace_);
    DAAP_ERROR_CHECK_ALLOC(ctx->cluster_domain);
    DAAP_TRY(parse_image_map(ctx, pick(o->image_map, "DAAP_IMAGE_MAP", DEFAULT_IMAGE_MAP)));
    ctx->default_pg_version = o->default_pg_version ? o->default_pg_version : DEFAULT_PG_VERSION;
    ctx->max_instances = o->max_instances ? o->max_instances : DEFAULT_MAX_INSTANCES;
    ctx->deadline_ms = o->provisioning_deadline_ms ? o->provisioning_deadline_ms
                     : (env_deadline && *env_deadline) ? strtoll(env_deadline, NULL, 10) : DEFAULT_DEADLINE_MS;
    if (ctx->deadline_ms <= 0 || ctx->max_instances < 1)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "provisioning deadline and max instances must be positive");
    DAAP_TRY(configure_retention(ctx, o));
    DAAP_TRY(configure_rotation(ctx));
    if (daap__ctx_image(ctx, ctx->default_pg_version) == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "default pg_version %d has no image in the image map", (int)ctx->default_pg_version);
    ctx->limits.max_instances = ctx->max_instances;
    DAAP_TRY(set_max_storage(ctx, o->version >= 2 ? o->max_storage_size : NULL));
    ctx->limits.has_pg_version = has_pg_version;
    ctx->limits.payload = ctx;
    return 0;
}

static int load_key(daap_ctx *ctx, const daap_ctx_options *o)
{
    const char *path = pick(o ? o->secret_key_file : NULL, "DAAP_SECRET_KEY_FILE", NULL);
    if (path == NULL)
        return ctx->kube ? daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                               "no secret key for credentials at rest: set DAAP_SECRET_KEY_FILE") : 0;
    if (o && (o->flags & DAAP_CTX_CREATE_KEY))
        DAAP_TRY(daap_secret_key_create(path));
    return daap__key_load(&ctx->key, path);
}

static int open_kube(daap_kube_backend **out, const daap_ctx_options *o)
{
    daap_kube_rest_options ro = DAAP_KUBE_REST_OPTIONS_INIT;

    *out = NULL;
    if (o && (o->flags & DAAP_CTX_NO_KUBE))
        return 0;
    if (o && o->kubeconfig && strcmp(o->kubeconfig, "fake") == 0)
        return daap_kube_fake_new(out);
    ro.kubeconfig = o ? o->kubeconfig : NULL;
    ro.context = o ? o->kube_context : NULL;
    ro.timeout_ms = o ? o->kube_timeout_ms : 0;
    ro.flags = o ? o->flags : 0;
    return daap_kube_rest_new(out, &ro);
}

/* Refuse to work on a store whose schema this library does not match. */
static int check_schema(daap_ctx *ctx, const daap_ctx_options *o)
{
    daap_migration_status st;
    int rc;

    if (o && (o->flags & DAAP_CTX_NO_SCHEMA_CHECK))
        return 0;
    rc = daap__storage_migration_status(&st, ctx->storage);
    if (rc == DAAP_ENOTSUPPORTED)
        return 0;
    if (rc < 0)
        return rc;
    if (st.current < st.latest)
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_STORAGE,
                            "store schema is at version %d but this daap needs %d: run 'daapctl migrate up'",
                            (int)st.current, (int)st.latest);
    else if (st.current > st.latest)
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_STORAGE,
                            "store schema version %d is newer than this daap knows (%d): upgrade daap",
                            (int)st.current, (int)st.latest);
    daap_migration_status_dispose(&st);
    return rc;
}

static int finish_open(daap_ctx *ctx, const daap_ctx_options *o)
{
    DAAP_TRY(configure(ctx, o));
    DAAP_TRY(daap__templates_load(&ctx->templates, pick(o ? o->template_dir : NULL, "DAAP_TEMPLATE_DIR", NULL)));
    DAAP_TRY(load_key(ctx, o));
    return check_schema(ctx, o);
}

/* Every slot filled: a public call never finds an engine without it. */
static int engine_check(const daap__engine *e)
{
#define DAAP__SLOT(slot) \
    if (e->slot == NULL) \
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CONFIG, "the %s engine has no " #slot, e->name)
    DAAP__SLOT(free); DAAP__SLOT(ping); DAAP__SLOT(migrate); DAAP__SLOT(migration_status);
    DAAP__SLOT(create); DAAP__SLOT(create_json); DAAP__SLOT(get); DAAP__SLOT(list);
    DAAP__SLOT(list_json); DAAP__SLOT(update); DAAP__SLOT(update_json); DAAP__SLOT(remove);
    DAAP__SLOT(wait);
    DAAP__SLOT(events);
    DAAP__SLOT(reconcile_once); DAAP__SLOT(reconcile_db); DAAP__SLOT(watch_open);
    DAAP__SLOT(rotate_password);
    DAAP__SLOT(idempotency_begin); DAAP__SLOT(idempotency_finish); DAAP__SLOT(idempotency_abandon);
    DAAP__SLOT(idempotency_purge);
#undef DAAP__SLOT
    return 0;
}

int daap__ctx_open_local(daap_ctx **out, daap_storage_backend *storage, daap_kube_backend *kube,
                         const daap_ctx_options *opts, const daap__engine *engine)
{
    daap_ctx *ctx;
    int rc;

    DAAP_ASSERT_ARG(out && storage);
    *out = NULL;
    DAAP_CHECK_VERSION(opts, DAAP_CTX_OPTIONS_VERSION, "daap_ctx_options");
    DAAP_TRY(engine_check(engine));
    DAAP_TRY(daap__storage_check(storage));
    if (kube)
        DAAP_TRY(daap__kube_check(kube));
    ctx = daap__calloc(1, sizeof(*ctx));
    DAAP_ERROR_CHECK_ALLOC(ctx);
    ctx->engine = engine;
    ctx->engine_self = ctx;
    ctx->storage = storage;
    ctx->kube = kube;
    if ((rc = finish_open(ctx, opts)) < 0) {
        ctx->storage = NULL; /* the caller keeps its backends on failure */
        ctx->kube = NULL;
        daap_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

const char *daap__ctx_store_uri(const daap_ctx_options *opts)
{
    return pick(opts ? opts->store_uri : NULL, "DAAP_STORE", DEFAULT_STORE);
}

int daap__ctx_open_store(daap_ctx **out, const char *uri, const daap_ctx_options *opts,
                         const daap__engine *engine)
{
    daap_storage_backend *storage = NULL;
    daap_kube_backend *kube = NULL;
    int rc;

    DAAP_TRY(daap__storage_open(&storage, uri));
    if ((rc = open_kube(&kube, opts)) < 0) {
        daap__storage_free(storage);
        return rc;
    }
    if ((rc = daap__ctx_open_local(out, storage, kube, opts, engine)) < 0) {
        daap__storage_free(storage);
        daap__kube_free(kube);
    }
    return rc;
}

/* Instance and version limits are the serving side's configuration: a
 * served context checks locally only what does not depend on it, so
 * daap_db_validate() works and the server has the last word. */
static int any_pg_version(const void *payload, int32_t v)
{
    (void)payload;
    (void)v;
    return 1;
}

int daap__ctx_open_served(daap_ctx **out, const daap__engine *engine, void *self)
{
    daap_ctx *ctx;
    int rc;

    *out = NULL;
    if ((rc = engine_check(engine)) < 0 || (ctx = daap__calloc(1, sizeof(*ctx))) == NULL) {
        if (engine->free)
            engine->free(self);
        return rc < 0 ? rc : daap_error_set_oom();
    }
    ctx->engine = engine;
    ctx->engine_self = self;
    ctx->max_instances = INT32_MAX;
    ctx->limits.max_instances = INT32_MAX;
    ctx->limits.max_storage_bytes = 1e300; /* the remote engine: the server decides */
    ctx->limits.has_pg_version = any_pg_version;
    *out = ctx;
    return 0;
}

void daap_ctx_free(daap_ctx *ctx)
{
    size_t i;
    if (ctx == NULL)
        return;
    if (ctx->engine)
        ctx->engine->free(ctx->engine_self);
    daap__storage_free(ctx->storage);
    daap__kube_free(ctx->kube);
    daap__templates_free(ctx->templates);
    daap__key_wipe(&ctx->key);
    for (i = 0; i < ctx->image_count; i++)
        daap__free(ctx->images[i].image);
    daap__free(ctx->namespace_);
    daap__free(ctx->cluster_domain);
    daap__free(ctx->call_actor);
    daap__free(ctx->call_request_id);
    daap__free(ctx);
}

/* ---- call info: who the next calls are for (event history) */

#define CALL_INFO_MAX 128

int daap_call_info_init(daap_call_info *info, unsigned int version)
{
    DAAP_INIT_VERSIONED(info, version, DAAP_CALL_INFO_VERSION, "daap_call_info");
    return 0;
}

static int check_call_value(const char *what, const char *value)
{
    size_t n = value ? strlen(value) : 0;

    if (value && (n == 0 || n > CALL_INFO_MAX || !daap__is_clean_text(value, n, false)))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "call info %s must be 1 to %d bytes of text without control characters",
                              what, CALL_INFO_MAX);
    return 0;
}

static void clear_call_info(daap_ctx *ctx)
{
    daap__free(ctx->call_actor);
    daap__free(ctx->call_request_id);
    ctx->call_actor = ctx->call_request_id = NULL;
}

int daap_ctx_set_call_info(daap_ctx *ctx, const daap_call_info *info)
{
    DAAP_ASSERT_ARG(ctx);
    clear_call_info(ctx);
    if (info == NULL)
        return 0;
    DAAP_CHECK_VERSION(info, DAAP_CALL_INFO_VERSION, "daap_call_info");
    DAAP_TRY(check_call_value("actor", info->actor));
    DAAP_TRY(check_call_value("request_id", info->request_id));
    if ((info->actor && (ctx->call_actor = daap__strdup(info->actor)) == NULL) ||
        (info->request_id && (ctx->call_request_id = daap__strdup(info->request_id)) == NULL)) {
        clear_call_info(ctx);
        return daap_error_set_oom();
    }
    return 0;
}

int daap__ctx_need_kube(const daap_ctx *ctx)
{
    if (ctx->kube == NULL)
        return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_CONFIG,
                              "this context was opened without Kubernetes");
    return 0;
}

int daap_ctx_ping(daap_ctx *ctx)
{
    DAAP_ASSERT_ARG(ctx);
    return ctx->engine->ping(ctx->engine_self);
}

const char *daap_ctx_namespace(const daap_ctx *ctx)
{
    return ctx ? ctx->namespace_ : NULL;
}

int daap_ctx_is_remote(const daap_ctx *ctx)
{
    return ctx && ctx->engine->remote;
}

int daap_migrate(daap_ctx *ctx, int32_t target)
{
    DAAP_ASSERT_ARG(ctx);
    return ctx->engine->migrate(ctx->engine_self, target);
}

int daap_migration_status_get(daap_migration_status *out, daap_ctx *ctx)
{
    DAAP_ASSERT_ARG(out && ctx);
    return ctx->engine->migration_status(out, ctx->engine_self);
}
