/* manifest/: a record's CNPG Cluster and Pooler, rendered from the YAML
 * templates beside this file (templates/, compiled in). It may include kube/
 * (for the object it builds) and the root's utility headers.
 *
 * This header: cNPG object templates: YAML with {{MARKER}} values, rendered structurally
 * (DESIGN.md section 2). A template is parsed once at load; rendering puts
 * values into scalar nodes of that tree, so a value is always plain data and
 * can never add keys, items or documents. */
#ifndef DAAP_INTERNAL_TEMPLATE_H
#define DAAP_INTERNAL_TEMPLATE_H

#include "common.h"
#include <daap/sys/kube.h>

typedef struct daap__templates daap__templates;

typedef enum {
    DAAP__TEMPLATE_CLUSTER = 0,   /* cluster.yaml: a postgresql.cnpg.io/v1 Cluster */
    DAAP__TEMPLATE_POOLER,        /* pooler.yaml: a postgresql.cnpg.io/v1 Pooler */
    DAAP__TEMPLATE__COUNT
} daap__template_kind;

/* THE marker table: every {{NAME}} a template may use, with what the
 * lifecycle's renderer (lifecycle/steps.c daap__render) puts there. Adding
 * a marker is one line here; daap__render then refuses to render until it
 * gives it a value, and a template that uses a marker not listed here fails
 * to load ("unknown marker"). */
#define DAAP__TEMPLATE_MARKERS(X) \
    X(CLUSTER_NAME,  "daap-<name>") \
    X(POOLER_NAME,   "daap-<name>-pooler") \
    X(NAMESPACE,     "the record's namespace") \
    X(NAME,          "the database name as the user gave it") \
    X(DATABASE_ID,   "the record's UUID") \
    X(OWNER_TEAM,    "the owning team, a DNS label") \
    X(INSTANCES,     "integer") \
    X(IMAGE,         "the PostgreSQL image for the record's major version") \
    X(PG_VERSION,    "integer major version, e.g. for an imageCatalogRef") \
    X(STORAGE_SIZE,  "a Kubernetes quantity") \
    X(DATABASE,      "the database inside PostgreSQL ('-' becomes '_')") \
    X(OWNER,         "its owner role")

typedef enum {
#define DAAP__MARKER_ENUM(name, what) DAAP__MARKER_##name,
    DAAP__TEMPLATE_MARKERS(DAAP__MARKER_ENUM)
#undef DAAP__MARKER_ENUM
    DAAP__MARKER__COUNT
} daap__marker;

/* "CLUSTER_NAME" for DAAP__MARKER_CLUSTER_NAME; NULL out of range. */
const char *daap__template_marker_name(daap__marker m);

/* One marker value. name is the marker without braces ("INSTANCES").
 * is_int: a scalar that is exactly the marker becomes a JSON integer (the
 * value must then be a decimal integer); otherwise values are strings. */
typedef struct {
    const char *name;
    const char *value;
    int         is_int;
} daap__template_value;

/* Load the templates. dir NULL or "": the built-ins. Otherwise
 * dir/cluster.yaml and dir/pooler.yaml replace the built-in of the same
 * name; a missing file keeps the built-in, a missing dir is an error.
 * @return 0 or DAAP_EINVALID ("file:line:col: reason" for a bad template) */
int daap__templates_load(daap__templates **out, const char *dir);

/* Render one template into a new object owned by the caller.
 * @return 0, DAAP_EINVALID (a used marker without value, an unknown or
 *         repeated value name, a bad integer, invalid UTF-8), DAAP_ERROR (OOM) */
int daap__template_render(daap_kube_object **out, const daap__templates *t,
                          daap__template_kind kind,
                          const daap__template_value *values, size_t n);

/* The JSON merge patch that resizes a live Cluster to what `cluster` (a
 * rendered Cluster) asks for: its apiVersion, kind, metadata.name and
 * namespace, spec.instances and spec.storage.size, nothing else, so every
 * other field CNPG or an operator set stays as it is (docs/day2.md).
 * @return 0, DAAP_EINVALID (the Cluster lacks one of them), DAAP_ERROR (OOM) */
int daap__cluster_resize_patch(daap_buf *out, const daap_kube_object *cluster);

/* Accepts NULL. */
void daap__templates_free(daap__templates *t);

/* Where template `kind` came from: a file path or "<built-in>/templates/...". */
const char *daap__template_origin(const daap__templates *t, daap__template_kind kind);

/* The known marker names (without braces), in a fixed order. */
const char *const *daap__template_markers(size_t *n);

#endif
