/* Is Kubernetes answering? A thread of its own asks, with a short deadline,
 * so that /readyz can report Kubernetes trouble at once without a request
 * ever waiting on the Kubernetes API. */
#ifndef DAAP_SERVER_KUBE_PROBE_H
#define DAAP_SERVER_KUBE_PROBE_H

#include <daap/daap.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct kube_probe kube_probe;

/* Takes ctx (a context of its own, opened with a short Kubernetes timeout),
 * also when the call fails. */
int  kube_probe_start(kube_probe **out, daap_ctx *ctx);
/* True when the last ping succeeded recently. Otherwise false, with what a
 * client may be told in `why` and the full cause, for the log only, in
 * `cause`. Never blocks on Kubernetes. */
bool kube_probe_ready(kube_probe *p, char *why, size_t why_size, char *cause, size_t cause_size);
/* Stop the thread and free everything. Accepts NULL. */
void kube_probe_stop(kube_probe *p);

#endif
