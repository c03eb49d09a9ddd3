/* Remote contexts: not built yet (issue 6). Every call says so plainly. */
#include "remote.h"

static int not_yet(void)
{
    return daap_error_set(DAAP_ENOTSUPPORTED, DAAP_ERRCLASS_CONFIG,
                          "http:// store URIs (a remote daap-server) are not supported by this build yet");
}

int daap__remote_open(daap_ctx **out, const char *uri, const daap_ctx_options *opts)
{
    (void)uri; (void)opts;
    *out = NULL;
    return not_yet();
}

void daap__remote_free(daap__remote *r) { (void)r; }
int daap__remote_ping(daap__remote *r) { (void)r; return not_yet(); }
int daap__remote_create(daap_db **out, daap__remote *r, const char *json, size_t len) { (void)out; (void)r; (void)json; (void)len; return not_yet(); }
int daap__remote_get(daap_db **out, daap__remote *r, const char *id) { (void)out; (void)r; (void)id; return not_yet(); }
int daap__remote_list(daap_db_page *out, daap__remote *r, const daap_db_list_options *opts) { (void)out; (void)r; (void)opts; return not_yet(); }
int daap__remote_update(daap_db **out, daap__remote *r, const char *id, const char *team, const char *json, size_t len) { (void)out; (void)r; (void)id; (void)team; (void)json; (void)len; return not_yet(); }
int daap__remote_delete(daap_db **out, daap__remote *r, const char *id, const char *team) { (void)out; (void)r; (void)id; (void)team; return not_yet(); }
