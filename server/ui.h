/* The web console: static files under /ui/, compiled into the binary from
 * server/ui/ (cmake/EmbedAssets.cmake), so the server needs nothing on disk
 * and the browser nothing from the internet. */
#ifndef DAAP_SERVER_UI_H
#define DAAP_SERVER_UI_H

#include <stddef.h>

#include "respond.h"

/* One embedded file; the table ends with path NULL. */
typedef struct {
    const char *path;  /* relative to server/, e.g. "ui/app.js" */
    const char *data;  /* NUL-terminated */
    size_t      size;
    const char *etag;  /* "\"<16 hex digits of SHA-256>\"", quotes included */
} ui_asset;

extern const ui_asset daap_ui_assets[];

/**
 * GET or HEAD /ui: a permanent redirect to /ui/, so relative links in the
 * page resolve under /ui/.
 */
void handle_ui_redirect(request *r);

/**
 * GET or HEAD /ui/: the console's index.html.
 */
void handle_ui_index(request *r);

/**
 * GET or HEAD /ui/{asset}: one embedded file with its Content-Type, or a
 * problem+json 404 for a name that is not embedded.
 */
void handle_ui_asset(request *r);

#endif
