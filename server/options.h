/* daap-server configuration: flags, then DAAP_* environment variables, then
 * the YAML file (libdaap's daap_config), then defaults. */
#ifndef DAAP_SERVER_OPTIONS_H
#define DAAP_SERVER_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "trust.h"

typedef struct {
    char    listen_host[256];
    int     listen_port;
    int     listen_ipv6;
    const char *store;
    const char *kubeconfig;
    const char *kube_context;
    const char *namespace_;
    const char *template_dir;
    const char *secret_key_file;
    const char *image_map;
    const char *cluster_domain;
    const char *team_header;      /* the one header the caller's team is read from */
    net_list    trusted_proxies;  /* who may send it; empty: anyone */
    const char *max_storage_size; /* resize limit; NULL: the library default */
    int64_t provisioning_deadline_ms;
    int64_t event_retention_ms;
    int64_t resync_period_ms;
    int64_t connection_timeout_ms;
    int64_t request_timeout_ms;
    int64_t header_timeout_ms;
    int64_t shutdown_grace_ms;
    int64_t wait_poll_ms;      /* server-side wait: how often the store is read */
    int64_t idempotency_ttl_ms;   /* life of a POST's Idempotency-Key */
    int64_t idempotency_lease_ms; /* in-flight lease of one */
    int32_t max_instances;     /* 0: the library default */
    int     threads;
    int     reconcile_workers;
    int     max_connections;
    int     max_connections_per_ip; /* 0: no limit */
    int     log_level;
    bool    migrate;
    bool    create_secret_key;
    bool    allow_insecure_tls;
} server_options;

typedef enum { OPTIONS_OK = 0, OPTIONS_EXIT_OK, OPTIONS_EXIT_USAGE } options_result;

/* Fill `out` from argv, the environment and the config file. Prints --help
 * or --version and returns OPTIONS_EXIT_OK, or prints the problem and
 * returns OPTIONS_EXIT_USAGE. Strings in `out` stay valid until options_free(). */
options_result options_load(server_options *out, int argc, char **argv);
void options_free(void);

#endif
