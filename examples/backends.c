/* A storage backend and a Kubernetes backend of your own, in one small
 * program: docs/backends.md walks through it. The store keeps records in
 * memory; the Kubernetes backend is a cluster that is always unreachable.
 * Both start from their *_INIT initialiser and set only what they
 * implement. Built in CI so the guide never rots. */
#include <daap/daap.h>
#include <daap/sys/db.h>
#include <daap/sys/errors.h>
#include <daap/sys/kube.h>
#include <daap/sys/storage.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- storage: an array of records */

typedef struct {
    daap_storage_backend parent; /* first: the library sees only this */
    daap_db_array        rows;
} memory_store;

static int find(const memory_store *m, const char *id)
{
    size_t i;
    for (i = 0; i < m->rows.count; i++)
        if (strcmp(daap_db_id(m->rows.items[i]), id) == 0)
            return (int)i;
    return -1;
}

static int mem_insert(daap_storage_backend *be, const daap_db *db)
{
    memory_store *m = (memory_store *)be;
    daap_db *copy;
    int rc;

    if (find(m, daap_db_id(db)) >= 0)
        return daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_STORAGE, "record %s exists", daap_db_id(db));
    if ((rc = daap_db_dup(&copy, db)) < 0)
        return rc;
    return daap_db_array_push(&m->rows, copy);
}

static int mem_get(daap_db **out, daap_storage_backend *be, const char *id)
{
    memory_store *m = (memory_store *)be;
    int i = find(m, id);

    if (i < 0)
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "no record %s", id);
    return daap_db_dup(out, m->rows.items[i]);
}

/* Compare-and-set on the revision, as the contract asks. */
static int mem_update(daap_storage_backend *be, const daap_db *db, int64_t expected_revision)
{
    memory_store *m = (memory_store *)be;
    int i = find(m, daap_db_id(db));
    daap_db *copy;
    int rc;

    if (i < 0)
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "no record %s", daap_db_id(db));
    if (daap_db_revision(m->rows.items[i]) != expected_revision)
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE, "record %s changed", daap_db_id(db));
    if ((rc = daap_db_dup(&copy, db)) < 0)
        return rc;
    daap_db_free(m->rows.items[i]);
    m->rows.items[i] = copy;
    return 0;
}

/* No filtering or ordering here, to stay short; a real backend applies q. */
static int mem_scan(daap_storage_backend *be, const daap_storage_query *q, daap_storage_row_cb cb, void *payload)
{
    memory_store *m = (memory_store *)be;
    size_t i;

    (void)q;
    for (i = 0; i < m->rows.count; i++) {
        int rc = cb(m->rows.items[i], payload);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

static void mem_free(daap_storage_backend *be)
{
    memory_store *m = (memory_store *)be;
    daap_db_array_dispose(&m->rows);
    free(m);
}

static int memory_store_new(daap_storage_backend **out)
{
    static const daap_storage_backend init = DAAP_STORAGE_BACKEND_INIT;
    memory_store *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return daap_error_set_oom();
    m->parent = init;
    m->parent.name = "memory";
    m->parent.insert = mem_insert;
    m->parent.get = mem_get;
    m->parent.list = daap_storage_list_by_scan;
    m->parent.update = mem_update;
    m->parent.scan = mem_scan;
    m->parent.free = mem_free;
    *out = &m->parent;
    return 0;
}

/* ---- Kubernetes: a cluster that never answers */

static int down(void)
{
    return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_KUBE, "this example has no cluster");
}

static int off_create(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj)
{
    (void)be; (void)obj;
    if (out) *out = NULL;
    return down();
}

static int off_get(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref)
{
    (void)be; (void)ref;
    *out = NULL;
    return down();
}

static int off_remove(daap_kube_backend *be, const daap_kube_ref *ref)
{
    (void)be; (void)ref;
    return down();
}

static int off_list(daap_kube_list *out, daap_kube_backend *be, int kind, const char *namespace_,
                    const char *label_selector)
{
    (void)out; (void)be; (void)kind; (void)namespace_; (void)label_selector;
    return down();
}

static int off_ping(daap_kube_backend *be)
{
    (void)be;
    return down();
}

static void off_free(daap_kube_backend *be)
{
    free(be);
}

static int offline_kube_new(daap_kube_backend **out)
{
    static const daap_kube_backend init = DAAP_KUBE_BACKEND_INIT;
    daap_kube_backend *be = malloc(sizeof(*be));

    if (be == NULL)
        return daap_error_set_oom();
    *be = init;        /* caps 0: no watch methods */
    be->name = "offline";
    be->create = off_create;
    be->get = off_get;
    be->remove = off_remove;
    be->list = off_list;
    be->ping = off_ping;
    be->free = off_free;
    *out = be;
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "backends: %s: %s\n", what, daap_error_last()->message);
    return 1;
}

int main(void)
{
    daap_storage_backend *store = NULL;
    daap_kube_backend *kube = NULL;
    daap_ctx_options opts = DAAP_CTX_OPTIONS_INIT;
    daap_db_page page;
    daap_ctx *ctx;
    int rc;

    if (daap_init() < 0)
        return fail("init");
    if (memory_store_new(&store) < 0 || offline_kube_new(&kube) < 0)
        return fail("backends");
    /* The context takes the store; without a secret key it runs without
     * Kubernetes, so this program only checks what its backend answers. */
    opts.flags = DAAP_CTX_NO_KUBE;
    if (daap_ctx_open_backends(&ctx, store, NULL, &opts) < 0)
        return fail("open");
    if (daap_db_list(&page, ctx, NULL) < 0)
        return fail("list");
    printf("memory store: %zu databases\n", page.count);
    daap_db_page_dispose(&page);
    rc = kube->ping(kube);
    printf("offline kube: ping %s (%s)\n", daap_error_code_name(rc), daap_error_last()->message);
    kube->free(kube);
    daap_ctx_free(ctx);
    daap_shutdown();
    return 0;
}
