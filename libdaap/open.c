/* Opening a context: the one place that picks its engine, by the store
 * URI's scheme. It stands above both engines (lifecycle/ and remote/), so
 * neither needs to know the other, and ctx.c below them knows neither. */
#include "ctx.h"
#include "lifecycle/lifecycle.h"
#include "remote/remote.h"

static bool is_remote_uri(const char *uri)
{
    return strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0;
}

static int open_remote(daap_ctx **out, const char *uri, const daap_ctx_options *opts)
{
    daap__remote *r = NULL;
    int rc = daap__remote_open(&r, uri, opts);

    if (rc < 0) {
        daap__remote_engine.free(r);
        return rc;
    }
    return daap__ctx_open_served(out, &daap__remote_engine, r);
}

int daap_ctx_open(daap_ctx **out, const daap_ctx_options *opts)
{
    const char *uri;

    DAAP_ASSERT_ARG(out);
    *out = NULL;
    DAAP_CHECK_VERSION(opts, DAAP_CTX_OPTIONS_VERSION, "daap_ctx_options");
    uri = daap__ctx_store_uri(opts);
    if (is_remote_uri(uri))
        return open_remote(out, uri, opts);
    return daap__ctx_open_store(out, uri, opts, &daap__local_engine);
}

int daap_ctx_open_backends(daap_ctx **out, daap_storage_backend *storage,
                           daap_kube_backend *kube, const daap_ctx_options *opts)
{
    return daap__ctx_open_local(out, storage, kube, opts, &daap__local_engine);
}

int daap_ctx_open_uri(daap_ctx **out, const char *store_uri)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    o.store_uri = store_uri;
    return daap_ctx_open(out, &o);
}
