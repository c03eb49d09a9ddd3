/* CNPG templates: YAML parsed once with libyaml into a small tree; rendering
 * builds a json-c object from the tree, putting values into scalars only. */
#include "common.h"
#include "manifest/template.h"
#include "assets.h"
#include "kube/kube.h"
#include "kube/kube_object.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <yaml.h>

#define MAX_DEPTH      64
#define MAX_FILE_SIZE  (1024 * 1024)

/* The marker table of template.h, indexed by daap__marker. */
static const char *const markers[DAAP__MARKER__COUNT] = {
#define DAAP__MARKER_NAME(name, what) [DAAP__MARKER_##name] = #name,
    DAAP__TEMPLATE_MARKERS(DAAP__MARKER_NAME)
#undef DAAP__MARKER_NAME
};
#define MARKER_COUNT DAAP_ARRAY_SIZE(markers)

typedef struct {
    const char *file;
    const char *kind;
    const char *name_marker;   /* what metadata.name must be */
} kind_info;

static const kind_info kinds[DAAP__TEMPLATE__COUNT] = {
    { "cluster.yaml", "Cluster", "{{CLUSTER_NAME}}" },
    { "pooler.yaml",  "Pooler",  "{{POOLER_NAME}}" },
};

typedef enum { NODE_MAP, NODE_SEQ, NODE_SCALAR } node_type;

typedef enum {
    SCALAR_STR,     /* quoted, block or plain text without markers */
    SCALAR_NULL,
    SCALAR_BOOL,
    SCALAR_INT,
    SCALAR_FLOAT,
    SCALAR_MARKER,  /* a plain scalar that is exactly one marker: typed by its value */
    SCALAR_TEXT     /* text containing markers: always a string */
} scalar_type;

typedef struct node {
    node_type     type;
    scalar_type   stype;
    char         *text;        /* scalars; markers are written {{NAME}} */
    size_t        len;
    size_t        line, col;   /* 1-based */
    struct node **kids;        /* maps: key, value, key, value...; sequences: items */
    size_t        count, alloc;
    int           marker;      /* SCALAR_MARKER: index into markers[] */
    union { int64_t i; double d; int b; } v;
} node;

struct daap__templates {
    node *root[DAAP__TEMPLATE__COUNT];
    char *origin[DAAP__TEMPLATE__COUNT];
};

typedef struct {
    yaml_parser_t parser;
    const char   *origin;
    const char   *text;        /* the protected source, for reader-error positions */
    size_t        text_len;
    regex_t       re_int, re_float, re_ambiguous;
} loader;

/* ------------------------------------------------------------------ errors */

static int tpl_error(const char *origin, size_t line, size_t col, const char *fmt, ...) DAAP_PRINTF(4, 5);

static int tpl_error(const char *origin, size_t line, size_t col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s:%zu:%zu: %s", origin, line, col, msg);
}

/* ------------------------------------------------------------------ markers */

const char *daap__template_marker_name(daap__marker m)
{
    return (int)m >= 0 && m < DAAP__MARKER__COUNT ? markers[m] : NULL;
}

static bool is_marker_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int marker_index(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < MARKER_COUNT; i++)
        if (strlen(markers[i]) == len && memcmp(markers[i], name, len) == 0)
            return (int)i;
    return -1;
}

typedef enum { MARK_OK, MARK_MALFORMED, MARK_UNKNOWN } mark_status;

/* p points at "{{". On MARK_OK and MARK_UNKNOWN, *len is the length of the
 * marker with its braces. */
static mark_status parse_marker(const char *p, size_t avail, int *idx, size_t *len)
{
    size_t i = 2;

    while (i < avail && is_marker_char(p[i]))
        i++;
    if (i == 2 || i + 1 >= avail || p[i] != '}' || p[i + 1] != '}')
        return MARK_MALFORMED;
    *len = i + 2;
    *idx = marker_index(p + 2, i - 2);
    return *idx < 0 ? MARK_UNKNOWN : MARK_OK;
}

static int marker_error(const char *origin, size_t line, size_t col, mark_status st,
                        const char *p, size_t len)
{
    char known[256] = "";
    size_t i;

    if (st == MARK_MALFORMED)
        return tpl_error(origin, line, col,
                         "malformed marker: '{{' must open {{NAME}} with NAME made of A-Z, 0-9 and _");
    for (i = 0; i < MARKER_COUNT; i++) {
        strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
        strncat(known, markers[i], sizeof(known) - strlen(known) - 1);
    }
    return tpl_error(origin, line, col, "unknown marker %.*s (known: %s)", (int)len, p, known);
}

/* ------------------------------------------------------------------ pre-pass */

/* libyaml reads "{{X}}" at the start of a plain scalar as a flow mapping, so
 * the braces of each marker become private-use characters U+E000/U+E001
 * before parsing and turn back into braces inside scalars afterwards. One
 * character replaces one, so libyaml's line and column numbers stay right. */
#define PUA_OPEN  "\xEE\x80\x80"
#define PUA_CLOSE "\xEE\x80\x81"

static int protect_markers(daap_buf *out, const char *origin, const char *src, size_t len)
{
    size_t i = 0, line = 1, col = 1, mlen = 0;
    int idx;
    mark_status st;

    while (i < len) {
        if (len - i >= 3 && (memcmp(src + i, PUA_OPEN, 3) == 0 || memcmp(src + i, PUA_CLOSE, 3) == 0))
            return tpl_error(origin, line, col, "characters U+E000 and U+E001 are reserved in templates");
        if (len - i >= 2 && src[i] == '{' && src[i + 1] == '{') {
            st = parse_marker(src + i, len - i, &idx, &mlen);
            if (st != MARK_OK)
                return marker_error(origin, line, col, st, src + i, mlen);
            DAAP_TRY(daap__buf_puts(out, PUA_OPEN PUA_OPEN));
            DAAP_TRY(daap__buf_put(out, src + i + 2, mlen - 4));
            DAAP_TRY(daap__buf_puts(out, PUA_CLOSE PUA_CLOSE));
            i += mlen;
            col += mlen;
            continue;
        }
        if (src[i] == '\n' || (src[i] == '\r' && (i + 1 == len || src[i + 1] != '\n'))) {
            line++;
            col = 0;
        }
        if (((unsigned char)src[i] & 0xC0) != 0x80)
            col++;
        DAAP_TRY(daap__buf_putc(out, src[i]));
        i++;
    }
    return 0;
}

/* Turn the private-use braces back into "{" and "}" in a parsed scalar. */
static char *restore_braces(const char *s, size_t len, size_t *out_len)
{
    char *r = daap__malloc(len + 1);
    size_t i = 0, j = 0;

    if (r == NULL)
        return NULL;
    while (i < len) {
        if (len - i >= 3 && memcmp(s + i, PUA_OPEN, 3) == 0) {
            r[j++] = '{';
            i += 3;
        } else if (len - i >= 3 && memcmp(s + i, PUA_CLOSE, 3) == 0) {
            r[j++] = '}';
            i += 3;
        } else {
            r[j++] = s[i++];
        }
    }
    r[j] = '\0';
    *out_len = j;
    return r;
}

/* ------------------------------------------------------------------ tree */

static void node_free(node *n)
{
    size_t i;

    if (n == NULL)
        return;
    for (i = 0; i < n->count; i++)
        node_free(n->kids[i]);
    daap__free(n->kids);
    daap__free(n->text);
    daap__free(n);
}

static node *node_new(node_type type, const yaml_mark_t *mark)
{
    node *n = daap__calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->type = type;
    n->line = mark->line + 1;
    n->col = mark->column + 1;
    return n;
}

/* Takes ownership of kid, also on failure. */
static int node_push(node *n, node *kid)
{
    node **k;
    size_t alloc;

    if (n->count == n->alloc) {
        alloc = n->alloc ? n->alloc * 2 : 8;
        k = daap__realloc(n->kids, alloc * sizeof(*k));
        if (k == NULL) {
            node_free(kid);
            return daap_error_set_oom();
        }
        n->kids = k;
        n->alloc = alloc;
    }
    n->kids[n->count++] = kid;
    return 0;
}

/* The value of key in a map node, or NULL. */
static const node *map_get(const node *map, const char *key)
{
    size_t i;

    if (map == NULL || map->type != NODE_MAP)
        return NULL;
    for (i = 0; i + 1 < map->count; i += 2)
        if (strcmp(map->kids[i]->text, key) == 0)
            return map->kids[i + 1];
    return NULL;
}

/* ------------------------------------------------------------------ loader */

/* Plain scalars are typed as YAML 1.1 (PyYAML, kubectl) and YAML 1.2 both
 * read them. The forms on which the two disagree (yes/no/on/off, octal, hex,
 * "1e3", "08", sexagesimal, .inf) are refused, so that a template means the
 * same thing to every tool: "archive_mode: on" must be written "on". */
static const char re_int_src[] = "^[-+]?(0|[1-9][0-9]*)$";
static const char re_float_src[] = "^[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+)([eE][-+][0-9]+)?$";
static const char re_ambiguous_src[] =
    "^[-+]?(0[0-9_]+|0[bBoOxX][0-9a-fA-F_]*|[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?"
    "|[0-9][0-9_]*_[0-9_]*(\\.[0-9_]*)?|([0-9]+\\.?[0-9]*|\\.[0-9]+)[eE][-+]?[0-9]+"
    "|\\.(inf|Inf|INF))$|^\\.(nan|NaN|NAN)$"
    "|^(yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N)$";

static int loader_init(loader *l, const char *origin, const char *text, size_t len)
{
    const int flags = REG_EXTENDED | REG_NOSUB;

    memset(l, 0, sizeof(*l));
    l->origin = origin;
    l->text = text;
    l->text_len = len;
    if (regcomp(&l->re_int, re_int_src, flags) != 0)
        return daap_error_set_oom();
    if (regcomp(&l->re_float, re_float_src, flags) != 0)
        goto fail_int;
    if (regcomp(&l->re_ambiguous, re_ambiguous_src, flags) != 0)
        goto fail_float;
    if (!yaml_parser_initialize(&l->parser))
        goto fail_ambiguous;
    yaml_parser_set_input_string(&l->parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&l->parser, YAML_UTF8_ENCODING);
    return 0;
fail_ambiguous:
    regfree(&l->re_ambiguous);
fail_float:
    regfree(&l->re_float);
fail_int:
    regfree(&l->re_int);
    return daap_error_set_oom();
}

static void loader_dispose(loader *l)
{
    yaml_parser_delete(&l->parser);
    regfree(&l->re_int);
    regfree(&l->re_float);
    regfree(&l->re_ambiguous);
}

/* Line and column of a byte offset, counted like libyaml (characters). */
static void offset_position(const loader *l, size_t off, size_t *line, size_t *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < off && i < l->text_len; i++) {
        if (l->text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)l->text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static int parser_error(loader *l)
{
    const yaml_parser_t *p = &l->parser;
    size_t line, col;

    if (p->error == YAML_MEMORY_ERROR)
        return daap_error_set_oom();
    if (p->error == YAML_READER_ERROR) {
        offset_position(l, p->problem_offset, &line, &col);
        return tpl_error(l->origin, line, col, "%s", p->problem ? p->problem : "unreadable input");
    }
    return tpl_error(l->origin, p->problem_mark.line + 1, p->problem_mark.column + 1, "%s%s%s%s",
                     p->problem ? p->problem : "invalid YAML",
                     p->context ? " (" : "", p->context ? p->context : "", p->context ? ")" : "");
}

static int next_event(loader *l, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&l->parser, ev))
        return parser_error(l);
    return 0;
}

static int event_error(loader *l, const yaml_event_t *ev, const char *what)
{
    return tpl_error(l->origin, ev->start_mark.line + 1, ev->start_mark.column + 1, "%s", what);
}

/* Anchors, aliases and tags make a template harder to read and to check;
 * daap's templates need none of them. */
static int check_plain_node(loader *l, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return event_error(l, ev, "aliases (*name) are not supported in templates");
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default:
        return event_error(l, ev, "unexpected YAML event");
    }
    if (anchor != NULL)
        return event_error(l, ev, "anchors (&name) are not supported in templates");
    if (tag != NULL)
        return event_error(l, ev, "tags (!tag) are not supported in templates");
    return 0;
}

static int classify_plain(loader *l, node *n)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
    static const char *const trues[] = { "true", "True", "TRUE" };
    static const char *const falses[] = { "false", "False", "FALSE" };
    size_t i;

    n->stype = SCALAR_STR;
    for (i = 0; i < DAAP_ARRAY_SIZE(nulls); i++)
        if (strcmp(n->text, nulls[i]) == 0)
            n->stype = SCALAR_NULL;
    for (i = 0; i < DAAP_ARRAY_SIZE(trues); i++)
        if (strcmp(n->text, trues[i]) == 0 || strcmp(n->text, falses[i]) == 0) {
            n->stype = SCALAR_BOOL;
            n->v.b = strcmp(n->text, trues[i]) == 0;
        }
    if (n->stype != SCALAR_STR)
        return 0;
    if (regexec(&l->re_int, n->text, 0, NULL, 0) == 0) {
        errno = 0;
        n->v.i = strtoll(n->text, NULL, 10);
        if (errno == ERANGE)
            return tpl_error(l->origin, n->line, n->col, "integer %s is out of range", n->text);
        n->stype = SCALAR_INT;
    } else if (regexec(&l->re_float, n->text, 0, NULL, 0) == 0) {
        n->v.d = strtod(n->text, NULL);
        n->stype = SCALAR_FLOAT;
    } else if (regexec(&l->re_ambiguous, n->text, 0, NULL, 0) == 0) {
        return tpl_error(l->origin, n->line, n->col,
                         "plain scalar '%s' is read differently by YAML 1.1 and 1.2 parsers; "
                         "quote it (or write true/false)",
                         n->text);
    }
    return 0;
}

/* Check every "{{" of a scalar and decide how the scalar renders. */
static int classify_markers(loader *l, node *n, bool plain, size_t *found)
{
    const char *p = n->text;
    size_t mlen = 0;
    int idx;
    mark_status st;

    *found = 0;
    while ((p = strstr(p, "{{")) != NULL) {
        st = parse_marker(p, n->len - (size_t)(p - n->text), &idx, &mlen);
        if (st != MARK_OK)
            return marker_error(l->origin, n->line, n->col, st, p, mlen);
        if (*found == 0 && plain && p == n->text && mlen == n->len)
            n->marker = idx;
        (*found)++;
        p += mlen;
    }
    if (*found > 0)
        n->stype = (*found == 1 && plain && n->marker >= 0) ? SCALAR_MARKER : SCALAR_TEXT;
    return 0;
}

static int make_scalar(node **out, loader *l, const yaml_event_t *ev)
{
    const char *value = (const char *)ev->data.scalar.value;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    size_t found;
    node *n;
    int rc;

    if (memchr(value, '\0', ev->data.scalar.length) != NULL)
        return event_error(l, ev, "NUL characters are not allowed in templates");
    if ((n = node_new(NODE_SCALAR, &ev->start_mark)) == NULL)
        return daap_error_set_oom();
    n->marker = -1;
    n->stype = SCALAR_STR;
    n->text = restore_braces(value, ev->data.scalar.length, &n->len);
    if (n->text == NULL) {
        node_free(n);
        return daap_error_set_oom();
    }
    rc = classify_markers(l, n, plain, &found);
    if (rc == 0 && found == 0 && plain)
        rc = classify_plain(l, n);
    if (rc < 0) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int parse_node(node **out, loader *l, const yaml_event_t *ev, int depth);

/* Reads the next node of a collection into *out; *out stays NULL at end_type. */
static int parse_child(node **out, loader *l, yaml_event_type_t end_type, int depth)
{
    yaml_event_t ev;
    int rc;

    *out = NULL;
    DAAP_TRY(next_event(l, &ev));
    rc = ev.type == end_type ? 0 : parse_node(out, l, &ev, depth);
    yaml_event_delete(&ev);
    return rc;
}

static int parse_sequence(node *seq, loader *l, int depth)
{
    node *item;

    for (;;) {
        DAAP_TRY(parse_child(&item, l, YAML_SEQUENCE_END_EVENT, depth + 1));
        if (item == NULL)
            return 0;
        DAAP_TRY(node_push(seq, item));
    }
}

static int check_key(loader *l, const node *map, const node *key)
{
    if (key->type != NODE_SCALAR)
        return tpl_error(l->origin, key->line, key->col, "mapping keys must be scalars");
    if (key->stype == SCALAR_MARKER || key->stype == SCALAR_TEXT)
        return tpl_error(l->origin, key->line, key->col, "markers are allowed in values only, not in keys");
    if (strcmp(key->text, "<<") == 0)
        return tpl_error(l->origin, key->line, key->col, "merge keys (<<) are not supported in templates");
    if (map_get(map, key->text) != NULL)
        return tpl_error(l->origin, key->line, key->col, "duplicate key '%s'", key->text);
    return 0;
}

static int parse_mapping(node *map, loader *l, int depth)
{
    node *key, *value;
    int rc;

    for (;;) {
        DAAP_TRY(parse_child(&key, l, YAML_MAPPING_END_EVENT, depth + 1));
        if (key == NULL)
            return 0;
        if ((rc = check_key(l, map, key)) < 0) {
            node_free(key);
            return rc;
        }
        DAAP_TRY(node_push(map, key));
        DAAP_TRY(parse_child(&value, l, YAML_MAPPING_END_EVENT, depth + 1));
        DAAP_TRY(node_push(map, value));
    }
}

static int parse_node(node **out, loader *l, const yaml_event_t *ev, int depth)
{
    node *n;
    int rc;

    *out = NULL;
    DAAP_TRY(check_plain_node(l, ev));
    if (depth > MAX_DEPTH)
        return event_error(l, ev, "nested too deeply");
    if (ev->type == YAML_SCALAR_EVENT)
        return make_scalar(out, l, ev);
    n = node_new(ev->type == YAML_MAPPING_START_EVENT ? NODE_MAP : NODE_SEQ, &ev->start_mark);
    if (n == NULL)
        return daap_error_set_oom();
    rc = n->type == NODE_MAP ? parse_mapping(n, l, depth) : parse_sequence(n, l, depth);
    if (rc < 0) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* Expect an event of `type`; anything else is "what". */
static int expect_event(loader *l, yaml_event_type_t type, const char *what)
{
    yaml_event_t ev;
    int rc = 0;

    DAAP_TRY(next_event(l, &ev));
    if (ev.type != type)
        rc = event_error(l, &ev, what);
    yaml_event_delete(&ev);
    return rc;
}

/* Exactly one document holding one node. */
static int parse_document(node **out, loader *l)
{
    yaml_event_t ev;
    int rc;

    *out = NULL;
    DAAP_TRY(expect_event(l, YAML_STREAM_START_EVENT, "expected the start of the stream"));
    DAAP_TRY(expect_event(l, YAML_DOCUMENT_START_EVENT, "the template is empty"));
    DAAP_TRY(next_event(l, &ev));
    rc = parse_node(out, l, &ev, 0);
    yaml_event_delete(&ev);
    if (rc == 0)
        rc = expect_event(l, YAML_DOCUMENT_END_EVENT, "expected the end of the document");
    if (rc == 0)
        rc = expect_event(l, YAML_STREAM_END_EVENT, "a template holds exactly one YAML document");
    if (rc < 0) {
        node_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------ shape */

static int require_text(const char *origin, const node *parent, const node *n,
                        const char *path, const char *want)
{
    if (n == NULL)
        return tpl_error(origin, parent->line, parent->col, "%s is required", path);
    if (n->type != NODE_SCALAR || n->stype == SCALAR_NULL || strcmp(n->text, want) != 0)
        return tpl_error(origin, n->line, n->col, "%s must be '%s'", path, want);
    return 0;
}

/* The lifecycle finds objects by name and owner label, so a template must
 * not change those; everything else is the operator's choice. */
static int check_shape(const char *origin, const node *root, daap__template_kind kind)
{
    const node *meta, *labels, *spec;

    if (root->type != NODE_MAP)
        return tpl_error(origin, root->line, root->col, "a template must be a mapping (a Kubernetes object)");
    DAAP_TRY(require_text(origin, root, map_get(root, "apiVersion"), "apiVersion", "postgresql.cnpg.io/v1"));
    DAAP_TRY(require_text(origin, root, map_get(root, "kind"), "kind", kinds[kind].kind));
    meta = map_get(root, "metadata");
    if (meta == NULL || meta->type != NODE_MAP)
        return tpl_error(origin, meta ? meta->line : root->line, meta ? meta->col : root->col,
                         "metadata must be a mapping");
    DAAP_TRY(require_text(origin, meta, map_get(meta, "name"), "metadata.name", kinds[kind].name_marker));
    DAAP_TRY(require_text(origin, meta, map_get(meta, "namespace"), "metadata.namespace", "{{NAMESPACE}}"));
    labels = map_get(meta, "labels");
    if (labels == NULL || labels->type != NODE_MAP)
        return tpl_error(origin, labels ? labels->line : meta->line, labels ? labels->col : meta->col,
                         "metadata.labels must be a mapping");
    DAAP_TRY(require_text(origin, labels, map_get(labels, "app.kubernetes.io/managed-by"),
                          "metadata.labels.app.kubernetes.io/managed-by", "daap"));
    DAAP_TRY(require_text(origin, labels, map_get(labels, "daap.dev/database-id"),
                          "metadata.labels.daap.dev/database-id", "{{DATABASE_ID}}"));
    if (kind != DAAP__TEMPLATE_POOLER)
        return 0;
    spec = map_get(root, "spec");
    return require_text(origin, spec ? spec : root, map_get(map_get(spec, "cluster"), "name"),
                        "spec.cluster.name", "{{CLUSTER_NAME}}");
}

static int parse_template(node **out, const char *origin, const char *src, size_t len,
                          daap__template_kind kind)
{
    daap_buf text = DAAP_BUF_INIT;
    loader l;
    int rc;

    *out = NULL;
    rc = protect_markers(&text, origin, src, len);
    if (rc == 0)
        rc = loader_init(&l, origin, text.ptr ? text.ptr : "", text.size);
    if (rc == 0) {
        rc = parse_document(out, &l);
        loader_dispose(&l);
    }
    if (rc == 0 && (rc = check_shape(origin, *out, kind)) < 0) {
        node_free(*out);
        *out = NULL;
    }
    daap_buf_dispose(&text);
    return rc;
}

/* ------------------------------------------------------------------ files */

/* 1 and the contents when the file exists, 0 when it does not. */
static int read_override(daap_buf *out, const char *path)
{
    struct stat st;
    FILE *f;
    size_t n;
    int rc = 1;

    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "%s: not a regular file of at most %d bytes", path, MAX_FILE_SIZE);
    if ((f = fopen(path, "rb")) == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s: %s", path, strerror(errno));
    if (daap__buf_grow(out, (size_t)st.st_size) < 0) {
        fclose(f);
        return DAAP_ERROR;
    }
    n = fread(out->ptr, 1, (size_t)st.st_size, f);
    if (ferror(f))
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s: read error", path);
    out->size = n;
    out->ptr[n] = '\0';
    fclose(f);
    return rc;
}

/* The override file when there is one, else the built-in asset. */
static int load_source(daap_buf *text, char **origin, daap__template_kind kind, const char *dir)
{
    daap_buf path = DAAP_BUF_INIT;
    const daap__asset *asset;
    int rc = 0;

    if (dir != NULL && *dir != '\0') {
        rc = daap__buf_printf(&path, "%s/%s", dir, kinds[kind].file);
        if (rc == 0)
            rc = read_override(text, path.ptr);
        if (rc != 0)
            goto done;
        daap__buf_clear(&path);
    }
    if ((rc = daap__buf_printf(&path, "<built-in>/templates/%s", kinds[kind].file)) < 0)
        goto done;
    asset = daap__asset_find(path.ptr + strlen("<built-in>/"));
    if (asset == NULL)
        rc = daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CONFIG, "%s is missing from the build", path.ptr);
    else
        rc = daap__buf_put(text, asset->data, asset->size);
done:
    if (rc >= 0 && (*origin = daap__buf_detach(&path)) == NULL)
        rc = daap_error_set_oom();
    daap_buf_dispose(&path);
    return rc < 0 ? rc : 0;
}

static int load_one(daap__templates *t, daap__template_kind kind, const char *dir)
{
    daap_buf text = DAAP_BUF_INIT;
    int rc;

    rc = load_source(&text, &t->origin[kind], kind, dir);
    if (rc == 0)
        rc = parse_template(&t->root[kind], t->origin[kind], text.ptr ? text.ptr : "", text.size, kind);
    daap_buf_dispose(&text);
    return rc;
}

static int check_dir(const char *dir)
{
    struct stat st;

    if (dir == NULL || *dir == '\0')
        return 0;
    if (stat(dir, &st) != 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "template directory %s: %s",
                              dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "template directory %s is not a directory", dir);
    return 0;
}

int daap__templates_load(daap__templates **out, const char *dir)
{
    daap__templates *t;
    int rc = 0, k;

    DAAP_ASSERT_ARG(out);
    *out = NULL;
    DAAP_TRY(check_dir(dir));
    t = daap__calloc(1, sizeof(*t));
    DAAP_ERROR_CHECK_ALLOC(t);
    for (k = 0; k < DAAP__TEMPLATE__COUNT && rc == 0; k++)
        rc = load_one(t, (daap__template_kind)k, dir);
    if (rc < 0) {
        daap__templates_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void daap__templates_free(daap__templates *t)
{
    int k;

    if (t == NULL)
        return;
    for (k = 0; k < DAAP__TEMPLATE__COUNT; k++) {
        node_free(t->root[k]);
        daap__free(t->origin[k]);
    }
    daap__free(t);
}

const char *daap__template_origin(const daap__templates *t, daap__template_kind kind)
{
    if (t == NULL || (int)kind < 0 || (int)kind >= DAAP__TEMPLATE__COUNT)
        return NULL;
    return t->origin[kind];
}

const char *const *daap__template_markers(size_t *n)
{
    if (n != NULL)
        *n = MARKER_COUNT;
    return markers;
}

/* ------------------------------------------------------------------ render */

typedef struct {
    const char                 *origin;
    const daap__template_value *by_marker[MARKER_COUNT];
} render_ctx;

/* Kubernetes takes UTF-8 only; json-c would pass other bytes through. */
static bool utf8_valid(const unsigned char *s)
{
    size_t n, i;
    uint32_t cp;

    while (*s) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xE0) == 0xC0)
            n = 1, cp = *s & 0x1Fu;
        else if ((*s & 0xF0) == 0xE0)
            n = 2, cp = *s & 0x0Fu;
        else if ((*s & 0xF8) == 0xF0)
            n = 3, cp = *s & 0x07u;
        else
            return false;
        for (i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3Fu);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += n + 1;
    }
    return true;
}

static int index_values(render_ctx *rc, const daap__template_value *values, size_t n)
{
    const char *why = NULL;
    size_t i;
    int idx = -1;

    for (i = 0; i < n && why == NULL; i++) {
        if (values[i].name == NULL || values[i].value == NULL)
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                                  "template value #%zu has no name or no value", i);
        idx = marker_index(values[i].name, strlen(values[i].name));
        if (idx < 0)
            why = "is not a known marker";
        else if (rc->by_marker[idx] != NULL)
            why = "is given twice";
        else if (!utf8_valid((const unsigned char *)values[i].value))
            why = "is not valid UTF-8";
        else
            rc->by_marker[idx] = &values[i];
    }
    if (why != NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "template value %s %s",
                              values[i - 1].name, why);
    return 0;
}

static int lookup(const daap__template_value **out, const render_ctx *rc, const node *n, int idx)
{
    *out = rc->by_marker[idx];
    if (*out == NULL)
        return tpl_error(rc->origin, n->line, n->col, "no value for marker {{%s}}", markers[idx]);
    return 0;
}

static int render_int(json_object **out, const render_ctx *rc, const node *n, const char *value)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(value, &end, 10);
    if (*value == '\0' || *end != '\0' || errno == ERANGE || !(*value == '-' || (*value >= '0' && *value <= '9')))
        return tpl_error(rc->origin, n->line, n->col, "value for {{%s}} is not an integer: '%s'",
                         markers[n->marker], value);
    *out = json_object_new_int64((int64_t)v);
    return 0;
}

static int render_text(json_object **out, const render_ctx *rc, const node *n)
{
    daap_buf b = DAAP_BUF_INIT;
    const daap__template_value *v;
    const char *p = n->text, *m;
    size_t mlen;
    int idx, err = 0;

    while (err == 0 && (m = strstr(p, "{{")) != NULL) {
        parse_marker(m, n->len - (size_t)(m - n->text), &idx, &mlen);   /* checked at load */
        if ((err = lookup(&v, rc, n, idx)) == 0 && (err = daap__buf_put(&b, p, (size_t)(m - p))) == 0)
            err = daap__buf_puts(&b, v->value);
        p = m + mlen;
    }
    if (err == 0)
        err = daap__buf_puts(&b, p);
    if (err == 0)
        *out = json_object_new_string_len(b.ptr, (int)b.size);
    daap_buf_dispose(&b);
    return err;
}

static int render_scalar(json_object **out, const render_ctx *rc, const node *n)
{
    const daap__template_value *v;

    switch (n->stype) {
    case SCALAR_NULL:
        return 0;   /* json-c spells null as a NULL object */
    case SCALAR_BOOL:  *out = json_object_new_boolean(n->v.b); break;
    case SCALAR_INT:   *out = json_object_new_int64(n->v.i); break;
    case SCALAR_FLOAT: *out = json_object_new_double(n->v.d); break;
    case SCALAR_TEXT:  return render_text(out, rc, n);
    case SCALAR_MARKER:
        DAAP_TRY(lookup(&v, rc, n, n->marker));
        if (v->is_int)
            return render_int(out, rc, n, v->value);
        *out = json_object_new_string(v->value);
        break;
    case SCALAR_STR:
    default:
        *out = json_object_new_string_len(n->text, (int)n->len);
        break;
    }
    return 0;
}

static int render_node(json_object **out, const render_ctx *rc, const node *n);

static int render_children(json_object *obj, const render_ctx *rc, const node *n)
{
    json_object *kid;
    size_t i;
    int err;

    for (i = 0; i < n->count; i += (n->type == NODE_MAP ? 2 : 1)) {
        DAAP_TRY(render_node(&kid, rc, n->kids[i + (n->type == NODE_MAP)]));
        err = n->type == NODE_MAP ? json_object_object_add(obj, n->kids[i]->text, kid)
                                  : json_object_array_add(obj, kid);
        if (err != 0) {
            json_object_put(kid);
            return daap_error_set_oom();
        }
    }
    return 0;
}

static int render_node(json_object **out, const render_ctx *rc, const node *n)
{
    int err;

    *out = NULL;
    if (n->type == NODE_SCALAR) {
        DAAP_TRY(render_scalar(out, rc, n));
        if (*out == NULL && n->stype != SCALAR_NULL)
            return daap_error_set_oom();
        return 0;
    }
    *out = n->type == NODE_MAP ? json_object_new_object() : json_object_new_array();
    DAAP_ERROR_CHECK_ALLOC(*out);
    if ((err = render_children(*out, rc, n)) < 0) {
        json_object_put(*out);
        *out = NULL;
    }
    return err;
}

int daap__template_render(daap_kube_object **out, const daap__templates *t,
                          daap__template_kind kind,
                          const daap__template_value *values, size_t n)
{
    render_ctx rc;
    json_object *json;

    DAAP_ASSERT_ARG(out);
    *out = NULL;
    DAAP_ASSERT_ARG(t && (int)kind >= 0 && (int)kind < DAAP__TEMPLATE__COUNT && (values || n == 0));
    memset(&rc, 0, sizeof(rc));
    rc.origin = t->origin[kind];
    DAAP_TRY(index_values(&rc, values, n));
    DAAP_TRY(render_node(&json, &rc, t->root[kind]));
    return daap__kube_object_wrap(out, json);
}

/* ---- the resize patch */

static int put_patch_str(daap_buf *out, const char *key, const char *value)
{
    DAAP_TRY(daap__buf_puts(out, key));
    return daap__buf_put_json_str(out, value);
}

int daap__cluster_resize_patch(daap_buf *out, const daap_kube_object *cluster)
{
    const char *api = daap_kube_object_str(cluster, "apiVersion");
    const char *kind = daap_kube_object_str(cluster, "kind");
    const char *name = daap_kube_object_str(cluster, "metadata.name");
    const char *ns = daap_kube_object_str(cluster, "metadata.namespace");
    const char *size = daap_kube_object_str(cluster, "spec.storage.size");
    int64_t instances = 0;

    if (!api || !kind || !name || !ns || !size || daap_kube_object_int(&instances, cluster, "spec.instances") < 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "the rendered Cluster lacks one of apiVersion, kind, metadata.name, metadata.namespace, "
                              "spec.instances and spec.storage.size, which a resize patches");
    DAAP_TRY(put_patch_str(out, "{\"apiVersion\":", api));
    DAAP_TRY(put_patch_str(out, ",\"kind\":", kind));
    DAAP_TRY(put_patch_str(out, ",\"metadata\":{\"name\":", name));
    DAAP_TRY(put_patch_str(out, ",\"namespace\":", ns));
    DAAP_TRY(daap__buf_printf(out, "},\"spec\":{\"instances\":%lld", (long long)instances));
    DAAP_TRY(put_patch_str(out, ",\"storage\":{\"size\":", size));
    return daap__buf_puts(out, "}}}");
}
