/* Kubeconfig files (YAML, or JSON which is YAML too). */
#include "common.h"
#include "kube/kubeconfig.h"

#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    daap__kubeconfig cfg;
    FILE *f;

    if (path[0] == '\0')
        snprintf(path, sizeof(path), "/tmp/daap-fuzz-kubeconfig-%d", (int)getpid());
    f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    memset(&cfg, 0, sizeof(cfg));
    if (daap__kubeconfig_load(&cfg, path, NULL, 0) == 0)
        daap__kubeconfig_dispose(&cfg);
    return 0;
}
