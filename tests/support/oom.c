/* The failing allocator of oom.h. It keeps no per-block header: the system
 * allocator does the work, the counters only watch. */
#include "oom.h"

#include <stdlib.h>
#include <string.h>

static int refuse(oom_allocator *oom)
{
    if (!oom->armed || oom->paused)
        return 0;
    oom->count++;
    if (oom->fail_at == 0 || oom->count < oom->fail_at || (oom->count > oom->fail_at && !oom->sticky))
        return 0;
    oom->failures++;
    return 1;
}

static void *oom_malloc(size_t n, void *payload)
{
    oom_allocator *oom = payload;
    void *p;

    if (refuse(oom))
        return NULL;
    if ((p = malloc(n)) != NULL) {
        oom->live++;
        oom->total++;
    }
    return p;
}

static void *oom_realloc(void *old, size_t n, void *payload)
{
    oom_allocator *oom = payload;
    void *p;

    if (refuse(oom))
        return NULL; /* `old` stays valid, as with a real failing realloc */
    if ((p = realloc(old, n)) != NULL) {
        if (old == NULL)
            oom->live++;
        oom->total++;
    }
    return p;
}

static void oom_free(void *p, void *payload)
{
    oom_allocator *oom = payload;

    if (p == NULL)
        return;
    oom->live--;
    free(p);
}

int oom_install(oom_allocator *oom)
{
    daap_allocator a = { DAAP_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, NULL };

    memset(oom, 0, sizeof(*oom));
    a.payload = oom;
    return daap_set_allocator(&a);
}

int oom_uninstall(void)
{
    return daap_set_allocator(NULL);
}

void oom_arm(oom_allocator *oom, unsigned long fail_at, int sticky)
{
    oom->fail_at = fail_at;
    oom->sticky = sticky;
    oom->count = 0;
    oom->failures = 0;
    oom->paused = 0;
    oom->armed = 1;
}

void oom_disarm(oom_allocator *oom)
{
    oom->armed = 0;
    oom->paused = 0;
}

void oom_pause(oom_allocator *oom, int paused)
{
    oom->paused = paused;
}
