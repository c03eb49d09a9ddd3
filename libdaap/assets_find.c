#include "common.h"
#include "assets.h"

const daap__asset *daap__asset_find(const char *path)
{
    const daap__asset *a;
    for (a = daap__assets; a->path != NULL; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}
