/* The one HTTP client: a pool of curl handles, the retry loop, the error
 * mapping. Which requests are repeated after what is ADR 0003. */
#include "transport/transport.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES    4
#define DEFAULT_BODY_MAX   (16u * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 5000
#define BACKOFF_BASE_MS    200
#define BACKOFF_CAP_MS     5000
#define RETRY_AFTER_CAP_MS 60000
#define POOL_IDLE_MAX      16   /* idle handles kept; more are closed on release */

struct daap__transport {
    daap__transport_options opts;  /* strings below are our copies */
    pthread_mutex_t         lock;  /* guards idle[] */
    CURL                   *idle[POOL_IDLE_MAX];
    size_t                  idle_count;
};

/* ---- the transport and its pool */

static int copy_str(const char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = daap__strdup(src);
    return *dst ? 0 : daap_error_set_oom();
}

int daap__transport_new(daap__transport **out, const daap__transport_options *opts)
{
    daap__transport *t;
    int rc;

    *out = NULL;
    DAAP_ERROR_CHECK_ALLOC(t = daap__calloc(1, sizeof(*t)));
    t->opts = *opts;
    if (t->opts.timeout_ms <= 0)
        t->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (t->opts.max_retries == 0)
        t->opts.max_retries = DEFAULT_RETRIES;
    else if (t->opts.max_retries < 0)
        t->opts.max_retries = 0;
    if (t->opts.body_max == 0)
        t->opts.body_max = DEFAULT_BODY_MAX;
    pthread_mutex_init(&t->lock, NULL);
    if ((rc = copy_str(&t->opts.peer, opts->peer ? opts->peer : "the server")) < 0
        || (rc = copy_str(&t->opts.server, opts->server ? opts->server : "")) < 0
        || (rc = copy_str(&t->opts.cert_origin, opts->cert_origin)) < 0) {
        daap__transport_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void daap__transport_free(daap__transport *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->idle_count; i++)
        curl_easy_cleanup(t->idle[i]);
    pthread_mutex_destroy(&t->lock);
    daap__free((char *)t->opts.peer);
    daap__free((char *)t->opts.server);
    daap__free((char *)t->opts.cert_origin);
    daap__free(t);
}

int32_t daap__transport_timeout_ms(const daap__transport *t)
{
    return t->opts.timeout_ms;
}

/* An idle handle (its connections still open) or a new one. */
static CURL *acquire(daap__transport *t)
{
    CURL *h = NULL;

    pthread_mutex_lock(&t->lock);
    if (t->idle_count > 0)
        h = t->idle[--t->idle_count];
    pthread_mutex_unlock(&t->lock);
    return h ? h : curl_easy_init();
}

static void release(daap__transport *t, CURL *h)
{
    curl_easy_reset(h); /* drops pointers into the caller's memory; keeps the connections */
    pthread_mutex_lock(&t->lock);
    if (t->idle_count < POOL_IDLE_MAX) {
        t->idle[t->idle_count++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    if (h)
        curl_easy_cleanup(h);
}

void daap__http_exchange_dispose(daap__transport *t, daap__http_exchange *x)
{
    if (x->pooled && x->easy)
        release(t, x->easy);
    if (x->pooled)
        x->easy = NULL;
    x->pooled = false;
    if (x->body.ptr)
        memset(x->body.ptr, 0, x->body.size); /* may hold a password */
    daap_buf_dispose(&x->body);
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
    daap__http_exchange *x = arg;
    size_t len = size * n;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        x->headers_done = false; /* a new response (after a 1xx) */
        x->retry_after_ms = -1;
    } else if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
        x->retry_after_ms = parse_retry_after(line + 12, len - 12);
    } else if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
        x->headers_done = x->status >= 200;
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    daap__http_exchange *x = arg;
    size_t len = size * n;

    if (x->sink && x->status >= 200 && x->status < 300)
        return x->sink(x, data, len);
    if (x->body.size + len > x->body_max) {
        x->too_big = true;
        return 0; /* aborts the transfer */
    }
    return daap__buf_put(&x->body, data, len) == 0 ? len : 0;
}

static int prepare(const daap__transport *t, const daap__http_request *req, daap__http_exchange *x,
                   int64_t remaining_ms)
{
    CURL *h = x->easy;

    curl_easy_reset(h); /* keeps the connection cache */
    x->status = 0;
    x->headers_done = x->too_big = false;
    x->retry_after_ms = -1;
    x->errbuf[0] = '\0';
    x->body_max = t->opts.body_max;
    daap__buf_clear(&x->body);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libdaap/" DAAP_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(remaining_ms < CONNECT_TIMEOUT_MS ? remaining_ms : CONNECT_TIMEOUT_MS));
    if (!req->stream)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)remaining_ms);
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    return req->configure ? req->configure(h, req->configure_arg) : 0;
}

static CURLcode perform_easy(daap__http_exchange *x, int64_t deadline_ms)
{
    (void)deadline_ms; /* CURLOPT_TIMEOUT_MS holds it */
    return curl_easy_perform(x->easy);
}

/* ---- retries */

/* Refused or unreachable: nothing was sent, so nothing can have happened. */
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

static bool should_retry(daap__http_retry policy, CURLcode cc, long status)
{
    if (policy == DAAP__RETRY_NEVER)
        return false;
    if (cc != CURLE_OK)
        return nothing_sent(cc) || (policy == DAAP__RETRY_SAFE && connection_broke(cc));
    if (policy == DAAP__RETRY_UNSENT)
        return false;
    if (status == 429 || status == 503) /* rate limited or not served: not acted on */
        return true;
    return policy == DAAP__RETRY_SAFE && (status == 500 || status == 502 || status == 504);
}

/* xorshift64, one state per thread: jitter needs no lock and no quality. */
static uint64_t next_random(void)
{
    static _Thread_local uint64_t state;

    if (state == 0)
        state = ((uint64_t)daap__mono_ms() * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(uintptr_t)&state ^ 1;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* Retry-After when the server gave one; else "equal jitter": a random
 * point in the upper half of the capped exponential step. */
static int64_t retry_delay(int retry, int64_t retry_after_ms)
{
    int64_t step = (int64_t)BACKOFF_BASE_MS << (retry < 10 ? retry : 10);

    if (retry_after_ms >= 0)
        return retry_after_ms;
    if (step > BACKOFF_CAP_MS)
        step = BACKOFF_CAP_MS;
    return step / 2 + (int64_t)(next_random() % (uint64_t)(step / 2 + 1));
}

/* ---- errors */

static bool is_tls_verification(CURLcode cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE
        || cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_INVALIDCERTSTATUS
        || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

static int32_t call_timeout(const daap__transport *t, const daap__http_request *req)
{
    return req->timeout_ms > 0 && req->timeout_ms < t->opts.timeout_ms ? req->timeout_ms : t->opts.timeout_ms;
}

int daap__transport_error(const daap__transport *t, const daap__http_request *req,
                          const daap__http_exchange *x, CURLcode cc)
{
    const daap__transport_options *o = &t->opts;
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);

    if (is_tls_verification(cc)) /* not retryable and not "down": nobody can be trusted */
        return daap_error_set(DAAP_EAUTH, o->errclass, "TLS certificate verification failed for %s: %s",
                              o->server, detail);
    if (cc == CURLE_SSL_CERTPROBLEM)
        return daap_error_set(DAAP_EINVALID, o->errclass, "%s: the client certificate or key%s%s cannot be used: %s",
                              req->what, o->cert_origin ? " of " : "", o->cert_origin ? o->cert_origin : "", detail);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return daap_error_set(DAAP_ETIMEOUT, o->errclass, "%s: no answer from %s within %d ms",
                              req->what, o->server, (int)call_timeout(t, req));
    if (x->too_big)
        return daap_error_set(DAAP_ERROR, o->errclass, "%s: the answer is larger than %u MiB",
                              req->what, (unsigned)(o->body_max >> 20));
    return daap_error_set(DAAP_EUNAVAILABLE, o->errclass, "%s: cannot reach %s at %s: %s",
                          req->what, o->peer, o->server, detail);
}

int daap__transport_note_attempts(const daap__transport *t, int rc, const daap__http_exchange *x)
{
    char msg[900];

    if (x->attempts < 2 || rc >= 0)
        return rc;
    snprintf(msg, sizeof(msg), "%s", daap_error_last()->message);
    return daap_error_set(rc, t->opts.errclass, "%s (after %d attempts)", msg, x->attempts);
}

/* ---- THE request loop */

static int run(daap__transport *t, const daap__http_request *req, daap__http_exchange *x)
{
    int64_t deadline = daap__mono_ms() + call_timeout(t, req);
    daap__http_perform perform = x->perform ? x->perform : perform_easy;
    CURLcode cc;

    for (x->attempts = 1;; x->attempts++) {
        int64_t left = deadline - daap__mono_ms(), delay;

        DAAP_TRY(prepare(t, req, x, left > 1 ? left : 1));
        cc = perform(x, deadline);
        if (cc == CURLE_OK && x->status >= 200 && x->status < 300)
            return 0;
        if (x->attempts > t->opts.max_retries || !should_retry(req->retry, cc, x->status))
            break;
        delay = retry_delay(x->attempts - 1, x->retry_after_ms);
        if (daap__mono_ms() + delay >= deadline)
            break;
        daap__sleep_ms(delay);
    }
    if (cc != CURLE_OK)
        return daap__transport_note_attempts(t, daap__transport_error(t, req, x, cc), x);
    return 0;
}

int daap__transport_call(daap__transport *t, const daap__http_request *req, daap__http_exchange *x)
{
    if (x->easy == NULL) {
        DAAP_ERROR_CHECK_ALLOC(x->easy = acquire(t));
        x->pooled = true;
    }
    return run(t, req, x);
}
