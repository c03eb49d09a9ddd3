/* Structured logging: one JSON object per line on stderr. Never pass
 * secrets (passwords, URIs with credentials, request bodies) to these. */
#ifndef DAAP_SERVER_LOG_H
#define DAAP_SERVER_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* One extra member of a log line: a string (str != NULL) or an integer. */
typedef struct {
    const char *key;
    const char *str;
    int64_t     num;
} log_field;

#define LF_STR(k, v) ((log_field){ (k), (v) ? (v) : "", 0 })
#define LF_NUM(k, v) ((log_field){ (k), NULL, (int64_t)(v) })

/* "debug", "info", "warn" or "error"; returns -1 for anything else. */
int  log_level_parse(const char *name);
void log_set_level(log_level level);
int  log_enabled(log_level level);

/* Write {"ts","level","msg",fields...} as one line, atomically. */
void log_line(log_level level, const char *msg, const log_field *fields, size_t nfields);

/* Shorthand for a message with no fields. */
void log_msg(log_level level, const char *msg);

#endif
