/* Storage registry and dispatch wrappers: the single seam to every backend. */
#include "storage/storage.h"
#include "db/event.h"

#include <pthread.h>
#include <stdlib.h>

#define MAX_SCHEMES 16

typedef struct {
    char                 scheme[32];
    daap_storage_factory factory;
    void                *payload;
} registry_entry;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static registry_entry registry[MAX_SCHEMES];
static size_t registry_count;

int daap_storage_register(const char *scheme, daap_storage_factory factory, void *payload)
{
    size_t i;
    int rc = 0;

    DAAP_ASSERT_ARG(scheme && *scheme && factory);
    if (strlen(scheme) >= sizeof(registry[0].scheme))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "scheme too long: %s", scheme);
    pthread_mutex_lock(&registry_lock);
    for (i = 0; i < registry_count; i++)
        if (strcmp(registry[i].scheme, scheme) == 0)
            break;
    if (i == registry_count) {
        if (registry_count == MAX_SCHEMES)
            rc = daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "storage registry full");
        else
            registry_count++;
    }
    if (rc == 0) {
        strcpy(registry[i].scheme, scheme);
        registry[i].factory = factory;
        registry[i].payload = payload;
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void daap__storage_registry_clear(void)
{
    pthread_mutex_lock(&registry_lock);
    registry_count = 0;
    pthread_mutex_unlock(&registry_lock);
}

static int sqlite_factory(daap_storage_backend **out, const char *uri, void *payload)
{
    (void)payload;
    if (strcmp(uri, "sqlite::memory:") == 0)
        return daap_storage_sqlite_new(out, ":memory:");
    if (strncmp(uri, "sqlite://", 9) == 0 && uri[9] != '\0')
        return daap_storage_sqlite_new(out, uri + 9);
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                          "bad SQLite store URI '%s' (use sqlite:///path/daap.db, sqlite://relative.db or sqlite::memory:)", uri);
}

static int postgres_factory(daap_storage_backend **out, const char *uri, void *payload)
{
    (void)payload;
    return daap_storage_postgres_new(out, uri);
}

void daap__storage_register_builtins(void)
{
    daap_storage_register("sqlite", sqlite_factory, NULL);
    daap_storage_register("postgres", postgres_factory, NULL);
    daap_storage_register("postgresql", postgres_factory, NULL);
}

static size_t scheme_length(const char *uri)
{
    size_t n = strcspn(uri, ":");
    return uri[n] == ':' ? n : 0;
}

int daap__storage_open(daap_storage_backend **out, const char *uri)
{
    size_t i, n = scheme_length(uri);
    daap_storage_factory factory = NULL;
    void *payload = NULL;
    int rc;

    *out = NULL;
    if (n == 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "store URI '%s' has no scheme (sqlite://, postgres://)", uri);
    pthread_mutex_lock(&registry_lock);
    for (i = 0; i < registry_count; i++) {
        if (strlen(registry[i].scheme) == n && strncmp(registry[i].scheme, uri, n) == 0) {
            factory = registry[i].factory;
            payload = registry[i].payload;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (factory == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "no storage backend for '%.*s' (is daap_init() called?)", (int)n, uri);
    rc = factory(out, uri, payload);
    if (rc == 0 && (rc = daap__storage_check(*out)) < 0) {
        daap__storage_free(*out);
        *out = NULL;
    }
    return rc;
}

int daap__storage_check(const daap_storage_backend *be)
{
    DAAP_ASSERT_ARG(be);
    if (be->version == 0 || be->version > DAAP_STORAGE_BACKEND_VERSION)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_STORAGE,
                              "storage backend version %u not supported", be->version);
    if (!be->insert || !be->get || !be->list || !be->update || !be->free)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_STORAGE,
                              "storage backend '%s' lacks a required method", be->name ? be->name : "?");
    return 0;
}

/* A backend that fails without setting an error still gets a useful class. */
static int ensure_error(int rc, const daap_storage_backend *be, const char *op)
{
    if (rc < 0 && rc != DAAP_ITEROVER && daap_error_last()->code != rc)
        daap_error_set(rc, DAAP_ERRCLASS_STORAGE, "%s: %s failed: %s",
                       be->name ? be->name : "storage", op, daap_strerror(rc));
    return rc;
}

int daap__storage_insert(daap_storage_backend *be, const daap_db *db)
{
    return ensure_error(be->insert(be, db), be, "insert");
}

int daap__storage_get(daap_db **out, daap_storage_backend *be, const char *id)
{
    int rc;
    *out = NULL;
    rc = be->get(out, be, id);
    if (rc < 0 && *out) {
        daap_db_free(*out);
        *out = NULL;
    }
    return ensure_error(rc, be, "get");
}

int daap__storage_list(daap_db_array *out, daap_storage_backend *be, const daap_storage_query *q)
{
    return ensure_error(be->list(out, be, q), be, "list");
}

static bool has_scan(const daap_storage_backend *be)
{
    return be->version >= 2 && be->scan != NULL;
}

static int push_copy(const daap_db *row, void *payload)
{
    daap_db *copy;

    DAAP_TRY(daap_db_dup(&copy, row));
    return daap_db_array_push(payload, copy);
}

int daap_storage_list_by_scan(daap_db_array *out, daap_storage_backend *be, const daap_storage_query *q)
{
    size_t before;
    int rc;

    DAAP_ASSERT_ARG(out && be && has_scan(be));
    before = out->count;
    if ((rc = be->scan(be, q, push_copy, out)) < 0)
        while (out->count > before)
            daap_db_free(out->items[--out->count]);
    return rc;
}

int daap__storage_scan(daap_storage_backend *be, const daap_storage_query *q, daap_storage_row_cb cb, void *payload)
{
    daap_db_array rows = { 0 };
    size_t i;
    int rc;

    if (has_scan(be))
        return ensure_error(be->scan(be, q, cb, payload), be, "scan");
    /* A backend without scan(): the same rows, copied once. */
    rc = daap__storage_list(&rows, be, q);
    for (i = 0; rc == 0 && i < rows.count; i++)
        rc = cb(rows.items[i], payload);
    daap_db_array_dispose(&rows);
    return rc > 0 ? 0 : rc;
}

int daap__storage_update(daap_storage_backend *be, const daap_db *db, int64_t expected_revision)
{
    return ensure_error(be->update(be, db, expected_revision), be, "update");
}

/* ---- version 3: event history */

static bool has_history(const daap_storage_backend *be)
{
    return be->version >= 3;
}

int daap__storage_insert_with_events(daap_storage_backend *be, const daap_db *db,
                                     const daap_db_event *events, size_t count)
{
    if (count == 0 || !has_history(be) || be->insert_with_events == NULL)
        return daap__storage_insert(be, db);
    return ensure_error(be->insert_with_events(be, db, events, count), be, "insert");
}

int daap__storage_update_with_events(daap_storage_backend *be, const daap_db *db, int64_t expected_revision,
                                     const daap_db_event *events, size_t count)
{
    if (count == 0 || !has_history(be) || be->update_with_events == NULL)
        return daap__storage_update(be, db, expected_revision);
    return ensure_error(be->update_with_events(be, db, expected_revision, events, count), be, "update");
}

int daap__storage_events(daap_db_event_page *out, daap_storage_backend *be, const daap_storage_event_query *q)
{
    size_t before = out->count;
    int rc;

    if (!has_history(be) || be->events == NULL)
        return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_STORAGE,
                              "storage backend '%s' keeps no event history", be->name ? be->name : "?");
    if ((rc = be->events(out, be, q)) < 0)
        daap__event_page_truncate(out, before);
    return ensure_error(rc, be, "events");
}

int daap__storage_purge_events(uint32_t *purged, daap_storage_backend *be, int64_t before_ms, uint32_t max_rows)
{
    *purged = 0;
    if (!has_history(be) || be->purge_events == NULL)
        return 0;
    return ensure_error(be->purge_events(purged, be, before_ms, max_rows), be, "purge events");
}

int daap__storage_ping(daap_storage_backend *be)
{
    return be->ping ? ensure_error(be->ping(be), be, "ping") : 0;
}

int daap__storage_migrate(daap_storage_backend *be, int32_t target)
{
    return be->migrate ? ensure_error(be->migrate(be, target), be, "migrate") : 0;
}

int daap__storage_migration_status(daap_migration_status *out, daap_storage_backend *be)
{
    memset(out, 0, sizeof(*out));
    if (!be->migration_status)
        return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_STORAGE,
                              "storage backend '%s' has no migrations", be->name);
    return ensure_error(be->migration_status(out, be), be, "migration status");
}

/* ---- version 3: idempotency keys */

bool daap__storage_has_idem(const daap_storage_backend *be)
{
    return be->version >= 3 && be->idem_begin && be->idem_finish && be->idem_abandon && be->idem_purge;
}

static int no_idem(const daap_storage_backend *be)
{
    return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_STORAGE,
                          "storage backend '%s' keeps no idempotency keys", be->name ? be->name : "?");
}

int daap__storage_idem_begin(daap_idempotency_record *out, daap_storage_backend *be, const daap_storage_idem *k)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (!daap__storage_has_idem(be))
        return no_idem(be);
    if ((rc = be->idem_begin(out, be, k)) < 0)
        daap_idempotency_record_dispose(out);
    return ensure_error(rc, be, "idempotency key claim");
}

int daap__storage_idem_finish(daap_storage_backend *be, const daap_storage_idem *k, int32_t status,
                              const char *location, const char *body, size_t len)
{
    if (!daap__storage_has_idem(be))
        return no_idem(be);
    return ensure_error(be->idem_finish(be, k, status, location, body, len), be, "idempotency key finish");
}

int daap__storage_idem_abandon(daap_storage_backend *be, const daap_storage_idem *k)
{
    if (!daap__storage_has_idem(be))
        return no_idem(be);
    return ensure_error(be->idem_abandon(be, k), be, "idempotency key abandon");
}

int daap__storage_idem_purge(uint32_t *purged, daap_storage_backend *be, int64_t now, uint32_t limit)
{
    *purged = 0;
    if (!daap__storage_has_idem(be))
        return no_idem(be);
    return ensure_error(be->idem_purge(purged, be, now, limit), be, "idempotency key purge");
}

void daap_idempotency_record_dispose(daap_idempotency_record *rec)
{
    if (rec == NULL)
        return;
    daap_buf_dispose(&rec->location);
    daap_buf_dispose(&rec->body);
    memset(rec, 0, sizeof(*rec));
}

void daap__storage_free(daap_storage_backend *be)
{
    if (be)
        be->free(be);
}

void daap_migration_status_dispose(daap_migration_status *st)
{
    if (st == NULL)
        return;
    daap__free(st->items);
    memset(st, 0, sizeof(*st));
}
