/* daap-server: options, contexts, the reconciler thread, the HTTP daemons,
 * and an orderly stop on SIGTERM or SIGINT. */
#include "http.h"
#include "log.h"
#include "options.h"
#include "reconciler.h"

#include <daap/daap.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void ctx_options(daap_ctx_options *co, const server_options *o, unsigned int flags)
{
    daap_ctx_options_init(co, DAAP_CTX_OPTIONS_VERSION);
    co->store_uri = o->store;
    co->kubeconfig = o->kubeconfig;
    co->kube_context = o->kube_context;
    co->namespace_ = o->namespace_;
    co->template_dir = o->template_dir;
    co->secret_key_file = o->secret_key_file;
    co->cluster_domain = o->cluster_domain;
    co->image_map = o->image_map;
    co->max_instances = o->max_instances;
    co->provisioning_deadline_ms = o->provisioning_deadline_ms;
    co->flags = flags | (o->create_secret_key ? DAAP_CTX_CREATE_KEY : 0u)
                      | (o->allow_insecure_tls ? DAAP_CTX_ALLOW_INSECURE_TLS : 0u);
}

static void log_daap_error(const char *msg)
{
    const daap_error *e = daap_error_last();
    log_line(LOG_ERROR, msg, (log_field[]){ LF_STR("error", e->message), LF_STR("code", daap_error_code_name(e->code)) }, 2);
}

static int open_ctx(daap_ctx **out, const server_options *o, unsigned int flags)
{
    daap_ctx_options co;

    ctx_options(&co, o, flags);
    if (daap_ctx_open(out, &co) < 0) {
        log_daap_error("cannot open the store or the Kubernetes configuration");
        return -1;
    }
    return 0;
}

/* Several replicas may do this at once: the library serialises migrators. */
static int migrate(const server_options *o)
{
    daap_ctx *ctx;
    int rc;

    if (open_ctx(&ctx, o, DAAP_CTX_NO_KUBE | DAAP_CTX_NO_SCHEMA_CHECK) < 0)
        return -1;
    rc = daap_migrate(ctx, -1);
    if (rc < 0)
        log_daap_error("store migration failed");
    else
        log_msg(LOG_INFO, "store schema is up to date");
    daap_ctx_free(ctx);
    return rc < 0 ? -1 : 0;
}

/* One context per HTTP daemon plus one for the reconciler. */
static int open_contexts(daap_ctx **ctxs, int n, const server_options *o)
{
    int i;
    for (i = 0; i < n; i++) {
        if (open_ctx(&ctxs[i], o, 0) < 0) {
            while (i-- > 0)
                daap_ctx_free(ctxs[i]);
            return -1;
        }
    }
    return 0;
}

static void free_contexts(daap_ctx **ctxs, int n)
{
    int i;
    for (i = 0; i < n; i++)
        daap_ctx_free(ctxs[i]);
    free(ctxs);
}

/* The URI scheme only: a store URI can carry a password. */
static void store_scheme(char *out, size_t size, const char *uri)
{
    size_t n = uri ? strcspn(uri, ":") : 0;
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), uri ? uri : "");
}

static void log_started(const server_options *o, int port)
{
    char scheme[32];
    store_scheme(scheme, sizeof(scheme), o->store);
    log_line(LOG_INFO, "listening", (log_field[]){
        LF_STR("address", o->listen_host), LF_NUM("port", port), LF_NUM("threads", o->threads),
        LF_STR("store", scheme), LF_STR("version", daap_version_string()),
        LF_NUM("resync_period_ms", o->resync_period_ms) }, 6);
}

/* Every connection is a file descriptor: take the hard limit, which an
 * unprivileged process may, and say so when even that is short of
 * --max-connections (plus room for the store, Kubernetes and logs). */
static void raise_fd_limit(const server_options *o)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)o->max_connections + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
        log_line(LOG_WARN, "the open-file limit is below --max-connections; raise it (ulimit -n)",
                 (log_field[]){ LF_NUM("limit", rl.rlim_cur), LF_NUM("max_connections", o->max_connections) }, 2);
}

static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;
    sigwait(set, &sig);
    return sig;
}

static int serve(const server_options *o, const sigset_t *signals)
{
    daap_ctx **ctxs = calloc((size_t)o->threads + 1, sizeof(*ctxs));
    reconciler *rec = NULL;
    http_server *http = NULL;
    int sig;

    if (ctxs == NULL || open_contexts(ctxs, o->threads + 1, o) < 0) {
        free(ctxs);
        return 1;
    }
    if (reconciler_start(&rec, ctxs[o->threads], o) < 0) {
        free_contexts(ctxs, o->threads);
        return 1;
    }
    if (http_start(&http, o, ctxs) < 0) { /* it freed the contexts it was given */
        reconciler_stop(rec);
        free(ctxs);
        return 1;
    }
    free(ctxs);
    log_started(o, http_port(http));
    sig = wait_for_signal(signals);
    log_line(LOG_INFO, "shutting down", (log_field[]){ LF_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM") }, 1);
    http_stop(http, o->shutdown_grace_ms);
    reconciler_stop(rec);
    log_msg(LOG_INFO, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    server_options o;
    sigset_t signals;
    int rc;

    switch (options_load(&o, argc, argv)) {
    case OPTIONS_EXIT_OK:    options_free(); return 0;
    case OPTIONS_EXIT_USAGE: options_free(); return 2;
    default: break;
    }
    log_set_level((log_level)o.log_level);
    raise_fd_limit(&o);
    /* Block before any thread exists, so only sigwait() sees these. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (daap_init() < 0) {
        log_daap_error("library initialisation failed");
        options_free();
        return 1;
    }
    rc = (o.migrate && migrate(&o) < 0) ? 1 : serve(&o, &signals);
    daap_shutdown();
    options_free();
    return rc;
}
