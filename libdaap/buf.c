#include "common.h"

#include <stdio.h>

int daap__buf_grow(daap_buf *b, size_t extra)
{
    size_t need, nsize;
    char *p;

    if (extra > SIZE_MAX - b->size - 1)
        return daap_error_set_oom();
    need = b->size + extra + 1;
    if (need <= b->asize)
        return 0;
    nsize = b->asize ? b->asize : 64;
    while (nsize < need)
        nsize = nsize > SIZE_MAX / 2 ? need : nsize * 2;
    p = daap__realloc(b->ptr, nsize);
    if (p == NULL)
        return daap_error_set_oom();
    if (b->ptr == NULL)
        p[0] = '\0';
    b->ptr = p;
    b->asize = nsize;
    return 0;
}

int daap__buf_put(daap_buf *b, const char *data, size_t len)
{
    if (len >= b->asize - b->size) /* also true for an empty buffer */
        DAAP_TRY(daap__buf_grow(b, len));
    if (len)
        memcpy(b->ptr + b->size, data, len);
    b->size += len;
    b->ptr[b->size] = '\0';
    return 0;
}

int daap__buf_puts(daap_buf *b, const char *s)
{
    return daap__buf_put(b, s, strlen(s));
}

int daap__buf_putc(daap_buf *b, char c)
{
    return daap__buf_put(b, &c, 1);
}

int daap__buf_vprintf(daap_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "bad format string");
    DAAP_TRY(daap__buf_grow(b, (size_t)n));
    vsnprintf(b->ptr + b->size, (size_t)n + 1, fmt, ap);
    b->size += (size_t)n;
    return 0;
}

int daap__buf_printf(daap_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = daap__buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

size_t daap__utf8_valid_prefix(const char *str, size_t left)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n, i;
    uint32_t cp;

    if (left == 0) return 0;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xe0) == 0xc0) { n = 2; cp = s[0] & 0x1f; }
    else if ((s[0] & 0xf0) == 0xe0) { n = 3; cp = s[0] & 0x0f; }
    else if ((s[0] & 0xf8) == 0xf0) { n = 4; cp = s[0] & 0x07; }
    else return 0;
    if (n > left) return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

/* Bytes that JSON text cannot carry as they are: control characters, '"',
 * '\\', DEL, and anything non-ASCII (checked as UTF-8 below). */
static bool needs_care(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x7f;
}

/* The escape for byte s[i], or 0 with *skip set for a valid UTF-8 sequence. */
static size_t escape_at(char esc[7], const char *s, size_t i, size_t len, size_t *skip)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)s[i];

    *skip = 0;
    switch (c) {
    case '"': case '\\': esc[0] = '\\'; esc[1] = (char)c; return 2;
    case '\n': memcpy(esc, "\\n", 2); return 2;
    case '\r': memcpy(esc, "\\r", 2); return 2;
    case '\t': memcpy(esc, "\\t", 2); return 2;
    default: break;
    }
    if (c >= 0x80) {
        size_t n = daap__utf8_valid_prefix(s + i, len - i);
        if (n > 0) {
            *skip = n;
            return 0;
        }
        memcpy(esc, "\\ufffd", 6); /* a byte that is not UTF-8 */
        return 6;
    }
    memcpy(esc, "\\u00", 4);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 15];
    return 6;
}

int daap__buf_put_json_strn(daap_buf *b, const char *s, size_t len)
{
    size_t i = 0, start = 0;

    DAAP_TRY(daap__buf_grow(b, len + 2));
    b->ptr[b->size++] = '"';
    while (i < len) {
        char esc[7];
        size_t elen, skip;

        while (i < len && !needs_care((unsigned char)s[i]))
            i++;
        if (i == len)
            break;
        elen = escape_at(esc, s, i, len, &skip);
        if (elen == 0) {
            i += skip;
            continue;
        }
        DAAP_TRY(daap__buf_put(b, s + start, i - start));
        DAAP_TRY(daap__buf_put(b, esc, elen));
        start = ++i;
    }
    DAAP_TRY(daap__buf_put(b, s + start, len - start));
    return daap__buf_putc(b, '"');
}

int daap__buf_put_json_str(daap_buf *b, const char *s)
{
    if (s == NULL)
        return daap__buf_put(b, "null", 4);
    return daap__buf_put_json_strn(b, s, strlen(s));
}

int daap__buf_put_uri_escaped(daap_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            DAAP_TRY(daap__buf_putc(b, (char)c));
        } else {
            char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
            DAAP_TRY(daap__buf_put(b, esc, 3));
        }
    }
    return 0;
}

void daap__buf_clear(daap_buf *b)
{
    b->size = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

char *daap__buf_detach(daap_buf *b)
{
    char *p;

    if (b->ptr == NULL && daap__buf_grow(b, 0) < 0)
        return NULL;
    p = b->ptr;
    b->ptr = NULL;
    b->size = b->asize = 0;
    return p;
}

void daap_buf_dispose(daap_buf *b)
{
    if (b == NULL)
        return;
    daap__free(b->ptr);
    b->ptr = NULL;
    b->size = b->asize = 0;
}

int daap_buf_put(daap_buf *b, const char *data, size_t len)
{
    DAAP_ASSERT_ARG(b && (data || len == 0));
    return daap__buf_put(b, data, len);
}
