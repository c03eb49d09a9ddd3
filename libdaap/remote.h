/* Contexts opened on http(s)://: the same API, served by a daap-server. */
#ifndef DAAP_INTERNAL_REMOTE_H
#define DAAP_INTERNAL_REMOTE_H

#include "ctx.h"

int  daap__remote_open(daap_ctx **out, const char *uri, const daap_ctx_options *opts);
void daap__remote_free(daap__remote *r);
int  daap__remote_ping(daap__remote *r);
int  daap__remote_create(daap_db **out, daap__remote *r, const char *json, size_t len);
int  daap__remote_get(daap_db **out, daap__remote *r, const char *id);
int  daap__remote_list(daap_db_page *out, daap__remote *r, const daap_db_list_options *opts);
int  daap__remote_update(daap_db **out, daap__remote *r, const char *id, const char *team, const char *json, size_t len);
int  daap__remote_delete(daap_db **out, daap__remote *r, const char *id, const char *team);

#endif
