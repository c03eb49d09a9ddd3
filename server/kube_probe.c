/* The Kubernetes ping behind /readyz, off the serving path. */
#include "kube_probe.h"
#include "clock.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PROBE_INTERVAL_MS 1000
/* A success older than this no longer counts: the API has stopped answering
 * (a hung ping never returns a failure of its own before its timeout). */
#define STALE_AFTER_MS    3000

struct kube_probe {
    pthread_t      thread;
    daap_ctx      *ctx;
    atomic_bool    stop;
    atomic_llong   last_ok_ms;  /* monotonic; 0: never */
    atomic_bool    failing;     /* the last ping that returned failed */
    pthread_mutex_t lock;       /* guards cause */
    char           cause[512];  /* why the last failed ping failed: may name addresses */
};

static int64_t now_ms(void)
{
    return mono_us() / 1000;
}

static void sleep_until_next(kube_probe *p, int64_t started_ms)
{
    int64_t left = started_ms + PROBE_INTERVAL_MS - now_ms();
    while (left > 0 && !atomic_load(&p->stop)) {
        int64_t step = left < 100 ? left : 100;
        struct timespec ts = { 0, (long)step * 1000000L };
        nanosleep(&ts, NULL);
        left = started_ms + PROBE_INTERVAL_MS - now_ms();
    }
}

static void ping_once(kube_probe *p)
{
    int rc = daap_ctx_ping(p->ctx);
    bool was_failing = atomic_load(&p->failing);

    if (rc == 0) {
        atomic_store(&p->last_ok_ms, now_ms());
        if (was_failing)
            log_msg(LOG_INFO, "Kubernetes answers again");
    } else {
        pthread_mutex_lock(&p->lock);
        snprintf(p->cause, sizeof(p->cause), "%s", daap_error_last()->message);
        pthread_mutex_unlock(&p->lock);
        if (!was_failing)
            log_line(LOG_WARN, "Kubernetes does not answer; /readyz reports it",
                     (log_field[]){ LF_STR("error", daap_error_last()->message),
                                    LF_STR("code", daap_error_code_name(rc)) }, 2);
    }
    atomic_store(&p->failing, rc != 0);
}

static void *run(void *arg)
{
    kube_probe *p = arg;

    while (!atomic_load(&p->stop)) {
        int64_t started = now_ms();
        ping_once(p);
        sleep_until_next(p, started);
    }
    return NULL;
}

int kube_probe_start(kube_probe **out, daap_ctx *ctx)
{
    kube_probe *p = calloc(1, sizeof(*p));

    *out = NULL;
    if (p == NULL) {
        daap_ctx_free(ctx);
        return -1;
    }
    p->ctx = ctx;
    atomic_init(&p->stop, false);
    atomic_init(&p->last_ok_ms, 0);
    atomic_init(&p->failing, false);
    pthread_mutex_init(&p->lock, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        daap_ctx_free(ctx);
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

bool kube_probe_ready(kube_probe *p, char *why, size_t why_size, char *cause, size_t cause_size)
{
    int64_t last = atomic_load(&p->last_ok_ms), age = now_ms() - last;

    if (last != 0 && !atomic_load(&p->failing) && age <= STALE_AFTER_MS)
        return true;
    snprintf(why, why_size, "Kubernetes is unavailable; retry later");
    if (atomic_load(&p->failing)) {
        pthread_mutex_lock(&p->lock);
        snprintf(cause, cause_size, "%s", p->cause);
        pthread_mutex_unlock(&p->lock);
    } else if (last == 0) {
        snprintf(cause, cause_size, "the Kubernetes API has not answered a ping yet");
    } else {
        snprintf(cause, cause_size, "the Kubernetes API has not answered a ping for %lld ms", (long long)age);
    }
    return false;
}

void kube_probe_stop(kube_probe *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    daap_ctx_free(p->ctx);
    free(p);
}
