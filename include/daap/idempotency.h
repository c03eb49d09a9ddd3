/**
 * @file daap/idempotency.h
 * @brief Idempotency keys: a retried request gets the first one's answer.
 *
 * The rules are draft-ietf-httpapi-idempotency-key-header's and Stripe's
 * (docs/idempotency.md): a key is stored in the metadata store, within the
 * caller's team, with a SHA-256 fingerprint of the request and, once it is
 * done, the response. A second request with the key finds the first one in
 * flight, done (replay its response), or holding another fingerprint (the
 * key was reused for another request). A key lives 24 hours by default; one
 * left in flight by a crashed process is free again after its lease.
 *
 * daap-server wraps every POST in these calls; the local engine's
 * daap_db_create() uses them for daap_db_spec.idempotency_key. They need a
 * context next to the store: a remote context answers DAAP_ENOTSUPPORTED.
 */
#ifndef DAAP_IDEMPOTENCY_H
#define DAAP_IDEMPOTENCY_H

#include "common.h"
#include "types.h"
#include "buffer.h"

DAAP_BEGIN_DECL

/** The longest key, in characters (Stripe's limit). */
#define DAAP_IDEMPOTENCY_KEY_MAX 255
/** How long a finished key is kept when the request does not say. */
#define DAAP_IDEMPOTENCY_TTL_DEFAULT_MS (24LL * 60 * 60 * 1000)
/** How long a key may stay in flight before another request may take it. */
#define DAAP_IDEMPOTENCY_LEASE_DEFAULT_MS (60LL * 1000)

/** Where a key stands after daap_idempotency_begin(). Values are frozen. */
typedef enum {
    DAAP_IDEMPOTENCY_STARTED = 0,   /**< the key was free: this request now holds it in flight */
    DAAP_IDEMPOTENCY_IN_FLIGHT = 1, /**< another request holds it and has not finished */
    DAAP_IDEMPOTENCY_DONE = 2,      /**< finished: replay the stored response */
    DAAP_IDEMPOTENCY_MISMATCH = 3   /**< the key was used for a request with another fingerprint */
} daap_idempotency_state;

/** One request under a key. */
typedef struct {
    unsigned int version;   /**< DAAP_IDEMPOTENCY_REQUEST_VERSION */
    const char  *scope;     /**< the caller's team; NULL: no team (its own scope) */
    const char  *key;       /**< the key, already unquoted (daap_idempotency_key_parse()) */
    const char  *method;    /**< e.g. "POST"; part of the fingerprint */
    const char  *path;      /**< e.g. "/databases"; part of the fingerprint */
    const char  *body;      /**< the request body, byte for byte; may be NULL when body_len is 0 */
    size_t       body_len;
    int64_t      ttl_ms;    /**< life of a finished key; 0: DAAP_IDEMPOTENCY_TTL_DEFAULT_MS */
    int64_t      lease_ms;  /**< in-flight lease; 0: DAAP_IDEMPOTENCY_LEASE_DEFAULT_MS */
} daap_idempotency_request;

#define DAAP_IDEMPOTENCY_REQUEST_VERSION 1
#define DAAP_IDEMPOTENCY_REQUEST_INIT { DAAP_IDEMPOTENCY_REQUEST_VERSION }

/** @return 0 or DAAP_EINVALID (unknown version). @since 0.1 */
DAAP_EXTERN(int) daap_idempotency_request_init(daap_idempotency_request *req, unsigned int version);

/** What the store holds for a key; release with daap_idempotency_record_dispose(). */
typedef struct {
    daap_idempotency_state state;
    int32_t  status;    /**< DONE: the stored HTTP status */
    daap_buf location;  /**< DONE: the stored Location, empty when there was none */
    daap_buf body;      /**< DONE: the stored body, byte for byte */
} daap_idempotency_record;

/**
 * Free a record's buffers and reset it. Accepts NULL.
 * @since 0.1
 */
DAAP_EXTERN(void) daap_idempotency_record_dispose(daap_idempotency_record *rec);

/** Room for a key made by daap_idempotency_key_new(), NUL included. */
#define DAAP_IDEMPOTENCY_KEY_NEW_SIZE 37

/**
 * Make a fresh key for one request: a random (version 4) UUID, as the
 * draft recommends, so that no other client sends the same one. Send it
 * with every retry of that request, and a new one for the next request.
 * Needs no context.
 *
 * @param[out] out  receives the key, NUL-terminated
 * @param size      bytes at `out`; at least DAAP_IDEMPOTENCY_KEY_NEW_SIZE
 * @return 0, DAAP_EINVALID (size too small), DAAP_ERROR (no randomness)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_idempotency_key_new(char *out, size_t size);

/**
 * Read an `Idempotency-Key` header value: a structured-field string
 * (`"abc"`, with `\"` and `\\` escapes) as the draft wants, or a bare
 * token as Stripe sends. The key must be 1 to DAAP_IDEMPOTENCY_KEY_MAX
 * printable ASCII characters (no spaces in a bare token).
 *
 * @param[out] out  receives the key, NUL-terminated
 * @param size      bytes at `out`; at least DAAP_IDEMPOTENCY_KEY_MAX + 1
 * @param header    the header's value
 * @return 0 or DAAP_EINVALID (malformed; the message says how)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_idempotency_key_parse(char *out, size_t size, const char *header);

/**
 * Claim a key for a request, or learn what holds it. The claim is atomic
 * across every process on the store: of two requests with one key, one gets
 * STARTED and the other IN_FLIGHT, DONE or MISMATCH. A key whose lease or
 * life has passed counts as free.
 *
 * After STARTED the caller must end the claim with
 * daap_idempotency_finish() (store the response) or
 * daap_idempotency_abandon() (store nothing, e.g. the body failed
 * validation, so a corrected request may reuse the key).
 *
 * @param[out] out  receives the state and, for DONE, the stored response;
 *                  release with daap_idempotency_record_dispose()
 * @return 0, DAAP_EINVALID (bad request fields), DAAP_EUNAVAILABLE,
 *         DAAP_ENOTSUPPORTED (remote context, or a store without keys)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_idempotency_begin(daap_idempotency_record *out, daap_ctx *ctx,
                                        const daap_idempotency_request *req);

/**
 * Store the response of a request that holds its key (after STARTED). The
 * key then lives req->ttl_ms.
 *
 * @param status    the HTTP status of the response
 * @param location  its Location header, or NULL
 * @param body      its body (may be NULL when len is 0)
 * @return 0, DAAP_ECONFLICT (the claim was lost: the lease passed and
 *         another request took the key), DAAP_EUNAVAILABLE, DAAP_ENOTSUPPORTED
 * @since 0.1
 */
DAAP_EXTERN(int) daap_idempotency_finish(daap_ctx *ctx, const daap_idempotency_request *req, int32_t status,
                                         const char *location, const char *body, size_t len);

/**
 * Give up a claim without storing anything: the key is free again. Only a
 * key still in flight with this request's fingerprint is removed.
 *
 * @return 0 (also when there was nothing to remove), DAAP_EUNAVAILABLE,
 *         DAAP_ENOTSUPPORTED
 * @since 0.1
 */
DAAP_EXTERN(int) daap_idempotency_abandon(daap_ctx *ctx, const daap_idempotency_request *req);

/**
 * Delete up to `limit` keys whose life (or in-flight lease) has passed,
 * oldest first. Call it again while it returns `limit`.
 *
 * @param[out] purged  receives how many were deleted (may be NULL)
 * @param limit        the batch size, 1 to 10000
 * @return 0, DAAP_EINVALID (limit), DAAP_EUNAVAILABLE, DAAP_ENOTSUPPORTED
 * @since 0.1
 */
DAAP_EXTERN(int) daap_idempotency_purge(uint32_t *purged, daap_ctx *ctx, uint32_t limit);

DAAP_END_DECL

#endif
