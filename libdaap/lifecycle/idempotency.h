/* Idempotency keys (idempotency.c): the local engine's slots for
 * daap/idempotency.h, and create under daap_db_spec.idempotency_key. */
#ifndef DAAP_INTERNAL_IDEMPOTENCY_H
#define DAAP_INTERNAL_IDEMPOTENCY_H

#include "common.h"

/* An unquoted key: 1 to DAAP_IDEMPOTENCY_KEY_MAX printable ASCII characters.
 * @return 0 or DAAP_EINVALID */
int daap__idempotency_key_check(const char *key);

int daap__idempotency_begin_local(daap_idempotency_record *out, void *self, const daap_idempotency_request *req);
int daap__idempotency_finish_local(void *self, const daap_idempotency_request *req, int32_t status,
                                   const char *location, const char *body, size_t len);
int daap__idempotency_abandon_local(void *self, const daap_idempotency_request *req);
int daap__idempotency_purge_local(uint32_t *purged, void *self, uint32_t limit);

/* The create that a key guards: validated already, it makes the record. */
typedef int (*daap__create_fn)(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec);

/* Create under spec->idempotency_key: claim the key (scope: the owner team;
 * fingerprint: the spec), run `create`, store its success; or replay a
 * stored success. @return as daap_db_create(), plus DAAP_ECONFLICT (the
 * key is in flight, or was used for a create that failed elsewhere) and
 * DAAP_EINVALID (the key was used with another spec) */
int daap__idempotent_create(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec, daap__create_fn create);

#endif
