/**
 * @file daap/sys/db.h
 * @brief Building records and the field table, for storage backend authors.
 *
 * Backends build daap_db values only through these constructors, so the core
 * and the backends share one allocator. The field table lets SQL backends
 * bind every column in one loop.
 */
#ifndef DAAP_SYS_DB_H
#define DAAP_SYS_DB_H

#include "../common.h"
#include "../types.h"
#include "../db.h"

DAAP_BEGIN_DECL

/** Every stored field of a record, in column order. Values are frozen. */
typedef enum {
    DAAP_DB_F_ID = 0,
    DAAP_DB_F_NAME,
    DAAP_DB_F_OWNER_TEAM,
    DAAP_DB_F_PURPOSE,
    DAAP_DB_F_NAMESPACE,
    DAAP_DB_F_CLUSTER_NAME,
    DAAP_DB_F_POOLER_NAME,
    DAAP_DB_F_INSTANCES,
    DAAP_DB_F_STORAGE_SIZE,
    DAAP_DB_F_PG_VERSION,
    DAAP_DB_F_STATUS,
    DAAP_DB_F_STATUS_REASON,
    DAAP_DB_F_HOST,
    DAAP_DB_F_PORT,
    DAAP_DB_F_DBNAME,
    DAAP_DB_F_USERNAME,
    DAAP_DB_F_PASSWORD,       /**< ciphertext (AES-256-GCM), a blob */
    DAAP_DB_F_DIRECT_HOST,
    DAAP_DB_F_DIRECT_PORT,
    DAAP_DB_F_CREATED_AT,
    DAAP_DB_F_UPDATED_AT,
    DAAP_DB_F_READY_AT,
    DAAP_DB_F_DELETED_AT,
    DAAP_DB_F_REVISION,
    DAAP_DB_F_DELETION_PROTECTION, /**< 0 or 1: DELETE is refused while 1 (migration 0004) */
    DAAP_DB_F_CHANGE_STARTED_AT,   /**< a resize or a rotation is under way since then; 0: none (migration 0004) */
    DAAP_DB_F_PENDING_PASSWORD,    /**< ciphertext of a rotation's new password, a blob; unset: none (migration 0006) */
    DAAP_DB_F__COUNT
} daap_db_field;

/** How a field is stored. */
typedef enum {
    DAAP_DB_T_TEXT = 1,   /**< NUL-terminated string, NULL allowed unless required */
    DAAP_DB_T_INT,        /**< 64-bit integer */
    DAAP_DB_T_TIME,       /**< ms since the epoch; 0 means NULL */
    DAAP_DB_T_STATUS,     /**< daap_db_status, stored as its name */
    DAAP_DB_T_BLOB        /**< bytes (the sealed password and pending password) */
} daap_db_field_type;

/** Description of one field. */
typedef struct {
    const char        *column;   /**< SQL column name */
    daap_db_field_type type;
    int                required; /**< NOT NULL */
} daap_db_field_info;

/**
 * The description of field `f`, or NULL when out of range.
 * @since 0.1
 */
DAAP_EXTERN(const daap_db_field_info *) daap_db_field_describe(int f);

/**
 * A new empty record.
 * @param[out] out  receives it; release with daap_db_free()
 * @return 0 or DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_new(daap_db **out);

/**
 * A deep copy.
 * @param[out] out  receives it; release with daap_db_free()
 * @return 0 or DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_dup(daap_db **out, const daap_db *db);

/**
 * Set a TEXT field (copied; NULL clears it).
 * @return 0, DAAP_EINVALID (not a TEXT field), DAAP_ERROR (out of memory)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_set_text(daap_db *db, int field, const char *value);

/**
 * Set a TEXT field from `len` bytes (not NUL-terminated).
 * @return as daap_db_set_text()
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_set_textn(daap_db *db, int field, const char *value, size_t len);

/**
 * Set an INT, TIME or STATUS field.
 * @return 0 or DAAP_EINVALID
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_set_int(daap_db *db, int field, int64_t value);

/**
 * Set a BLOB field (copied; NULL or len 0 clears it).
 * @return 0, DAAP_EINVALID, DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_set_blob(daap_db *db, int field, const unsigned char *value, size_t len);

/** A TEXT field, borrowed; NULL when unset or not TEXT. @since 0.1 */
DAAP_EXTERN(const char *) daap_db_get_text(const daap_db *db, int field);
/** An INT, TIME or STATUS field; 0 when unset. @since 0.1 */
DAAP_EXTERN(int64_t) daap_db_get_int(const daap_db *db, int field);
/** A BLOB field, borrowed; NULL when unset or not a BLOB. @since 0.1 */
DAAP_EXTERN(const unsigned char *) daap_db_get_blob(const daap_db *db, int field, size_t *len);

/** A growable array of records, for backends' list results. */
typedef struct {
    daap_db **items;
    size_t    count;
    size_t    alloc;
} daap_db_array;

/**
 * Append a record; the array takes ownership (also on failure, when the
 * record is freed).
 * @return 0 or DAAP_ERROR
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_array_push(daap_db_array *arr, daap_db *db);

/** Free every record and the array's storage. Accepts NULL. @since 0.1 */
DAAP_EXTERN(void) daap_db_array_dispose(daap_db_array *arr);

/* version 3 of the storage vtable: event history */

/**
 * Append a copy of `ev` (its strings too) to a page: how a storage
 * backend's events() hands back rows.
 * @return 0 or DAAP_ERROR (out of memory; the page is unchanged)
 * @since 0.1
 */
DAAP_EXTERN(int) daap_db_event_page_push(daap_db_event_page *page, const daap_db_event *ev);

DAAP_END_DECL

#endif
