/* The context: one storage backend, one Kubernetes backend, configuration. */
#ifndef DAAP_INTERNAL_CTX_H
#define DAAP_INTERNAL_CTX_H

#include "common.h"
#include "crypto.h"
#include "db/validate.h"
#include <daap/sys/storage.h>
#include <daap/sys/kube.h>

#define DAAP__MAX_IMAGES 16

typedef struct daap__templates daap__templates;
typedef struct daap__remote daap__remote;

typedef struct {
    int32_t major;
    char   *image;
} daap__image;

struct daap_ctx {
    daap_storage_backend *storage;
    daap_kube_backend    *kube;
    daap__templates      *templates;
    daap__remote         *remote;     /* set for http:// contexts; then nothing else is */
    daap__key             key;
    char                 *namespace_;
    char                 *cluster_domain;
    daap__image           images[DAAP__MAX_IMAGES];
    size_t                image_count;
    int32_t               default_pg_version;
    int32_t               max_instances;
    int64_t               deadline_ms;
    daap__limits          limits;
};

/* The image for a PostgreSQL major, or NULL. */
const char *daap__ctx_image(const daap_ctx *ctx, int32_t major);

/* Fail with DAAP_ENOTSUPPORTED when the context has no Kubernetes backend. */
int daap__ctx_need_kube(const daap_ctx *ctx);

#endif
