/* The Kubernetes side of a full reconcile pass (snapshot.c). */
#ifndef DAAP_INTERNAL_SNAPSHOT_H
#define DAAP_INTERNAL_SNAPSHOT_H

#include "lifecycle/steps.h"

/* Summaries (daap__kube_object_summary) of the daap-labelled Clusters and
 * Poolers in the context's namespace, each list sorted by metadata.name;
 * a watch's cache also keeps the pooler Deployments. */
typedef struct {
    daap_kube_list clusters;
    daap_kube_list poolers;
    daap_kube_list deployments;
    bool           deployments_known; /* false: not kept; GET them */
} daap__snapshot;

/* List a kind as sorted summaries into `out` (replaced on success only). */
int daap__kube_list_summaries(daap_kube_list *out, daap_kube_backend *be, int kind,
                              const char *namespace_, const char *label_selector);

/* Two lists: one per kind. */
int  daap__snapshot_take(daap__snapshot *s, daap_ctx *ctx);
void daap__snapshot_dispose(daap__snapshot *s);

/* Borrowed; NULL when absent or for another kind. */
const daap_kube_object *daap__snapshot_find(const daap__snapshot *s, int kind, const char *name);
/* Keep a snapshot current from watch events: add or replace (as a
 * summary), or remove. Other kinds are ignored. */
int  daap__snapshot_put(daap__snapshot *s, int kind, const daap_kube_object *obj);
void daap__snapshot_drop(daap__snapshot *s, int kind, const char *name);

#endif
