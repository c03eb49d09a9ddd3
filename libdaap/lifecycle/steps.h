/* lifecycle/: the request path and the reconciler: create, get, list,
 * update, delete (lifecycle.c), the single steps they share (steps.c),
 * reconcile passes, snapshots and watches. The top layer: it may include
 * every folder below it, and nothing includes it but front-end tests.
 *
 * This header: steps shared by the request paths (create, delete) and the reconciler
 * (steps.c): transitions, creating and removing the Kubernetes objects of a
 * record, and reading its credentials. */
#ifndef DAAP_INTERNAL_STEPS_H
#define DAAP_INTERNAL_STEPS_H

#include "ctx.h"
#include "db/db.h"

#define DAAP__LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define DAAP__LABEL_DB_ID      "daap.dev/database-id"
#define DAAP__SELECTOR         "app.kubernetes.io/managed-by=daap"

/* Observed Kubernetes state of one record (objects owned by the caller). */
typedef struct {
    daap_kube_object *cluster;
    daap_kube_object *pooler;
    daap_kube_object *deployment;
    bool              known; /* false: not observed (API down) */
    bool              deployment_known; /* deployment is what exists (NULL: none) */
    bool              from_cache; /* a watch's or pass's snapshot: may lag behind */
} daap__observed;

void daap__observed_dispose(daap__observed *o);

/* Write `db` with a new status and reason as a compare-and-set on its
 * revision; on success `db` carries the new revision. */
int daap__transition(daap_ctx *ctx, daap_db *db, int status, const char *reason);

/* Change only the status_reason (CAS), when it differs. */
int daap__set_reason(daap_ctx *ctx, daap_db *db, const char *reason);

/* Both write the event the change implies (lifecycle/events.h) in the same
 * transaction; these name its reason and type instead (DeadlinePassed,
 * KubernetesError, ...). */
int daap__transition_because(daap_ctx *ctx, daap_db *db, int status, const char *reason,
                             const char *event_reason, int event_type);
int daap__set_reason_because(daap_ctx *ctx, daap_db *db, const char *reason,
                             const char *event_reason, int event_type);

/* Write `db` as it is (CAS) with one event of its own message: a change
 * whose record fields the caller has set (a password rotation). */
int daap__write_with_event(daap_ctx *ctx, daap_db *db, const char *event_reason, int event_type,
                           const char *message);

/* Create the Cluster (kind DAAP_KUBE_CLUSTER) or Pooler for a record:
 * 0 when created, 1 when an object with this record's id label was
 * already there (adopted), or a negative code. */
int daap__create_object(daap_ctx *ctx, const daap_db *db, int kind);

/* Patch the record's Cluster to its instances and storage_size (a resize,
 * docs/day2.md), with the merge patch of daap__cluster_resize_patch(). */
int daap__patch_cluster(daap_ctx *ctx, const daap_db *db);

/* Remove the Pooler, then (once it is gone) the Cluster.
 * @return 1 when both are gone, 0 when deletion is under way, or an error. */
int daap__remove_objects(daap_ctx *ctx, const daap_db *db, uint32_t *deleted);

/* Read the -app Secret and the pooler Service, seal the password into db. */
int daap__read_credentials(daap_ctx *ctx, daap_db *db);

/* Decrypt the password of a ready record into db->password. */
int daap__unseal_password(daap_ctx *ctx, daap_db *db);

/* The record id on a daap-labelled object, or NULL. */
const char *daap__object_db_id(const daap_kube_object *obj);

/* Render a Cluster or Pooler for a record. */
int daap__render(daap_kube_object **out, daap_ctx *ctx, const daap_db *db, int kind);

/* Whether a create's failure refuses the spec itself (a 4xx from
 * Kubernetes: invalid, or a namespace that does not exist), so that the
 * record goes to error instead of being tried again. */
static inline bool daap__is_rejection(int rc)
{
    return rc == DAAP_EINVALID || rc == DAAP_ENOTFOUND;
}

#endif
