/* kubeconfig and in-cluster configuration, following kubectl's rules
 * (shared/reference/k8s-api.md section 12). */
#include "kube/kubeconfig.h"
#include "kube/kube_object.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <json-c/json.h>
#include <yaml.h>

#define FILE_MAX       (16u * 1024 * 1024)
#define YAML_NODES_MAX 100000 /* aliases make a small file expand; stop bombs */
#define YAML_DEPTH_MAX 64

int daap__read_file(daap_buf *out, const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        int e = errno;
        return daap_error_set(e == ENOENT ? DAAP_ENOTFOUND : DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "cannot read %s %s: %s", what, path, strerror(e));
    }
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->size + n > FILE_MAX)
            rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s %s is larger than 16 MiB", what, path);
        else
            rc = daap__buf_put(out, chunk, n);
    }
    if (rc == 0 && ferror(f))
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "cannot read %s %s: %s", what, path, strerror(errno));
    fclose(f);
    return rc;
}

/* A file that a configuration names but that is missing makes the
 * configuration invalid, not absent: keep the message, change the code. */
static int missing_is_invalid(int rc)
{
    char msg[512];

    if (rc != DAAP_ENOTFOUND)
        return rc;
    snprintf(msg, sizeof(msg), "%s", daap_error_last()->message);
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s", msg);
}

/* ---- YAML to json-c: scalars become strings, plain null-ish scalars null. */

typedef struct {
    yaml_document_t *doc;
    const char      *path;
    size_t           budget;
} yaml_conv;

static int convert_node(json_object **out, yaml_conv *c, yaml_node_t *node, int depth);

static bool is_null_scalar(const yaml_node_t *node)
{
    const char *v = (const char *)node->data.scalar.value;

    return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
        && (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0
            || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

static int convert_mapping(json_object *map, yaml_conv *c, yaml_node_t *node, int depth)
{
    yaml_node_pair_t *pair;

    for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(c->doc, pair->key);
        json_object *value = NULL;

        if (key == NULL || key->type != YAML_SCALAR_NODE)
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                                  "kubeconfig %s: a mapping key is not a string", c->path);
        DAAP_TRY(convert_node(&value, c, yaml_document_get_node(c->doc, pair->value), depth + 1));
        if (json_object_object_add(map, (const char *)key->data.scalar.value, value) != 0) {
            json_object_put(value);
            return daap_error_set_oom();
        }
    }
    return 0;
}

static int convert_sequence(json_object *arr, yaml_conv *c, yaml_node_t *node, int depth)
{
    yaml_node_item_t *item;

    for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++) {
        json_object *value = NULL;

        DAAP_TRY(convert_node(&value, c, yaml_document_get_node(c->doc, *item), depth + 1));
        if (json_object_array_add(arr, value) != 0) {
            json_object_put(value);
            return daap_error_set_oom();
        }
    }
    return 0;
}

static int convert_node(json_object **out, yaml_conv *c, yaml_node_t *node, int depth)
{
    int rc;

    *out = NULL;
    if (node == NULL || depth > YAML_DEPTH_MAX || c->budget == 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "kubeconfig %s is nested too deeply or too large", c->path);
    c->budget--;
    switch (node->type) {
    case YAML_SCALAR_NODE:
        if (is_null_scalar(node))
            return 0;
        *out = json_object_new_string_len((const char *)node->data.scalar.value, (int)node->data.scalar.length);
        return *out ? 0 : daap_error_set_oom();
    case YAML_MAPPING_NODE:
        DAAP_ERROR_CHECK_ALLOC(*out = json_object_new_object());
        rc = convert_mapping(*out, c, node, depth);
        break;
    case YAML_SEQUENCE_NODE:
        DAAP_ERROR_CHECK_ALLOC(*out = json_object_new_array());
        rc = convert_sequence(*out, c, node, depth);
        break;
    default:
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "kubeconfig %s: empty YAML node", c->path);
    }
    if (rc < 0) {
        json_object_put(*out);
        *out = NULL;
    }
    return rc;
}

/* Parse one kubeconfig; *out is NULL for an empty file. */
static int parse_yaml(json_object **out, const char *path, const daap_buf *text)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    yaml_conv conv = { &doc, path, YAML_NODES_MAX };
    int rc = 0;

    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return daap_error_set_oom();
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text->ptr ? text->ptr : ""), text->size);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "kubeconfig %s: line %zu: %s", path,
                            parser.problem_mark.line + 1, parser.problem ? parser.problem : "bad YAML");
        yaml_parser_delete(&parser);
        return rc;
    }
    root = yaml_document_get_root_node(&doc);
    if (root != NULL)
        rc = convert_node(out, &conv, root, 0);
    if (rc == 0 && *out != NULL && !json_object_is_type(*out, json_type_object))
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "kubeconfig %s is not a mapping", path);
    if (rc < 0) {
        json_object_put(*out);
        *out = NULL;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- merging several files */

static const char *str_field(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string)
           && *json_object_get_string(v) ? json_object_get_string(v) : NULL;
}

static bool has_field(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && v != NULL;
}

/* Named entries: name -> {"v": the cluster/user/context body, "dir": the
 * directory of the file that defined it first}. */
typedef struct {
    json_object *clusters, *users, *contexts;
    char        *current_context;
    daap_buf     files; /* the files read, ':'-joined, for messages */
} merged;

static void merged_dispose(merged *m)
{
    json_object_put(m->clusters);
    json_object_put(m->users);
    json_object_put(m->contexts);
    daap__free(m->current_context);
    daap_buf_dispose(&m->files);
}

static int add_entry(json_object *map, const char *name, json_object *body, const char *dir)
{
    json_object *entry = json_object_new_object();
    json_object *jdir = json_object_new_string(dir);

    if (entry == NULL || jdir == NULL || json_object_object_add(entry, "dir", jdir) != 0) {
        json_object_put(jdir);
        json_object_put(entry);
        return daap_error_set_oom();
    }
    body = body ? json_object_get(body) : json_object_new_object();
    if (body == NULL || json_object_object_add(entry, "v", body) != 0
        || json_object_object_add(map, name, entry) != 0) {
        json_object_put(entry);
        return daap_error_set_oom();
    }
    return 0;
}

static int merge_named(json_object *map, json_object *root, const char *list_key,
                       const char *item_key, const char *dir)
{
    json_object *list;
    size_t i, n;

    if (!json_object_object_get_ex(root, list_key, &list) || !json_object_is_type(list, json_type_array))
        return 0;
    n = json_object_array_length(list);
    for (i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(list, i), *body = NULL;
        const char *name = str_field(item, "name");

        if (name == NULL || json_object_object_get_ex(map, name, NULL))
            continue; /* the first file that defines a name wins */
        json_object_object_get_ex(item, item_key, &body);
        DAAP_TRY(add_entry(map, name, json_object_is_type(body, json_type_object) ? body : NULL, dir));
    }
    return 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return daap__strdup(".");
    return daap__strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static int merge_file(merged *m, const char *path, json_object *root)
{
    const char *current = str_field(root, "current-context");
    char *dir = dir_of(path);
    int rc;

    DAAP_ERROR_CHECK_ALLOC(dir);
    if (m->current_context == NULL && current && (m->current_context = daap__strdup(current)) == NULL)
        rc = daap_error_set_oom();
    else if ((rc = merge_named(m->clusters, root, "clusters", "cluster", dir)) == 0
             && (rc = merge_named(m->users, root, "users", "user", dir)) == 0)
        rc = merge_named(m->contexts, root, "contexts", "context", dir);
    daap__free(dir);
    return rc;
}

/* Read and merge one file; a missing file is skipped. */
static int load_file(merged *m, const char *path)
{
    daap_buf text = DAAP_BUF_INIT;
    json_object *root = NULL;
    int rc = daap__read_file(&text, path, "kubeconfig");

    if (rc == DAAP_ENOTFOUND) {
        daap_error_clear();
        return 0;
    }
    if (rc == 0)
        rc = parse_yaml(&root, path, &text);
    daap_buf_dispose(&text);
    if (rc == 0 && root)
        rc = merge_file(m, path, root);
    json_object_put(root);
    if (rc == 0 && (m->files.size == 0 || (rc = daap__buf_putc(&m->files, ':')) == 0))
        rc = daap__buf_puts(&m->files, path);
    return rc;
}

static int load_files(merged *m, const char *paths)
{
    const char *p = paths;

    m->clusters = json_object_new_object();
    m->users = json_object_new_object();
    m->contexts = json_object_new_object();
    if (!m->clusters || !m->users || !m->contexts)
        return daap_error_set_oom();
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0) {
            char *path = daap__strndup(p, n);
            int rc;

            DAAP_ERROR_CHECK_ALLOC(path);
            rc = load_file(m, path);
            daap__free(path);
            DAAP_TRY(rc);
        }
        p += n + (p[n] == ':');
    }
    return 0;
}

/* ---- turning the selected context into a daap__kubeconfig */

static json_object *lookup_entry(json_object *map, const char *name, const char **dir)
{
    json_object *entry, *v = NULL;

    if (name == NULL || !json_object_object_get_ex(map, name, &entry))
        return NULL;
    *dir = str_field(entry, "dir");
    json_object_object_get_ex(entry, "v", &v);
    return v;
}

/* A path from a kubeconfig: relative to the file's directory, made absolute
 * so that re-reading (tokenFile) survives a later chdir. */
static char *resolve_path(const char *dir, const char *path)
{
    daap_buf b = DAAP_BUF_INIT;
    char cwd[4096];

    if (path[0] != '/' && dir[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
        daap__buf_printf(&b, "%s/", cwd);
    if (path[0] != '/')
        daap__buf_printf(&b, "%s/", dir);
    if (daap__buf_puts(&b, path) < 0) {
        daap_buf_dispose(&b);
        return NULL;
    }
    return daap__buf_detach(&b);
}

static int decode_data(daap_buf *out, const char *b64, const char *key, const char *owner)
{
    daap_buf clean = DAAP_BUF_INIT;
    const char *p;
    int rc = 0;

    for (p = b64; *p && rc == 0; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ')
            rc = daap__buf_putc(&clean, *p);
    if (rc == 0 && daap__base64_decode(out, clean.ptr ? clean.ptr : "", clean.size) < 0)
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s of %s is not valid base64", key, owner);
    daap_buf_dispose(&clean);
    return rc;
}

static int read_config_file(daap_buf *out, const char *dir, const char *path, const char *key,
                            const char *owner)
{
    char *abs = resolve_path(dir, path);
    char what[128];
    int rc;

    DAAP_ERROR_CHECK_ALLOC(abs);
    /* only a label for messages: a long owner may cut it short */
    if (snprintf(what, sizeof(what), "%s of %s", key, owner) >= (int)sizeof(what))
        what[sizeof(what) - 2] = '~';
    rc = missing_is_invalid(daap__read_file(out, abs, what));
    daap__free(abs);
    return rc;
}

/* A PEM given as `<file_key>: path` or `<file_key>-data: base64`.
 * @return 1 when given, 0 when absent, or an error */
static int load_pem(daap_buf *out, json_object *body, const char *dir, const char *file_key,
                    const char *owner)
{
    char data_key[64];
    const char *file, *data;

    snprintf(data_key, sizeof(data_key), "%s-data", file_key);
    file = str_field(body, file_key);
    data = str_field(body, data_key);
    if (file && data)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "%s sets both %s and %s; keep one", owner, file_key, data_key);
    if (data)
        DAAP_TRY(decode_data(out, data, data_key, owner));
    else if (file)
        DAAP_TRY(read_config_file(out, dir, file, file_key, owner));
    return file || data;
}

static int kubeconfig_bool(bool *out, json_object *body, const char *key, const char *owner)
{
    static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
    static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
    const char *v = str_field(body, key);
    size_t i;

    *out = false;
    if (v == NULL)
        return 0;
    for (i = 0; i < DAAP_ARRAY_SIZE(yes); i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s: %s must be true or false", owner, key);
}

static int dup_field(char **out, json_object *body, const char *key)
{
    const char *v = str_field(body, key);
    if (v && (*out = daap__strdup(v)) == NULL)
        return daap_error_set_oom();
    return 0;
}

static int apply_cluster(daap__kubeconfig *cfg, json_object *body, const char *dir, const char *name,
                         unsigned int flags)
{
    char owner[300];
    const char *server = str_field(body, "server");
    int has_ca;
    size_t n;

    snprintf(owner, sizeof(owner), "cluster \"%s\"", name);
    if (server == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s has no server", owner);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "%s: server %s is not an http:// or https:// URL", owner, server);
    n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
        n--;
    DAAP_ERROR_CHECK_ALLOC(cfg->server = daap__strndup(server, n));
    DAAP_TRY(has_ca = load_pem(&cfg->ca_pem, body, dir, "certificate-authority", owner));
    DAAP_TRY(kubeconfig_bool(&cfg->insecure, body, "insecure-skip-tls-verify", owner));
    if (cfg->insecure && has_ca)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "%s: specifying a root certificates file with the insecure flag is not allowed", owner);
    if (cfg->insecure && !(flags & DAAP_CTX_ALLOW_INSECURE_TLS))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "%s sets insecure-skip-tls-verify; daap refuses that unless insecure TLS is "
                              "explicitly allowed (DAAP_CTX_ALLOW_INSECURE_TLS)", owner);
    DAAP_TRY(dup_field(&cfg->tls_server_name, body, "tls-server-name"));
    return dup_field(&cfg->proxy_url, body, "proxy-url");
}

static int refuse_unsupported_auth(json_object *body, const char *owner)
{
    static const struct { const char *key, *what; } unsupported[] = {
        { "exec", "an exec credential plugin" }, { "auth-provider", "an auth-provider plugin" },
        { "username", "basic authentication" }, { "password", "basic authentication" },
        { "as", "impersonation" }, { "as-groups", "impersonation" }, { "as-uid", "impersonation" },
        { "as-user-extra", "impersonation" },
    };
    size_t i;

    for (i = 0; i < DAAP_ARRAY_SIZE(unsupported); i++)
        if (has_field(body, unsupported[i].key))
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                                  "%s uses %s (%s), which daap does not support; give it a token, "
                                  "tokenFile or client certificate", owner, unsupported[i].what,
                                  unsupported[i].key);
    return 0;
}

static int apply_user(daap__kubeconfig *cfg, json_object *body, const char *dir, const char *name)
{
    char owner[300];
    const char *token_file = str_field(body, "tokenFile");
    int has_cert, has_key;

    snprintf(owner, sizeof(owner), "user \"%s\"", name);
    DAAP_TRY(refuse_unsupported_auth(body, owner));
    DAAP_TRY(has_cert = load_pem(&cfg->client_cert_pem, body, dir, "client-certificate", owner));
    DAAP_TRY(has_key = load_pem(&cfg->client_key_pem, body, dir, "client-key", owner));
    if (has_cert != has_key)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "%s has a client %s without a client %s", owner,
                              has_cert ? "certificate" : "key", has_cert ? "key" : "certificate");
    if (token_file) {
        daap_buf check = DAAP_BUF_INIT;
        int rc;

        DAAP_ERROR_CHECK_ALLOC(cfg->token_file = resolve_path(dir, token_file));
        rc = read_config_file(&check, "/", cfg->token_file, "tokenFile", owner);
        daap_buf_dispose(&check);
        return rc;
    }
    return dup_field(&cfg->token, body, "token");
}

static int select_context(daap__kubeconfig *cfg, const merged *m, const char *context, unsigned int flags)
{
    const char *name = context ? context : m->current_context;
    const char *dir = NULL, *cluster_name, *user_name;
    json_object *ctx, *cluster, *user = NULL;
    char origin[300];

    if (name == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "kubeconfig %s has no current-context; choose a context", m->files.ptr);
    if ((ctx = lookup_entry(m->contexts, name, &dir)) == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "context \"%s\" is not defined in kubeconfig %s", name, m->files.ptr);
    snprintf(origin, sizeof(origin), "kubeconfig context \"%s\"", name);
    DAAP_ERROR_CHECK_ALLOC(cfg->origin = daap__strdup(origin));
    cluster_name = str_field(ctx, "cluster");
    user_name = str_field(ctx, "user");
    if ((cluster = lookup_entry(m->clusters, cluster_name, &dir)) == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "context \"%s\" names cluster \"%s\", which kubeconfig %s does not define",
                              name, cluster_name ? cluster_name : "", m->files.ptr);
    DAAP_TRY(apply_cluster(cfg, cluster, dir, cluster_name, flags));
    if (user_name && (user = lookup_entry(m->users, user_name, &dir)) == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "context \"%s\" names user \"%s\", which kubeconfig %s does not define",
                              name, user_name, m->files.ptr);
    if (user)
        DAAP_TRY(apply_user(cfg, user, dir, user_name));
    cfg->namespace_ = daap__strdup(str_field(ctx, "namespace") ? str_field(ctx, "namespace") : "default");
    return cfg->namespace_ ? 0 : daap_error_set_oom();
}

/* ---- in-cluster */

static void trim_end(daap_buf *b)
{
    while (b->size > 0 && strchr(" \t\r\n", b->ptr[b->size - 1]))
        b->ptr[--b->size] = '\0';
}

static int in_cluster_namespace(daap__kubeconfig *cfg, const char *sa_dir)
{
    const char *env = getenv("POD_NAMESPACE");
    daap_buf path = DAAP_BUF_INIT, ns = DAAP_BUF_INIT;

    if (env == NULL || *env == '\0') {
        /* a missing or empty namespace file means "default", as in client-go */
        if (daap__buf_printf(&path, "%s/namespace", sa_dir) == 0
            && daap__read_file(&ns, path.ptr, "service-account namespace") == 0)
            trim_end(&ns);
        daap_error_clear();
    }
    if (env && *env)
        cfg->namespace_ = daap__strdup(env);
    else if (ns.size > 0)
        cfg->namespace_ = daap__buf_detach(&ns);
    else
        cfg->namespace_ = daap__strdup("default");
    daap_buf_dispose(&path);
    daap_buf_dispose(&ns);
    return cfg->namespace_ ? 0 : daap_error_set_oom();
}

int daap__kubeconfig_in_cluster(daap__kubeconfig *out)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    const char *sa_dir = getenv("DAAP_SERVICEACCOUNT_DIR");
    daap_buf b = DAAP_BUF_INIT;
    int rc;

    memset(out, 0, sizeof(*out));
    if (sa_dir == NULL || *sa_dir == '\0')
        sa_dir = DAAP__SERVICEACCOUNT_DIR;
    if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "in-cluster config needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT");
    DAAP_ERROR_CHECK_ALLOC(out->origin = daap__strdup("in-cluster config"));
    rc = daap__buf_printf(&b, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
    if (rc == 0 && (out->server = daap__buf_detach(&b)) == NULL)
        rc = daap_error_set_oom();
    if (rc == 0 && (rc = daap__buf_printf(&b, "%s/token", sa_dir)) == 0
        && (out->token_file = daap__buf_detach(&b)) == NULL)
        rc = daap_error_set_oom();
    if (rc == 0)
        rc = missing_is_invalid(daap__read_file(&b, out->token_file, "service-account token"));
    daap__buf_clear(&b);
    if (rc == 0 && (rc = daap__buf_printf(&b, "%s/ca.crt", sa_dir)) == 0)
        rc = missing_is_invalid(daap__read_file(&out->ca_pem, b.ptr, "service-account CA"));
    daap_buf_dispose(&b);
    if (rc == 0)
        rc = in_cluster_namespace(out, sa_dir);
    if (rc < 0)
        daap__kubeconfig_dispose(out);
    return rc;
}

/* ---- entry points */

static char *default_paths(void)
{
    const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
    daap_buf b = DAAP_BUF_INIT;

    if (env && *env)
        return daap__strdup(env);
    if (home && *home && daap__buf_printf(&b, "%s/.kube/config", home) == 0)
        return daap__buf_detach(&b);
    return daap__strdup("");
}

static int load_kubeconfig(daap__kubeconfig *out, const char *paths, bool explicit_paths,
                           const char *context, unsigned int flags)
{
    merged m = { 0 };
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    int rc = load_files(&m, paths);

    if (rc == 0 && m.files.size == 0) {
        if (!explicit_paths && host && *host)
            rc = daap__kubeconfig_in_cluster(out);
        else
            rc = daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_CONFIG,
                                "no Kubernetes configuration: no kubeconfig at %s%s", *paths ? paths : "(none)",
                                explicit_paths ? "" : " and not in a cluster (KUBERNETES_SERVICE_HOST unset)");
    } else if (rc == 0) {
        rc = select_context(out, &m, context, flags);
    }
    merged_dispose(&m);
    return rc;
}

int daap__kubeconfig_load(daap__kubeconfig *out, const char *paths, const char *context,
                          unsigned int flags)
{
    char *defaults = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (paths == NULL && (paths = defaults = default_paths()) == NULL)
        return daap_error_set_oom();
    rc = load_kubeconfig(out, paths, defaults == NULL, context, flags);
    daap__free(defaults);
    if (rc < 0)
        daap__kubeconfig_dispose(out);
    return rc;
}

void daap__kubeconfig_dispose(daap__kubeconfig *cfg)
{
    if (cfg == NULL)
        return;
    daap__free(cfg->server);
    daap__free(cfg->namespace_);
    daap__free(cfg->origin);
    daap_buf_dispose(&cfg->ca_pem);
    daap_buf_dispose(&cfg->client_cert_pem);
    if (cfg->client_key_pem.ptr) /* a private key: do not leave it in freed memory */
        memset(cfg->client_key_pem.ptr, 0, cfg->client_key_pem.asize);
    daap_buf_dispose(&cfg->client_key_pem);
    if (cfg->token)
        memset(cfg->token, 0, strlen(cfg->token));
    daap__free(cfg->token);
    daap__free(cfg->token_file);
    daap__free(cfg->tls_server_name);
    daap__free(cfg->proxy_url);
    memset(cfg, 0, sizeof(*cfg));
}
