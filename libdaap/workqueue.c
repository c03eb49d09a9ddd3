/* A thread-safe work queue of keys, after client-go's workqueue: a key has
 * one entry that says whether it is queued (dirty), held by a worker
 * (processing), waiting for a delay (in the heap) and how often it failed.
 * The entry goes away when none of these holds. One mutex guards it all:
 * every operation is a few pointer moves, far shorter than any reconcile. */
#include "common.h"

#include <daap/workqueue.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#define DEFAULT_BASE_MS 50
#define DEFAULT_MAX_MS  10000
#define MIN_BUCKETS     64

typedef struct node {
    char         key[DAAP_WORKQUEUE_KEY_MAX + 1];
    bool         dirty;      /* must be (re)handled: queued, or queued again at done */
    bool         processing; /* a worker holds it */
    long         heap_idx;   /* position in the delay heap, or -1 */
    int64_t      due_ms;
    unsigned int failures;
    struct node *chain;      /* hash bucket */
    struct node *fnext;      /* ready FIFO */
} node;

struct daap_workqueue {
    pthread_mutex_t lock;
    pthread_cond_t  ready;   /* a key was queued, a delay changed, or shutdown */
    pthread_cond_t  idle;    /* no worker holds a key */
    node          **buckets;
    size_t          nbuckets, nnodes;
    node           *fhead, *ftail;
    size_t          flen;
    node          **heap;
    size_t          heap_len, heap_cap;
    size_t          nprocessing;
    int64_t         base_ms, max_ms;
    bool            shut;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t hash_key(const char *k)
{
    size_t h = 1469598103934665603ull;
    while (*k)
        h = (h ^ (unsigned char)*k++) * 1099511628211ull;
    return h;
}

/* ---- the key table ---- */

static node *find(const daap_workqueue *q, const char *key)
{
    node *n = q->buckets[hash_key(key) & (q->nbuckets - 1)];
    while (n && strcmp(n->key, key) != 0)
        n = n->chain;
    return n;
}

static void rehash(daap_workqueue *q, size_t nb)
{
    node **b = daap__calloc(nb, sizeof(*b));
    size_t i;

    if (b == NULL)
        return; /* chains just grow longer */
    for (i = 0; i < q->nbuckets; i++) {
        node *n = q->buckets[i], *next;
        for (; n; n = next) {
            size_t h = hash_key(n->key) & (nb - 1);
            next = n->chain;
            n->chain = b[h];
            b[h] = n;
        }
    }
    daap__free(q->buckets);
    q->buckets = b;
    q->nbuckets = nb;
}

static node *find_or_make(daap_workqueue *q, const char *key)
{
    node *n = find(q, key);
    size_t h;

    if (n)
        return n;
    if ((n = daap__calloc(1, sizeof(*n))) == NULL)
        return NULL;
    strcpy(n->key, key);
    n->heap_idx = -1;
    if (q->nnodes + 1 > q->nbuckets)
        rehash(q, q->nbuckets * 2);
    h = hash_key(key) & (q->nbuckets - 1);
    n->chain = q->buckets[h];
    q->buckets[h] = n;
    q->nnodes++;
    return n;
}

/* Drop the entry once nothing is left to remember about the key. */
static void maybe_release(daap_workqueue *q, node *n)
{
    node **p = &q->buckets[hash_key(n->key) & (q->nbuckets - 1)];

    if (n->dirty || n->processing || n->heap_idx >= 0 || n->failures)
        return;
    while (*p != n)
        p = &(*p)->chain;
    *p = n->chain;
    q->nnodes--;
    daap__free(n);
}

/* ---- the delay heap, ordered by due time ---- */

static void heap_set(daap_workqueue *q, size_t i, node *n)
{
    q->heap[i] = n;
    n->heap_idx = (long)i;
}

static void sift_up(daap_workqueue *q, size_t i)
{
    node *n = q->heap[i];
    while (i > 0 && q->heap[(i - 1) / 2]->due_ms > n->due_ms) {
        heap_set(q, i, q->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(q, i, n);
}

static void sift_down(daap_workqueue *q, size_t i)
{
    node *n = q->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->heap_len)
            break;
        if (c + 1 < q->heap_len && q->heap[c + 1]->due_ms < q->heap[c]->due_ms)
            c++;
        if (q->heap[c]->due_ms >= n->due_ms)
            break;
        heap_set(q, i, q->heap[c]);
        i = c;
    }
    heap_set(q, i, n);
}

static int heap_push(daap_workqueue *q, node *n)
{
    if (q->heap_len == q->heap_cap) {
        size_t cap = q->heap_cap ? q->heap_cap * 2 : 64;
        node **h = daap__realloc(q->heap, cap * sizeof(*h));
        DAAP_ERROR_CHECK_ALLOC(h);
        q->heap = h;
        q->heap_cap = cap;
    }
    heap_set(q, q->heap_len++, n);
    sift_up(q, q->heap_len - 1);
    return 0;
}

static void heap_remove(daap_workqueue *q, node *n)
{
    size_t i = (size_t)n->heap_idx;
    node *last = q->heap[--q->heap_len];

    n->heap_idx = -1;
    if (last == n)
        return;
    heap_set(q, i, last);
    sift_up(q, i);
    sift_down(q, (size_t)last->heap_idx);
}

/* ---- queueing ---- */

static void fifo_push(daap_workqueue *q, node *n)
{
    n->fnext = NULL;
    if (q->ftail)
        q->ftail->fnext = n;
    else
        q->fhead = n;
    q->ftail = n;
    q->flen++;
    pthread_cond_signal(&q->ready);
}

static node *fifo_pop(daap_workqueue *q)
{
    node *n = q->fhead;
    if (n) {
        q->fhead = n->fnext;
        if (q->fhead == NULL)
            q->ftail = NULL;
        q->flen--;
    }
    return n;
}

static void add_now(daap_workqueue *q, node *n)
{
    if (n->heap_idx >= 0)
        heap_remove(q, n);
    if (n->dirty)
        return;
    n->dirty = true;
    if (!n->processing)
        fifo_push(q, n);
}

/* Delayed keys whose time has come join the FIFO. */
static void promote_due(daap_workqueue *q, int64_t now)
{
    while (q->heap_len && q->heap[0]->due_ms <= now)
        add_now(q, q->heap[0]);
}

static int check_key(const char *key)
{
    if (key == NULL || *key == '\0' || strlen(key) > DAAP_WORKQUEUE_KEY_MAX)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "a work queue key must be 1 to %d bytes",
                              DAAP_WORKQUEUE_KEY_MAX);
    return 0;
}

/* With the lock held. */
static int add_locked(daap_workqueue *q, const char *key, int64_t delay_ms)
{
    node *n;

    if (q->shut)
        return DAAP_ITEROVER;
    if ((n = find_or_make(q, key)) == NULL)
        return daap_error_set_oom();
    if (delay_ms <= 0) {
        add_now(q, n);
        return 0;
    }
    if (n->dirty)
        return 0; /* it runs sooner anyway */
    if (n->heap_idx >= 0) {
        if (mono_ms() + delay_ms < n->due_ms) {
            n->due_ms = mono_ms() + delay_ms;
            sift_up(q, (size_t)n->heap_idx);
        }
        return 0;
    }
    n->due_ms = mono_ms() + delay_ms;
    if (heap_push(q, n) < 0) {
        maybe_release(q, n);
        return DAAP_ERROR;
    }
    pthread_cond_broadcast(&q->ready); /* a waiter may need to wake sooner */
    return 0;
}

static int add_delayed(daap_workqueue *q, const char *key, int64_t delay_ms, bool count_failure)
{
    int rc;

    DAAP_ASSERT_ARG(q);
    DAAP_TRY(check_key(key));
    pthread_mutex_lock(&q->lock);
    if (count_failure) {
        node *n = q->shut ? NULL : find_or_make(q, key);
        unsigned int shift = n && n->failures < 40 ? n->failures : 40;
        delay_ms = q->base_ms << (shift < 30 ? shift : 30);
        if (delay_ms > q->max_ms || delay_ms <= 0)
            delay_ms = q->max_ms;
        if (n)
            n->failures++;
    }
    rc = add_locked(q, key, delay_ms);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int daap_workqueue_add(daap_workqueue *q, const char *key)
{
    return add_delayed(q, key, 0, false);
}

int daap_workqueue_add_after(daap_workqueue *q, const char *key, int64_t delay_ms)
{
    return add_delayed(q, key, delay_ms, false);
}

int daap_workqueue_add_rate_limited(daap_workqueue *q, const char *key)
{
    return add_delayed(q, key, 0, true);
}

void daap_workqueue_forget(daap_workqueue *q, const char *key)
{
    node *n;

    if (q == NULL || check_key(key) < 0)
        return;
    pthread_mutex_lock(&q->lock);
    if ((n = find(q, key)) != NULL) {
        n->failures = 0;
        maybe_release(q, n);
    }
    pthread_mutex_unlock(&q->lock);
}

unsigned int daap_workqueue_failures(daap_workqueue *q, const char *key)
{
    unsigned int f = 0;
    node *n;

    if (q == NULL || check_key(key) < 0)
        return 0;
    pthread_mutex_lock(&q->lock);
    if ((n = find(q, key)) != NULL)
        f = n->failures;
    pthread_mutex_unlock(&q->lock);
    return f;
}

/* ---- taking and giving back ---- */

static struct timespec abs_time(int64_t mono_deadline_ms)
{
    struct timespec ts = { (time_t)(mono_deadline_ms / 1000), (long)(mono_deadline_ms % 1000) * 1000000L };
    return ts;
}

/* Sleep on `cv` until deadline_ms (monotonic; < 0: none) or a signal. */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *m, int64_t deadline_ms)
{
    struct timespec ts;
    if (deadline_ms < 0) {
        pthread_cond_wait(cv, m);
        return;
    }
    ts = abs_time(deadline_ms);
    pthread_cond_timedwait(cv, m, &ts);
}

static int64_t next_wake(const daap_workqueue *q, int64_t deadline)
{
    if (q->heap_len == 0)
        return deadline;
    return deadline < 0 || q->heap[0]->due_ms < deadline ? q->heap[0]->due_ms : deadline;
}

int daap_workqueue_get(daap_workqueue *q, char *key, size_t size, int32_t timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
    int rc = DAAP_ETIMEOUT;

    DAAP_ASSERT_ARG(q && key);
    if (size < DAAP_WORKQUEUE_KEY_MAX + 1)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "key buffer too small");
    pthread_mutex_lock(&q->lock);
    for (;;) {
        node *n;
        promote_due(q, mono_ms());
        if ((n = fifo_pop(q)) != NULL) {
            n->dirty = false;
            n->processing = true;
            q->nprocessing++;
            strcpy(key, n->key);
            rc = 0;
            break;
        }
        if (q->shut) {
            rc = DAAP_ITEROVER;
            break;
        }
        if (deadline >= 0 && mono_ms() >= deadline)
            break;
        wait_until(&q->ready, &q->lock, next_wake(q, deadline));
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

void daap_workqueue_done(daap_workqueue *q, const char *key)
{
    node *n;

    if (q == NULL || check_key(key) < 0)
        return;
    pthread_mutex_lock(&q->lock);
    n = find(q, key);
    if (n && n->processing) {
        n->processing = false;
        q->nprocessing--;
        if (n->dirty && !q->shut)
            fifo_push(q, n);
        else
            n->dirty = false;
        maybe_release(q, n);
        if (q->nprocessing == 0)
            pthread_cond_broadcast(&q->idle);
    }
    pthread_mutex_unlock(&q->lock);
}

size_t daap_workqueue_len(daap_workqueue *q)
{
    size_t n;
    if (q == NULL)
        return 0;
    pthread_mutex_lock(&q->lock);
    n = q->flen;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void daap_workqueue_shutdown(daap_workqueue *q, daap_workqueue_shutdown_mode mode)
{
    node *n;

    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->shut = true;
    while (q->heap_len) {
        n = q->heap[0];
        heap_remove(q, n);
        n->failures = 0;
        maybe_release(q, n);
    }
    while (mode == DAAP_WORKQUEUE_DROP && (n = fifo_pop(q)) != NULL) {
        n->dirty = false;
        n->failures = 0;
        maybe_release(q, n);
    }
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

int daap_workqueue_wait_idle(daap_workqueue *q, int32_t timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
    int rc = 0;

    DAAP_ASSERT_ARG(q);
    pthread_mutex_lock(&q->lock);
    while (q->nprocessing > 0) {
        if (deadline >= 0 && mono_ms() >= deadline) {
            rc = DAAP_ETIMEOUT;
            break;
        }
        wait_until(&q->idle, &q->lock, deadline);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

/* ---- life ---- */

static int init_sync(daap_workqueue *q)
{
    pthread_condattr_t ca;
    int ok;

    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* delays ignore wall-clock jumps */
    ok = pthread_mutex_init(&q->lock, NULL) == 0;
    if (ok && pthread_cond_init(&q->ready, &ca) != 0) {
        pthread_mutex_destroy(&q->lock);
        ok = 0;
    }
    if (ok && pthread_cond_init(&q->idle, &ca) != 0) {
        pthread_cond_destroy(&q->ready);
        pthread_mutex_destroy(&q->lock);
        ok = 0;
    }
    pthread_condattr_destroy(&ca);
    return ok ? 0 : -1;
}

int daap_workqueue_new(daap_workqueue **out, const daap_workqueue_options *opts)
{
    daap_workqueue *q;

    DAAP_ASSERT_ARG(out);
    *out = NULL;
    DAAP_CHECK_VERSION(opts, DAAP_WORKQUEUE_OPTIONS_VERSION, "daap_workqueue_options");
    if (opts && (opts->base_delay_ms < 0 || opts->max_delay_ms < 0))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "work queue delays must not be negative");
    q = daap__calloc(1, sizeof(*q));
    DAAP_ERROR_CHECK_ALLOC(q);
    q->nbuckets = MIN_BUCKETS;
    q->buckets = daap__calloc(q->nbuckets, sizeof(*q->buckets));
    if (q->buckets == NULL || init_sync(q) < 0) {
        daap__free(q->buckets);
        daap__free(q);
        return daap_error_set_oom();
    }
    q->base_ms = opts && opts->base_delay_ms ? opts->base_delay_ms : DEFAULT_BASE_MS;
    q->max_ms = opts && opts->max_delay_ms ? opts->max_delay_ms : DEFAULT_MAX_MS;
    *out = q;
    return 0;
}

void daap_workqueue_free(daap_workqueue *q)
{
    size_t i;

    if (q == NULL)
        return;
    for (i = 0; i < q->nbuckets; i++) {
        node *n = q->buckets[i], *next;
        for (; n; n = next) {
            next = n->chain;
            daap__free(n);
        }
    }
    daap__free(q->buckets);
    daap__free(q->heap);
    pthread_cond_destroy(&q->ready);
    pthread_cond_destroy(&q->idle);
    pthread_mutex_destroy(&q->lock);
    daap__free(q);
}
