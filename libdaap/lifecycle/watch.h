/* Watches (watch.c): the local engine's watch_open slot. */
#ifndef DAAP_INTERNAL_WATCH_H
#define DAAP_INTERNAL_WATCH_H

#include "ctx.h"

/* daap_watch_open on the store and Kubernetes of `self`, a daap_ctx. */
int daap__watch_open_local(daap_watch **out, void *self);

#endif
