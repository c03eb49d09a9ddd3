/* Client configuration for the REST backend: kubeconfig files (merged the
 * way kubectl merges them) or the in-cluster service account. */
#ifndef DAAP_INTERNAL_KUBE_KUBECONFIG_H
#define DAAP_INTERNAL_KUBE_KUBECONFIG_H

#include "kube/kube.h"

/* Default home of the in-cluster credentials; DAAP_SERVICEACCOUNT_DIR
 * overrides it (tests). */
#define DAAP__SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Everything needed to talk to one API server. Tokens and keys live only
 * here and in libcurl; no message ever prints them. */
typedef struct {
    char    *server;          /* scheme://host[:port][/prefix], no trailing '/' */
    char    *namespace_;      /* the context's namespace, or "default" */
    char    *origin;          /* for messages: `context "sim"` or `in-cluster config` */
    daap_buf ca_pem;          /* empty: the system trust store */
    daap_buf client_cert_pem; /* empty: no client certificate */
    daap_buf client_key_pem;
    char    *token;           /* static bearer token, or NULL */
    char    *token_file;      /* wins over token; re-read when it changes */
    char    *tls_server_name; /* name to verify instead of the server's host */
    char    *proxy_url;
    bool     insecure;        /* only when allowed by DAAP_CTX_ALLOW_INSECURE_TLS */
} daap__kubeconfig;

/*
 * Load the configuration.
 *
 * paths: ':'-separated kubeconfig files; NULL means $KUBECONFIG, else
 * ~/.kube/config, else the in-cluster service account when
 * KUBERNETES_SERVICE_HOST is set. Missing files are skipped; for every named
 * cluster, user and context the first file that defines it wins, and so does
 * the first current-context. Relative paths inside a file resolve against
 * that file's directory.
 *
 * @return 0, DAAP_ENOTFOUND (no configuration at all), DAAP_EINVALID (a
 *         configuration that cannot be used, with the reason)
 */
int daap__kubeconfig_load(daap__kubeconfig *out, const char *paths, const char *context,
                          unsigned int flags);

/* The in-cluster configuration alone (KUBERNETES_SERVICE_HOST/PORT and the
 * service-account directory). */
int daap__kubeconfig_in_cluster(daap__kubeconfig *out);

void daap__kubeconfig_dispose(daap__kubeconfig *cfg);

/* Read a whole file (at most 16 MiB). DAAP_ENOTFOUND when it does not
 * exist; the message names the file and `what` it was for. */
int daap__read_file(daap_buf *out, const char *path, const char *what);

#endif
