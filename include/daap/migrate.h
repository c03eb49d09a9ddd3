/**
 * @file daap/migrate.h
 * @brief Versioned schema migrations of the metadata store.
 */
#ifndef DAAP_MIGRATE_H
#define DAAP_MIGRATE_H

#include "common.h"
#include "types.h"
#include "buffer.h"

DAAP_BEGIN_DECL

/** One known migration and whether the store has it. */
typedef struct {
    int32_t     version;     /**< 1, 2, ... */
    const char *name;        /**< e.g. "create_databases" */
    int32_t     applied;     /**< 1 when recorded in schema_migrations */
    int64_t     applied_at;  /**< ms since the epoch, 0 when not applied */
    int32_t     checksum_ok; /**< 0 when the recorded checksum differs */
} daap_migration_info;

/** Migration state, owned by the caller. */
typedef struct {
    daap_migration_info *items;
    size_t               count;
    int32_t              current; /**< highest applied version, 0 for none */
    int32_t              latest;  /**< highest version this library knows */
} daap_migration_status;

/**
 * Apply migrations up to `target` (or all with target < 0), or revert down to
 * `target` when it is below the current version. Each step runs in a
 * transaction and is recorded with its checksum; on PostgreSQL an advisory
 * lock serialises concurrent migrators.
 *
 * @param target  the version to end at; -1 for the latest
 * @return 0, DAAP_ECONFLICT (an applied migration's checksum differs),
 *         DAAP_EINVALID (unknown target), DAAP_EUNAVAILABLE
 * @since 0.1
 */
DAAP_EXTERN(int) daap_migrate(daap_ctx *ctx, int32_t target);

/**
 * Report which migrations are applied.
 *
 * @param[out] out  receives the status; release with daap_migration_status_dispose()
 * @return 0 or DAAP_EUNAVAILABLE
 * @since 0.1
 */
DAAP_EXTERN(int) daap_migration_status_get(daap_migration_status *out, daap_ctx *ctx);

/** Free a status. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_migration_status_dispose(daap_migration_status *st);

DAAP_END_DECL

#endif
