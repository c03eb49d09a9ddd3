/* UUIDv7 identifiers: time-ordered, so keyset order follows creation;
 * and random UUIDv4s for idempotency keys. */
#ifndef DAAP_INTERNAL_IDS_H
#define DAAP_INTERNAL_IDS_H

#include "common.h"

#define DAAP__UUID_STRLEN 36

/* Write a new UUIDv7 for time `ms` into out (37 bytes with the NUL). */
int daap__uuid7(char out[DAAP__UUID_STRLEN + 1], int64_t ms);
/* A random (version 4) UUID: for keys that must carry no time. */
int daap__uuid4(char out[DAAP__UUID_STRLEN + 1]);
/* Whether s looks like a canonical lower-case UUID. */
bool daap__uuid_valid(const char *s);

#endif
