/* PostgreSQL storage backend (being written). */
#include "../common.h"
#include <daap/sys/storage.h>

int daap_storage_postgres_new(daap_storage_backend **out, const char *conninfo)
{
    (void)conninfo;
    if (out)
        *out = NULL;
    return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_STORAGE, "postgres backend not built yet");
}
