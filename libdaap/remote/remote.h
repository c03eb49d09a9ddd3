/* remote/: the daap API over HTTP(S), for contexts opened on a
 * daap-server's URL. It may include transport/, db/ and the root's headers.
 *
 * This header: the remote engine (engine.h): the same API, served by a
 * daap-server. */
#ifndef DAAP_INTERNAL_REMOTE_H
#define DAAP_INTERNAL_REMOTE_H

#include "engine.h"

typedef struct daap__remote daap__remote;

/* A client of the daap-server at `uri`, the `self` of daap__remote_engine.
 * Nothing is sent yet: a wrong address shows at the first call (or
 * daap_ctx_ping). opts->team is the X-Daap-Team of updates and deletes that
 * name none. On failure *out may hold a half-made client: release it with
 * daap__remote_engine.free. */
int daap__remote_open(daap__remote **out, const char *uri, const daap_ctx_options *opts);

/* Every slot of engine.h over HTTP(S). A delete's 202 gives the record as
 * the server has it; 204 (already gone) a record with only the id and
 * status deleted. Reconcile, watches and migrations answer
 * DAAP_ENOTSUPPORTED: they run next to the store. */
extern const daap__engine daap__remote_engine;

#endif
