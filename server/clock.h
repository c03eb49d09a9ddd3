/* The server's one clock for deadlines and durations. */
#ifndef DAAP_SERVER_CLOCK_H
#define DAAP_SERVER_CLOCK_H

#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC: for intervals, never for dates. */
int64_t mono_us(void);

#endif
