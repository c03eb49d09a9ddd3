/* A daap_allocator that fails allocation N (curl torture mode, libuv
 * loop_init_oom): install it before any library object exists, arm it with
 * N, run the operation, and check that it returned a clean negative code
 * and that every block the library handed out was given back. */
#ifndef DAAP_TEST_OOM_H
#define DAAP_TEST_OOM_H

#include <daap/sys/alloc.h>

typedef struct {
    unsigned long fail_at;  /* armed: the allocation (1-based, counted from
                               arming) that fails; 0: none fails */
    int           sticky;   /* non-zero: every allocation after fail_at fails too */
    int           armed;    /* count (and fail) only while armed */
    int           paused;   /* armed but letting allocations through (test controls) */
    unsigned long count;    /* allocations seen while armed (and not paused) */
    unsigned long failures; /* allocations refused since arming */
    long          live;     /* blocks handed out and not yet freed, since install */
    unsigned long total;    /* allocations since install */
} oom_allocator;

/* Install `oom` as the library allocator (counters reset, not armed).
 * @return as daap_set_allocator() */
int  oom_install(oom_allocator *oom);
/* Back to the system allocator. Call only once every block is freed. */
int  oom_uninstall(void);
/* Start counting from zero; allocation number fail_at will fail (0: none). */
void oom_arm(oom_allocator *oom, unsigned long fail_at, int sticky);
/* Stop failing and counting (the live count keeps going). */
void oom_disarm(oom_allocator *oom);
/* Let allocations through for a while without counting them (paused != 0). */
void oom_pause(oom_allocator *oom, int paused);

#endif
