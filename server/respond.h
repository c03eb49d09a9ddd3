/* A request as handlers see it: reading it and queueing its answer. */
#ifndef DAAP_SERVER_RESPOND_H
#define DAAP_SERVER_RESPOND_H

#include <daap/daap.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "waiters.h"

#define BODY_LIMIT      (64 * 1024)
#define REQUEST_ID_MAX  128
#define EXTRA_HEADERS   8 /* the console sends six (ui.c), a 503 adds Retry-After */
/* What a 503 asks the client to wait before it retries. */
#define RETRY_AFTER_SECONDS "2"

struct reconciler;
struct kube_probe;

/* What the requests of one daemon share; http.c fills it in. */
typedef struct worker {
    daap_ctx             *ctx;      /* the store only: requests never call Kubernetes */
    struct reconciler    *reconciler; /* takes the ids whose Kubernetes work is due */
    struct kube_probe    *probe;    /* whether Kubernetes answers, for /readyz */
    const server_options *opts;
    atomic_int           *inflight;  /* requests between request line and completion */
    atomic_bool          *draining;  /* shutting down: answer with Connection: close */
    struct MHD_Daemon    *daemon;
    waiters              *waiters;   /* server-side wait: parked requests (waiters.h) */
} worker;

typedef struct {
    const char *name;
    char        value[160];
} extra_header;

/* One request, from its request line to the last byte of the answer. */
typedef struct request {
    worker                *w;
    struct MHD_Connection *conn;
    int64_t                start_us;
    char                   id[REQUEST_ID_MAX + 1];
    const char            *method;  /* points at method_buf */
    char                  *path;    /* raw (still percent-encoded) */
    char                  *query;   /* raw, without '?'; NULL when absent */
    char                  *body;    /* up to BODY_LIMIT bytes, NUL-terminated */
    size_t                 body_len;
    size_t                 body_seen; /* bytes received, kept or not */
    bool                   started;
    bool                   too_large;
    const char            *dropped;  /* why the connection was cut, or NULL */
    char                   method_buf[16];
    int                    early_status; /* refusal decided from the headers */
    char                   early_detail[200];
    int                    status;  /* 0 until a response is queued */
    const struct route    *route;
    const char            *path_id; /* the {id} segment, for routes with one */
    extra_header           headers[EXTRA_HEADERS];
    size_t                 nheaders;
    wait_state             wait;    /* GET ...?wait=&revision= (waiters.h) */
    /* Called with every answer just before it is queued, by a wrapper that
     * must see it (handlers.c: the Idempotency-Key store); NULL: none. */
    void                 (*on_answer)(struct request *r, int status, const char *body, size_t len);
    void                  *on_answer_payload;
} request;

/* What handlers use. */
daap_ctx   *request_ctx(const request *r);
const char *request_header(const request *r, const char *name);
void        request_add_header(request *r, const char *name, const char *value);
/* A new request id into out (REQUEST_ID_MAX + 1 bytes): 32 hex digits, unique, not secret. */
void        request_new_id(char *out);
/* The caller's team from the team header (--team-header, default
 * X-Daap-Team; NULL when absent): 0, or -1 after answering 400 when the
 * header came more than once or as a list, or 403 when it came from a peer
 * outside --trusted-proxies. */
int         request_team(request *r, const char **team);
/* A header that must come at most once: 0 with *value (NULL when absent),
 * or -1 after answering 400 when it came more than once. */
int         request_single_header(request *r, const char *name, const char **value);
/* The value of an extra header added for the answer, or NULL. */
const char *request_added_header(const request *r, const char *name);

/* Queue the answer; each takes what it renders and frees it. */
void respond_json(request *r, int status, daap_buf *body);
void respond_static(request *r, int status, const char *content_type, const char *data, size_t len);
void respond_empty(request *r, int status);
/* An edge refusal: a problem document for `status` (daap_problem_json).
 * Every problem document carries the request id; a 503 carries Retry-After. */
void respond_problem(request *r, int status, const char *detail);
/* A problem document already rendered (a replayed answer), sent as is. */
void respond_problem_body(request *r, int status, daap_buf *doc);
/* The failure `rc` of the library call just made (daap_error_last), with
 * the status of its code. The client sees what daap_error_for_client()
 * allows; the full cause goes to the log with the request id. */
void respond_daap_error(request *r, int rc);
/* The same with another status, e.g. 503 for a failed readiness check. */
void respond_daap_error_status(request *r, int status, int rc);

/* True when s (NULL counts) holds only printable ASCII, as RFC 3986 wants of a request target. */
bool is_printable_ascii(const char *s);

#endif
