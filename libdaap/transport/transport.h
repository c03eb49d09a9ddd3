/* transport/: the one HTTP client of libdaap, on libcurl. kube/rest.c (the
 * Kubernetes API) and remote/remote.c (a daap-server) both send through it.
 * It may include the root's utility headers only.
 *
 * This header: a pool of reusable curl handles, one retry loop and one place
 * that turns a curl or TLS failure into a daap error.
 *
 * - Connections: each pooled handle keeps its connections alive, so the
 *   next call reuses them; HTTP/2 is asked for over TLS (CURL_HTTP_VERSION_2TLS)
 *   and used where the server offers it.
 * - Threads: a daap__transport may be shared by every thread of one context.
 *   The pool is locked; a call holds its handle alone from acquire to release,
 *   and all per-call state lives in the caller's daap__http_exchange.
 * - Time: one deadline bounds a whole call, back-off included. A call may ask
 *   for a shorter one (a readiness probe: daap__http_request.timeout_ms).
 * - Retries: which ones is the request's daap__http_retry (ADR 0003); the
 *   back-off is capped, exponential and jittered, or the server's Retry-After.
 */
#ifndef DAAP_INTERNAL_TRANSPORT_H
#define DAAP_INTERNAL_TRANSPORT_H

#include "common.h"
#include <curl/curl.h>

typedef struct daap__transport daap__transport;

/* How a transport talks about its peer and how long it waits. Zero fields
 * take the defaults given beside them. */
typedef struct {
    int         errclass;        /* DAAP_ERRCLASS_KUBE, DAAP_ERRCLASS_HTTP */
    const char *peer;            /* "the Kubernetes API", "daap-server" */
    const char *server;          /* the URL shown in messages, without credentials */
    const char *cert_origin;     /* whose client certificate: "kubeconfig ~/.kube/config", or NULL */
    int32_t     timeout_ms;      /* a whole call, retries included; default 10 s */
    int32_t     max_retries;     /* attempts after the first; default 4, <0 none */
    size_t      body_max;        /* largest answer kept; default 16 MiB */
} daap__transport_options;

/* Which failures a request may be repeated after (ADR 0003). */
typedef enum {
    DAAP__RETRY_SAFE,     /* reads and deletes: network errors, 429, 500, 502, 503, 504 */
    DAAP__RETRY_REFUSED,  /* the connection never opened, or a 429/503 that says "not acted on" */
    DAAP__RETRY_UNSENT,   /* only when the connection never opened: nothing was sent */
    DAAP__RETRY_NEVER     /* probes: answer now, not after back-off */
} daap__http_retry;

typedef struct daap__http_exchange daap__http_exchange;

typedef struct {
    const char               *method;   /* GET, POST, PATCH, DELETE */
    const char               *url;
    const struct curl_slist  *headers;  /* the caller's; NULL: none */
    const char               *body;     /* NULL: none */
    size_t                    body_len;
    daap__http_retry          retry;
    const char               *what;     /* "get Cluster team-a/x", "GET /databases", for messages */
    int32_t                   timeout_ms; /* 0: the transport's; shorter for probes */
    bool                      stream;   /* no overall timeout: a watch lasts as long as its reader */
    /* Per attempt, after the transport's own options: credentials, TLS
     * material, proxies. A negative return ends the call with that error. */
    int                     (*configure)(CURL *h, void *arg);
    void                     *configure_arg;
} daap__http_request;

/* A streaming body sink (watches): gets the bytes of a 2xx answer and may
 * return CURL_WRITEFUNC_PAUSE. */
typedef size_t (*daap__http_sink)(daap__http_exchange *x, const char *data, size_t len);
/* How one attempt runs; NULL: curl_easy_perform. A watch drives a multi
 * handle until the headers of a 200 arrive. */
typedef CURLcode (*daap__http_perform)(daap__http_exchange *x, int64_t deadline_ms);

/* One call's state, owned by the caller. Plain calls leave `easy` NULL and
 * the transport lends a pooled handle; a watch brings a handle of its own. */
struct daap__http_exchange {
    CURL              *easy;
    long               status;
    daap_buf           body;          /* the answer (non-2xx answers too, unless streamed) */
    bool               headers_done;  /* the final (non-1xx) headers arrived */
    bool               too_big;
    int64_t            retry_after_ms; /* -1: the server sent none */
    int                attempts;
    daap__http_sink    sink;
    daap__http_perform perform;
    void              *user;
    bool               pooled;        /* `easy` is lent by the pool */
    size_t             body_max;      /* set by the transport */
    char               errbuf[CURL_ERROR_SIZE];
};

/* A transport: options copied, strings included. */
int  daap__transport_new(daap__transport **out, const daap__transport_options *opts);
void daap__transport_free(daap__transport *t);
int32_t daap__transport_timeout_ms(const daap__transport *t);

/* Run a request with retries. 0 when an answer arrived that is not to be
 * retried, whatever its status (the caller reads x->status and x->body);
 * a daap error when none did. Call daap__http_exchange_dispose afterwards. */
int  daap__transport_call(daap__transport *t, const daap__http_request *req, daap__http_exchange *x);
/* Give a pooled handle back and wipe the body (it may hold secrets). */
void daap__http_exchange_dispose(daap__transport *t, daap__http_exchange *x);

/* The one mapping of a failed transfer to a daap error: TLS verification
 * (auth), an unusable client certificate (invalid), timeouts, an answer
 * too large, anything else unreachable (unavailable). */
int  daap__transport_error(const daap__transport *t, const daap__http_request *req,
                           const daap__http_exchange *x, CURLcode cc);
/* "<message> (after N attempts)" when a call was tried more than once. */
int  daap__transport_note_attempts(const daap__transport *t, int rc, const daap__http_exchange *x);

#endif
