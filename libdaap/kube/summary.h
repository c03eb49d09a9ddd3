/* Packed summaries (summary.c): what the reconciler reads of a Cluster,
 * Pooler or Deployment, as one small byte string instead of a json-c tree,
 * so that a watch cache of 100,000 databases fits in a few tens of MiB
 * (bench/RESULTS.md, "100,000 databases"). kube_object.c keeps the string
 * behind the usual daap_kube_object accessors. */
#ifndef DAAP_INTERNAL_KUBE_SUMMARY_H
#define DAAP_INTERNAL_KUBE_SUMMARY_H

#include "common.h"
#include <daap/sys/kube.h>

/* Append the packed summary of a whole object to out. */
int daap__summary_pack(daap_buf *out, const daap_kube_object *whole);

/* Readers of a packed string p of n bytes; absent or unknown paths read as
 * absent: NULL, or DAAP_ENOTFOUND without setting an error. */
const char *daap__summary_str(const char *p, size_t n, const char *path);
int daap__summary_int(int64_t *out, const char *p, size_t n, const char *path);
const char *daap__summary_label(const char *p, size_t n, const char *key);
/* 1 ("True"), 0 (any other status) or DAAP_ENOTFOUND. */
int daap__summary_condition(const char *p, size_t n, const char *type);

/* The summary as a json-c object again (to print it, or to change it). */
int daap__summary_inflate(daap_kube_object **out, const char *p, size_t n);

#endif
