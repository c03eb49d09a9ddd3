/* The core's only way to call a Kubernetes backend (checked wrappers), plus
 * the object internals that the backends share. */
#ifndef DAAP_INTERNAL_KUBE_H
#define DAAP_INTERNAL_KUBE_H

#include "common.h"
#include <daap/sys/kube.h>

struct json_object;

/* Check version and required methods before a backend is installed. */
int daap__kube_check(const daap_kube_backend *be);

/* Dispatch wrappers: they set *out to NULL on failure, free whatever a
 * failing backend left behind and make sure an error message is set. */
int  daap__kube_create(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj);
int  daap__kube_get(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref);
int  daap__kube_remove(daap_kube_backend *be, const daap_kube_ref *ref);
/* On failure `out` holds exactly what it held before the call. */
int  daap__kube_list(daap_kube_list *out, daap_kube_backend *be, int kind,
                     const char *namespace_, const char *label_selector);
/* DAAP_ENOTSUPPORTED when the backend lacks DAAP_KUBE_CAP_WATCH. */
int  daap__kube_watch(daap_kube_watch **out, daap_kube_backend *be, int kind,
                      const char *namespace_, const char *label_selector,
                      const char *resource_version);
int  daap__kube_watch_next(daap_kube_event *out, daap_kube_backend *be, daap_kube_watch *w,
                           int32_t timeout_ms);
void daap__kube_watch_free(daap_kube_backend *be, daap_kube_watch *w);
/* 0 when the backend has no ping (nothing to check), like storage. */
int  daap__kube_ping(daap_kube_backend *be);
void daap__kube_free(daap_kube_backend *be);

/* "Cluster team-a/daap-foo" for messages; writes into buf and returns it. */
const char *daap__kube_ref_string(char *buf, size_t size, const daap_kube_ref *ref);
#define DAAP__KUBE_REF_STRLEN 320

/* The one table from an HTTP status (and a Kubernetes Status body, which
 * may be NULL) to a daap code. Sets the error to "<what>: <message>",
 * keeping the server's message and the causes of a 422. */
int daap__kube_status_error(long http_status, const daap_kube_object *status, const char *what);

/* Object internals (kube_object.c). */
/* Take ownership of a json-c object (also on failure). */
int daap__kube_object_wrap(daap_kube_object **out, struct json_object *json);
struct json_object *daap__kube_object_json(const daap_kube_object *obj);
/* The daap_kube_kind of an object from its apiVersion and kind, or DAAP_EINVALID. */
int daap__kube_kind_of(const daap_kube_object *obj);
/* Set apiVersion/kind when absent (items of core lists carry neither). */
int daap__kube_object_set_kind(daap_kube_object *obj, int kind);

/* A small copy of a Cluster, Pooler or Deployment with only what the
 * reconciler reads (identity, labels, phase, conditions, ready counts):
 * what caches and snapshots keep instead of whole objects. */
int daap__kube_object_summary(daap_kube_object **out, const daap_kube_object *obj);

/* Standard base64 (RFC 4648 with padding), appended to out. */
int daap__base64_encode(daap_buf *out, const void *data, size_t len);
/* DAAP_EINVALID for anything that is not canonical padded base64. */
int daap__base64_decode(daap_buf *out, const char *text, size_t len);

#endif
