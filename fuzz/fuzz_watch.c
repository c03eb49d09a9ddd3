/* Watch streams, fed in two chunks split at a point chosen by the input. */
#include "common.h"
#include "kube/watchparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    daap__watchparse *p;
    daap_kube_event ev;
    size_t split;

    if (size == 0 || daap__watchparse_new(&p) < 0)
        return 0;
    split = data[0] % size;
    daap__watchparse_feed(p, (const char *)data + 1, split);
    daap__watchparse_feed(p, (const char *)data + 1 + split, size - 1 - split);
    while (daap__watchparse_pop(&ev, p) == 0)
        daap_kube_object_free(ev.object);
    daap__watchparse_free(p);
    return 0;
}
