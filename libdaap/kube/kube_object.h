/* Kubernetes objects (kube_object.c): a json-c document behind an opaque
 * handle, shared by the backends, the templates and the reconciler; plus
 * the base64 that Secrets and kubeconfigs need. */
#ifndef DAAP_INTERNAL_KUBE_OBJECT_H
#define DAAP_INTERNAL_KUBE_OBJECT_H

#include "common.h"
#include <daap/sys/kube.h>

struct json_object;

/* Take ownership of a json-c object (also on failure). */
int daap__kube_object_wrap(daap_kube_object **out, struct json_object *json);
struct json_object *daap__kube_object_json(const daap_kube_object *obj);
/* The daap_kube_kind of an object from its apiVersion and kind, or DAAP_EINVALID. */
int daap__kube_kind_of(const daap_kube_object *obj);
/* Set apiVersion/kind when absent (items of core lists carry neither). */
int daap__kube_object_set_kind(daap_kube_object *obj, int kind);

/* A small copy of a Cluster, Pooler or Deployment with only what the
 * reconciler reads (identity, daap's labels, phase, conditions, ready
 * counts), packed (summary.c): what caches and snapshots keep instead of
 * whole objects. The readers work on it as on any object; a write turns it
 * into a json-c document first. */
int daap__kube_object_summary(daap_kube_object **out, const daap_kube_object *obj);
/* The bytes of a summary's packed form; 0 for a whole (json-c) object. */
size_t daap__kube_object_packed_size(const daap_kube_object *obj);

/* Apply a JSON merge patch (RFC 7386) to obj in place: what the fake does
 * with a backend's patch, as the API server would. */
int daap__kube_object_merge_patch(daap_kube_object *obj, const char *patch, size_t len);

/* Standard base64 (RFC 4648 with padding), appended to out. */
int daap__base64_encode(daap_buf *out, const void *data, size_t len);
/* DAAP_EINVALID for anything that is not canonical padded base64. */
int daap__base64_decode(daap_buf *out, const char *text, size_t len);

#endif
