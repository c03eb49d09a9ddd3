/* remote/: the daap API over HTTP(S), for contexts opened on a
 * daap-server's URL. It may include db/ and the root's headers.
 *
 * This header: contexts opened on http(s)://: the same API, served by a daap-server. */
#ifndef DAAP_INTERNAL_REMOTE_H
#define DAAP_INTERNAL_REMOTE_H

#include "ctx.h"

/* A context whose every call goes to the daap-server at `uri`. Nothing is
 * sent yet: a wrong address shows at the first call (or daap_ctx_ping).
 * opts->team is the X-Daap-Team of updates and deletes that name none. */
int  daap__remote_open(daap_ctx **out, const char *uri, const daap_ctx_options *opts);
void daap__remote_free(daap__remote *r);
int  daap__remote_ping(daap__remote *r);
int  daap__remote_create(daap_db **out, daap__remote *r, const char *json, size_t len);
int  daap__remote_get(daap_db **out, daap__remote *r, const char *id);
int  daap__remote_list(daap_db_page *out, daap__remote *r, const daap_db_list_options *opts);
int  daap__remote_update(daap_db **out, daap__remote *r, const char *id, const char *team, const char *json, size_t len);
/* 202 gives the record as the server has it; 204 (already gone) a record
 * with only the id and status deleted. */
int  daap__remote_delete(daap_db **out, daap__remote *r, const char *id, const char *team);

/* The typed calls, rendered to the API's request bodies. */
int  daap__remote_create_spec(daap_db **out, daap__remote *r, const daap_db_spec *spec);
int  daap__remote_update_spec(daap_db **out, daap__remote *r, const char *id, const char *team,
                              const daap_db_update_spec *spec);

#endif
