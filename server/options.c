/* One table describes every option: its flag, environment variable, config
 * key, default and help. Resolution, --help and the config-file check all
 * read that table, so an option cannot exist in one place and not another. */
#include "options.h"
#include "log.h"

#include <daap/daap.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { T_STRING, T_DURATION, T_INT, T_BOOL, T_LISTEN, T_LEVEL, T_HEADER, T_NETS } opt_type;

typedef struct {
    const char *flag;    /* --flag */
    const char *env;     /* environment variable */
    const char *key;     /* config-file key, or NULL for flag/env only */
    opt_type    type;
    const char *def;     /* default as text, or NULL */
    const char *metavar;
    const char *help;
} opt_spec;

enum {
    O_CONFIG, O_LISTEN, O_STORE, O_KUBECONFIG, O_KUBE_CONTEXT, O_NAMESPACE, O_TEMPLATE_DIR,
    O_SECRET_KEY_FILE, O_CREATE_KEY, O_PROV_DEADLINE, O_RESYNC, O_LOG_LEVEL, O_IMAGE_MAP,
    O_CLUSTER_DOMAIN, O_MAX_INSTANCES, O_MAX_STORAGE, O_THREADS, O_WORKERS, O_MAX_CONN, O_MAX_CONN_PER_IP, O_CONN_TIMEOUT,
    O_HEADER_TIMEOUT, O_REQ_TIMEOUT, O_SHUTDOWN_GRACE, O_TEAM_HEADER, O_TRUSTED_PROXIES, O_MIGRATE,
    O_INSECURE_TLS, O_WAIT_POLL, O_EVENT_RETENTION,
    /* idempotency keys */
    O_IDEM_TTL, O_IDEM_LEASE,
    O__COUNT
};

static const opt_spec specs[O__COUNT] = {
    [O_CONFIG] = { "config", "DAAP_CONFIG", NULL, T_STRING, NULL, "FILE",
                   "YAML file of key: value settings (keys as below)" },
    [O_LISTEN] = { "listen", "DAAP_LISTEN", "listen", T_LISTEN, "127.0.0.1:8080", "HOST:PORT",
                   "address to serve HTTP on; port 0 picks a free one" },
    [O_STORE] = { "store", "DAAP_STORE", "store", T_STRING, "sqlite://var/daap.db", "URI",
                  "metadata store: sqlite:///path/daap.db or postgresql://..." },
    [O_KUBECONFIG] = { "kubeconfig", "DAAP_KUBECONFIG", "kubeconfig", T_STRING, NULL, "PATH",
                       "kubeconfig; default $KUBECONFIG, ~/.kube/config, then in-cluster" },
    [O_KUBE_CONTEXT] = { "kube-context", "DAAP_KUBE_CONTEXT", "kube_context", T_STRING, NULL, "NAME",
                         "kubeconfig context; default its current-context" },
    [O_NAMESPACE] = { "namespace", "DAAP_NAMESPACE", "namespace", T_STRING, "daap", "NAME",
                      "Kubernetes namespace for new databases" },
    [O_TEMPLATE_DIR] = { "template-dir", "DAAP_TEMPLATE_DIR", "template_dir", T_STRING, NULL, "DIR",
                         "override the built-in Cluster/Pooler templates" },
    [O_SECRET_KEY_FILE] = { "secret-key-file", "DAAP_SECRET_KEY_FILE", "secret_key_file", T_STRING, NULL, "FILE",
                            "AES-256 key that encrypts stored passwords (required)" },
    [O_CREATE_KEY] = { "create-secret-key", "DAAP_CREATE_SECRET_KEY", NULL, T_BOOL, "false", NULL,
                       "create the key file (mode 0600) if it does not exist" },
    [O_PROV_DEADLINE] = { "provisioning-deadline", "DAAP_PROVISIONING_DEADLINE_MS", "provisioning_deadline",
                          T_DURATION, "15m", "DURATION", "a database not ready by then goes to error" },
    [O_RESYNC] = { "resync-period", "DAAP_RESYNC_PERIOD_MS", "resync_period", T_DURATION, "30s", "DURATION",
                   "full reconcile pass interval, besides the watch" },
    [O_LOG_LEVEL] = { "log-level", "DAAP_LOG_LEVEL", "log_level", T_LEVEL, "info", "LEVEL",
                      "debug, info, warn or error" },
    [O_IMAGE_MAP] = { "image-map", "DAAP_IMAGE_MAP", "image_map", T_STRING, NULL, "MAP",
                      "PostgreSQL image per major, e.g. 16=repo:16.9,17=repo:17.6" },
    [O_CLUSTER_DOMAIN] = { "cluster-domain", "DAAP_CLUSTER_DOMAIN", "cluster_domain", T_STRING, "cluster.local",
                           "DOMAIN", "Kubernetes cluster DNS domain" },
    [O_MAX_INSTANCES] = { "max-instances", "DAAP_MAX_INSTANCES", "max_instances", T_INT, "9", "N",
                          "most PostgreSQL instances one database may ask for" },
    [O_MAX_STORAGE] = { "max-storage-size", "DAAP_MAX_STORAGE_SIZE", "max_storage_size", T_STRING, "64Ti", "SIZE",
                        "largest storage_size a resize may grow a database to" },
    [O_THREADS] = { "threads", "DAAP_THREADS", "threads", T_INT, NULL, "N",
                    "HTTP worker threads; default one per CPU" },
    [O_WORKERS] = { "reconcile-workers", "DAAP_RECONCILE_WORKERS", "reconcile_workers", T_INT, NULL, "N",
                    "reconciler workers doing the Kubernetes work of API calls; default 2 per CPU, at least 4" },
    [O_MAX_CONN] = { "max-connections", "DAAP_MAX_CONNECTIONS", "max_connections", T_INT, "512", "N",
                     "open HTTP connections allowed in total" },
    [O_MAX_CONN_PER_IP] = { "max-connections-per-ip", "DAAP_MAX_CONNECTIONS_PER_IP", "max_connections_per_ip",
                            T_INT, "128", "N", "open HTTP connections allowed from one address; 0: no limit" },
    [O_CONN_TIMEOUT] = { "connection-timeout", "DAAP_CONNECTION_TIMEOUT_MS", "connection_timeout", T_DURATION,
                         "15s", "DURATION", "close connections idle this long" },
    [O_HEADER_TIMEOUT] = { "header-timeout", "DAAP_HEADER_TIMEOUT_MS", "header_timeout", T_DURATION, "5s",
                           "DURATION", "close connections whose request headers take longer to arrive" },
    [O_REQ_TIMEOUT] = { "request-timeout", "DAAP_REQUEST_TIMEOUT_MS", "request_timeout", T_DURATION, "30s",
                        "DURATION", "drop requests whose body takes longer to arrive" },
    [O_SHUTDOWN_GRACE] = { "shutdown-grace", "DAAP_SHUTDOWN_GRACE_MS", "shutdown_grace", T_DURATION, "10s",
                           "DURATION", "on SIGTERM, wait this long for requests in flight" },
    [O_TEAM_HEADER] = { "team-header", "DAAP_TEAM_HEADER", "team_header", T_HEADER, "X-Daap-Team", "NAME",
                        "the request header the caller's team is read from" },
    [O_TRUSTED_PROXIES] = { "trusted-proxies", "DAAP_TRUSTED_PROXIES", "trusted_proxies", T_NETS, NULL, "LIST",
                            "IPs/CIDRs that may send the team header (others: 403); default any" },
    [O_MIGRATE] = { "migrate", "DAAP_MIGRATE", NULL, T_BOOL, "false", NULL,
                    "apply store schema migrations before serving" },
    [O_INSECURE_TLS] = { "allow-insecure-tls", "DAAP_ALLOW_INSECURE_TLS", NULL, T_BOOL, "false", NULL,
                         "accept kubeconfigs with insecure-skip-tls-verify" },
    [O_WAIT_POLL] = { "wait-poll-interval", "DAAP_WAIT_POLL_INTERVAL_MS", "wait_poll_interval", T_DURATION, "1s",
                      "DURATION", "how often waiting GETs re-read the store (for other replicas' writes)" },
    [O_EVENT_RETENTION] = { "event-retention", "DAAP_EVENT_RETENTION_MS", "event_retention", T_DURATION, "30d",
                            "DURATION", "keep database events this long after they last happened (up to 3650d)" },
    /* idempotency keys (docs/idempotency.md) */
    [O_IDEM_TTL] = { "idempotency-ttl", "DAAP_IDEMPOTENCY_TTL_MS", "idempotency_ttl", T_DURATION, "24h", "DURATION",
                     "how long a POST's Idempotency-Key and its stored answer are kept" },
    [O_IDEM_LEASE] = { "idempotency-lease", "DAAP_IDEMPOTENCY_LEASE_MS", "idempotency_lease", T_DURATION, "60s",
                       "DURATION", "a key left in flight (crashed request) is free again after this" },
};

typedef enum { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_FLAG } source;

typedef struct {
    const char *value;
    source      src;
} resolved;

static daap_config *config_file;

static void usage(FILE *f, const char *prog)
{
    size_t i;

    fprintf(f, "usage: %s [options]\n\ndaap-server: the daap HTTP API and background reconciler.\n"
               "Each option is read from its flag, else its environment variable, else the\n"
               "config file (key in brackets), else the default. Durations take ms, s, m or h\n"
               "(a bare number is milliseconds).\n\n", prog);
    for (i = 0; i < O__COUNT; i++) {
        const opt_spec *s = &specs[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", s->flag, s->metavar ? " " : "", s->metavar ? s->metavar : "");
        fprintf(f, "  %-36s %s\n", left, s->help);
        fprintf(f, "  %-36s env %s", "", s->env);
        if (s->key)
            fprintf(f, " [%s]", s->key);
        if (s->def)
            fprintf(f, "; default %s", s->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-36s %s\n  %-36s %s\n", "--help", "print this help and exit", "--version",
            "print the version and exit");
}

static const char *source_name(const opt_spec *s, source src, char *buf, size_t size)
{
    switch (src) {
    case SRC_FLAG: snprintf(buf, size, "--%s", s->flag); break;
    case SRC_ENV:  snprintf(buf, size, "%s", s->env); break;
    case SRC_FILE: snprintf(buf, size, "%s:%d", daap_config_path(config_file), daap_config_line(config_file, s->key)); break;
    default:       snprintf(buf, size, "default of --%s", s->flag); break;
    }
    return buf;
}

static int bad_value(const opt_spec *s, const resolved *r, const char *why)
{
    char where[300];
    fprintf(stderr, "daap-server: %s: %s '%s'\n", source_name(s, r->src, where, sizeof(where)), why, r->value);
    return -1;
}

static int find_flag(const char *name, size_t len)
{
    int i;
    for (i = 0; i < O__COUNT; i++)
        if (strlen(specs[i].flag) == len && strncmp(specs[i].flag, name, len) == 0)
            return i;
    return -1;
}

/* Flags override everything; "--flag value" and "--flag=value" both work. */
static options_result parse_flags(resolved *r, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        int idx;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return OPTIONS_EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            printf("daap-server %s\n", daap_version_string());
            return OPTIONS_EXIT_OK;
        }
        eq = strchr(a, '=');
        idx = strncmp(a, "--", 2) == 0 ? find_flag(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2)) : -1;
        if (idx < 0) {
            fprintf(stderr, "daap-server: unknown option '%s' (see --help)\n", a);
            return OPTIONS_EXIT_USAGE;
        }
        if (eq)
            r[idx].value = eq + 1;
        else if (specs[idx].type == T_BOOL)
            r[idx].value = "true";
        else if (i + 1 < argc)
            r[idx].value = argv[++i];
        else {
            fprintf(stderr, "daap-server: --%s needs a value\n", specs[idx].flag);
            return OPTIONS_EXIT_USAGE;
        }
        r[idx].src = SRC_FLAG;
    }
    return OPTIONS_OK;
}

static int load_config_file(const resolved *r)
{
    const char *path = r[O_CONFIG].value;
    const daap_error *e;

    if (path == NULL || *path == '\0')
        return 0;
    if (daap_config_load(&config_file, path) == 0)
        return 0;
    e = daap_error_last();
    fprintf(stderr, "daap-server: %s\n", e->message);
    return -1;
}

/* Lower layers fill only what a higher one left unset. */
static void fill_lower_layers(resolved *r)
{
    int i;

    for (i = 0; i < O__COUNT; i++) {
        const char *env = getenv(specs[i].env);
        const char *file = specs[i].key ? daap_config_get(config_file, specs[i].key) : NULL;
        if (r[i].src == SRC_FLAG)
            continue;
        if (env && *env) {
            r[i].value = env;
            r[i].src = SRC_ENV;
        } else if (file) {
            r[i].value = file;
            r[i].src = SRC_FILE;
        } else {
            r[i].value = specs[i].def;
            r[i].src = SRC_DEFAULT;
        }
    }
}

/* A positive duration in ms, s, m, h or d (no unit: ms), at most max_ms. */
static int parse_duration_upto(int64_t *out, const char *text, int64_t max_ms)
{
    char *end;
    long long v;
    int64_t mult = 1;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (end == text || errno || v <= 0)
        return -1;
    if (strcmp(end, "ms") == 0 || *end == '\0') mult = 1;
    else if (strcmp(end, "s") == 0) mult = 1000;
    else if (strcmp(end, "m") == 0) mult = 60 * 1000;
    else if (strcmp(end, "h") == 0) mult = 3600 * 1000;
    else if (strcmp(end, "d") == 0) mult = 24 * 3600 * 1000;
    else return -1;
    if (v > INT64_MAX / mult || v * mult > max_ms)
        return -1;
    *out = v * mult;
    return 0;
}

static int parse_duration(int64_t *out, const char *text)
{
    return parse_duration_upto(out, text, (int64_t)30 * 24 * 3600 * 1000);
}

/* Event retention may be long: up to ten years. */
#define EVENT_RETENTION_MAX_MS ((int64_t)3650 * 24 * 3600 * 1000)

static int parse_int(int *out, const char *text, int lo, int hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_bool(bool *out, const char *text)
{
    if (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes")) *out = true;
    else if (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no")) *out = false;
    else return -1;
    return 0;
}

/* HOST:PORT, [V6]:PORT or :PORT (all interfaces). */
static int parse_listen(server_options *o, const char *text)
{
    const char *colon = strrchr(text, ':');
    size_t hlen;

    if (colon == NULL || parse_int(&o->listen_port, colon + 1, 0, 65535) < 0)
        return -1;
    hlen = (size_t)(colon - text);
    if (hlen >= 2 && text[0] == '[' && text[hlen - 1] == ']') {
        text++;
        hlen -= 2;
        o->listen_ipv6 = 1;
    }
    if (hlen >= sizeof(o->listen_host))
        return -1;
    memcpy(o->listen_host, text, hlen);
    o->listen_host[hlen] = '\0';
    return 0;
}

/* An HTTP field name (RFC 9110 token) of sane length. */
static bool header_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 && strspn(s, "!#$%&'*+-.^_`|~0123456789"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static int apply_one(server_options *o, int i, const resolved *r)
{
    const char *v = r->value;
    const opt_spec *s = &specs[i];
    int n = 0, rc = 0;

    if (v == NULL)
        return 0;
    switch (i) {
    case O_LISTEN:          rc = parse_listen(o, v); break;
    case O_STORE:           o->store = v; break;
    case O_KUBECONFIG:      o->kubeconfig = v; break;
    case O_KUBE_CONTEXT:    o->kube_context = v; break;
    case O_NAMESPACE:       o->namespace_ = v; break;
    case O_TEMPLATE_DIR:    o->template_dir = v; break;
    case O_SECRET_KEY_FILE: o->secret_key_file = v; break;
    case O_IMAGE_MAP:       o->image_map = v; break;
    case O_CLUSTER_DOMAIN:  o->cluster_domain = v; break;
    case O_TEAM_HEADER:     rc = header_name_ok(v) ? (o->team_header = v, 0) : -1; break;
    case O_TRUSTED_PROXIES: rc = net_list_parse(&o->trusted_proxies, v); break;
    case O_MAX_STORAGE:     o->max_storage_size = v; break;
    case O_CREATE_KEY:      rc = parse_bool(&o->create_secret_key, v); break;
    case O_MIGRATE:         rc = parse_bool(&o->migrate, v); break;
    case O_INSECURE_TLS:    rc = parse_bool(&o->allow_insecure_tls, v); break;
    case O_PROV_DEADLINE:   rc = parse_duration(&o->provisioning_deadline_ms, v); break;
    case O_EVENT_RETENTION: rc = parse_duration_upto(&o->event_retention_ms, v, EVENT_RETENTION_MAX_MS); break;
    case O_RESYNC:          rc = parse_duration(&o->resync_period_ms, v); break;
    case O_CONN_TIMEOUT:    rc = parse_duration(&o->connection_timeout_ms, v); break;
    case O_REQ_TIMEOUT:     rc = parse_duration(&o->request_timeout_ms, v); break;
    case O_HEADER_TIMEOUT:  rc = parse_duration(&o->header_timeout_ms, v); break;
    case O_SHUTDOWN_GRACE:  rc = parse_duration(&o->shutdown_grace_ms, v); break;
    case O_WAIT_POLL:       rc = parse_duration(&o->wait_poll_ms, v); break;
    case O_IDEM_TTL:        rc = parse_duration(&o->idempotency_ttl_ms, v); break;
    case O_IDEM_LEASE:      rc = parse_duration(&o->idempotency_lease_ms, v); break;
    case O_MAX_INSTANCES:   rc = parse_int(&n, v, 1, 99); o->max_instances = n; break;
    case O_THREADS:         rc = parse_int(&o->threads, v, 1, 64); break;
    case O_WORKERS:         rc = parse_int(&o->reconcile_workers, v, 1, 64); break;
    case O_MAX_CONN:        rc = parse_int(&o->max_connections, v, 1, 100000); break;
    case O_MAX_CONN_PER_IP: rc = parse_int(&o->max_connections_per_ip, v, 0, 100000); break;
    case O_LOG_LEVEL:       rc = (o->log_level = log_level_parse(v)) < 0 ? -1 : 0; break;
    default: break;
    }
    if (rc < 0)
        return bad_value(s, r, s->type == T_DURATION ? "not a positive duration (e.g. 500ms, 30s, 15m)" :
                                s->type == T_INT ? "not an integer in range" :
                                s->type == T_BOOL ? "not true or false" :
                                s->type == T_LEVEL ? "not one of debug, info, warn, error" :
                                s->type == T_LISTEN ? "not HOST:PORT" :
                                s->type == T_HEADER ? "not an HTTP header name" :
                                s->type == T_NETS ? "not a comma-separated list of IP addresses or CIDRs" : "bad value");
    return 0;
}

/* Kubernetes calls wait on the network, not the CPU: 2 per CPU, 4 to 16. */
static int default_workers(void)
{
    int n = cpu_count() * 2;
    return n < 4 ? 4 : n > 16 ? 16 : n;
}

options_result options_load(server_options *out, int argc, char **argv)
{
    resolved r[O__COUNT];
    options_result res;
    int i;

    memset(r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    if ((res = parse_flags(r, argc, argv)) != OPTIONS_OK)
        return res;
    if (r[O_CONFIG].src != SRC_FLAG)
        r[O_CONFIG].value = getenv("DAAP_CONFIG");
    if (load_config_file(r) < 0)
        return OPTIONS_EXIT_USAGE;
    fill_lower_layers(r);
    for (i = 0; i < O__COUNT; i++)
        if (apply_one(out, i, &r[i]) < 0)
            return OPTIONS_EXIT_USAGE;
    if (out->threads == 0)
        out->threads = cpu_count();
    if (out->reconcile_workers == 0)
        out->reconcile_workers = default_workers();
    return OPTIONS_OK;
}

void options_free(void)
{
    daap_config_free(config_file);
    config_file = NULL;
}
