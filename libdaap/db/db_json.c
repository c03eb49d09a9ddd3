/* The one JSON rendering of records, pages and errors, shared by every
 * front-end. Written straight into a buffer: a json-c tree per record costs
 * more than the query that produced it (reference/perf.md). */
#include "db/db_json.h"
#include "ids.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Literal text, length known at compile time. */
#define PUT_LIT(b, lit) daap__buf_put((b), (lit), sizeof(lit) - 1)

/* Decimal digits without printf: the list path renders about 20 numbers
 * per row, and vfprintf was a quarter of its CPU (bench/RESULTS.md). */
static int put_int(daap_buf *b, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return daap__buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void put_digits(char *p, unsigned v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC, or null for 0. Days to a civil date
 * by H. Hinnant's algorithm (proleptic Gregorian), instead of gmtime_r and
 * snprintf; years outside 0..9999 take the libc path. */
static int put_time(daap_buf *b, int64_t ms)
{
    int64_t secs, days, z, era, y;
    unsigned doe, yoe, doy, mp, d, m, sod;
    char text[64];

    if (ms == 0)
        return PUT_LIT(b, "null");
    secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    sod = (unsigned)(secs - days * 86400);
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = (int64_t)yoe + era * 400 + (m <= 2);
    if (y < 0 || y > 9999) {
        struct tm tm;
        time_t t = (time_t)secs;
        gmtime_r(&t, &tm);
        snprintf(text, sizeof(text), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(ms - secs * 1000));
        return daap__buf_puts(b, text);
    }
    memcpy(text, "\"0000-00-00T00:00:00.000Z\"", 27);
    put_digits(text + 1, (unsigned)y, 4);
    put_digits(text + 6, m, 2);
    put_digits(text + 9, d, 2);
    put_digits(text + 12, sod / 3600, 2);
    put_digits(text + 15, sod / 60 % 60, 2);
    put_digits(text + 18, sod % 60, 2);
    put_digits(text + 21, (unsigned)(ms - secs * 1000), 3);
    return daap__buf_put(b, text, 26);
}

static int uri_for(daap_buf *out, const daap_db *db, const char *host, int32_t port)
{
    DAAP_TRY(daap__buf_puts(out, "postgresql://"));
    DAAP_TRY(daap__buf_put_uri_escaped(out, daap_db_username(db)));
    DAAP_TRY(daap__buf_putc(out, ':'));
    DAAP_TRY(daap__buf_put_uri_escaped(out, daap_db_password(db)));
    DAAP_TRY(daap__buf_printf(out, "@%s:%d/", host, (int)port));
    DAAP_TRY(daap__buf_put_uri_escaped(out, daap_db_dbname(db)));
    return daap__buf_puts(out, "?sslmode=prefer");
}

static bool has_connection(const daap_db *db)
{
    return daap_db_status(db) == DAAP_DB_READY && daap_db_password(db) && daap_db_host(db) &&
           daap_db_username(db) && daap_db_dbname(db);
}

int daap_db_uri(daap_buf *out, const daap_db *db)
{
    DAAP_ASSERT_ARG(out && db);
    if (!has_connection(db))
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_INVALID,
                              "database %s has no connection details until it is ready", daap_db_name(db));
    return uri_for(out, db, daap_db_host(db), daap_db_port(db));
}

static int put_uri_field(daap_buf *b, const daap_db *db, const char *host, int32_t port)
{
    daap_buf uri = DAAP_BUF_INIT;
    int rc = uri_for(&uri, db, host, port);
    if (rc == 0)
        rc = daap__buf_put_json_str(b, uri.ptr);
    if (uri.ptr)
        memset(uri.ptr, 0, uri.size);
    daap_buf_dispose(&uri);
    return rc;
}

static int put_connection(daap_buf *b, const daap_db *db)
{
    DAAP_TRY(daap__buf_puts(b, ",\"connection\":{\"host\":"));
    DAAP_TRY(daap__buf_put_json_str(b, daap_db_host(db)));
    DAAP_TRY(daap__buf_printf(b, ",\"port\":%d,\"dbname\":", (int)daap_db_port(db)));
    DAAP_TRY(daap__buf_put_json_str(b, daap_db_dbname(db)));
    DAAP_TRY(daap__buf_puts(b, ",\"user\":"));
    DAAP_TRY(daap__buf_put_json_str(b, daap_db_username(db)));
    DAAP_TRY(daap__buf_puts(b, ",\"password\":"));
    DAAP_TRY(daap__buf_put_json_str(b, daap_db_password(db)));
    DAAP_TRY(daap__buf_puts(b, ",\"uri\":"));
    DAAP_TRY(put_uri_field(b, db, daap_db_host(db), daap_db_port(db)));
    DAAP_TRY(daap__buf_puts(b, ",\"sslmode\":\"prefer\""));
    if (daap_db_direct_host(db)) {
        DAAP_TRY(daap__buf_puts(b, ",\"direct\":{\"host\":"));
        DAAP_TRY(daap__buf_put_json_str(b, daap_db_direct_host(db)));
        DAAP_TRY(daap__buf_printf(b, ",\"port\":%d,\"uri\":", (int)daap_db_direct_port(db)));
        DAAP_TRY(put_uri_field(b, db, daap_db_direct_host(db), daap_db_direct_port(db)));
        DAAP_TRY(daap__buf_putc(b, '}'));
    }
    return daap__buf_putc(b, '}');
}

/* Members by literal key (",\"name\":"), so no key needs a strlen. */
#define PUT_TEXT(b, key, db, f) put_text_member((b), (key), sizeof(key) - 1, (db), (f))
#define PUT_INT(b, key, v)      (PUT_LIT((b), key) < 0 ? DAAP_ERROR : put_int((b), (v)))
#define PUT_TIME(b, key, ms)    (PUT_LIT((b), key) < 0 ? DAAP_ERROR : put_time((b), (ms)))

static int put_text_member(daap_buf *b, const char *key, size_t keylen, const daap_db *db, int field)
{
    size_t len;
    const char *value = daap__db_textn(db, field, &len);

    DAAP_TRY(daap__buf_put(b, key, keylen));
    return value ? daap__buf_put_json_strn(b, value, len) : PUT_LIT(b, "null");
}

static int put_str_member(daap_buf *b, const char *key, const char *value)
{
    DAAP_TRY(daap__buf_puts(b, key));
    return daap__buf_put_json_str(b, value);
}

static int render_compact(daap_buf *b, const daap_db *db, unsigned int flags)
{
    DAAP_TRY(PUT_TEXT(b, "{\"id\":", db, DAAP_DB_F_ID));
    DAAP_TRY(PUT_TEXT(b, ",\"name\":", db, DAAP_DB_F_NAME));
    DAAP_TRY(PUT_TEXT(b, ",\"owner_team\":", db, DAAP_DB_F_OWNER_TEAM));
    DAAP_TRY(PUT_TEXT(b, ",\"purpose\":", db, DAAP_DB_F_PURPOSE));
    DAAP_TRY(PUT_TEXT(b, ",\"namespace\":", db, DAAP_DB_F_NAMESPACE));
    DAAP_TRY(PUT_TEXT(b, ",\"cluster_name\":", db, DAAP_DB_F_CLUSTER_NAME));
    DAAP_TRY(PUT_TEXT(b, ",\"pooler_name\":", db, DAAP_DB_F_POOLER_NAME));
    DAAP_TRY(PUT_INT(b, ",\"instances\":", daap_db_instances(db)));
    DAAP_TRY(PUT_TEXT(b, ",\"storage_size\":", db, DAAP_DB_F_STORAGE_SIZE));
    DAAP_TRY(PUT_INT(b, ",\"pg_version\":", daap_db_pg_version(db)));
    DAAP_TRY(put_str_member(b, ",\"status\":", daap_db_status_name(daap_db_status(db))));
    DAAP_TRY(PUT_TEXT(b, ",\"status_reason\":", db, DAAP_DB_F_STATUS_REASON));
    DAAP_TRY(PUT_TIME(b, ",\"created_at\":", daap_db_created_at(db)));
    DAAP_TRY(PUT_TIME(b, ",\"updated_at\":", daap_db_updated_at(db)));
    DAAP_TRY(PUT_TIME(b, ",\"ready_at\":", daap_db_ready_at(db)));
    DAAP_TRY(PUT_TIME(b, ",\"deleted_at\":", daap_db_deleted_at(db)));
    DAAP_TRY(PUT_INT(b, ",\"revision\":", daap_db_revision(db)));
    DAAP_TRY(daap__buf_puts(b, daap_db_deletion_protection(db) ? ",\"deletion_protection\":true"
                                                               : ",\"deletion_protection\":false"));
    if (!(flags & DAAP_JSON_NO_SECRETS) && has_connection(db))
        DAAP_TRY(put_connection(b, db));
    return daap__buf_putc(b, '}');
}

int daap__db_render_item(daap_buf *b, const daap_db *db, size_t index)
{
    if (index > 0)
        DAAP_TRY(daap__buf_putc(b, ','));
    return render_compact(b, db, DAAP_JSON_NO_SECRETS);
}

int daap__page_json_open(daap_buf *b)
{
    return PUT_LIT(b, "{\"items\":[");
}

int daap__page_json_close(daap_buf *b, const char *next_cursor)
{
    DAAP_TRY(PUT_LIT(b, "],\"next_cursor\":"));
    DAAP_TRY(daap__buf_put_json_str(b, next_cursor));
    return daap__buf_putc(b, '}');
}

/* Re-indent compact JSON for people: strings are copied verbatim. */
static int pretty_print(daap_buf *out, const char *json, size_t len)
{
    int depth = 0;
    bool in_string = false;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = json[i];
        if (in_string) {
            DAAP_TRY(daap__buf_putc(out, c));
            if (c == '\\' && i + 1 < len)
                DAAP_TRY(daap__buf_putc(out, json[++i]));
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"': in_string = true; DAAP_TRY(daap__buf_putc(out, c)); break;
        case '{': case '[':
            depth++;
            DAAP_TRY(daap__buf_printf(out, "%c\n%*s", c, depth * 2, ""));
            break;
        case '}': case ']':
            depth--;
            DAAP_TRY(daap__buf_printf(out, "\n%*s%c", depth * 2, "", c));
            break;
        case ',': DAAP_TRY(daap__buf_printf(out, ",\n%*s", depth * 2, "")); break;
        case ':': DAAP_TRY(daap__buf_puts(out, ": ")); break;
        default:  DAAP_TRY(daap__buf_putc(out, c)); break;
        }
    }
    return 0;
}

static int finish(daap_buf *out, daap_buf *tmp, unsigned int flags)
{
    int rc = (flags & DAAP_JSON_PRETTY) ? pretty_print(out, tmp->ptr, tmp->size)
                                        : daap__buf_put(out, tmp->ptr, tmp->size);
    if (tmp->ptr)
        memset(tmp->ptr, 0, tmp->size); /* may hold a password */
    daap_buf_dispose(tmp);
    return rc;
}

int daap_db_to_json(daap_buf *out, const daap_db *db, unsigned int flags)
{
    daap_buf tmp = DAAP_BUF_INIT;
    int rc;

    DAAP_ASSERT_ARG(out && db);
    if (!(flags & DAAP_JSON_PRETTY))
        return render_compact(out, db, flags);
    rc = render_compact(&tmp, db, flags);
    if (rc < 0) {
        daap_buf_dispose(&tmp);
        return rc;
    }
    return finish(out, &tmp, flags);
}

static int render_page(daap_buf *b, const daap_db_page *page, unsigned int flags)
{
    size_t i;

    (void)flags; /* pages never carry secrets */
    DAAP_TRY(daap__page_json_open(b));
    for (i = 0; i < page->count; i++)
        DAAP_TRY(daap__db_render_item(b, page->items[i], i));
    return daap__page_json_close(b, page->next_cursor);
}

int daap_db_page_to_json(daap_buf *out, const daap_db_page *page, unsigned int flags)
{
    daap_buf tmp = DAAP_BUF_INIT;
    int rc;

    DAAP_ASSERT_ARG(out && page);
    if (!(flags & DAAP_JSON_PRETTY))
        return render_page(out, page, flags);
    rc = render_page(&tmp, page, flags);
    if (rc < 0) {
        daap_buf_dispose(&tmp);
        return rc;
    }
    return finish(out, &tmp, flags);
}

int daap_error_to_problem_json(daap_buf *out, const daap_error *err, const char *instance)
{
    size_t i;
    int status;

    DAAP_ASSERT_ARG(out && err);
    status = daap_error_http_status(err->code);
    DAAP_TRY(daap__buf_printf(out, "{\"type\":\"urn:daap:error:%s\",\"title\":", daap_error_code_name(err->code)));
    DAAP_TRY(daap__buf_put_json_str(out, daap_strerror(err->code)));
    DAAP_TRY(daap__buf_printf(out, ",\"status\":%d,\"code\":\"%s\",\"detail\":", status, daap_error_code_name(err->code)));
    DAAP_TRY(daap__buf_put_json_str(out, err->message && *err->message ? err->message : daap_strerror(err->code)));
    if (instance)
        DAAP_TRY(put_str_member(out, ",\"instance\":", instance));
    if (err->field_count) {
        DAAP_TRY(daap__buf_puts(out, ",\"errors\":["));
        for (i = 0; i < err->field_count; i++) {
            DAAP_TRY(daap__buf_puts(out, i ? ",{\"field\":" : "{\"field\":"));
            DAAP_TRY(daap__buf_put_json_str(out, err->fields[i].field));
            DAAP_TRY(put_str_member(out, ",\"code\":", err->fields[i].code));
            DAAP_TRY(put_str_member(out, ",\"message\":", err->fields[i].message));
            DAAP_TRY(daap__buf_putc(out, '}'));
        }
        DAAP_TRY(daap__buf_putc(out, ']'));
    }
    return daap__buf_putc(out, '}');
}

/* ---- event pages (DESIGN.md section 11) ---- */

static int put_opt_str_member(daap_buf *b, const char *key, const char *value)
{
    DAAP_TRY(daap__buf_puts(b, key));
    return value ? daap__buf_put_json_str(b, value) : PUT_LIT(b, "null");
}

static int render_event(daap_buf *b, const daap_db_event *ev)
{
    DAAP_TRY(PUT_INT(b, "{\"id\":", ev->id));
    DAAP_TRY(put_opt_str_member(b, ",\"database_id\":", ev->database_id));
    DAAP_TRY(PUT_TIME(b, ",\"at\":", ev->at));
    DAAP_TRY(PUT_TIME(b, ",\"last_at\":", ev->last_at));
    DAAP_TRY(put_opt_str_member(b, ",\"type\":", daap_db_event_type_name(ev->type)));
    DAAP_TRY(put_opt_str_member(b, ",\"reason\":", ev->reason));
    DAAP_TRY(put_opt_str_member(b, ",\"message\":", ev->message));
    DAAP_TRY(put_opt_str_member(b, ",\"from_status\":", ev->from_status));
    DAAP_TRY(put_opt_str_member(b, ",\"to_status\":", ev->to_status));
    DAAP_TRY(put_opt_str_member(b, ",\"actor\":", ev->actor));
    DAAP_TRY(put_opt_str_member(b, ",\"request_id\":", ev->request_id));
    DAAP_TRY(PUT_INT(b, ",\"count\":", ev->count));
    return daap__buf_putc(b, '}');
}

static int render_event_page(daap_buf *b, const daap_db_event_page *page)
{
    size_t i;

    DAAP_TRY(daap__page_json_open(b));
    for (i = 0; i < page->count; i++) {
        if (i > 0)
            DAAP_TRY(daap__buf_putc(b, ','));
        DAAP_TRY(render_event(b, &page->items[i]));
    }
    return daap__page_json_close(b, page->next_cursor);
}

int daap_db_event_page_to_json(daap_buf *out, const daap_db_event_page *page, unsigned int flags)
{
    daap_buf tmp = DAAP_BUF_INIT;

    DAAP_ASSERT_ARG(out && page);
    if (render_event_page(&tmp, page) < 0) {
        daap_buf_dispose(&tmp);
        return daap_error_set_oom();
    }
    return finish(out, &tmp, flags);
}

/* An event cursor names its database, so one from another database's
 * history is refused rather than read as an id. */
int daap__event_cursor_encode(char **out, int64_t event_id, const char *database_id)
{
    return daap__cursor_encode(out, event_id, database_id);
}

int daap__event_cursor_decode(int64_t *event_id, const char *database_id, const char *cursor)
{
    char id[64];

    if (daap__cursor_decode(event_id, id, sizeof(id), cursor) < 0 || strcmp(id, database_id) != 0 || *event_id <= 0)
        return DAAP_EINVALID;
    return 0;
}

/* ---- keyset cursors: base64url("<created_at>.<id>") ---- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int daap__cursor_encode(char **out, int64_t created_at, const char *id)
{
    char plain[96];
    daap_buf b = DAAP_BUF_INIT;
    size_t n, i;

    n = (size_t)snprintf(plain, sizeof(plain), "%lld.%s", (long long)created_at, id);
    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)plain[i] << 16;
        size_t left = n - i;
        if (left > 1) v |= (unsigned char)plain[i + 1] << 8;
        if (left > 2) v |= (unsigned char)plain[i + 2];
        DAAP_TRY(daap__buf_putc(&b, b64url[(v >> 18) & 63]));
        DAAP_TRY(daap__buf_putc(&b, b64url[(v >> 12) & 63]));
        if (left > 1) DAAP_TRY(daap__buf_putc(&b, b64url[(v >> 6) & 63]));
        if (left > 2) DAAP_TRY(daap__buf_putc(&b, b64url[v & 63]));
    }
    *out = daap__buf_detach(&b);
    DAAP_ERROR_CHECK_ALLOC(*out);
    return 0;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

int daap__cursor_decode(int64_t *created_at, char *id, size_t idsize, const char *cursor)
{
    char plain[96];
    size_t n = strlen(cursor), i, o = 0;
    char *dot, *end;

    if (n == 0 || n > 120 || n % 4 == 1)
        return DAAP_EINVALID;
    for (i = 0; i < n; i += 4) {
        int a = b64val(cursor[i]), b = b64val(cursor[i + 1]);
        int c = i + 2 < n ? b64val(cursor[i + 2]) : 0, d = i + 3 < n ? b64val(cursor[i + 3]) : 0;
        unsigned v;
        if (a < 0 || b < 0 || c < 0 || d < 0)
            return DAAP_EINVALID;
        v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
        plain[o++] = (char)(v >> 16);
        if (i + 2 < n) plain[o++] = (char)(v >> 8);
        if (i + 3 < n) plain[o++] = (char)v;
    }
    plain[o] = '\0';
    dot = strchr(plain, '.');
    if (dot == NULL)
        return DAAP_EINVALID;
    *dot = '\0';
    *created_at = strtoll(plain, &end, 10);
    if (end == plain || *end != '\0' || *created_at < 0 || !daap__uuid_valid(dot + 1) || strlen(dot + 1) >= idsize)
        return DAAP_EINVALID;
    strcpy(id, dot + 1);
    return 0;
}
