/* The Kubernetes REST backend on libcurl.
 *
 * Every request goes through run(): one retry loop, one place that maps
 * transport failures and Kubernetes Status bodies to daap codes.
 *
 * Time: timeout_ms bounds a whole call, retries and back-off included; the
 * only sleeping the library does is that back-off, inside the call the
 * caller made.
 *
 * Retries (up to max_retries, capped exponential back-off with jitter, or
 * the server's Retry-After):
 * - GET, LIST and DELETE are safe to repeat: they are retried after
 *   connection failures, 429 and 500/502/503/504. A repeated DELETE whose
 *   first try landed reports DAAP_ENOTFOUND, which callers treat as "gone".
 * - POST (create) is retried only when the server provably did not act on
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

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <json-c/json.h>

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES    4
#define CONNECT_TIMEOUT_MS 5000
#define BACKOFF_BASE_MS    200
#define BACKOFF_CAP_MS     5000
#define RETRY_AFTER_CAP_MS 60000
#define BODY_MAX           (64u * 1024 * 1024)
#define LIST_LIMIT         "500"
#define WATCH_QUEUE_MAX    64  /* parsed events a watch holds before it stops reading */
#define LIST_RESTARTS      2
#define WHAT_MAX           (DAAP__KUBE_REF_STRLEN + 64)

typedef struct {
    daap_kube_backend  parent;
    daap__kubeconfig   cfg;
    CURL              *easy;       /* reused by every call: keeps the connection alive */
    struct curl_slist *headers;
    struct curl_slist *connect_to; /* tls-server-name: the URL names it, this reaches the host */
    char              *base_url;
    bool               tls;        /* credentials never travel over plain http */
    int32_t            timeout_ms;
    int32_t            max_retries;
    char              *token;      /* the bearer token in use */
    struct stat        token_stat; /* of cfg.token_file when token was read */
    uint64_t           rng;        /* back-off jitter */
} rest_backend;

/* One HTTP exchange on an easy handle; watches add a multi handle and a
 * stream parser. */
typedef struct {
    CURL             *easy;
    CURLM            *multi;
    daap__watchparse *stream;  /* a 200 body goes here instead of `body` */
    daap_buf          body;
    long              status;
    bool              headers_done, done, too_big;
    bool              paused;  /* a watch stopped reading: its queue is full */
    CURLcode          result;  /* when done (multi) */
    int64_t           retry_after_ms;
    char              errbuf[CURL_ERROR_SIZE];
} transfer;

typedef enum {
    RETRY_SAFE,  /* GET, LIST, DELETE */
    RETRY_UNSENT, /* POST: only when the server provably did not act */
    RETRY_NEVER   /* probes: a readiness check must answer now, not after back-off */
} retry_policy;

typedef struct {
    const char  *verb;
    const char  *url;
    const char  *body; /* NULL: none */
    size_t       body_len;
    retry_policy retry;
    const char  *what; /* "create Cluster team-a/daap-foo", for messages */
} http_request;

typedef struct {
    transfer t;
    int      kind;
    bool     ended;
    char     what[WHAT_MAX];
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

static int64_t parse_retry_after(const char *value, size_t len)
{
    char text[64];
    char *end;
    long long secs;
    time_t when;

    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && strchr(" \t\r\n", value[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, value, len);
    text[len] = '\0';
    secs = strtoll(text, &end, 10);
    if (*end != '\0') { /* an HTTP date */
        if ((when = curl_getdate(text, NULL)) < 0)
            return -1;
        secs = (long long)(when - time(NULL));
    }
    if (secs < 0)
        secs = 0;
    return secs > RETRY_AFTER_CAP_MS / 1000 ? RETRY_AFTER_CAP_MS : secs * 1000;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    transfer *t = arg;
    size_t len = size * n;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        t->headers_done = false; /* a new response (after a 1xx) */
        t->retry_after_ms = -1;
    } else if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
        t->retry_after_ms = parse_retry_after(line + 12, len - 12);
    } else if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
        t->headers_done = t->status >= 200;
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    transfer *t = arg;
    size_t len = size * n;

    if (t->stream && t->status == 200) {
        /* Parsed events wait in memory until the caller pops them; past a
         * few, stop reading and let TCP hold the rest back, or a busy
         * reconciler buffers the API server's whole backlog (bench
         * figure 4: hundreds of MiB during a burst of creates). */
        if (daap__watchparse_queued(t->stream) >= WATCH_QUEUE_MAX) {
            t->paused = true;
            return CURL_WRITEFUNC_PAUSE;
        }
        daap__watchparse_feed(t->stream, data, len); /* corruption surfaces at pop */
        return len;
    }
    if (t->body.size + len > BODY_MAX) {
        t->too_big = true;
        return 0;
    }
    return daap__buf_put(&t->body, data, len) == 0 ? len : 0;
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

static int prepare(rest_backend *rb, transfer *t, const http_request *req, int64_t remaining_ms)
{
    CURL *h = t->easy;

    curl_easy_reset(h); /* keeps the connection cache */
    DAAP_TRY(refresh_token(rb));
    t->status = 0;
    t->headers_done = t->done = t->too_big = false;
    t->result = CURLE_OK;
    t->retry_after_ms = -1;
    t->errbuf[0] = '\0';
    daap__buf_clear(&t->body);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libdaap/" DAAP_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, rb->headers);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(remaining_ms < CONNECT_TIMEOUT_MS ? remaining_ms : CONNECT_TIMEOUT_MS));
    if (t->stream == NULL) /* a watch runs for as long as the caller keeps it */
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)remaining_ms);
    if (rb->cfg.proxy_url)
        curl_easy_setopt(h, CURLOPT_PROXY, rb->cfg.proxy_url);
    if (strcmp(req->verb, "GET") != 0 && strcmp(req->verb, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->verb);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    return set_tls(rb, h);
}

typedef CURLcode (*perform_fn)(transfer *t, int64_t deadline_ms);

static CURLcode perform_call(transfer *t, int64_t deadline_ms)
{
    (void)deadline_ms; /* CURLOPT_TIMEOUT_MS holds it */
    return curl_easy_perform(t->easy);
}

/* Let the multi handle move the transfer on without waiting. */
static void pump(transfer *t)
{
    CURLMsg *msg;
    int running, left;

    curl_multi_perform(t->multi, &running);
    while ((msg = curl_multi_info_read(t->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE) {
            t->done = true;
            t->result = msg->data.result;
        }
}

/* Opening a watch: run until a 200's headers arrive (the stream then
 * stays attached) or the exchange ends (an error, with its body). */
static CURLcode perform_watch_open(transfer *t, int64_t deadline_ms)
{
    curl_multi_add_handle(t->multi, t->easy);
    for (;;) {
        int64_t remaining;

        pump(t);
        if (t->done)
            break;
        if (t->headers_done && t->status == 200)
            return CURLE_OK;
        remaining = deadline_ms - daap__mono_ms();
        if (remaining <= 0) {
            t->result = CURLE_OPERATION_TIMEDOUT;
            break;
        }
        curl_multi_poll(t->multi, NULL, 0, (int)(remaining < 1000 ? remaining : 1000), NULL);
    }
    curl_multi_remove_handle(t->multi, t->easy);
    return t->result;
}

/* ---- retries */

static bool nothing_sent(CURLcode cc)
{
    return cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_RESOLVE_PROXY
        || cc == CURLE_COULDNT_CONNECT;
}

static bool connection_broke(CURLcode cc)
{
    return cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING
        || cc == CURLE_PARTIAL_FILE || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

static bool should_retry(retry_policy policy, CURLcode cc, long status)
{
    if (policy == RETRY_NEVER)
        return false;
    if (cc != CURLE_OK)
        return nothing_sent(cc) || (policy == RETRY_SAFE && connection_broke(cc));
    if (status == 429 || status == 503) /* rate limited or not served: not acted on */
        return true;
    return policy == RETRY_SAFE && (status == 500 || status == 502 || status == 504);
}

static uint64_t next_random(rest_backend *rb)
{
    rb->rng ^= rb->rng << 13;
    rb->rng ^= rb->rng >> 7;
    rb->rng ^= rb->rng << 17;
    return rb->rng;
}

/* Retry-After when the server gave one; else "equal jitter": a random
 * point in the upper half of the capped exponential step. */
static int64_t retry_delay(rest_backend *rb, int attempt, int64_t retry_after_ms)
{
    int64_t step = BACKOFF_BASE_MS << (attempt < 10 ? attempt : 10);

    if (retry_after_ms >= 0)
        return retry_after_ms;
    if (step > BACKOFF_CAP_MS)
        step = BACKOFF_CAP_MS;
    return step / 2 + (int64_t)(next_random(rb) % (uint64_t)(step / 2 + 1));
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- errors */

static bool is_tls_verification(CURLcode cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE
        || cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_INVALIDCERTSTATUS
        || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

static int transport_error(const rest_backend *rb, const http_request *req, const transfer *t, CURLcode cc)
{
    const char *detail = t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc);

    if (is_tls_verification(cc)) /* not retryable and not "down": nobody can be trusted */
        return daap_error_set(DAAP_EAUTH, DAAP_ERRCLASS_KUBE,
                              "TLS certificate verification failed for %s: %s", rb->cfg.server, detail);
    if (cc == CURLE_SSL_CERTPROBLEM)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_KUBE,
                              "%s: the client certificate or key of %s cannot be used: %s",
                              req->what, rb->cfg.origin, detail);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_KUBE, "%s: no answer from %s within %d ms",
                              req->what, rb->cfg.server, (int)rb->timeout_ms);
    if (t->too_big)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_KUBE, "%s: the answer is larger than %u MiB",
                              req->what, BODY_MAX >> 20);
    return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_KUBE,
                          "%s: cannot reach the Kubernetes API at %s: %s", req->what, rb->cfg.server, detail);
}

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

static int http_error(const http_request *req, const transfer *t)
{
    daap_kube_object *status = status_of(&t->body);
    int rc = daap__kube_status_error(t->status, status, req->what);

    daap_kube_object_free(status);
    return rc;
}

static int note_attempts(int rc, int attempts)
{
    char msg[900];

    if (attempts < 2)
        return rc;
    snprintf(msg, sizeof(msg), "%s", daap_error_last()->message);
    return daap_error_set(rc, DAAP_ERRCLASS_KUBE, "%s (after %d attempts)", msg, attempts);
}

/* THE request loop. */
static int run(rest_backend *rb, const http_request *req, transfer *t, perform_fn perform)
{
    int64_t deadline = daap__mono_ms() + rb->timeout_ms;
    CURLcode cc;
    int attempt;

    for (attempt = 0;; attempt++) {
        int64_t delay;

        DAAP_TRY(prepare(rb, t, req, deadline - daap__mono_ms()));
        cc = perform(t, deadline);
        if (cc == CURLE_OK && t->status >= 200 && t->status < 300)
            return 0;
        if (attempt >= rb->max_retries || !should_retry(req->retry, cc, t->status))
            break;
        delay = retry_delay(rb, attempt, t->retry_after_ms);
        if (daap__mono_ms() + delay >= deadline)
            break;
        sleep_ms(delay);
    }
    return note_attempts(cc != CURLE_OK ? transport_error(rb, req, t, cc) : http_error(req, t),
                         attempt + 1);
}

/* A plain call on the backend's reused handle; the body goes to `response`. */
static int call(rest_backend *rb, const http_request *req, daap_buf *response)
{
    transfer t;
    int rc;

    memset(&t, 0, sizeof(t));
    t.easy = rb->easy;
    rc = run(rb, req, &t, perform_call);
    if (rc == 0 && response) {
        *response = t.body;
        memset(&t.body, 0, sizeof(t.body));
    }
    daap_buf_dispose(&t.body);
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
        http_request req = { "POST", url.ptr, body.ptr, body.size, RETRY_UNSENT, what };
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
        http_request req = { "GET", url.ptr, NULL, 0, RETRY_SAFE, what };
        rc = call(rb, &req, &answer);
    }
    if (rc == 0)
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
        http_request req = { "DELETE", url.ptr, background, sizeof(background) - 1, RETRY_SAFE, what };
        rc = call(rb, &req, NULL);
    }
    daap_buf_dispose(&url);
    return rc;
}

/* Append a page's items to `into`; keep the first page's resourceVersion
 * (the snapshot every page belongs to) and hand back the continue token. */
static int take_page(daap_kube_list *into, char **cont, const daap_buf *body, int kind, const char *what)
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
            rc = daap_kube_list_push(into, item);
    }
    daap_kube_object_free(page);
    return rc;
}

static int list_pages(daap_kube_list *into, rest_backend *rb, int kind, const char *namespace_,
                      const char *label_selector, const char *what)
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
            http_request req = { "GET", url.ptr, NULL, 0, RETRY_SAFE, what };
            rc = call(rb, &req, &answer);
        }
        daap__free(cont);
        cont = NULL;
        if (rc == 0)
            rc = take_page(into, &cont, &answer, kind, what);
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

static int rest_list(daap_kube_list *out, daap_kube_backend *be, int kind, const char *namespace_,
                     const char *label_selector)
{
    rest_backend *rb = (rest_backend *)be;
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
        rc = list_pages(&all, rb, kind, namespace_, label_selector, what);
        if (rc != DAAP_EEXPIRED || restarts == LIST_RESTARTS)
            break;
        daap_kube_list_dispose(&all);
    }
    if (rc == 0)
        rc = move_items(out, &all);
    daap_kube_list_dispose(&all);
    return rc;
}

static int rest_ping(daap_kube_backend *be)
{
    rest_backend *rb = (rest_backend *)be;
    daap_buf url = DAAP_BUF_INIT;
    int rc;

    if ((rc = daap__buf_printf(&url, "%s/version", rb->base_url)) == 0) {
        http_request req = { "GET", url.ptr, NULL, 0, RETRY_NEVER, "ping" };
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
    if (w->t.multi && w->t.easy)
        curl_multi_remove_handle(w->t.multi, w->t.easy);
    curl_multi_cleanup(w->t.multi);
    curl_easy_cleanup(w->t.easy);
    daap__watchparse_free(w->t.stream);
    daap_buf_dispose(&w->t.body);
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
    w->t.easy = curl_easy_init();
    w->t.multi = curl_multi_init();
    if (w->t.easy == NULL || w->t.multi == NULL)
        rc = daap_error_set_oom();
    else if ((rc = daap__watchparse_new(&w->t.stream)) == 0
             && (rc = watch_url(&url, rb, kind, namespace_, label_selector, resource_version)) == 0) {
        http_request req = { "GET", url.ptr, NULL, 0, RETRY_SAFE, w->what };
        rc = run(rb, &req, &w->t, perform_watch_open);
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

        if (w->t.paused && daap__watchparse_queued(w->t.stream) < WATCH_QUEUE_MAX / 2) {
            w->t.paused = false;
            curl_easy_pause(w->t.easy, CURLPAUSE_CONT); /* may deliver held data at once */
        }
        pump(&w->t);
        rc = daap__watchparse_pop(out, w->t.stream);
        if (rc == 0)
            return daap__kube_object_set_kind(out->object, w->kind);
        if (rc != DAAP_ITEROVER)
            return watch_failed(w, rc);
        if (w->t.done) { /* closed by the server or dropped: resume from the last RV */
            w->ended = true;
            return DAAP_ITEROVER;
        }
        remaining = deadline - daap__mono_ms();
        if (remaining <= 0)
            return daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_KUBE, "%s: no event within %d ms",
                                  w->what, (int)timeout_ms);
        curl_multi_poll(w->t.multi, NULL, 0, (int)(remaining < INT_MAX ? remaining : INT_MAX), NULL);
    }
}

/* ---- construction */

static void rest_free(daap_kube_backend *be)
{
    rest_backend *rb = (rest_backend *)be;

    if (rb == NULL)
        return;
    curl_easy_cleanup(rb->easy);
    curl_slist_free_all(rb->headers);
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
    size_t i;

    rb->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    rb->max_retries = !opts || opts->max_retries == 0 ? DEFAULT_RETRIES
                    : opts->max_retries < 0 ? 0 : opts->max_retries;
    rb->rng = (uint64_t)daap__now_ms() ^ ((uint64_t)(uintptr_t)rb << 16) ^ 0x9e3779b97f4a7c15ULL;
    rb->tls = strncmp(rb->cfg.server, "https://", 8) == 0;
    DAAP_ERROR_CHECK_ALLOC(rb->easy = curl_easy_init());
    for (i = 0; i < DAAP_ARRAY_SIZE(headers); i++) {
        struct curl_slist *l = curl_slist_append(rb->headers, headers[i]);
        DAAP_ERROR_CHECK_ALLOC(l);
        rb->headers = l;
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
    rb->parent.free = rest_free;
    rb->parent.watch = rest_watch_open;
    rb->parent.watch_next = rest_watch_next;
    rb->parent.watch_free = rest_watch_free;
    rb->parent.ping = rest_ping;
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
