/**
 * @file daap/daap.h
 * @brief The umbrella header: the only one front-ends include.
 */
#ifndef DAAP_H
#define DAAP_H

#include "common.h"
#include "daap/version.h"
#include "global.h"
#include "errors.h"
#include "buffer.h"
#include "types.h"
#include "ctx.h"
#include "db.h"
#include "migrate.h"
#include "reconcile.h"
#include "idempotency.h"
#include "workqueue.h"
#include "config.h"
#include "problem.h"

#endif
