#include "common.h"

#include <stdlib.h>

static void *sys_malloc(size_t n, void *payload) { (void)payload; return malloc(n); }
static void *sys_realloc(void *p, size_t n, void *payload) { (void)payload; return realloc(p, n); }
static void  sys_free(void *p, void *payload) { (void)payload; free(p); }

static daap_allocator allocator = {
    DAAP_ALLOCATOR_VERSION, sys_malloc, sys_realloc, sys_free, NULL
};

int daap_set_allocator(const daap_allocator *a)
{
    if (a == NULL) {
        allocator.malloc_fn = sys_malloc;
        allocator.realloc_fn = sys_realloc;
        allocator.free_fn = sys_free;
        allocator.payload = NULL;
        return 0;
    }
    DAAP_CHECK_VERSION(a, DAAP_ALLOCATOR_VERSION, "daap_allocator");
    DAAP_ASSERT_ARG(a->malloc_fn && a->realloc_fn && a->free_fn);
    allocator = *a;
    return 0;
}

void *daap__malloc(size_t n)
{
    return allocator.malloc_fn(n ? n : 1, allocator.payload);
}

void *daap__calloc(size_t n, size_t size)
{
    void *p;
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    p = daap__malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *daap__realloc(void *p, size_t n)
{
    return allocator.realloc_fn(p, n ? n : 1, allocator.payload);
}

void daap__free(void *p)
{
    if (p)
        allocator.free_fn(p, allocator.payload);
}

char *daap__strndup(const char *s, size_t n)
{
    char *d = daap__malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *daap__strdup(const char *s)
{
    return s ? daap__strndup(s, strlen(s)) : NULL;
}

void daap_free(void *ptr)
{
    daap__free(ptr);
}
