/* Request handlers: parse, call libdaap, render. Nothing else. */
#ifndef DAAP_SERVER_HANDLERS_H
#define DAAP_SERVER_HANDLERS_H

#include "respond.h"

void handle_create(request *r);
void handle_list(request *r);
void handle_get(request *r);
void handle_update(request *r);
void handle_delete(request *r);
void handle_events(request *r);
void handle_rotate_password(request *r);
void handle_healthz(request *r);
void handle_readyz(request *r);
void handle_openapi(request *r);
/* Every POST: Idempotency-Key (claim, replay, 409, 422, 400) around the
 * route's inner handler. */
void handle_keyed_post(request *r);

/* The OpenAPI document, embedded at build time (openapi_doc.c). */
extern const char daap_server_openapi[];
extern const size_t daap_server_openapi_len;

#endif
