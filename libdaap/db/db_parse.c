/* Records from the API's JSON: the inverse of db_json.c. */
#include "db/db_parse.h"
#include "db/event.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <json-c/json.h>

#define PARSE_DEPTH 16

static int bad(const char *fmt, const char *a)
{
    return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_HTTP, fmt, a);
}

static bool only_whitespace(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

int daap__json_parse_as(struct json_object **out, const char *json, size_t len, int depth,
                        int code, int klass, const char *what)
{
    json_tokener *tok;
    json_object *root;
    size_t end;

    *out = NULL;
    if (len > INT32_MAX)
        return daap_error_set(code, klass, "%s is too large", what);
    tok = json_tokener_new_ex(depth);
    DAAP_ERROR_CHECK_ALLOC(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
    root = len ? json_tokener_parse_ex(tok, json, (int)len) : NULL;
    end = json_tokener_get_parse_end(tok);
    if (root == NULL || !only_whitespace(json + end, len - end)) {
        const char *why = root ? "trailing data" : len == 0 ? "empty document"
                        : json_tokener_get_error(tok) == json_tokener_continue ? "truncated document"
                        : json_tokener_error_desc(json_tokener_get_error(tok));
        json_object_put(root);
        json_tokener_free(tok);
        return daap_error_set(code, klass, "%s is not valid JSON (byte %zu: %s)", what, end, why);
    }
    json_tokener_free(tok);
    *out = root;
    return 0;
}

int daap__json_parse(struct json_object **out, const char *json, size_t len, const char *what)
{
    return daap__json_parse_as(out, json, len, PARSE_DEPTH, DAAP_ERROR, DAAP_ERRCLASS_HTTP, what);
}

/* ---- time */

static bool digits(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    size_t i;
    for (i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* ".123" -> 123 ms; more digits than milliseconds are dropped. */
static const char *fraction_ms(const char *p, int *ms)
{
    int scale = 100;
    *ms = 0;
    if (*p != '.')
        return p;
    for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
        *ms += (*p - '0') * scale;
    return p;
}

/* "Z", "+hh:mm" or "-hh:mm" -> seconds east of UTC; NULL when malformed. */
static const char *zone_offset(const char *p, long *offset)
{
    *offset = 0;
    if (*p == 'Z' || *p == 'z')
        return p + 1;
    if ((*p != '+' && *p != '-') || !digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2))
        return NULL;
    *offset = (num(p + 1, 2) * 3600L + num(p + 4, 2) * 60L) * (*p == '-' ? -1 : 1);
    return p + 6;
}

int daap__time_parse(int64_t *out, const char *t)
{
    struct tm tm;
    const char *p;
    long offset;
    int ms;
    time_t secs;

    if (strlen(t) < 20 || !digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
        !digits(t + 8, 2) || (t[10] != 'T' && t[10] != 't') || !digits(t + 11, 2) || t[13] != ':' ||
        !digits(t + 14, 2) || t[16] != ':' || !digits(t + 17, 2))
        return DAAP_EINVALID;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = num(t, 4) - 1900;
    tm.tm_mon = num(t + 5, 2) - 1;
    tm.tm_mday = num(t + 8, 2);
    tm.tm_hour = num(t + 11, 2);
    tm.tm_min = num(t + 14, 2);
    tm.tm_sec = num(t + 17, 2);
    p = zone_offset(fraction_ms(t + 19, &ms), &offset);
    if (p == NULL || *p != '\0' || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return DAAP_EINVALID;
    secs = timegm(&tm);
    *out = ((int64_t)secs - offset) * 1000 + ms;
    return 0;
}

/* ---- records */

static int take_text(daap_db *db, int f, json_object *v, const char *key)
{
    if (!json_object_is_type(v, json_type_string))
        return bad("record JSON: '%s' must be a string", key);
    return daap_db_set_textn(db, f, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static int take_int(daap_db *db, int f, json_object *v, const char *key)
{
    /* deletion_protection is the record's one boolean, kept as 0 or 1 */
    if (f == DAAP_DB_F_DELETION_PROTECTION) {
        if (!json_object_is_type(v, json_type_boolean))
            return bad("record JSON: '%s' must be a boolean", key);
        return daap_db_set_int(db, f, json_object_get_boolean(v) ? 1 : 0);
    }
    if (!json_object_is_type(v, json_type_int))
        return bad("record JSON: '%s' must be an integer", key);
    return daap_db_set_int(db, f, json_object_get_int64(v));
}

static int take_time(daap_db *db, int f, json_object *v, const char *key)
{
    int64_t ms;
    if (!json_object_is_type(v, json_type_string) || daap__time_parse(&ms, json_object_get_string(v)) < 0)
        return bad("record JSON: '%s' must be an RFC 3339 time", key);
    return daap_db_set_int(db, f, ms);
}

static int take_status(daap_db *db, int f, json_object *v, const char *key)
{
    int status;
    if (!json_object_is_type(v, json_type_string) || daap_db_status_parse(&status, json_object_get_string(v)) < 0)
        return bad("record JSON: '%s' is not a known status", key);
    return daap_db_set_int(db, f, status);
}

/* One member named after field f's column; absent and null leave it unset. */
static int take_field(daap_db *db, int f, json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return 0;
    switch (daap_db_field_describe(f)->type) {
    case DAAP_DB_T_TEXT:   return take_text(db, f, v, key);
    case DAAP_DB_T_INT:    return take_int(db, f, v, key);
    case DAAP_DB_T_TIME:   return take_time(db, f, v, key);
    case DAAP_DB_T_STATUS: return take_status(db, f, v, key);
    default:               return 0; /* the ciphertext never travels */
    }
}

static int take_password(daap_db *db, json_object *conn)
{
    json_object *v;

    if (!json_object_object_get_ex(conn, "password", &v) || v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return bad("record JSON: '%s' must be a string", "connection.password");
    return daap__db_set_password(db, json_object_get_string(v));
}

/* "connection": {host, port, dbname, user, password, ..., direct: {host, port}} */
static int take_connection(daap_db *db, json_object *obj)
{
    json_object *conn, *direct;

    if (!json_object_object_get_ex(obj, "connection", &conn) || conn == NULL)
        return 0;
    if (!json_object_is_type(conn, json_type_object))
        return bad("record JSON: '%s' must be an object", "connection");
    DAAP_TRY(take_field(db, DAAP_DB_F_HOST, conn, "host"));
    DAAP_TRY(take_field(db, DAAP_DB_F_PORT, conn, "port"));
    DAAP_TRY(take_field(db, DAAP_DB_F_DBNAME, conn, "dbname"));
    DAAP_TRY(take_field(db, DAAP_DB_F_USERNAME, conn, "user"));
    DAAP_TRY(take_password(db, conn));
    if (!json_object_object_get_ex(conn, "direct", &direct) || direct == NULL)
        return 0;
    if (!json_object_is_type(direct, json_type_object))
        return bad("record JSON: '%s' must be an object", "connection.direct");
    DAAP_TRY(take_field(db, DAAP_DB_F_DIRECT_HOST, direct, "host"));
    return take_field(db, DAAP_DB_F_DIRECT_PORT, direct, "port");
}

static int fill(daap_db *db, json_object *obj)
{
    static const int required[] = { DAAP_DB_F_ID, DAAP_DB_F_NAME, DAAP_DB_F_STATUS };
    json_object *v;
    size_t i;
    int f;

    if (!json_object_is_type(obj, json_type_object))
        return bad("record JSON: %s", "not an object");
    for (i = 0; i < DAAP_ARRAY_SIZE(required); i++) {
        const char *key = daap_db_field_describe(required[i])->column;
        if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
            return bad("record JSON: '%s' is missing", key);
    }
    for (f = 0; f < DAAP_DB_F__COUNT; f++)
        DAAP_TRY(take_field(db, f, obj, daap_db_field_describe(f)->column));
    return take_connection(db, obj);
}

int daap__db_from_json_object(daap_db **out, json_object *obj)
{
    daap_db *db;
    int rc;

    *out = NULL;
    DAAP_TRY(daap_db_new(&db));
    if ((rc = fill(db, obj)) < 0) {
        daap_db_free(db);
        return rc;
    }
    *out = db;
    return 0;
}

int daap__db_from_json(daap_db **out, const char *json, size_t len)
{
    json_object *root;
    int rc;

    *out = NULL;
    DAAP_TRY(daap__json_parse(&root, json, len, "record JSON"));
    rc = daap__db_from_json_object(out, root);
    json_object_put(root);
    return rc;
}

/* ---- event pages (the inverse of daap_db_event_page_to_json) */

static int event_text(const char **out, json_object *obj, const char *key, bool required)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return required ? bad("event JSON: '%s' is missing", key) : 0;
    if (!json_object_is_type(v, json_type_string))
        return bad("event JSON: '%s' must be a string", key);
    *out = json_object_get_string(v);
    return 0;
}

static int event_int(int64_t *out, json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
        return bad("event JSON: '%s' must be an integer", key);
    *out = json_object_get_int64(v);
    return 0;
}

static int event_time(int64_t *out, json_object *obj, const char *key)
{
    const char *text;

    DAAP_TRY(event_text(&text, obj, key, true));
    return daap__time_parse(out, text) < 0 ? bad("event JSON: '%s' must be an RFC 3339 time", key) : 0;
}

static int event_from_object(daap_db_event *ev, json_object *obj)
{
    const char *type;

    memset(ev, 0, sizeof(*ev));
    if (!json_object_is_type(obj, json_type_object))
        return bad("event JSON: %s", "not an object");
    DAAP_TRY(event_int(&ev->id, obj, "id"));
    DAAP_TRY(event_int(&ev->count, obj, "count"));
    DAAP_TRY(event_time(&ev->at, obj, "at"));
    DAAP_TRY(event_time(&ev->last_at, obj, "last_at"));
    DAAP_TRY(event_text(&type, obj, "type", true));
    if ((ev->type = daap__event_type_parse(type)) < 0)
        return bad("event JSON: type '%.40s' is unknown", type);
    DAAP_TRY(event_text(&ev->database_id, obj, "database_id", true));
    DAAP_TRY(event_text(&ev->reason, obj, "reason", true));
    DAAP_TRY(event_text(&ev->message, obj, "message", false));
    DAAP_TRY(event_text(&ev->from_status, obj, "from_status", false));
    DAAP_TRY(event_text(&ev->to_status, obj, "to_status", false));
    DAAP_TRY(event_text(&ev->actor, obj, "actor", false));
    return event_text(&ev->request_id, obj, "request_id", false);
}

static int event_items(daap_db_event_page *out, json_object *root)
{
    json_object *items = NULL;
    size_t i, n;

    if (json_object_is_type(root, json_type_object))
        json_object_object_get_ex(root, "items", &items);
    if (items == NULL || !json_object_is_type(items, json_type_array))
        return bad("event JSON: %s", "'items' must be an array");
    n = json_object_array_length(items);
    for (i = 0; i < n; i++) {
        daap_db_event ev;
        DAAP_TRY(event_from_object(&ev, json_object_array_get_idx(items, i)));
        DAAP_TRY(daap_db_event_page_push(out, &ev));
    }
    return 0;
}

int daap__json_next_cursor(char **out, struct json_object *root, const char *what)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(root, "next_cursor", &v) || v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_HTTP, "%s: 'next_cursor' must be a string or null", what);
    if (json_object_get_string_len(v) == 0)
        return 0;
    *out = daap__strdup(json_object_get_string(v));
    DAAP_ERROR_CHECK_ALLOC(*out);
    return 0;
}

int daap__event_page_from_json(daap_db_event_page *out, const char *json, size_t len)
{
    json_object *root;
    int rc;

    DAAP_TRY(daap__json_parse(&root, json, len, "event JSON"));
    rc = event_items(out, root);
    if (rc == 0)
        rc = daap__json_next_cursor(&out->next_cursor, root, "event JSON");
    json_object_put(root);
    if (rc < 0)
        daap_db_event_page_dispose(out);
    return rc;
}
