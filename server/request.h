/* One request's life on libmicrohttpd: the entry points http.c gives its
 * daemons (cls is the daemon's worker, see respond.h). */
#ifndef DAAP_SERVER_REQUEST_H
#define DAAP_SERVER_REQUEST_H

#include <microhttpd.h>
#include <stddef.h>

/* The daemon's callbacks (cls is the worker). */
void *request_begin_cb(void *cls, const char *uri, struct MHD_Connection *conn);
enum MHD_Result request_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);
void request_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe);

#endif
