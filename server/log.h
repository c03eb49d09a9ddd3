/* Structured logging: one JSON object per line on stderr. Never pass
 * secrets (passwords, URIs with credentials, request bodies) to these. */
#ifndef DAAP_SERVER_LOG_H
#define DAAP_SERVER_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

typedef enum { LF_KIND_STR, LF_KIND_NUM, LF_KIND_MICROS_AS_MS } log_field_kind;

/* One extra member of a log line. */
typedef struct {
    const char    *key;
    log_field_kind kind;
    const char    *str;
    int64_t        num;
} log_field;

static inline log_field log_str_field(const char *key, const char *value)
{
    log_field f = { key, LF_KIND_STR, value ? value : "", 0 };
    return f;
}

#define LF_STR(k, v) log_str_field((k), (v))
#define LF_NUM(k, v) ((log_field){ (k), LF_KIND_NUM, NULL, (int64_t)(v) })
/* Microseconds written as milliseconds with three decimals. */
#define LF_MS(k, us) ((log_field){ (k), LF_KIND_MICROS_AS_MS, NULL, (int64_t)(us) })

/* "debug", "info", "warn" or "error"; returns -1 for anything else. */
int  log_level_parse(const char *name);
void log_set_level(log_level level);
int  log_enabled(log_level level);

/* Write {"ts","level","msg",fields...} as one line, atomically. */
void log_line(log_level level, const char *msg, const log_field *fields, size_t nfields);

/* Shorthand for a message with no fields. */
void log_msg(log_level level, const char *msg);

#endif
