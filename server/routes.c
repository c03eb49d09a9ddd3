/* Routing: exact paths and one {id} segment are all the API needs, so a
 * table and a segment compare beat a general router. */
#include "routes.h"
#include "handlers.h"
#include "ui.h"

#include <stdio.h>
#include <string.h>

/* Every POST goes through POST(), so every POST honours Idempotency-Key. */
#define POST(pattern, handler, flags) { pattern, "POST", handle_keyed_post, (flags), handler }

static const route routes[] = {
    POST("/databases", handle_create, ROUTE_BODY),
    { "/databases",      "GET",    handle_list,    ROUTE_QUERY },
    { "/databases/{id}", "GET",    handle_get,     ROUTE_QUERY }, /* wait, revision */
    { "/databases/{id}", "PATCH",  handle_update,  ROUTE_BODY | ROUTE_MERGE_PATCH },
    { "/databases/{id}", "DELETE", handle_delete,  0 },
    { "/databases/{id}/events", "GET", handle_events, ROUTE_QUERY },
    POST("/databases/{id}/rotate-password", handle_rotate_password, 0), /* docs/day2.md */
    { "/healthz",        "GET",    handle_healthz, 0 },
    { "/readyz",         "GET",    handle_readyz,  0 },
    { "/openapi.json",   "GET",    handle_openapi, 0 },
    /* The web console (ui.c); a query string is ignored, not refused. */
    { "/ui",             "GET",    handle_ui_redirect, ROUTE_QUERY },
    { "/ui/",            "GET",    handle_ui_index,    ROUTE_QUERY },
    { "/ui/{asset}",     "GET",    handle_ui_asset,    ROUTE_QUERY },
};

#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

/* A pattern is a prefix, one {segment} and an optional fixed suffix
 * ("/databases/{id}/events"). */
static bool path_matches(const char *pattern, const char *path)
{
    const char *brace = strchr(pattern, '{');
    const char *suffix, *seg;
    size_t prefix, seglen;

    if (brace == NULL)
        return strcmp(pattern, path) == 0;
    prefix = (size_t)(brace - pattern);
    if (strncmp(pattern, path, prefix) != 0)
        return false;
    suffix = strchr(brace, '}') + 1;
    seg = path + prefix;
    seglen = strcspn(seg, "/");
    return seglen > 0 && strcmp(seg + seglen, suffix) == 0;
}

static void append_allow(char *allow, size_t size, const char *method)
{
    size_t len = strlen(allow);
    snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

/* HEAD is GET without the body (RFC 9110 9.3.2): every GET route serves
 * it, and libmicrohttpd sends the headers and Content-Length only. */
static bool method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

const route *route_find(const char *method, const char *path, char *allow, size_t allow_size)
{
    size_t i;

    allow[0] = '\0';
    for (i = 0; i < ROUTE_COUNT; i++) {
        if (!path_matches(routes[i].pattern, path))
            continue;
        if (method_matches(routes[i].method, method))
            return &routes[i];
        append_allow(allow, allow_size, routes[i].method);
        if (strcmp(routes[i].method, "GET") == 0)
            append_allow(allow, allow_size, "HEAD");
    }
    return NULL;
}

const char *route_path_id(const route *rt, const char *path)
{
    const char *brace = strchr(rt->pattern, '{');
    return brace ? path + (brace - rt->pattern) : NULL;
}
