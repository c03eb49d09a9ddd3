/* The route table: (method, path pattern) -> handler. */
#ifndef DAAP_SERVER_ROUTES_H
#define DAAP_SERVER_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "respond.h"

typedef void (*handler_fn)(request *r);

enum {
    ROUTE_BODY  = 1u << 0, /* takes a JSON body (Content-Type is checked) */
    ROUTE_QUERY = 1u << 1, /* takes a query string */
    ROUTE_MERGE_PATCH = 1u << 2 /* also accepts application/merge-patch+json */
};

typedef struct route {
    const char  *pattern; /* "/databases/{id}", "/databases/{id}/events": {id} is one non-empty segment */
    const char  *method;
    handler_fn   fn;
    unsigned int flags;
    handler_fn   inner;   /* POST: what handle_keyed_post runs under the key */
} route;

/* The route for method and path, or NULL. When NULL and some route has the
 * path, *allow lists its methods ("GET, HEAD, PATCH, DELETE") for a 405.
 * Every GET route also serves HEAD. */
const route *route_find(const char *method, const char *path, char *allow, size_t allow_size);

/* Where the {id} segment of a path that route_find matched to rt starts
 * (it runs to the next '/' or the end), or NULL. */
const char *route_path_id(const route *rt, const char *path);

#endif
