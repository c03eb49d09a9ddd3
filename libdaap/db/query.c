/* GET /databases query strings: strict, so a typo is an error, not a
 * silently ignored filter. */
#include "db/db_json.h"
#include "db/validate.h"
#include "db/event.h"

#include <stdio.h>
#include <stdlib.h>

int daap_db_list_options_init(daap_db_list_options *opts, unsigned int version)
{
    DAAP_INIT_VERSIONED(opts, version, DAAP_DB_LIST_OPTIONS_VERSION, "daap_db_list_options");
    return 0;
}

#define QUERY_MAX 2048

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode one percent-encoded component into dst (which has room for it). */
static bool url_decode(char *dst, const char *src, size_t len)
{
    size_t i, o = 0;
    for (i = 0; i < len; i++) {
        if (src[i] == '%') {
            int hi, lo;
            if (i + 2 >= len) return false;
            hi = hexval(src[i + 1]);
            lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0) return false;
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[o++] = src[i] == '+' ? ' ' : src[i];
        }
    }
    dst[o] = '\0';
    return strlen(dst) == o; /* no %00 */
}

static int bad_param(const char *param, const char *code, const char *message)
{
    daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "query parameter %s: %s", param, message);
    daap_error_add_field(param, code, message);
    return DAAP_EINVALID;
}

static int parse_status(unsigned int *mask, const char *value)
{
    char item[32];
    const char *p = value;

    *mask = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        int status;
        if (n == 0 || n >= sizeof(item))
            return bad_param("status", "invalid", "status must be one or more of provisioning, ready, error, deleting, deleted");
        memcpy(item, p, n);
        item[n] = '\0';
        if (daap_db_status_parse(&status, item) < 0)
            return bad_param("status", "invalid", "status must be one or more of provisioning, ready, error, deleting, deleted");
        *mask |= DAAP_DB_STATUS_BIT(status);
        p += n + (p[n] == ',');
    }
    return *mask ? 0 : bad_param("status", "invalid", "status must not be empty");
}

static int parse_limit_upto(uint32_t *limit, const char *value, long max)
{
    char msg[64];
    char *end;
    long v = strtol(value, &end, 10);

    if (*value == '\0' || *end != '\0' || v < 1 || v > max || strlen(value) > 3) {
        snprintf(msg, sizeof(msg), "limit must be an integer between 1 and %ld", max);
        return bad_param("limit", "out_of_range", msg);
    }
    *limit = (uint32_t)v;
    return 0;
}

static int parse_limit(uint32_t *limit, const char *value)
{
    return parse_limit_upto(limit, value, 100);
}

static int parse_bool(int32_t *out, const char *param, const char *value)
{
    if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) *out = 1;
    else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) *out = 0;
    else return bad_param(param, "invalid", "must be true or false");
    return 0;
}

static int check_prefix(const char *value)
{
    size_t i, n = strlen(value);
    if (n > DAAP__NAME_MAX)
        return bad_param("name", "too_long", "name prefix is longer than any database name");
    for (i = 0; i < n; i++)
        if (!((value[i] >= 'a' && value[i] <= 'z') || (value[i] >= '0' && value[i] <= '9') || value[i] == '-'))
            return bad_param("name", "pattern", "name prefix may contain only lowercase letters, digits and hyphens");
    return 0;
}

static int check_team_param(const char *value)
{
    daap__fields f;
    daap__fields_init(&f);
    daap__check_team(&f, "owner_team", value);
    return daap__fields_result(&f, "query");
}

/* Which of `names` a key is, once: the index, or a negative code for an
 * unknown or repeated parameter (`seen` remembers the ones given). */
static int param_index(const char *const *names, size_t count, unsigned *seen, const char *key)
{
    size_t i;

    for (i = 0; i < count; i++)
        if (strcmp(key, names[i]) == 0)
            break;
    if (i == count) {
        char msg[128];
        snprintf(msg, sizeof(msg), "unknown query parameter '%.40s'", key);
        return bad_param(key[0] ? key : "query", "unknown_parameter", msg);
    }
    if (*seen & (1u << i))
        return bad_param(names[i], "duplicate", "parameter given more than once");
    *seen |= 1u << i;
    return (int)i;
}

/* Apply one decoded key=value pair of GET /databases. */
static int apply_param(void *target, unsigned *seen, const char *key, const char *value)
{
    static const char *const names[] = { "owner_team", "status", "name", "limit", "cursor", "include_deleted" };
    daap_db_list_options *opts = target;
    int i = param_index(names, DAAP_ARRAY_SIZE(names), seen, key);

    if (i < 0)
        return i;
    switch (i) {
    case 0: opts->owner_team = value; return check_team_param(value);
    case 1: return parse_status(&opts->status_mask, value);
    case 2: opts->name_prefix = value; return check_prefix(value);
    case 3: return parse_limit(&opts->limit, value);
    case 4: opts->cursor = value; return 0;
    default: return parse_bool(&opts->include_deleted, names[i], value);
    }
}

/* Apply one decoded key=value pair to the options behind `opts`. */
typedef int (*param_fn)(void *opts, unsigned *seen, const char *key, const char *value);

/* Split and decode a query string, handing each pair to `apply`. */
static int each_param(daap_buf *scratch, const char *query, param_fn apply, void *opts)
{
    size_t qlen = query ? strlen(query) : 0;
    const char *p = query;
    unsigned seen = 0;
    char *out;

    if (qlen == 0)
        return 0;
    if (qlen > QUERY_MAX)
        return bad_param("query", "too_long", "query string is too long");
    /* One allocation for every decoded string: pointers into it stay valid. */
    daap__buf_clear(scratch);
    DAAP_TRY(daap__buf_grow(scratch, qlen * 2 + 2));
    out = scratch->ptr;
    while (*p) {
        size_t n = strcspn(p, "&"), klen = strcspn(p, "=");
        char *key = out, *value;
        if (n == 0) { p++; continue; }
        if (klen > n) klen = n;
        if (!url_decode(key, p, klen))
            return bad_param("query", "malformed", "bad percent-encoding in the query string");
        value = key + strlen(key) + 1;
        if (!url_decode(value, p + klen + (klen < n), n - klen - (klen < n)))
            return bad_param("query", "malformed", "bad percent-encoding in the query string");
        if (!daap__is_clean_text(value, strlen(value), false))
            return bad_param(key, "invalid_text", "value is not valid UTF-8 or has control characters");
        out = value + strlen(value) + 1;
        DAAP_TRY(apply(opts, &seen, key, value));
        p += n + (p[n] == '&');
    }
    return 0;
}

int daap_db_list_options_parse(daap_db_list_options *opts, daap_buf *scratch, const char *query)
{
    DAAP_ASSERT_ARG(opts && scratch);
    DAAP_TRY(daap_db_list_options_init(opts, DAAP_DB_LIST_OPTIONS_VERSION));
    return each_param(scratch, query, apply_param, opts);
}

/* ---- GET /databases/{id}?wait=&revision= */

int daap_db_wait_options_init(daap_db_wait_options *opts, unsigned int version)
{
    DAAP_INIT_VERSIONED(opts, version, DAAP_DB_WAIT_OPTIONS_VERSION, "daap_db_wait_options");
    return 0;
}

#define WAIT_SEEN     1u
#define REVISION_SEEN 2u
#define WAIT_FORMS    "wait must be a duration such as 500ms, 30s or 1m"

/* Digits only, at most 12 of them: no sign, no overflow. */
static bool parse_count(int64_t *out, const char *s, size_t len)
{
    size_t i;
    int64_t v = 0;

    if (len == 0 || len > 12)
        return false;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int parse_wait(int64_t *ms, const char *value)
{
    size_t digits = strspn(value, "0123456789");
    const char *unit = value + digits;
    int64_t n, scale;

    if (strcmp(unit, "ms") == 0) scale = 1;
    else if (strcmp(unit, "s") == 0 || *unit == '\0') scale = 1000;
    else if (strcmp(unit, "m") == 0) scale = 60000;
    else return bad_param("wait", "invalid", WAIT_FORMS);
    if (!parse_count(&n, value, digits))
        return bad_param("wait", "invalid", WAIT_FORMS);
    /* Longer asks are cut, not refused: a client re-asks after each answer. */
    *ms = n > DAAP_DB_WAIT_MAX_MS / scale ? DAAP_DB_WAIT_MAX_MS : n * scale;
    return 0;
}

static int apply_wait_param(void *o, unsigned *seen, const char *key, const char *value)
{
    daap_db_wait_options *opts = o;
    unsigned bit = strcmp(key, "wait") == 0 ? WAIT_SEEN : strcmp(key, "revision") == 0 ? REVISION_SEEN : 0;

    if (bit == 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "unknown query parameter '%.40s'; this endpoint takes wait and revision", key);
        return bad_param(key[0] ? key : "query", "unknown_parameter", msg);
    }
    if (*seen & bit)
        return bad_param(key, "duplicate", "parameter given more than once");
    *seen |= bit;
    if (bit == WAIT_SEEN)
        return parse_wait(&opts->timeout_ms, value);
    if (!parse_count(&opts->revision, value, strlen(value)))
        return bad_param("revision", "invalid", "revision must be a non-negative integer");
    return 0;
}

/* `seen` is private to each_param, so the pair rule reads what was filled. */
int daap_db_wait_options_parse(daap_db_wait_options *opts, int32_t *waiting, const char *query)
{
    daap_buf scratch = DAAP_BUF_INIT;
    int rc;

    DAAP_ASSERT_ARG(opts && waiting);
    *waiting = 0;
    DAAP_TRY(daap_db_wait_options_init(opts, DAAP_DB_WAIT_OPTIONS_VERSION));
    opts->revision = -1;
    opts->timeout_ms = -1;
    rc = each_param(&scratch, query, apply_wait_param, opts);
    daap_buf_dispose(&scratch);
    if (rc < 0)
        return rc;
    if (opts->timeout_ms < 0 && opts->revision < 0) {
        opts->revision = opts->timeout_ms = 0;
        return 0;
    }
    if (opts->revision < 0)
        return bad_param("revision", "required", "wait needs revision: the revision you last saw");
    if (opts->timeout_ms < 0)
        return bad_param("wait", "required", "revision needs wait: how long to wait for a change");
    *waiting = 1;
    return 0;
}

/* ---- GET /databases/{id}/events */

/* The one type filter is "warning": the normal events alone tell no story. */
static int apply_event_param(void *target, unsigned *seen, const char *key, const char *value)
{
    static const char *const names[] = { "limit", "cursor", "type" };
    daap_db_events_options *opts = target;
    int i = param_index(names, DAAP_ARRAY_SIZE(names), seen, key);

    if (i < 0)
        return i;
    switch (i) {
    case 0: return parse_limit_upto(&opts->limit, value, DAAP__EVENTS_LIMIT_MAX);
    case 1: opts->cursor = value; return 0;
    default:
        if (strcmp(value, "warning") != 0)
            return bad_param("type", "invalid", "type must be 'warning'");
        opts->warnings_only = 1;
        return 0;
    }
}

int daap_db_events_options_parse(daap_db_events_options *opts, daap_buf *scratch, const char *query)
{
    DAAP_ASSERT_ARG(opts && scratch);
    DAAP_TRY(daap_db_events_options_init(opts, DAAP_DB_EVENTS_OPTIONS_VERSION));
    return each_param(scratch, query, apply_event_param, opts);
}
