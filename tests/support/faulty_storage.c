#include "faulty_storage.h"

#include <stdlib.h>
#include <string.h>
#include <daap/sys/errors.h>
#include <daap/sys/kube.h>

typedef struct {
    daap_storage_backend  parent;
    daap_storage_backend *inner;
    unsigned long         calls[FAULTY__METHODS];
    unsigned long         fail_at[FAULTY__METHODS]; /* absolute call number; 0: none */
    int                   always[FAULTY__METHODS];
    int                   code[FAULTY__METHODS];
} faulty;

static int injected(faulty *f, faulty_method m)
{
    f->calls[m]++;
    if (f->code[m] && (f->always[m] || f->calls[m] == f->fail_at[m])) {
        int code = f->code[m];
        if (!f->always[m])
            f->code[m] = 0;
        return daap_error_set(code, DAAP_ERRCLASS_STORAGE, "injected storage fault (call %lu)", f->calls[m]);
    }
    return 0;
}

static int f_insert(daap_storage_backend *be, const daap_db *db)
{
    faulty *f = (faulty *)be;
    int rc = injected(f, FAULTY_INSERT);
    return rc ? rc : f->inner->insert(f->inner, db);
}

static int f_get(daap_db **out, daap_storage_backend *be, const char *id)
{
    faulty *f = (faulty *)be;
    int rc = injected(f, FAULTY_GET);
    return rc ? rc : f->inner->get(out, f->inner, id);
}

static int f_list(daap_db_array *out, daap_storage_backend *be, const daap_storage_query *q)
{
    faulty *f = (faulty *)be;
    int rc = injected(f, FAULTY_LIST);
    return rc ? rc : f->inner->list(out, f->inner, q);
}

static int f_update(daap_storage_backend *be, const daap_db *db, int64_t rev)
{
    faulty *f = (faulty *)be;
    int rc = injected(f, FAULTY_UPDATE);
    return rc ? rc : f->inner->update(f->inner, db, rev);
}

/* version 3: the record writes with their events count (and fail) as
 * insert and update, so a fault there leaves neither record nor event. */
static int f_insert_with_events(daap_storage_backend *be, const daap_db *db, const daap_db_event *ev, size_t n)
{
    faulty *f = (faulty *)be;
    int rc = injected(f, FAULTY_INSERT);
    return rc ? rc : f->inner->insert_with_events(f->inner, db, ev, n);
}

static int f_update_with_events(daap_storage_backend *be, const daap_db *db, int64_t rev,
                                const daap_db_event *ev, size_t n)
{
    faulty *f = (faulty *)be;
    int rc = injected(f, FAULTY_UPDATE);
    return rc ? rc : f->inner->update_with_events(f->inner, db, rev, ev, n);
}

static int f_events(daap_db_event_page *out, daap_storage_backend *be, const daap_storage_event_query *q)
{
    faulty *f = (faulty *)be;
    return f->inner->events(out, f->inner, q);
}

static int f_purge_events(uint32_t *purged, daap_storage_backend *be, int64_t before_ms, uint32_t max_rows)
{
    faulty *f = (faulty *)be;
    return f->inner->purge_events(purged, f->inner, before_ms, max_rows);
}

/* Idempotency keys (version 3) pass straight through. */
static int f_idem_begin(daap_idempotency_record *out, daap_storage_backend *be, const daap_storage_idem *k)
{
    faulty *f = (faulty *)be;
    return f->inner->idem_begin(out, f->inner, k);
}

static int f_idem_finish(daap_storage_backend *be, const daap_storage_idem *k, int32_t status,
                         const char *location, const char *body, size_t len)
{
    faulty *f = (faulty *)be;
    return f->inner->idem_finish(f->inner, k, status, location, body, len);
}

static int f_idem_abandon(daap_storage_backend *be, const daap_storage_idem *k)
{
    faulty *f = (faulty *)be;
    return f->inner->idem_abandon(f->inner, k);
}

static int f_idem_purge(uint32_t *purged, daap_storage_backend *be, int64_t now, uint32_t limit)
{
    faulty *f = (faulty *)be;
    return f->inner->idem_purge(purged, f->inner, now, limit);
}

static int f_migrate(daap_storage_backend *be, int32_t target)
{
    faulty *f = (faulty *)be;
    return f->inner->migrate ? f->inner->migrate(f->inner, target) : 0;
}

static int f_status(daap_migration_status *out, daap_storage_backend *be)
{
    faulty *f = (faulty *)be;
    return f->inner->migration_status(out, f->inner);
}

static void f_free(daap_storage_backend *be)
{
    faulty *f = (faulty *)be;
    f->inner->free(f->inner);
    free(f);
}

int faulty_storage_new(daap_storage_backend **out, daap_storage_backend *inner)
{
    faulty *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return daap_error_set_oom();
    f->parent.version = DAAP_STORAGE_BACKEND_VERSION;
    f->parent.name = "faulty";
    f->parent.insert = f_insert;
    f->parent.get = f_get;
    f->parent.list = f_list;
    f->parent.update = f_update;
    f->parent.free = f_free;
    f->parent.migrate = f_migrate;
    f->parent.migration_status = inner->migration_status ? f_status : NULL;
    if (inner->version >= 3) {
        f->parent.insert_with_events = inner->insert_with_events ? f_insert_with_events : NULL;
        f->parent.update_with_events = inner->update_with_events ? f_update_with_events : NULL;
        f->parent.events = inner->events ? f_events : NULL;
        f->parent.purge_events = inner->purge_events ? f_purge_events : NULL;
    }
    if (inner->version >= 3 && inner->idem_begin) {
        f->parent.idem_begin = f_idem_begin;
        f->parent.idem_finish = f_idem_finish;
        f->parent.idem_abandon = f_idem_abandon;
        f->parent.idem_purge = f_idem_purge;
    }
    f->inner = inner;
    *out = &f->parent;
    return 0;
}

void faulty_storage_fail(daap_storage_backend *be, faulty_method m, unsigned nth, int code)
{
    faulty *f = (faulty *)be;
    f->always[m] = nth == 0 && code != 0;
    f->fail_at[m] = nth ? f->calls[m] + nth : 0;
    f->code[m] = code;
}

unsigned long faulty_storage_calls(const daap_storage_backend *be, faulty_method m)
{
    return ((const faulty *)be)->calls[m];
}

int faulty_ctx_open(daap_ctx **ctx, daap_storage_backend **faulty, daap_kube_backend **kube,
                    const char *store_path, daap_ctx_options o)
{
    daap_storage_backend *inner;
    int rc;

    o.flags |= DAAP_CTX_CREATE_KEY | DAAP_CTX_NO_SCHEMA_CHECK;
    if ((rc = daap_storage_sqlite_new(&inner, store_path)) < 0) return rc;
    if ((rc = faulty_storage_new(faulty, inner)) < 0) return rc;
    if ((rc = daap_kube_fake_new(kube)) < 0) return rc;
    if ((rc = daap_ctx_open_backends(ctx, *faulty, *kube, &o)) < 0) return rc;
    return daap_migrate(*ctx, -1);
}
