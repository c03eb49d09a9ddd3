/* Shared between http.c (daemons) and request.c (one request's life). */
#ifndef DAAP_SERVER_HTTP_INTERNAL_H
#define DAAP_SERVER_HTTP_INTERNAL_H

#include <stdatomic.h>
#include <microhttpd.h>

#include "http.h"

struct worker {
    http_server       *srv;
    daap_ctx          *ctx;
    struct MHD_Daemon *daemon;
};

struct http_server {
    const server_options *opts;
    worker               *workers;
    int                   nworkers;
    int                   port;
    atomic_int            inflight;  /* requests between request line and completion */
    atomic_bool           draining;  /* shutting down: answer with Connection: close */
};

void *request_begin_cb(void *cls, const char *uri, struct MHD_Connection *conn);
enum MHD_Result request_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);
void request_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe);

#endif
