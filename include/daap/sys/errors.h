/**
 * @file daap/sys/errors.h
 * @brief Setting the last error, for backend authors.
 */
#ifndef DAAP_SYS_ERRORS_H
#define DAAP_SYS_ERRORS_H

#include "../common.h"
#include "../errors.h"

DAAP_BEGIN_DECL

/**
 * Record an error for the calling thread and return `code`, so a backend can
 * write `return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_STORAGE, "...")`.
 * Clears any field errors.
 *
 * @param code   the daap_error_code being returned
 * @param klass  a daap_error_class
 * @param fmt    printf-style one-line message
 * @return code
 * @since 0.1
 */
DAAP_EXTERN(int) daap_error_set(int code, int klass, const char *fmt, ...) DAAP_PRINTF(3, 4);

/**
 * Append a field error to the calling thread's error (kept until the next
 * daap_error_set() or daap_error_clear()).
 *
 * @return 0 or DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_error_add_field(const char *field, const char *code, const char *message);

/**
 * Record an out-of-memory error.
 * @return DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_error_set_oom(void);

DAAP_END_DECL

#endif
