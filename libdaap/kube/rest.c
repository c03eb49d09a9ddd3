/* The Kubernetes REST backend, on the library's HTTP transport
 * (transport/transport.h: handle pool, retry loop, curl error mapping).
 *
 * Every request goes through call(): the transport's one retry loop, then
 * one place that maps Kubernetes Status bodies to daap codes.
 *
 * Time: timeout_ms bounds a whole call, retries and back-off included; the
 * only sleeping the library does is that back-off, inside the call the
 * caller made.
 *
 * Retries (up to max_retries; ADR 0003), as the transport's policies:
 * - GET, LIST and DELETE (DAAP__RETRY_SAFE) are retried after
 *   connection failures, 429 and 500/502/503/504. A repeated DELETE whose
 *   first try landed reports DAAP_ENOTFOUND, which callers treat as "gone".
 * - POST (create, DAAP__RETRY_REFUSED) is retried only when the server provably did not act on
 *   it: the connection could not be opened (nothing was sent), or the
 *   answer was 429 or 503 (rate limited or not served). After a 500, 502,
 *   504, a timeout or a connection that broke mid-request the object may
 *   exist, so the error goes back to the caller (the reconciler looks
 *   before it creates again). Because only unprocessed creates are
 *   repeated, a 409 AlreadyExists on a later attempt means someone else
 *   made the object, and DAAP_EEXISTS is the truthful answer; the
 *   lifecycle decides by the daap.dev/database-id label whether that
 *   object is the one it wanted.
 */
#include "kube/kubeconfig.h"
#include "kube/kube_object.h"
#include "kube/watchparse.h"
#include "transport/transport.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <json-c/json.h>

#define BODY_MAX           (64u * 1024 * 1024)
#define LIST_LIMIT         "500"
#define WATCH_QUEUE_MAX    64  /* parsed events a watch holds before it stops reading */
#define LIST_RESTARTS      2
#define WHAT_MAX           (DAAP__KUBE_REF_STRLEN + 64)

typedef struct {
    daap_kube_backend  parent;
    daap__kubeconfig   cfg;
    daap__transport   *http;       /* pooled handles keep the connections alive */
    struct curl_slist *headers;
    struct curl_slist *patch_headers; /* Content-Type: application/merge-patch+json */
    struct curl_slist *connect_to; /* tls-server-name: the URL names it, this reaches the host */
    char              *base_url;
    bool               tls;        /* credentials never travel over plain http */
    char              *token;      /* the bearer token in use */
    struct stat        token_stat; /* of cfg.token_file when token was read */
} rest_backend;

typedef struct {
    const char      *verb;
    const char      *url;
    const char      *body; /* NULL: none */
    size_t           body_len;
    daap__http_retry retry;
    const char      *what; /* "create Cluster team-a/daap-foo", for messages */
    const struct curl_slist *headers; /* NULL: the backend's JSON headers */
} http_request;

/* A watch: its own easy handle, driven through a multi handle, its 200 body
 * fed to a stream parser. */
typedef struct {
    daap__http_exchange x;
    CURLM            *multi;
    daap__watchparse *stream;
    bool              done;    /* the transfer ended (multi) */
    bool              paused;  /* stopped reading: its queue is full */
    CURLcode          result;  /* when done */
    int               kind;
    bool              ended;
    char              what[WHAT_MAX];
} rest_watch;

/* ---- bearer token */

static bool same_version(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
        && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void replace_token(rest_backend *rb, char *token)
{
    if (rb->token)
        memset(rb->token, 0, strlen(rb->token));
    daap__free(rb->token);
    rb->token = token;
}

/* Service-account tokens rotate: re-read the file whenever it changed. A
 * file that vanished mid-rotation leaves the last token in use. */
static int refresh_token(rest_backend *rb)
{
    daap_buf text = DAAP_BUF_INIT;
    struct stat st;
    int rc;

    if (rb->cfg.token_file == NULL || !rb->tls)
        return 0;
    if (stat(rb->cfg.token_file, &st) != 0) {
        if (rb->token)
            return 0;
        return daap_error_set(DAAP_EAUTH, DAAP_ERRCLASS_KUBE, "cannot read tokenFile %s: %s",
                              rb->cfg.token_file, strerror(errno));
    }
    if (rb->token && same_version(&st, &rb->token_stat))
        return 0;
    rc = daap__read_file(&text, rb->cfg.token_file, "tokenFile");
    if (rc < 0) {
        daap_buf_dispose(&text);
        return rb->token ? 0 : rc;
    }
    while (text.size > 0 && strchr(" \t\r\n", text.ptr[text.size - 1]))
        text.ptr[--text.size] = '\0';
    replace_token(rb, daap__buf_detach(&text));
    rb->token_stat = st;
    return rb->token ? 0 : daap_error_set_oom();
}

/* ---- one attempt */

/* Parsed events wait in memory until the caller pops them; past a few,
 * stop reading and let TCP hold the rest back, or a busy reconciler
 * buffers the API server's whole backlog (bench figure 4: hundreds of MiB
 * during a burst of creates). */
static size_t watch_sink(daap__http_exchange *x, const char *data, size_t len)
{
    rest_watch *w = x->user;

    if (daap__watchparse_queued(w->stream) >= WATCH_QUEUE_MAX) {
        w->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    daap__watchparse_feed(w->stream, data, len); /* corruption surfaces at pop */
    return len;
}

static int set_blob(CURL *h, CURLoption opt, const daap_buf *pem, CURLoption type_opt)
{
    struct curl_blob blob = { pem->ptr, pem->size, CURL_BLOB_COPY };
    CURLcode cc = curl_easy_setopt(h, opt, &blob);

    if (cc == CURLE_OK && type_opt)
        cc = curl_easy_setopt(h, type_opt, "PEM");
    if (cc != CURLE_OK)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_KUBE,
                              "this libcurl cannot use certificates from memory: %s", curl_easy_strerror(cc));
    return 0;
}

static int set_tls(const rest_backend *rb, CURL *h)
{
    const daap__kubeconfig *cfg = &rb->cfg;

    if (!rb->tls)
        return 0;
    if (cfg->ca_pem.size > 0) {
        DAAP_TRY(set_blob(h, CURLOPT_CAINFO_BLOB, &cfg->ca_pem, 0));
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* trust this CA only, as kubectl does */
    }
    if (cfg->client_cert_pem.size > 0) {
        DAAP_TRY(set_blob(h, CURLOPT_SSLCERT_BLOB, &cfg->client_cert_pem, CURLOPT_SSLCERTTYPE));
        DAAP_TRY(set_blob(h, CURLOPT_SSLKEY_BLOB, &cfg->client_key_pem, CURLOPT_SSLKEYTYPE));
    }
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    if (rb->connect_to)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, rb->connect_to);
    if (rb->token) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, rb->token);
    }
    return 0;
}

/* The transport's per-attempt hook: the token may have rotated since the
 * last attempt; TLS material, SNI routing and the proxy are this backend's. */
static int configure(CURL *h, void *arg)
{
    rest_backend *rb = arg;

    DAAP_TRY(refresh_token(rb));
    if (rb->cfg.proxy_url)
        curl_easy_setopt(h, CURLOPT_PROXY, rb->cfg.proxy_url);
    return set_tls(rb, h);
}

/* Let the multi handle move the transfer on without waiting. */
static void pump(rest_watch *w)
{
    CURLMsg *msg;
    int running, left;

    curl_multi_perform(w->multi, &running);
    while ((msg = curl_multi_info_read(w->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE) {
            w->done = true;
            w->result = msg->data.result;
        }
}

/* Opening a watch: run until a 200's headers arrive (the stream then
 * stays attached) or the exchange ends (an error, with its body). */
static CURLcode perform_watch_open(daap__http_exchange *x, int64_t deadline_ms)
{
    rest_watch *w = x->user;

    w->done = false;
    w->result = CURLE_OK;
    curl_multi_add_handle(w->multi, x->easy);
    for (;;) {
        int64_t remaining;

        pump(w);
        if (w->done)
            break;
        if (x->headers_done && x->status == 200)
            return CURLE_OK;
        remaining = deadline_ms - daap__mono_ms();
        if (remaining <= 0) {
            w->result = CURLE_OPERATION_TIMEDOUT;
            break;
        }
        curl_multi_poll(w->multi, NULL, 0, (int)(remaining < 1000 ? remaining : 1000), NULL);
    }
    curl_multi_remove_handle(w->multi, x->easy);
    return w->result;
}

/* ---- errors */

/* A non-Status body (a proxy's HTML page) still says something useful. */
static daap_kube_object *status_of(const daap_buf *body)
{
    daap_kube_object *status = NULL;
    char snippet[201];
    size_t i, n = body->size < sizeof(snippet) - 1 ? body->size : sizeof(snippet) - 1;
    const char *kind;

    if (body->size > 0 && daap_kube_object_parse(&status, body->ptr, body->size) == 0
        && (kind = daap_kube_object_str(status, "kind")) && strcmp(kind, "Status") == 0)
        return status;
    daap_kube_object_free(status);
    daap_error_clear();
    if (n == 0 || daap_kube_object_parse(&status, "{}", 2) < 0)
        return NULL;
    for (i = 0; i < n; i++)
        snippet[i] = (body->ptr[i] >= 0x20 && body->ptr[i] < 0x7f) ? body->ptr[i] : ' ';
    snippet[n] = '\0';
    daap_kube_object_set_str(status, "message", snippet);
    return status;
}

static int http_error(const http_request *req, const daap__http_exchange *x)
{
    daap_kube_object *status = status_of(&x->body);
    int rc = daap__kube_status_error(x->status, status, req->what);

    daap_kube_object_free(status);
    return rc;
}

/* THE request: the transport's retry loop, then Kubernetes' answer. */
static int send_request(rest_backend *rb, const http_request *req, daap__http_exchange *x)
{
    daap__http_request hr = { req->verb, req->url, req->headers ? req->headers : rb->headers,
                              req->body, req->body_len, req->retry,
                              req->what, 0, x->sink != NULL, configure, rb };
    int rc = daap__transport_call(rb->http, &hr, x);

    if (rc == 0 && (x->status < 200 || x->status >= 300))
        rc = daap__transport_note_attempts(rb->http, http_error(req, x), x);
    return rc;
}

/* A plain call on a pooled handle; the body goes to `response`. */
static int call(rest_backend *rb, const http_request *req, daap_buf *response)
{
    daap__http_exchange x;
    int rc;

    memset(&x, 0, sizeof(x));
    rc = send_request(rb, req, &x);
    if (rc == 0 && response) {
        *response = x.body;
        memset(&x.body, 0, sizeof(x.body));
    }
    daap__http_exchange_dispose(rb->http, &x);
    return rc;
}

/* ---- URLs */

static int put_escaped(daap_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c))
            DAAP_TRY(daap__buf_putc(b, (char)c));
        else
            DAAP_TRY(daap__buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]));
    }
    return 0;
}

/* namespace_ NULL: every namespace (or a cluster-scoped kind). */
static int collection_url(daap_buf *url, const rest_backend *rb, const daap_kube_kind_info *info,
                          const char *namespace_)
{
    DAAP_TRY(daap__buf_printf(url, "%s%s", rb->base_url, info->api_prefix));
    if (info->namespaced && namespace_) {
        DAAP_TRY(daap__buf_puts(url, "/namespaces/"));
        DAAP_TRY(put_escaped(url, namespace_));
    }
    return daap__buf_printf(url, "/%s", info->plural);
}

static int object_url(daap_buf *url, const rest_backend *rb, const daap_kube_kind_info *info,
                      const daap_kube_ref *ref)
{
    DAAP_TRY(collection_url(url, rb, info, ref->namespace_));
    DAAP_TRY(daap__buf_putc(url, '/'));
    return put_escaped(url, ref->name);
}

static int add_query(daap_buf *url, const char *key, const char *value)
{
    DAAP_TRY(daap__buf_printf(url, "%c%s=", strchr(url->ptr, '?') ? '&' : '?', key));
    return put_escaped(url, value);
}

/* ---- operations */

static int parse_answer(daap_kube_object **out, const daap_buf *body, int kind, const char *what)
{
    if (daap_kube_object_parse(out, body->ptr, body->size) < 0)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_KUBE,
                              "%s: the API server's answer is not a JSON object", what);
    return kind ? daap__kube_object_set_kind(*out, kind) : 0;
}

/* A ref with the default namespace filled in for namespaced kinds. */
static int resolve_ref(daap_kube_ref *out, const rest_backend *rb, const daap_kube_ref *ref,
                       const daap_kube_kind_info **info)
{
    DAAP_ASSERT_ARG(ref && ref->name && *ref->name);
    if ((*info = daap_kube_kind_describe(ref->kind)) == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "unknown kube kind %d", ref->kind);
    *out = *ref;
    if (!(*info)->namespaced)
        out->namespace_ = NULL;
    else if (out->namespace_ == NULL)
        out->namespace_ = rb->cfg.namespace_;
    return 0;
}

static void describe_call(char *what, const char *verb, const daap_kube_ref *ref)
{
    char refs[DAAP__KUBE_REF_STRLEN];
    snprintf(what, WHAT_MAX, "%s %s", verb, daap__kube_ref_string(refs, sizeof(refs), ref));
}

static int rest_create(daap_kube_object **out, daap_kube_backend *be, const daap_kube_object *obj)
{
    rest_backend *rb = (rest_backend *)be;
    const daap_kube_kind_info *info;
    daap_kube_ref ref = { 0 };
    daap_buf url = DAAP_BUF_INIT, body = DAAP_BUF_INIT, answer = DAAP_BUF_INIT;
    char what[WHAT_MAX];
    int rc;

    if (out)
        *out = NULL;
    DAAP_ASSERT_ARG(obj);
    DAAP_TRY(ref.kind = daap__kube_kind_of(obj));
    ref.name = daap_kube_object_str(obj, "metadata.name");
    ref.namespace_ = daap_kube_object_str(obj, "metadata.namespace");
    if (ref.name == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "cannot create an object without metadata.name");
    DAAP_TRY(resolve_ref(&ref, rb, &ref, &info));
    describe_call(what, "create", &ref);
    if ((rc = collection_url(&url, rb, info, ref.namespace_)) == 0
        && (rc = add_query(&url, "fieldManager", "daap")) == 0
        && (rc = add_query(&url, "fieldValidation", "Strict")) == 0
        && (rc = daap_kube_object_to_json(&body, obj)) == 0) {
        http_request req = { "POST", url.ptr, body.ptr, body.size, DAAP__RETRY_REFUSED, what };
        rc = call(rb, &req, out ? &answer : NULL);
    }
    if (rc == 0 && out)
        rc = parse_answer(out, &answer, ref.kind, what);
    daap_buf_dispose(&url);
    daap_buf_dispose(&body);
    daap_buf_dispose(&answer);
    return rc;
}

static int rest_get(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref)
{
    rest_backend *rb = (rest_backend *)be;
    const daap_kube_kind_info *info;
    daap_kube_ref r;
    daap_buf url = DAAP_BUF_INIT, answer = DAAP_BUF_INIT;
    char what[WHAT_MAX];
    int rc;

    *out = NULL;
    DAAP_TRY(resolve_ref(&r, rb, ref, &info));
    describe_call(what, "get", &r);
    if ((rc = object_url(&url, rb, info, &r)) == 0) {
        http_request req = { "GET", url.ptr, NULL, 0, DAAP__RETRY_SAFE, what };
        rc = call(rb, &req, &answer);
    }
    if (rc == 0)
        rc = parse_answer(out, &answer, r.kind, what);
    daap_buf_dispose(&url);
    daap_buf_dispose(&answer);
    return rc;
}

/* A merge patch gives the same object however often it is sent, so it is
 * retried like a read (ADR 0003). */
static int rest_patch(daap_kube_object **out, daap_kube_backend *be, const daap_kube_ref *ref,
                      const char *patch, size_t len)
{
    rest_backend *rb = (rest_backend *)be;
    const daap_kube_kind_info *info;
    daap_kube_ref r;
    daap_buf url = DAAP_BUF_INIT, answer = DAAP_BUF_INIT;
    char what[WHAT_MAX];
    int rc;

    if (out)
        *out = NULL;
    DAAP_ASSERT_ARG(ref && patch);
    DAAP_TRY(resolve_ref(&r, rb, ref, &info));
    describe_call(what, "patch", &r);
    if ((rc = object_url(&url, rb, info, &r)) == 0
        && (rc = add_query(&url, "fieldManager", "daap")) == 0
        && (rc = add_query(&url, "fieldValidation", "Strict")) == 0) {
        http_request req = { "PATCH", url.ptr, patch, len, DAAP__RETRY_SAFE, what, rb->patch_headers };
        rc = call(rb, &req, out ? &answer : NULL);
    }
    if (rc == 0 && out)
        rc = parse_answer(out, &answer, r.kind, what);
    daap_buf_dispose(&url);
    daap_buf_dispose(&answer);
    return rc;
}

static int rest_remove(daap_kube_backend *be, const daap_kube_ref *ref)
{
    static const char background[] = "{\"propagationPolicy\":\"Background\"}";
    rest_backend *rb = (rest_backend *)be;
    const daap_kube_kind_info *info;
    daap_kube_ref r;
    daap_buf url = DAAP_BUF_INIT;
    char what[WHAT_MAX];
    int rc;

    DAAP_TRY(resolve_ref(&r, rb, ref, &info));
    describe_call(what, "delete", &r);
    if ((rc = object_url(&url, rb, info, &r)) == 0) {
        http_request req = { "DELETE", url.ptr, background, sizeof(background) - 1, DAAP__RETRY_SAFE, what };
        rc = call(rb, &req, NULL);
    }
    daap_buf_dispose(&url);
    return rc;
}

/* What a list keeps of each item: the item itself, or what `map` makes of it. */
typedef struct {
    daap_kube_map_fn map;
    void            *arg;
} list_keep;

static int keep_item(daap_kube_list *into, daap_kube_object *item, const list_keep *keep)
{
    daap_kube_object *kept = item;

    if (keep->map)
        DAAP_TRY(keep->map(&kept, item, keep->arg));
    return kept ? daap_kube_list_push(into, kept) : 0;
}

/* Append a page's items to `into`; keep the first page's resourceVersion
 * (the snapshot every page belongs to) and hand back the continue token. */
static int take_page(daap_kube_list *into, char **cont, const daap_buf *body, int kind, const char *what,
                     const list_keep *keep)
{
    daap_kube_object *page;
    json_object *items;
    const char *rv, *next;
    size_t i, n;
    int rc = 0;

    *cont = NULL;
    DAAP_TRY(parse_answer(&page, body, 0, what));
    rv = daap_kube_object_str(page, "metadata.resourceVersion");
    next = daap_kube_object_str(page, "metadata.continue");
    if ((rv && into->resource_version == NULL && (into->resource_version = daap__strdup(rv)) == NULL)
        || (next && *next && (*cont = daap__strdup(next)) == NULL))
        rc = daap_error_set_oom();
    n = json_object_object_get_ex(daap__kube_object_json(page), "items", &items)
        && json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    for (i = 0; rc == 0 && i < n; i++) {
        daap_kube_object *item;

        rc = daap__kube_object_wrap(&item, json_object_get(json_object_array_get_idx(items, i)));
        if (rc == 0 && (rc = daap__kube_object_set_kind(item, kind)) < 0)
            daap_kube_object_free(item);
        else if (rc == 0)
            rc = keep_item(into, item, keep);
    }
    daap_kube_object_free(page);
    return rc;
}

static int list_pages(daap_kube_list *into, rest_backend *rb, int kind, const char *namespace_,
                      const char *label_selector, const char *what, const list_keep *keep)
{
    const daap_kube_kind_info *info = daap_kube_kind_describe(kind);
    char *cont = NULL;
    int rc;

    do {
        daap_buf url = DAAP_BUF_INIT, answer = DAAP_BUF_INIT;

        if ((rc = collection_url(&url, rb, info, namespace_)) == 0
            && (rc = add_query(&url, "limit", LIST_LIMIT)) == 0
            && (!label_selector || (rc = add_query(&url, "labelSelector", label_selector)) == 0)
            && (!cont || (rc = add_query(&url, "continue", cont)) == 0)) {
            http_request req = { "GET", url.ptr, NULL, 0, DAAP__RETRY_SAFE, what };
            rc = call(rb, &req, &answer);
        }
        daap__free(cont);
        cont = NULL;
        if (rc == 0)
            rc = take_page(into, &cont, &answer, kind, what, keep);
        daap_buf_dispose(&url);
        daap_buf_dispose(&answer);
    } while (rc == 0 && cont);
    daap__free(cont);
    return rc;
}

static int move_items(daap_kube_list *to, daap_kube_list *from)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < from->count; i++) {
        daap_kube_object *obj = from->items[i];
        from->items[i] = NULL;
        if (rc == 0)
            rc = daap_kube_list_push(to, obj); /* frees obj on failure */
        else
            daap_kube_object_free(obj);
    }
    from->count = 0;
    if (rc == 0) {
        daap__free(to->resource_version);
        to->resource_version = from->resource_version;
        from->resource_version = NULL;
    }
    return rc;
}

/* Pages of LIST_LIMIT, each parsed and mapped before the next is asked
 * for: memory is one page of whole objects plus what map keeps. */
static int rest_list_map(daap_kube_list *out, daap_kube_backend *be, int kind, const char *namespace_,
                         const char *label_selector, daap_kube_map_fn map, void *arg)
{
    rest_backend *rb = (rest_backend *)be;
    const list_keep keep = { map, arg };
    const daap_kube_kind_info *info = daap_kube_kind_describe(kind);
    daap_kube_list all = { 0 };
    char what[WHAT_MAX];
    int rc, restarts;

    DAAP_ASSERT_ARG(out);
    if (info == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "unknown kube kind %d", kind);
    snprintf(what, sizeof(what), "list %s in %s%s", info->plural, namespace_ ? "namespace " : "all namespaces",
             namespace_ ? namespace_ : "");
    /* A continue token that expired mid-list (410) means: start over. */
    for (restarts = 0;; restarts++) {
        rc = list_pages(&all, rb, kind, namespace_, label_selector, what, &keep);
        if (rc != DAAP_EEXPIRED || restarts == LIST_RESTARTS)
            break;
        daap_kube_list_dispose(&all);
    }
    if (rc == 0)
        rc = move_items(out, &all);
    daap_kube_list_dispose(&all);
    return rc;
}

static int rest_list(daap_kube_list *out, daap_kube_backend *be, int kind, const char *namespace_,
                     const char *label_selector)
{
    return rest_list_map(out, be, kind, namespace_, label_selector, NULL, NULL);
}

static int rest_ping(daap_kube_backend *be)
{
    rest_backend *rb = (rest_backend *)be;
    daap_buf url = DAAP_BUF_INIT;
    int rc;

    if ((rc = daap__buf_printf(&url, "%s/version", rb->base_url)) == 0) {
        http_request req = { "GET", url.ptr, NULL, 0, DAAP__RETRY_NEVER, "ping" };
        rc = call(rb, &req, NULL);
    }
    daap_buf_dispose(&url);
    return rc;
}

/* ---- watches: a handle of their own each, driven through curl multi */

static void rest_watch_free(daap_kube_watch *handle)
{
    rest_watch *w = (rest_watch *)handle;

    if (w == NULL)
        return;
    if (w->multi && w->x.easy)
        curl_multi_remove_handle(w->multi, w->x.easy);
    curl_multi_cleanup(w->multi);
    curl_easy_cleanup(w->x.easy);
    daap__watchparse_free(w->stream);
    daap_buf_dispose(&w->x.body);
    daap__free(w);
}

static int watch_url(daap_buf *url, const rest_backend *rb, int kind, const char *namespace_,
                     const char *label_selector, const char *resource_version)
{
    DAAP_TRY(collection_url(url, rb, daap_kube_kind_describe(kind), namespace_));
    DAAP_TRY(add_query(url, "watch", "true"));
    DAAP_TRY(add_query(url, "allowWatchBookmarks", "true"));
    if (resource_version && *resource_version)
        DAAP_TRY(add_query(url, "resourceVersion", resource_version));
    if (label_selector && *label_selector)
        DAAP_TRY(add_query(url, "labelSelector", label_selector));
    return 0;
}

static int rest_watch_open(daap_kube_watch **out, daap_kube_backend *be, int kind, const char *namespace_,
                           const char *label_selector, const char *resource_version)
{
    rest_backend *rb = (rest_backend *)be;
    const daap_kube_kind_info *info = daap_kube_kind_describe(kind);
    daap_buf url = DAAP_BUF_INIT;
    rest_watch *w;
    int rc;

    *out = NULL;
    if (info == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE, "unknown kube kind %d", kind);
    DAAP_ERROR_CHECK_ALLOC(w = daap__calloc(1, sizeof(*w)));
    w->kind = kind;
    snprintf(w->what, sizeof(w->what), "watch %s in %s%s", info->plural,
             namespace_ ? "namespace " : "all namespaces", namespace_ ? namespace_ : "");
    w->x.easy = curl_easy_init();
    w->x.sink = watch_sink;
    w->x.perform = perform_watch_open;
    w->x.user = w;
    w->multi = curl_multi_init();
    if (w->x.easy == NULL || w->multi == NULL)
        rc = daap_error_set_oom();
    else if ((rc = daap__watchparse_new(&w->stream)) == 0
             && (rc = watch_url(&url, rb, kind, namespace_, label_selector, resource_version)) == 0) {
        http_request req = { "GET", url.ptr, NULL, 0, DAAP__RETRY_SAFE, w->what };
        rc = send_request(rb, &req, &w->x);
    }
    daap_buf_dispose(&url);
    if (rc < 0) {
        rest_watch_free((daap_kube_watch *)w);
        return rc;
    }
    *out = (daap_kube_watch *)w;
    return 0;
}

/* A server ERROR event or a corrupt stream ends the watch. */
static int watch_failed(rest_watch *w, int rc)
{
    char msg[800];

    w->ended = true;
    if (rc != DAAP_EINVALID)
        return rc;
    snprintf(msg, sizeof(msg), "%s", daap_error_last()->message);
    return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_KUBE, "%s: %s", w->what, msg);
}

static int rest_watch_next(daap_kube_event *out, daap_kube_watch *handle, int32_t timeout_ms)
{
    rest_watch *w = (rest_watch *)handle;
    int64_t deadline = daap__mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    out->type = 0;
    out->object = NULL;
    if (w->ended)
        return DAAP_ITEROVER;
    for (;;) {
        int64_t remaining;
        int rc;

        if (w->paused && daap__watchparse_queued(w->stream) < WATCH_QUEUE_MAX / 2) {
            w->paused = false;
            curl_easy_pause(w->x.easy, CURLPAUSE_CONT); /* may deliver held data at once */
        }
        pump(w);
        rc = daap__watchparse_pop(out, w->stream);
        if (rc == 0)
            return daap__kube_object_set_kind(out->object, w->kind);
        if (rc != DAAP_ITEROVER)
            return watch_failed(w, rc);
        if (w->done) { /* closed by the server or dropped: resume from the last RV */
            w->ended = true;
            return DAAP_ITEROVER;
        }
        remaining = deadline - daap__mono_ms();
        if (remaining <= 0)
            return daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_KUBE, "%s: no event within %d ms",
                                  w->what, (int)timeout_ms);
        curl_multi_poll(w->multi, NULL, 0, (int)(remaining < INT_MAX ? remaining : INT_MAX), NULL);
    }
}

/* ---- construction */

static void rest_free(daap_kube_backend *be)
{
    rest_backend *rb = (rest_backend *)be;

    if (rb == NULL)
        return;
    daap__transport_free(rb->http);
    curl_slist_free_all(rb->headers);
    curl_slist_free_all(rb->patch_headers);
    curl_slist_free_all(rb->connect_to);
    daap__free(rb->base_url);
    replace_token(rb, NULL);
    daap__kubeconfig_dispose(&rb->cfg);
    daap__free(rb);
}

/* With tls-server-name the URL carries that name (so SNI and verification
 * use it) and CURLOPT_CONNECT_TO sends the connection to the real host. */
static int endpoint_init(rest_backend *rb)
{
    CURLU *u;
    char *host = NULL, *port = NULL, *url = NULL;
    daap_buf entry = DAAP_BUF_INIT;
    int rc = 0;

    if (!rb->tls || rb->cfg.tls_server_name == NULL) {
        rb->base_url = daap__strdup(rb->cfg.server);
        return rb->base_url ? 0 : daap_error_set_oom();
    }
    DAAP_ERROR_CHECK_ALLOC(u = curl_url());
    if (curl_url_set(u, CURLUPART_URL, rb->cfg.server, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK
        || curl_url_set(u, CURLUPART_HOST, rb->cfg.tls_server_name, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
        rc = daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG, "%s: server %s or tls-server-name %s is not usable",
                            rb->cfg.origin, rb->cfg.server, rb->cfg.tls_server_name);
    if (rc == 0 && (rc = daap__buf_printf(&entry, "%s:%s:%s:%s", rb->cfg.tls_server_name, port, host, port)) == 0
        && (rb->connect_to = curl_slist_append(NULL, entry.ptr)) == NULL)
        rc = daap_error_set_oom();
    if (rc == 0) {
        size_t n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
            n--;
        if ((rb->base_url = daap__strndup(url, n)) == NULL)
            rc = daap_error_set_oom();
    }
    daap_buf_dispose(&entry);
    curl_free(host);
    curl_free(port);
    curl_free(url);
    curl_url_cleanup(u);
    return rc;
}

static int setup(rest_backend *rb, const daap_kube_rest_options *opts)
{
    static const char *const headers[] = { "Accept: application/json", "Content-Type: application/json", "Expect:" };
    static const char *const patch_headers[] = { "Accept: application/json",
                                                 "Content-Type: application/merge-patch+json", "Expect:" };
    size_t i;

    daap__transport_options to = { DAAP_ERRCLASS_KUBE, "the Kubernetes API", NULL, NULL, 0, 0, BODY_MAX };

    to.server = rb->cfg.server;
    to.cert_origin = rb->cfg.origin;
    to.timeout_ms = opts ? opts->timeout_ms : 0;
    to.max_retries = opts ? opts->max_retries : 0;
    rb->tls = strncmp(rb->cfg.server, "https://", 8) == 0;
    DAAP_TRY(daap__transport_new(&rb->http, &to));
    for (i = 0; i < DAAP_ARRAY_SIZE(headers); i++) {
        struct curl_slist *l = curl_slist_append(rb->headers, headers[i]);
        DAAP_ERROR_CHECK_ALLOC(l);
        rb->headers = l;
    }
    for (i = 0; i < DAAP_ARRAY_SIZE(patch_headers); i++) {
        struct curl_slist *l = curl_slist_append(rb->patch_headers, patch_headers[i]);
        DAAP_ERROR_CHECK_ALLOC(l);
        rb->patch_headers = l;
    }
    DAAP_TRY(endpoint_init(rb));
    if (!rb->tls) /* kubectl sends no credentials over http, nor do we */
        return 0;
    if (rb->cfg.token && !rb->cfg.token_file)
        DAAP_ERROR_CHECK_ALLOC(rb->token = daap__strdup(rb->cfg.token));
    return refresh_token(rb);
}

int daap_kube_rest_new(daap_kube_backend **out, const daap_kube_rest_options *opts)
{
    rest_backend *rb;
    int rc;

    DAAP_ASSERT_ARG(out);
    *out = NULL;
    DAAP_CHECK_VERSION(opts, DAAP_KUBE_REST_OPTIONS_VERSION, "daap_kube_rest_options");
    if (opts && opts->timeout_ms < 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "timeout_ms must not be negative");
    DAAP_ERROR_CHECK_ALLOC(rb = daap__calloc(1, sizeof(*rb)));
    rb->parent.version = DAAP_KUBE_BACKEND_VERSION;
    rb->parent.name = "rest";
    rb->parent.caps = DAAP_KUBE_CAP_WATCH;
    rb->parent.create = rest_create;
    rb->parent.get = rest_get;
    rb->parent.remove = rest_remove;
    rb->parent.list = rest_list;
    rb->parent.list_map = rest_list_map;
    rb->parent.free = rest_free;
    rb->parent.watch = rest_watch_open;
    rb->parent.watch_next = rest_watch_next;
    rb->parent.watch_free = rest_watch_free;
    rb->parent.ping = rest_ping;
    rb->parent.patch = rest_patch;
    rc = daap__kubeconfig_load(&rb->cfg, opts ? opts->kubeconfig : NULL, opts ? opts->context : NULL,
                               opts ? opts->flags : 0);
    if (rc == 0)
        rc = setup(rb, opts);
    if (rc < 0) {
        rest_free(&rb->parent);
        return rc;
    }
    *out = &rb->parent;
    return 0;
}

const char *daap_kube_rest_namespace(const daap_kube_backend *be)
{
    return be && be->free == rest_free ? ((const rest_backend *)be)->cfg.namespace_ : NULL;
}
