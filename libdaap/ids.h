/* UUIDv7 identifiers: time-ordered, so keyset order follows creation. */
#ifndef DAAP_INTERNAL_IDS_H
#define DAAP_INTERNAL_IDS_H

#include "common.h"

#define DAAP__UUID_STRLEN 36

/* Write a new UUIDv7 for time `ms` into out (37 bytes with the NUL). */
int daap__uuid7(char out[DAAP__UUID_STRLEN + 1], int64_t ms);
/* Whether s looks like a canonical lower-case UUID. */
bool daap__uuid_valid(const char *s);

#endif
