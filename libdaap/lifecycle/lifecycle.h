/* The request path (lifecycle.c): the local engine, whose slots are
 * create, get, list, update and delete on the store and Kubernetes, and
 * whose reconcile and watch slots are reconcile.c's and watch.c's. */
#ifndef DAAP_INTERNAL_LIFECYCLE_H
#define DAAP_INTERNAL_LIFECYCLE_H

#include "engine.h"

extern const daap__engine daap__local_engine;

#endif
