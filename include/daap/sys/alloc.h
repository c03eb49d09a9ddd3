/**
 * @file daap/sys/alloc.h
 * @brief A pluggable allocator, so tests can fail allocation N.
 */
#ifndef DAAP_SYS_ALLOC_H
#define DAAP_SYS_ALLOC_H

#include "../common.h"

DAAP_BEGIN_DECL

/** Allocation functions used for all memory the library owns or hands out. */
typedef struct {
    unsigned int version;  /**< DAAP_ALLOCATOR_VERSION */
    void *(*malloc_fn)(size_t n, void *payload);
    void *(*realloc_fn)(void *p, size_t n, void *payload);
    void  (*free_fn)(void *p, void *payload);
    void  *payload;
} daap_allocator;

#define DAAP_ALLOCATOR_VERSION 1

/**
 * Install an allocator, or the system one with NULL. Call only while no
 * library object exists (memory must be freed by the allocator that made it).
 * Memory inside third-party libraries (json-c, SQLite, libcurl) is not covered.
 *
 * @return 0 or DAAP_EINVALID
 * @since 0.1
 */
DAAP_EXTERN(int) daap_set_allocator(const daap_allocator *allocator);

DAAP_END_DECL

#endif
