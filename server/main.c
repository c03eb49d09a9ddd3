/* daap-server: options, contexts, the reconciler and the Kubernetes probe,
 * the HTTP daemons, and an orderly stop on SIGTERM or SIGINT. */
#include "http.h"
#include "kube_probe.h"
#include "log.h"
#include "options.h"
#include "reconciler.h"
#include "waiters.h"

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
    co->max_storage_size = o->max_storage_size;
    co->provisioning_deadline_ms = o->provisioning_deadline_ms;
    co->event_retention_ms = o->event_retention_ms;
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

/* The probe's pings give up after this: /readyz must tell a hung API soon. */
#define PROBE_KUBE_TIMEOUT_MS 2000

static int open_ctxs(daap_ctx **ctxs, int n, const server_options *o, unsigned int flags)
{
    int i;
    for (i = 0; i < n; i++) {
        if (open_ctx(&ctxs[i], o, flags) < 0) {
            while (i-- > 0)
                daap_ctx_free(ctxs[i]);
            return -1;
        }
    }
    return 0;
}

static int open_probe(kube_probe **out, const server_options *o)
{
    daap_ctx_options co;
    daap_ctx *ctx;

    ctx_options(&co, o, 0);
    co.kube_timeout_ms = PROBE_KUBE_TIMEOUT_MS;
    if (daap_ctx_open(&ctx, &co) < 0) {
        log_daap_error("cannot open the store or the Kubernetes configuration");
        return -1;
    }
    return kube_probe_start(out, ctx);
}

/* Contexts are single-threaded: the HTTP daemons get one each, store-only,
 * so that no request waits on Kubernetes; the reconciler's watch thread and
 * each of its workers get one with Kubernetes. */
static int start_reconciler(reconciler **out, const server_options *o, waiters *ws)
{
    daap_ctx *watch_ctx, **worker_ctxs = calloc((size_t)o->reconcile_workers, sizeof(*worker_ctxs));
    int rc = -1;

    if (worker_ctxs == NULL)
        return -1;
    if (open_ctx(&watch_ctx, o, 0) == 0) {
        if (open_ctxs(worker_ctxs, o->reconcile_workers, o, 0) == 0)
            rc = reconciler_start(out, watch_ctx, worker_ctxs, o->reconcile_workers, o, ws);
        else
            daap_ctx_free(watch_ctx);
    }
    free(worker_ctxs);
    return rc;
}

/* The waiters' poller reads the store only. */
static int start_waiters(waiters **out, const server_options *o)
{
    daap_ctx *ctx;

    if (open_ctx(&ctx, o, DAAP_CTX_NO_KUBE) < 0)
        return -1;
    return waiters_start(out, ctx, o->wait_poll_ms);
}

static int start_http(http_server **out, const server_options *o, const http_services *svc)
{
    daap_ctx **ctxs = calloc((size_t)o->threads, sizeof(*ctxs));
    int rc = -1;

    if (ctxs != NULL && open_ctxs(ctxs, o->threads, o, DAAP_CTX_NO_KUBE) == 0)
        rc = http_start(out, o, ctxs, svc); /* it owns the contexts now */
    free(ctxs);
    return rc;
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
        LF_STR("address", o->listen_host), LF_NUM("port", port), LF_NUM("threads", o->threads), LF_NUM("reconcile_workers", o->reconcile_workers),
        LF_STR("store", scheme), LF_STR("version", daap_version_string()),
        LF_NUM("resync_period_ms", o->resync_period_ms) }, 7);
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
    http_services svc = { NULL, NULL, NULL };
    http_server *http = NULL;
    int sig;

    if (open_probe(&svc.probe, o) < 0)
        return 1;
    if (start_waiters(&svc.waiters, o) < 0) {
        kube_probe_stop(svc.probe);
        return 1;
    }
    if (start_reconciler(&svc.reconciler, o, svc.waiters) < 0) {
        waiters_stop(svc.waiters);
        kube_probe_stop(svc.probe);
        return 1;
    }
    if (start_http(&http, o, &svc) < 0) {
        reconciler_stop(svc.reconciler);
        waiters_stop(svc.waiters);
        kube_probe_stop(svc.probe);
        return 1;
    }
    log_started(o, http_port(http));
    sig = wait_for_signal(signals);
    log_line(LOG_INFO, "shutting down", (log_field[]){ LF_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM") }, 1);
    http_stop(http, o->shutdown_grace_ms);
    reconciler_stop(svc.reconciler);
    waiters_stop(svc.waiters);
    kube_probe_stop(svc.probe);
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
