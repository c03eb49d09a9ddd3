/* Serving the web console's embedded files.
 *
 * Caching: every file is sent with a strong ETag (a content hash computed at
 * build time) and "Cache-Control: no-cache", so a browser keeps its copy but
 * asks each time and gets a bodiless 304 while the file is unchanged. The
 * files are a few small modules, so one revalidation each costs little, and
 * a new binary is never mixed with old cached modules (no hashed file names,
 * hence no build step).
 *
 * Headers: CSP "default-src 'self'" (no inline script or style, nothing from
 * another origin), nosniff, and framing refused, since a framed console
 * could be used to trick a click on Delete. */
#include "ui.h"

#include <string.h>

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css",  "text/css; charset=utf-8" },
    { ".js",   "text/javascript; charset=utf-8" },
    { ".svg",  "image/svg+xml" },
    { ".json", "application/json" },
    { ".png",  "image/png" },
};

static const char *content_type_of(const char *path)
{
    size_t n = strlen(path), i;

    for (i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
        size_t e = strlen(content_types[i].ext);
        if (n > e && strcmp(path + n - e, content_types[i].ext) == 0)
            return content_types[i].type;
    }
    return "application/octet-stream";
}

/* The file `name` of server/ui (embedded as "ui/<name>"), or NULL. */
static const ui_asset *find_asset(const char *name)
{
    const ui_asset *a;

    for (a = daap_ui_assets; a->path != NULL; a++)
        if (strncmp(a->path, "ui/", 3) == 0 && strcmp(a->path + 3, name) == 0)
            return a;
    return NULL;
}

static void add_security_headers(request *r)
{
    request_add_header(r, "Content-Security-Policy", "default-src 'self'");
    request_add_header(r, "X-Content-Type-Options", "nosniff");
    request_add_header(r, "X-Frame-Options", "DENY");
    request_add_header(r, "Referrer-Policy", "no-referrer");
}

/* If-None-Match holding our tag (or "*") means the browser's copy is current. */
static bool not_modified(const request *r, const ui_asset *a)
{
    const char *inm = request_header(r, "If-None-Match");
    return inm != NULL && (strstr(inm, a->etag) != NULL || strcmp(inm, "*") == 0);
}

static void send_asset(request *r, const ui_asset *a)
{
    add_security_headers(r);
    request_add_header(r, "ETag", a->etag);
    request_add_header(r, "Cache-Control", "no-cache");
    if (not_modified(r, a))
        respond_empty(r, 304);
    else /* for HEAD, libmicrohttpd sends the headers and Content-Length only */
        respond_static(r, 200, content_type_of(a->path), a->data, a->size);
}

void handle_ui_redirect(request *r)
{
    request_add_header(r, "Location", "/ui/");
    respond_empty(r, 308);
}

void handle_ui_index(request *r)
{
    const ui_asset *a = find_asset("index.html");

    if (a == NULL)
        respond_problem(r, 404, "this daap-server was built without its web console");
    else
        send_asset(r, a);
}

void handle_ui_asset(request *r)
{
    const ui_asset *a = find_asset(r->path_id);

    if (a == NULL)
        respond_problem(r, 404, "no such file in the web console");
    else
        send_asset(r, a);
}
