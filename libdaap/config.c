/* The optional YAML configuration file: one flat mapping of known keys.
 * Read with libyaml's event parser, so structure we do not accept (nested
 * values, aliases, several documents) is refused where it appears, with its
 * line, instead of being silently flattened. */
#include "common.h"
#include "db/validate.h"

#include <errno.h>
#include <stdio.h>
#include <yaml.h>

#define CONFIG_FILE_MAX  (64 * 1024)
#define CONFIG_VALUE_MAX 4096

/* Documentation order; daap-server maps each one to a flag and a variable. */
static const char *const known_keys[] = {
    "listen", "store", "kubeconfig", "kube_context", "namespace", "template_dir",
    "secret_key_file", "provisioning_deadline", "resync_period", "log_level",
    "image_map", "cluster_domain", "max_instances", "max_storage_size", "threads", "reconcile_workers", "max_connections",
    "connection_timeout", "request_timeout", "shutdown_grace", "wait_poll_interval", "event_retention",
    "idempotency_ttl", "idempotency_lease", "max_connections_per_ip", "header_timeout", "team_header",
    "trusted_proxies",
};

#define KEY_COUNT DAAP_ARRAY_SIZE(known_keys)

struct daap_config {
    char *path;
    char *values[KEY_COUNT]; /* NULL: unset */
    int   lines[KEY_COUNT];  /* 0: not mentioned */
};

/* The parse in progress: events come one at a time from libyaml. */
typedef struct {
    yaml_parser_t parser;
    daap_config  *cfg;
    const char   *path;
} reader;

const char *daap_config_known_key(size_t i)
{
    return i < KEY_COUNT ? known_keys[i] : NULL;
}

static int key_index(const char *key)
{
    size_t i;
    for (i = 0; i < KEY_COUNT; i++)
        if (strcmp(known_keys[i], key) == 0)
            return (int)i;
    return -1;
}

static int bad(const reader *r, size_t line, const char *key, const char *code, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", what);
    daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s:%zu: %s", r->path, line, what);
    daap_error_add_field(key ? key : "config", code, msg);
    return DAAP_EINVALID;
}

static int next_event(reader *r, yaml_event_t *ev)
{
    if (yaml_parser_parse(&r->parser, ev))
        return 0;
    daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s:%zu: %s", r->path,
                   r->parser.problem_mark.line + 1, r->parser.problem ? r->parser.problem : "bad YAML");
    daap_error_add_field("config", "syntax", r->parser.problem ? r->parser.problem : "bad YAML");
    return DAAP_EINVALID;
}

/* Skip an event we expect, or fail naming what came instead. */
static int expect(reader *r, yaml_event_type_t type, const char *what)
{
    yaml_event_t ev;
    int rc;
    DAAP_TRY(next_event(r, &ev));
    rc = ev.type == type ? 0 : bad(r, ev.start_mark.line + 1, NULL, "structure", what);
    yaml_event_delete(&ev);
    return rc;
}

static bool is_null_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int store_value(reader *r, int idx, const char *key, const yaml_event_t *ev)
{
    size_t line = ev->start_mark.line + 1;
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;

    if (len > CONFIG_VALUE_MAX || strlen(v) != len)
        return bad(r, line, key, "invalid", "value is too long or contains a NUL byte");
    if (!daap__is_clean_text(v, len, false))
        return bad(r, line, key, "invalid_text", "value has control characters");
    r->cfg->lines[idx] = (int)line;
    if (is_null_scalar(ev))
        return 0;
    r->cfg->values[idx] = daap__strdup(v);
    DAAP_ERROR_CHECK_ALLOC(r->cfg->values[idx]);
    return 0;
}

/* The value event after a key: only a scalar is a valid value. */
static int read_value(reader *r, int idx, const char *key)
{
    yaml_event_t ev;
    char msg[128];
    int rc;

    DAAP_TRY(next_event(r, &ev));
    if (ev.type == YAML_SCALAR_EVENT) {
        rc = store_value(r, idx, key, &ev);
    } else {
        snprintf(msg, sizeof(msg), "'%s' must be a single value, not a %s", key,
                 ev.type == YAML_ALIAS_EVENT ? "YAML alias" :
                 ev.type == YAML_SEQUENCE_START_EVENT ? "list" : "mapping");
        rc = bad(r, ev.start_mark.line + 1, key, "type", msg);
    }
    yaml_event_delete(&ev);
    return rc;
}

static int read_key(reader *r, const yaml_event_t *ev)
{
    size_t line = ev->start_mark.line + 1;
    const char *key = (const char *)ev->data.scalar.value;
    char msg[160];
    int idx = key_index(key);

    if (idx < 0) {
        snprintf(msg, sizeof(msg), "unknown key '%.64s'", key);
        return bad(r, line, key, "unknown_key", msg);
    }
    if (r->cfg->lines[idx] != 0) {
        snprintf(msg, sizeof(msg), "'%s' is set twice (first on line %d)", key, r->cfg->lines[idx]);
        return bad(r, line, key, "duplicate", msg);
    }
    return read_value(r, idx, key);
}

/* Key/value pairs until the mapping ends. */
static int read_mapping(reader *r)
{
    for (;;) {
        yaml_event_t ev;
        int rc;

        DAAP_TRY(next_event(r, &ev));
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        rc = ev.type == YAML_SCALAR_EVENT ? read_key(r, &ev)
                                          : bad(r, ev.start_mark.line + 1, NULL, "structure", "keys must be plain names");
        yaml_event_delete(&ev);
        DAAP_TRY(rc);
    }
}

/* One document holding one mapping, or nothing at all. */
static int read_stream(reader *r)
{
    yaml_event_t ev;
    int rc = 0;

    DAAP_TRY(expect(r, YAML_STREAM_START_EVENT, "not a YAML stream"));
    DAAP_TRY(next_event(r, &ev));
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0; /* empty file */
    }
    yaml_event_delete(&ev);
    DAAP_TRY(next_event(r, &ev));
    if (ev.type == YAML_MAPPING_START_EVENT)
        rc = read_mapping(r);
    else if (!(ev.type == YAML_SCALAR_EVENT && is_null_scalar(&ev)))
        rc = bad(r, ev.start_mark.line + 1, NULL, "structure", "the configuration must be a mapping of key: value");
    yaml_event_delete(&ev);
    DAAP_TRY(rc);
    DAAP_TRY(expect(r, YAML_DOCUMENT_END_EVENT, "only one YAML document is allowed"));
    return expect(r, YAML_STREAM_END_EVENT, "only one YAML document is allowed");
}

static int read_file(daap_buf *out, const char *path)
{
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    int rc = 0;

    if (f == NULL)
        return daap_error_set(errno == ENOENT ? DAAP_ENOTFOUND : DAAP_ERROR, DAAP_ERRCLASS_OS,
                              "config file %s: %s", path, strerror(errno));
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->size + n > CONFIG_FILE_MAX)
            rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "config file %s is larger than %d bytes",
                                path, CONFIG_FILE_MAX);
        else
            rc = daap__buf_put(out, chunk, n);
    }
    if (rc == 0 && ferror(f))
        rc = daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "config file %s: read error", path);
    fclose(f);
    return rc;
}

static int parse_text(daap_config *cfg, const char *path, const daap_buf *text)
{
    reader r;
    int rc;

    memset(&r, 0, sizeof(r));
    if (!yaml_parser_initialize(&r.parser))
        return daap_error_set_oom();
    r.cfg = cfg;
    r.path = path;
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)(text->ptr ? text->ptr : ""), text->size);
    rc = read_stream(&r);
    yaml_parser_delete(&r.parser);
    return rc;
}

int daap_config_load(daap_config **out, const char *path)
{
    daap_buf text = DAAP_BUF_INIT;
    daap_config *cfg;
    int rc;

    DAAP_ASSERT_ARG(out && path);
    *out = NULL;
    if ((rc = read_file(&text, path)) < 0) {
        daap_buf_dispose(&text);
        return rc;
    }
    cfg = daap__calloc(1, sizeof(*cfg));
    if (cfg == NULL || (cfg->path = daap__strdup(path)) == NULL) {
        daap__free(cfg);
        daap_buf_dispose(&text);
        return daap_error_set_oom();
    }
    rc = parse_text(cfg, path, &text);
    daap_buf_dispose(&text);
    if (rc < 0) {
        daap_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

const char *daap_config_get(const daap_config *cfg, const char *key)
{
    int idx;
    if (cfg == NULL || key == NULL || (idx = key_index(key)) < 0)
        return NULL;
    return cfg->values[idx];
}

int daap_config_line(const daap_config *cfg, const char *key)
{
    int idx;
    if (cfg == NULL || key == NULL || (idx = key_index(key)) < 0 || cfg->values[idx] == NULL)
        return 0;
    return cfg->lines[idx];
}

const char *daap_config_path(const daap_config *cfg)
{
    return cfg ? cfg->path : NULL;
}

void daap_config_free(daap_config *cfg)
{
    size_t i;
    if (cfg == NULL)
        return;
    for (i = 0; i < KEY_COUNT; i++)
        daap__free(cfg->values[i]);
    daap__free(cfg->path);
    daap__free(cfg);
}
