/* kube/: everything Kubernetes: dispatch and the Status error table (kube.c),
 * the object model (kube_object.c), the REST backend on libcurl (rest.c),
 * kubeconfig, watch-stream parsing and the in-memory fake for tests. It may
 * include db/ and the root's utility headers.
 *
 * This header: the core's only way to call a Kubernetes backend (kube.c): checked
 * wrappers and the one table from Kubernetes errors to daap codes. The
 * object internals that the backends share are in kube_object.h. */
#ifndef DAAP_INTERNAL_KUBE_H
#define DAAP_INTERNAL_KUBE_H

#include "common.h"
#include <daap/sys/kube.h>

/* Check version and required methods before a backend is installed. */
int daap__kube_check(const daap_kube_backend *be);

/* Dispatch wrappers: they set *out to NULL on failure, free whatever a
 * failing backend left behind and make sure an error message is set. */
int  daap__kube_create(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj);
int  daap__kube_get(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref);
int  daap__kube_remove(daap_kube_backend *be, const daap_kube_ref *ref);
/* A JSON merge patch; DAAP_ENOTSUPPORTED when the backend has no patch (version 1). */
int  daap__kube_patch(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref,
                      const char *patch, size_t len);
/* On failure `out` holds exactly what it held before the call. */
int  daap__kube_list(daap_kube_list *out, daap_kube_backend *be, int kind,
                     const char *namespace_, const char *label_selector);
/* As daap__kube_list, keeping what map makes of each object (NULL map:
 * the objects themselves); with a version 3 backend, page by page. */
int  daap__kube_list_map(daap_kube_list *out, daap_kube_backend *be, int kind, const char *namespace_,
                         const char *label_selector, daap_kube_map_fn map, void *arg);
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

#endif
