/**
 * @file daap/types.h
 * @brief Opaque handles and the small enums the whole API shares.
 */
#ifndef DAAP_TYPES_H
#define DAAP_TYPES_H

#include "common.h"

DAAP_BEGIN_DECL

/** A library context: one storage backend plus one Kubernetes backend. */
typedef struct daap_ctx daap_ctx;
/** One database record (read-only once returned). */
typedef struct daap_db daap_db;
/** A storage backend (see daap/sys/storage.h). */
typedef struct daap_storage_backend daap_storage_backend;
/** A Kubernetes backend (see daap/sys/kube.h). */
typedef struct daap_kube_backend daap_kube_backend;
/** A Kubernetes object (see daap/sys/kube.h). */
typedef struct daap_kube_object daap_kube_object;
/** An event-driven reconciler fed by Kubernetes watches. */
typedef struct daap_watch daap_watch;

/** Lifecycle states of a database. Values are frozen. */
typedef enum {
    DAAP_DB_PROVISIONING = 0, /**< objects created, waiting for CNPG */
    DAAP_DB_READY        = 1, /**< Cluster Ready, pooler serving, credentials read */
    DAAP_DB_ERROR        = 2, /**< CNPG failure phase, rejection or deadline */
    DAAP_DB_DELETING     = 3, /**< soft-deleted; objects being removed */
    DAAP_DB_DELETED      = 4  /**< objects gone; final */
} daap_db_state;

/** Bit for a status in a status mask: DAAP_DB_STATUS_BIT(DAAP_DB_READY). */
#define DAAP_DB_STATUS_BIT(s) (1u << (unsigned)(s))

/**
 * The lower-case name of a status ("provisioning", ...), or NULL for an
 * unknown value.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_db_status_name(int status);

/**
 * Parse a status name.
 *
 * @param[out] out  receives the daap_db_state
 * @param name      "provisioning", "ready", "error", "deleting" or "deleted"
 * @return 0 or DAAP_EINVALID
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_status_parse(int *out, const char *name);

DAAP_END_DECL

#endif
