#include "db/reqjson.h"
#include "db/validate.h"

#include <stdio.h>

typedef struct {
    const char *p, *end, *start;
    char        error[160];
} scanner;

static int fail(scanner *s, const char *what)
{
    if (s->error[0] == '\0')
        snprintf(s->error, sizeof(s->error), "%s at byte %zu", what, (size_t)(s->p - s->start));
    return -1;
}

static void skip_ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(scanner *s, unsigned *out)
{
    unsigned v = 0;
    int i;
    if (s->end - s->p < 4)
        return fail(s, "truncated \\u escape");
    for (i = 0; i < 4; i++) {
        char c = *s->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return fail(s, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static int put_utf8(daap_buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) { u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
    else { u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
    return daap__buf_put(b, u, n);
}

static int unicode_escape(scanner *s, daap_buf *b)
{
    unsigned cp, lo;
    if (hex4(s, &cp) < 0)
        return -1;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
            return fail(s, "unpaired surrogate in \\u escape");
        s->p += 2;
        if (hex4(s, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
            return fail(s, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return fail(s, "unpaired surrogate in \\u escape");
    }
    return put_utf8(b, cp) < 0 ? fail(s, "out of memory") : 0;
}

/* Decode a string into b (when b is not NULL). The result must be clean
 * text: escaped control characters are refused like raw ones. */
static int scan_string(scanner *s, daap_buf *b)
{
    daap_buf tmp = DAAP_BUF_INIT;
    daap_buf *out = b ? b : &tmp;
    int rc = 0;

    s->p++; /* opening quote */
    while (rc == 0) {
        const char *run = s->p;
        while (s->p < s->end && *s->p != '"' && *s->p != '\\' && (unsigned char)*s->p >= 0x20)
            s->p++;
        if (daap__buf_put(out, run, (size_t)(s->p - run)) < 0) { rc = fail(s, "out of memory"); break; }
        if (s->p >= s->end) { rc = fail(s, "unterminated string"); break; }
        if (*s->p == '"') { s->p++; break; }
        if ((unsigned char)*s->p < 0x20) { rc = fail(s, "control character in string"); break; }
        s->p++; /* backslash */
        if (s->p >= s->end) { rc = fail(s, "unterminated string"); break; }
        switch (*s->p++) {
        case '"':  rc = daap__buf_putc(out, '"'); break;
        case '\\': rc = daap__buf_putc(out, '\\'); break;
        case '/':  rc = daap__buf_putc(out, '/'); break;
        case 'b': case 'f': case 'n': case 'r': case 't':
            rc = fail(s, "control character in string"); break;
        case 'u':  rc = unicode_escape(s, out); break;
        default:   rc = fail(s, "bad escape in string"); break;
        }
    }
    if (rc == 0 && !daap__is_clean_text(out->ptr ? out->ptr : "", out->size, false))
        rc = fail(s, "string is not valid UTF-8 or contains control characters");
    if (rc == 0 && out->ptr && memchr(out->ptr, '\0', out->size))
        rc = fail(s, "NUL character in string");
    daap_buf_dispose(&tmp);
    return rc;
}

static int scan_number(scanner *s)
{
    const char *p = s->p;
    if (p < s->end && *p == '-') p++;
    if (p >= s->end || !(*p >= '0' && *p <= '9')) return fail(s, "bad number");
    if (*p == '0') p++;
    else while (p < s->end && *p >= '0' && *p <= '9') p++;
    if (p < s->end && *p == '.') {
        p++;
        if (p >= s->end || !(*p >= '0' && *p <= '9')) return fail(s, "bad number");
        while (p < s->end && *p >= '0' && *p <= '9') p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < s->end && (*p == '+' || *p == '-')) p++;
        if (p >= s->end || !(*p >= '0' && *p <= '9')) return fail(s, "bad number");
        while (p < s->end && *p >= '0' && *p <= '9') p++;
    }
    s->p = p;
    return 0;
}

static int scan_literal(scanner *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected character");
    s->p += n;
    return 0;
}

static int scan_value(scanner *s, int depth, daap__rj_type *type);

static int scan_container(scanner *s, int depth, char close)
{
    daap__rj_type t;
    if (depth > DAAP__REQJSON_MAX_DEPTH)
        return fail(s, "JSON nested too deeply");
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) { s->p++; return 0; }
    for (;;) {
        skip_ws(s);
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"') return fail(s, "expected a string key");
            if (scan_string(s, NULL) < 0) return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') return fail(s, "expected ':'");
            s->p++;
        }
        if (scan_value(s, depth + 1, &t) < 0) return -1;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') { s->p++; continue; }
        if (s->p < s->end && *s->p == close) { s->p++; return 0; }
        return fail(s, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int scan_value(scanner *s, int depth, daap__rj_type *type)
{
    skip_ws(s);
    if (s->p >= s->end)
        return fail(s, "unexpected end of input");
    switch (*s->p) {
    case '"': *type = DAAP__RJ_STRING; return scan_string(s, NULL);
    case '{': *type = DAAP__RJ_OBJECT; return scan_container(s, depth, '}');
    case '[': *type = DAAP__RJ_ARRAY;  return scan_container(s, depth, ']');
    case 't': *type = DAAP__RJ_BOOL;   return scan_literal(s, "true");
    case 'f': *type = DAAP__RJ_BOOL;   return scan_literal(s, "false");
    case 'n': *type = DAAP__RJ_NULL;   return scan_literal(s, "null");
    default:  *type = DAAP__RJ_NUMBER; return scan_number(s);
    }
}

static bool has_key(const daap__rj_object *o, const char *key)
{
    size_t i;
    for (i = 0; i < o->count; i++)
        if (strcmp(o->members[i].key, key) == 0)
            return true;
    return false;
}

/* One "key": value member of the top-level object. */
static int parse_member(scanner *s, daap__rj_object *out)
{
    daap_buf key = DAAP_BUF_INIT, text = DAAP_BUF_INIT;
    daap__rj_member *m;
    const char *value_start;
    daap__rj_type type;

    if (s->p >= s->end || *s->p != '"')
        return fail(s, "expected a string key");
    if (scan_string(s, &key) < 0 || daap__buf_grow(&key, 0) < 0)
        goto fail;
    if (has_key(out, key.ptr)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "duplicate key \"%.40s\"", key.ptr);
        fail(s, msg);
        goto fail;
    }
    if (out->count == DAAP__REQJSON_MAX_MEMBERS) {
        fail(s, "too many fields");
        goto fail;
    }
    skip_ws(s);
    if (s->p >= s->end || *s->p != ':') { fail(s, "expected ':'"); goto fail; }
    s->p++;
    skip_ws(s);
    value_start = s->p;
    if (s->p < s->end && *s->p == '"') {
        type = DAAP__RJ_STRING;
        if (scan_string(s, &text) < 0 || daap__buf_grow(&text, 0) < 0) goto fail;
    } else {
        if (scan_value(s, 1, &type) < 0) goto fail;
        if ((type == DAAP__RJ_NUMBER || type == DAAP__RJ_BOOL) && daap__buf_put(&text, value_start, (size_t)(s->p - value_start)) < 0) goto fail;
    }
    m = &out->members[out->count++];
    m->type = type;
    m->text_len = text.size;
    m->key = daap__buf_detach(&key);
    m->text = text.ptr ? daap__buf_detach(&text) : NULL;
    return 0;
fail:
    daap_buf_dispose(&key);
    daap_buf_dispose(&text);
    return fail(s, "invalid member");
}

int daap__reqjson_parse(daap__rj_object *out, const char *json, size_t len)
{
    scanner s = { json, json + len, json, "" };
    int rc = 0;

    memset(out, 0, sizeof(*out));
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        rc = fail(&s, "the body must be a JSON object");
    } else {
        s.p++;
        skip_ws(&s);
        if (s.p < s.end && *s.p == '}') {
            s.p++;
        } else {
            for (;;) {
                skip_ws(&s);
                if ((rc = parse_member(&s, out)) < 0) break;
                skip_ws(&s);
                if (s.p < s.end && *s.p == ',') { s.p++; continue; }
                if (s.p < s.end && *s.p == '}') { s.p++; break; }
                rc = fail(&s, "expected ',' or '}'");
                break;
            }
        }
        if (rc == 0) {
            skip_ws(&s);
            if (s.p != s.end)
                rc = fail(&s, "unexpected data after the JSON object");
        }
    }
    if (rc < 0) {
        daap__reqjson_dispose(out);
        daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "malformed JSON: %s", s.error);
        daap_error_add_field("body", "malformed", s.error);
        return DAAP_EINVALID;
    }
    return 0;
}

void daap__reqjson_dispose(daap__rj_object *obj)
{
    size_t i;
    for (i = 0; i < obj->count; i++) {
        daap__free(obj->members[i].key);
        daap__free(obj->members[i].text);
    }
    obj->count = 0;
}

const char *daap__rj_type_name(daap__rj_type t)
{
    switch (t) {
    case DAAP__RJ_STRING: return "a string";
    case DAAP__RJ_NUMBER: return "a number";
    case DAAP__RJ_BOOL:   return "a boolean";
    case DAAP__RJ_NULL:   return "null";
    case DAAP__RJ_OBJECT: return "an object";
    case DAAP__RJ_ARRAY:  return "an array";
    }
    return "a value";
}
