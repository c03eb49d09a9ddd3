/* Operator templates: parse as an override, then render with real values. */
#include "common.h"
#include "manifest/template.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const daap__template_value values[] = {
    { "NAME", "orders", 0 }, { "CLUSTER_NAME", "daap-orders", 0 }, { "POOLER_NAME", "daap-orders-pooler", 0 },
    { "NAMESPACE", "daap", 0 }, { "INSTANCES", "3", 1 }, { "STORAGE_SIZE", "10Gi", 0 },
    { "IMAGE", "ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie", 0 }, { "PG_VERSION", "17", 1 },
    { "DATABASE", "orders", 0 }, { "OWNER", "orders", 0 },
    { "DATABASE_ID", "01890a5d-ac96-774b-bcce-b302099a8057", 0 }, { "OWNER_TEAM", "payments\": {x", 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[64];
    char path[96];
    daap__templates *t = NULL;
    FILE *f;

    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/daap-fuzz-template-%d", (int)getpid());
        mkdir(dir, 0700);
    }
    snprintf(path, sizeof(path), "%s/cluster.yaml", dir);
    f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    if (daap__templates_load(&t, dir) == 0) {
        daap_kube_object *obj = NULL;
        if (daap__template_render(&obj, t, DAAP__TEMPLATE_CLUSTER, values, sizeof(values) / sizeof(values[0])) == 0)
            daap_kube_object_free(obj);
        daap__templates_free(t);
    }
    return 0;
}
