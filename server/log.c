/* JSON log lines. Strings are escaped here because log fields carry
 * client-controlled text (paths, request ids); the line is assembled in one
 * buffer and written with one write() so lines from threads never interleave. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
/* Per string: keeps every line well-formed even with hostile input. */
#define STRING_MAX_BYTES 384

static int min_level = LOG_INFO;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_level_parse(const char *name)
{
    int i;
    for (i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return strcmp(name, "warning") == 0 ? LOG_WARN : -1;
}

void log_set_level(log_level level)
{
    min_level = (int)level;
}

int log_enabled(log_level level)
{
    return (int)level >= min_level;
}

typedef struct {
    char   buf[LINE_MAX_BYTES];
    size_t len;
} line_buf;

static void put_raw(line_buf *l, const char *s, size_t n)
{
    if (n > sizeof(l->buf) - 2 - l->len)
        n = sizeof(l->buf) - 2 - l->len; /* keep room for "}\n" */
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void put_fmt(line_buf *l, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put_raw(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Bytes outside printable ASCII are escaped, so a hostile path cannot
 * produce invalid UTF-8 or split the line. */
static void put_str(line_buf *l, const char *s)
{
    size_t start = l->len;

    put_raw(l, "\"", 1);
    for (; *s; s++) {
        if (l->len - start > STRING_MAX_BYTES) {
            put_raw(l, "...", 3);
            break;
        }
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            put_raw(l, esc, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            put_fmt(l, "\\u%04x", c);
        } else {
            put_raw(l, (const char *)&c, 1);
        }
    }
    put_raw(l, "\"", 1);
}

/* Formatting the date costs more than the rest of a request's line: do it
 * once a second per thread. */
/* Decimal, without printf: a request's line has several numbers. */
static void put_num(line_buf *l, long long v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    put_raw(l, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void put_timestamp(line_buf *l)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[32];
    struct timespec ts;
    char ms[5];
    long m;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(cached, sizeof(cached), "{\"ts\":\"%Y-%m-%dT%H:%M:%S.", &tm);
        cached_sec = ts.tv_sec;
    }
    put_raw(l, cached, strlen(cached));
    m = ts.tv_nsec / 1000000L;
    ms[0] = (char)('0' + m / 100);
    ms[1] = (char)('0' + m / 10 % 10);
    ms[2] = (char)('0' + m % 10);
    ms[3] = 'Z';
    ms[4] = '"';
    put_raw(l, ms, sizeof(ms));
}

void log_line(log_level level, const char *msg, const log_field *fields, size_t nfields)
{
    line_buf l;
    size_t i;
    ssize_t ignored;

    if (!log_enabled(level))
        return;
    l.len = 0;
    put_timestamp(&l);
    put_raw(&l, ",\"level\":\"", 10);
    put_raw(&l, level_names[level], strlen(level_names[level]));
    put_raw(&l, "\",\"msg\":", 8);
    put_str(&l, msg);
    for (i = 0; i < nfields; i++) {
        put_raw(&l, ",", 1);
        put_str(&l, fields[i].key);
        put_raw(&l, ":", 1);
        if (fields[i].kind == LF_KIND_STR)
            put_str(&l, fields[i].str);
        else if (fields[i].kind == LF_KIND_NUM)
            put_num(&l, (long long)fields[i].num);
        else
            put_fmt(&l, "%lld.%03lld", (long long)(fields[i].num / 1000), (long long)(fields[i].num % 1000));
    }
    memcpy(l.buf + l.len, "}\n", 2);
    l.len += 2;
    pthread_mutex_lock(&write_lock);
    ignored = write(STDERR_FILENO, l.buf, l.len);
    pthread_mutex_unlock(&write_lock);
    (void)ignored;
}

void log_msg(log_level level, const char *msg)
{
    log_line(level, msg, NULL, 0);
}
