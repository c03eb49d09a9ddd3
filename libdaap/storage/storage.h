/* storage/: the metadata store: the backend registry and checked dispatch
 * (storage.c), the SQLite and PostgreSQL backends, their shared SQL and the
 * migrations (sql/, compiled in). It may include db/ and the root's utility
 * headers.
 *
 * This header: the core's only way to call a storage backend: checked wrappers + registry. */
#ifndef DAAP_INTERNAL_STORAGE_H
#define DAAP_INTERNAL_STORAGE_H

#include "common.h"
#include <daap/sys/storage.h>

/* Check version and required methods before a backend is installed. */
int daap__storage_check(const daap_storage_backend *be);

/* Build a backend for a store URI through the registry. */
int daap__storage_open(daap_storage_backend **out, const char *uri);

void daap__storage_register_builtins(void);
void daap__storage_registry_clear(void);

int  daap__storage_insert(daap_storage_backend *be, const daap_db *db);
int  daap__storage_get(daap_db **out, daap_storage_backend *be, const char *id);
int  daap__storage_list(daap_db_array *out, daap_storage_backend *be, const daap_storage_query *q);
/* Rows one at a time, borrowed (see daap_storage_backend.scan); through
 * list() for backends without scan(). */
int  daap__storage_scan(daap_storage_backend *be, const daap_storage_query *q, daap_storage_row_cb cb, void *payload);
int  daap__storage_update(daap_storage_backend *be, const daap_db *db, int64_t expected_revision);
/* version 3: event history. Without the backend's methods, the writes
 * fall back to insert()/update() alone, events() answers
 * DAAP_ENOTSUPPORTED and purging does nothing. */
int  daap__storage_insert_with_events(daap_storage_backend *be, const daap_db *db,
                                      const daap_db_event *events, size_t count);
int  daap__storage_update_with_events(daap_storage_backend *be, const daap_db *db, int64_t expected_revision,
                                      const daap_db_event *events, size_t count);
int  daap__storage_events(daap_db_event_page *out, daap_storage_backend *be, const daap_storage_event_query *q);
int  daap__storage_purge_events(uint32_t *purged, daap_storage_backend *be, int64_t before_ms, uint32_t max_rows);
int  daap__storage_ping(daap_storage_backend *be);
int  daap__storage_migrate(daap_storage_backend *be, int32_t target);
int  daap__storage_migration_status(daap_migration_status *out, daap_storage_backend *be);
void daap__storage_free(daap_storage_backend *be);

/* Version 3: idempotency keys; DAAP_ENOTSUPPORTED for a backend without them. */
bool daap__storage_has_idem(const daap_storage_backend *be);
int  daap__storage_idem_begin(daap_idempotency_record *out, daap_storage_backend *be, const daap_storage_idem *k);
int  daap__storage_idem_finish(daap_storage_backend *be, const daap_storage_idem *k, int32_t status,
                               const char *location, const char *body, size_t len);
int  daap__storage_idem_abandon(daap_storage_backend *be, const daap_storage_idem *k);
int  daap__storage_idem_purge(uint32_t *purged, daap_storage_backend *be, int64_t now, uint32_t limit);

#endif
