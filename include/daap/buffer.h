/**
 * @file daap/buffer.h
 * @brief Growable byte buffers that carry strings and blobs out of the library.
 */
#ifndef DAAP_BUFFER_H
#define DAAP_BUFFER_H

#include "common.h"

DAAP_BEGIN_DECL

/** A buffer owned by the caller; release with daap_buf_dispose(). */
typedef struct {
    char  *ptr;   /**< NUL-terminated contents, or NULL when empty */
    size_t size;  /**< bytes used, not counting the terminator */
    size_t asize; /**< bytes allocated */
} daap_buf;

/** Static initialiser for an empty buffer. */
#define DAAP_BUF_INIT { NULL, 0, 0 }

/**
 * Free a buffer's memory and reset it to empty. Accepts NULL.
 * @since 0.1
 */
DAAP_EXTERN(void) daap_buf_dispose(daap_buf *buf);

/**
 * Append `len` bytes to a buffer (which stays NUL-terminated); for backends
 * that hand strings or blobs out through a daap_buf.
 * @return 0 or DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_buf_put(daap_buf *buf, const char *data, size_t len);

/**
 * Free any other memory that the library handed out (strings from out
 * parameters documented as "release with daap_free"). Accepts NULL.
 * @since 0.1
 */
DAAP_EXTERN(void) daap_free(void *ptr);

DAAP_END_DECL

#endif
