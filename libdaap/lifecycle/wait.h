/* daap_db_wait() on a local context: read the store until the revision moves. */
#ifndef DAAP_INTERNAL_LIFECYCLE_WAIT_H
#define DAAP_INTERNAL_LIFECYCLE_WAIT_H

#include "common.h"

/* The local engine's wait slot (engine.h): self is the daap_ctx. */
int daap__db_wait_local(daap_db **out, void *self, const char *id, const daap_db_wait_options *opts);

#endif
