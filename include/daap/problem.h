/**
 * @file daap/problem.h
 * @brief RFC 9457 problem documents for errors found at the HTTP edge.
 *
 * daap_error_to_problem_json() renders errors the library returned. Servers
 * also refuse requests before any library call (a body too large, a wrong
 * media type, a method a route lacks); this renders those in the same shape,
 * so every error a client sees looks alike.
 */
#ifndef DAAP_PROBLEM_H
#define DAAP_PROBLEM_H

#include "common.h"
#include "buffer.h"
#include "errors.h"

DAAP_BEGIN_DECL

/**
 * Render {type, title, status, code, detail, instance} for an HTTP status.
 *
 * `type` is "urn:daap:error:<code>" and `code` a stable slug
 * ("payload_too_large", "unsupported_media_type", "method_not_allowed",
 * "not_found", "request_timeout", ...), matching daap_error_code_name() where
 * a daap code has the same status.
 *
 * @param[out] out   receives the JSON (appended); release with daap_buf_dispose()
 * @param status     an HTTP status between 400 and 599
 * @param detail     one sentence for a human, or NULL for the title
 * @param instance   the request path, or NULL
 * @return 0, DAAP_EINVALID (status out of range) or DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_problem_json(daap_buf *out, int status, const char *detail, const char *instance);

/**
 * The stable slug daap_problem_json() uses for an HTTP status, e.g.
 * "payload_too_large" for 413; "error" for statuses it has no name for.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_problem_code(int status);

/**
 * Copy err into *out as a client that is not trusted with the server's
 * internals may see it.
 *
 * The rule goes by error class. An error about the request itself
 * (DAAP_ERRCLASS_INVALID: validation, ownership, a malformed body), or one
 * that carries no class, keeps its message and field errors: they describe
 * only what the client sent. Every other class (storage, Kubernetes, OS,
 * crypto, config, memory, HTTP) gets a fixed sentence for its code instead,
 * e.g. "the metadata store is unavailable; retry later", because its message
 * may hold addresses, user names, paths or a library's raw text. Log the
 * original next to the request id.
 *
 * *out borrows from err and from static text: use it before the next
 * library call on this thread.
 *
 * @return 1 when the message was replaced, 0 when it is shown as it is,
 *         DAAP_EINVALID when an argument is NULL
 * @since 0.1
 */
DAAP_EXTERN(int) daap_error_for_client(daap_error *out, const daap_error *err);

DAAP_END_DECL

#endif
