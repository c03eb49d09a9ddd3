/**
 * @file daap/global.h
 * @brief Library initialisation, version and runtime features.
 */
#ifndef DAAP_GLOBAL_H
#define DAAP_GLOBAL_H

#include "common.h"

DAAP_BEGIN_DECL

/** Feature bits reported by daap_features(). */
typedef enum {
    DAAP_FEATURE_SQLITE    = (1u << 0), /**< sqlite:// storage backend built in */
    DAAP_FEATURE_POSTGRES  = (1u << 1), /**< postgres:// storage backend built in */
    DAAP_FEATURE_KUBE_REST = (1u << 2), /**< Kubernetes REST backend built in */
    DAAP_FEATURE_REMOTE    = (1u << 3)  /**< http:// contexts that talk to a daap-server */
} daap_feature;

/**
 * Initialise the library's process-wide state (libcurl, SQLite, OpenSSL).
 *
 * Reference-counted: every call must be matched by daap_shutdown(). Call it
 * before any other function, from one thread, before other threads use the
 * library.
 *
 * @return the number of initialisations now in force (>= 1), or a negative
 *         daap_error_code when a dependency fails to initialise
 * @since 0.1
 */
DAAP_EXTERN(int) daap_init(void);

/**
 * Release what daap_init() set up, once the count drops to zero.
 *
 * @return the number of initialisations still in force (0 when fully shut
 *         down), or DAAP_ERROR when called without a matching daap_init()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_shutdown(void);

/**
 * Report the version of the library that is actually loaded.
 *
 * @param[out] major  receives the major version (may be NULL)
 * @param[out] minor  receives the minor version (may be NULL)
 * @param[out] patch  receives the patch version (may be NULL)
 * @return 0
 * @since 0.1
 */
DAAP_EXTERN(int) daap_version(int *major, int *minor, int *patch);

/**
 * The loaded library's version as a static string, e.g. "0.1.0".
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_version_string(void);

/**
 * Which optional parts this build of the library has.
 *
 * @return a bitmask of daap_feature values
 * @since 0.1
 */
DAAP_EXTERN(unsigned int) daap_features(void);

DAAP_END_DECL

#endif
