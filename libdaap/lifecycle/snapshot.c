/* What a full reconcile pass compares the records with: summaries of the
 * daap-labelled Clusters and Poolers of the context's namespace, each list
 * sorted by name. Taken by listing, or kept current by a watch's events, so
 * that a resync of a watched namespace costs no request at all. */
#include "lifecycle/snapshot.h"
#include "kube/kube.h"
#include "kube/kube_object.h"

#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static const char *name_of(const daap_kube_object *obj)
{
    const char *n = daap_kube_object_str(obj, "metadata.name");
    return n ? n : "";
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(name_of(*(daap_kube_object *const *)a), name_of(*(daap_kube_object *const *)b));
}

static const daap_kube_list *const_list_of(const daap__snapshot *s, int kind)
{
    switch (kind) {
    case DAAP_KUBE_CLUSTER:    return &s->clusters;
    case DAAP_KUBE_POOLER:     return &s->poolers;
    case DAAP_KUBE_DEPLOYMENT: return &s->deployments;
    default:                   return NULL;
    }
}

static daap_kube_list *list_of(daap__snapshot *s, int kind)
{
    return (daap_kube_list *)const_list_of(s, kind);
}

/* Index of `name` in a sorted list, or where it would go (*found false). */
static size_t position(const daap_kube_list *l, const char *name, bool *found)
{
    size_t lo = 0, hi = l->count;

    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, name_of(l->items[mid]));
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Keep a summary of each listed object: whole objects cost tens of KiB per
 * database once parsed (bench figure 4), and the backend drops each page
 * of them before it asks for the next. */
static int summarize(daap_kube_object **kept, daap_kube_object *obj, void *arg)
{
    int rc = daap__kube_object_summary(kept, obj);

    (void)arg;
    daap_kube_object_free(obj);
    return rc;
}

int daap__kube_list_summaries(daap_kube_list *out, daap_kube_backend *be, int kind,
                              const char *namespace_, const char *label_selector)
{
    daap_kube_list l = { 0 };
    int rc;

    if ((rc = daap__kube_list_map(&l, be, kind, namespace_, label_selector, summarize, NULL)) == 0) {
        if (l.count > 1)
            qsort(l.items, l.count, sizeof(l.items[0]), compare_names);
        daap_kube_list_dispose(out);
        *out = l;
    } else {
        daap_kube_list_dispose(&l);
    }
#if defined(__GLIBC__)
    /* The pages of whole objects were freed in many small pieces; hand
     * the memory back, or the process keeps a page's peak for good. */
    malloc_trim(0);
#endif
    return rc;
}

int daap__snapshot_take(daap__snapshot *s, daap_ctx *ctx)
{
    memset(s, 0, sizeof(*s));
    DAAP_TRY(daap__kube_list_summaries(&s->clusters, ctx->kube, DAAP_KUBE_CLUSTER, ctx->namespace_, DAAP__SELECTOR));
    return daap__kube_list_summaries(&s->poolers, ctx->kube, DAAP_KUBE_POOLER, ctx->namespace_, DAAP__SELECTOR);
}

void daap__snapshot_dispose(daap__snapshot *s)
{
    daap_kube_list_dispose(&s->clusters);
    daap_kube_list_dispose(&s->poolers);
    daap_kube_list_dispose(&s->deployments);
}

const daap_kube_object *daap__snapshot_find(const daap__snapshot *s, int kind, const char *name)
{
    const daap_kube_list *l = const_list_of(s, kind);
    bool found;
    size_t i;

    if (l == NULL || name == NULL)
        return NULL;
    i = position(l, name, &found);
    return found ? l->items[i] : NULL;
}

int daap__snapshot_put(daap__snapshot *s, int kind, const daap_kube_object *obj)
{
    daap_kube_list *l = list_of(s, kind);
    daap_kube_object *small;
    bool found;
    size_t i;

    if (l == NULL)
        return 0;
    DAAP_TRY(daap__kube_object_summary(&small, obj));
    i = position(l, name_of(obj), &found);
    if (found) {
        daap_kube_object_free(l->items[i]);
        l->items[i] = small;
        return 0;
    }
    DAAP_TRY(daap_kube_list_push(l, small)); /* grows the array; frees small on failure */
    memmove(&l->items[i + 1], &l->items[i], (l->count - 1 - i) * sizeof(l->items[0]));
    l->items[i] = small;
    return 0;
}

void daap__snapshot_drop(daap__snapshot *s, int kind, const char *name)
{
    daap_kube_list *l = list_of(s, kind);
    bool found;
    size_t i;

    if (l == NULL || name == NULL)
        return;
    i = position(l, name, &found);
    if (!found)
        return;
    daap_kube_object_free(l->items[i]);
    memmove(&l->items[i], &l->items[i + 1], (l->count - 1 - i) * sizeof(l->items[0]));
    l->count--;
}
