/* An incremental parser for Kubernetes watch streams (newline-delimited
 * JSON events), free of I/O so it can be unit-tested and fuzzed: feed it
 * bytes as they arrive, in chunks of any size, then pop whole events. */
#ifndef DAAP_INTERNAL_KUBE_WATCHPARSE_H
#define DAAP_INTERNAL_KUBE_WATCHPARSE_H

#include "kube/kube.h"

typedef struct daap__watchparse daap__watchparse;

int daap__watchparse_new(daap__watchparse **out);
void daap__watchparse_free(daap__watchparse *p);

/* Add bytes. 0, or DAAP_EINVALID once the stream is corrupt: the error is
 * sticky, later bytes are ignored, and events parsed before it still pop. */
int daap__watchparse_feed(daap__watchparse *p, const char *data, size_t len);

/* The next event in stream order.
 * @return 0 (out filled; the caller owns out->object), DAAP_ITEROVER (no
 *         whole event yet), the mapped code of a server ERROR event
 *         (DAAP_EEXPIRED for 410), or DAAP_EINVALID for a corrupt stream */
int daap__watchparse_pop(daap_kube_event *out, daap__watchparse *p);

/* Whether an incomplete event is buffered (a stream cut mid-event). */
bool daap__watchparse_partial(const daap__watchparse *p);

/* Whole events waiting to be popped. */
size_t daap__watchparse_queued(const daap__watchparse *p);

#endif
