/**
 * @file daap/config.h
 * @brief The optional YAML configuration file shared by daap's front-ends.
 *
 * The file is one flat mapping of known keys to scalar values, e.g.
 *
 *     listen: 127.0.0.1:8080
 *     store: sqlite://var/daap.db
 *     namespace: daap
 *     provisioning_deadline: 15m
 *
 * Front-ends decide precedence (daap-server: flags, then DAAP_* environment
 * variables, then this file, then defaults); the library only reads and
 * checks the file.
 */
#ifndef DAAP_CONFIG_H
#define DAAP_CONFIG_H

#include "common.h"

DAAP_BEGIN_DECL

/** A loaded configuration file (opaque, read-only once loaded). */
typedef struct daap_config daap_config;

/**
 * Read and check a configuration file.
 *
 * The top level must be a mapping (an empty file is an empty configuration).
 * Unknown keys, duplicate keys, non-scalar values (sequences, mappings),
 * aliases, several documents and YAML syntax errors are DAAP_EINVALID with a
 * message naming the file and line, and a field error naming the key.
 * `~`, `null` and an empty plain value leave the key unset.
 *
 * @param[out] out  receives the configuration; release with daap_config_free()
 * @param path      the file to read
 * @return 0, DAAP_EINVALID (bad content), DAAP_ENOTFOUND (no such file) or
 *         DAAP_ERROR (class OS: unreadable)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_config_load(daap_config **out, const char *path);

/**
 * The value of a key, borrowed from the configuration.
 *
 * @param cfg  a loaded configuration, or NULL
 * @param key  a key such as "listen"
 * @return the value, or NULL when cfg is NULL or the key is unset
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_config_get(const daap_config *cfg, const char *key);

/**
 * The line (1-based) where a key was set, for error messages about its value.
 *
 * @return the line, or 0 when the key is unset
 * @since 0.1
 */
DAAP_EXTERN(int) daap_config_line(const daap_config *cfg, const char *key);

/**
 * The path the configuration was loaded from (borrowed), or NULL.
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_config_path(const daap_config *cfg);

/**
 * The i-th key the file format knows, in documentation order, so front-ends
 * can check that each one is wired to an option.
 *
 * @return a static string, or NULL when i is past the last key
 * @since 0.1
 */
DAAP_EXTERN(const char *) daap_config_known_key(size_t i);

/**
 * Free a configuration. Accepts NULL.
 * @since 0.1
 */
DAAP_EXTERN(void) daap_config_free(daap_config *cfg);

DAAP_END_DECL

#endif
