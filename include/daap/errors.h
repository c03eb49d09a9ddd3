/**
 * @file daap/errors.h
 * @brief Error codes, the thread-local last error and validation field errors.
 *
 * Every fallible function returns 0 or a negative daap_error_code. The numbers
 * are frozen: a retired code keeps its number as a placeholder. Details of the
 * last failure on the calling thread are in daap_error_last().
 */
#ifndef DAAP_ERRORS_H
#define DAAP_ERRORS_H

#include "common.h"

DAAP_BEGIN_DECL

/** Return codes. Values never change. */
typedef enum {
    DAAP_OK            = 0,   /**< success */
    DAAP_ERROR         = -1,  /**< anything else; see the message */
    DAAP_ENOTFOUND     = -2,  /**< record or object does not exist */
    DAAP_EEXISTS       = -3,  /**< the name is already in use */
    DAAP_EINVALID      = -4,  /**< bad argument or spec; see the field errors */
    DAAP_ECONFLICT     = -5,  /**< revision mismatch: someone else wrote first */
    DAAP_EUNAVAILABLE  = -6,  /**< a backend is unreachable; retryable */
    DAAP_ETIMEOUT      = -7,  /**< a deadline passed; retryable */
    DAAP_EAUTH         = -8,  /**< a backend rejected our credentials */
    DAAP_ENOTSUPPORTED = -9,  /**< the backend lacks an optional capability */
    DAAP_EFORBIDDEN    = -10, /**< the caller's team does not own the database */
    DAAP_EEXPIRED      = -11, /**< a watch resourceVersion is too old; relist */
    DAAP_ECRYPTO       = -12, /**< credentials cannot be decrypted (wrong key?) */
    DAAP_EPROTECTED    = -13, /**< deletion protection is on; turn it off first */
    DAAP_ITEROVER      = -31  /**< end of iteration; not an error */
} daap_error_code;

/** The subsystem an error came from. */
typedef enum {
    DAAP_ERRCLASS_NONE = 0,
    DAAP_ERRCLASS_NOMEMORY,
    DAAP_ERRCLASS_OS,
    DAAP_ERRCLASS_INVALID,
    DAAP_ERRCLASS_STORAGE,
    DAAP_ERRCLASS_KUBE,
    DAAP_ERRCLASS_RECONCILE,
    DAAP_ERRCLASS_CRYPTO,
    DAAP_ERRCLASS_CONFIG,
    DAAP_ERRCLASS_HTTP
} daap_error_class;

/** One bad field of a validation failure. */
typedef struct {
    const char *field;   /**< request field name, e.g. "name" */
    const char *code;    /**< stable code: required, pattern, too_long, ... */
    const char *message; /**< one sentence for a human */
} daap_field_error;

/** The last error on this thread. */
typedef struct {
    const char *message;            /**< one line; never NULL */
    int klass;                      /**< a daap_error_class */
    int code;                       /**< the daap_error_code that was returned */
    const daap_field_error *fields; /**< validation errors, or NULL */
    size_t field_count;             /**< number of entries in fields */
} daap_error;

/**
 * The last error recorded on the calling thread.
 *
 * Valid until the next library call on this thread. Read it right after
 * the failing call.
 *
 * @return never NULL; code 0 and an empty message when nothing failed
 * @since 0.1
 */
DAAP_EXTERN(const daap_error *) daap_error_last(void);

/**
 * Static text for a code, for callers who kept only the code.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_strerror(int code);

/**
 * The stable lower-case name of a code, e.g. "not_found", for logs and
 * machine-readable output.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_error_code_name(int code);

/**
 * The stable lower-case name of a daap_error_class, e.g. "storage", for
 * logs; "unknown" for a value outside the enum.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_error_class_name(int klass);

/**
 * The HTTP status that stands for a code (404 for DAAP_ENOTFOUND, ...).
 *
 * This is the one table shared by daap-server and the remote client.
 *
 * @return an HTTP status between 400 and 599, or 200 for DAAP_OK
 * @since 0.1
 */
DAAP_EXTERN(int) daap_error_http_status(int code);

/**
 * Clear the calling thread's last error.
 * @since 0.1
 */
DAAP_EXTERN(void) daap_error_clear(void);

DAAP_END_DECL

#endif
