/* Problem documents for refusals at the HTTP edge, in the same shape as
 * daap_error_to_problem_json() so clients parse one format. */
#include "common.h"

typedef struct {
    int         status;
    const char *code;
    const char *title;
} edge_status;

/* Codes equal daap_error_code_name() where a daap code maps to the status. */
static const edge_status statuses[] = {
    { 400, "invalid",                "invalid argument" },
    { 403, "forbidden",              "forbidden" },
    { 404, "not_found",              "not found" },
    { 405, "method_not_allowed",     "method not allowed" },
    { 406, "not_acceptable",         "not acceptable" },
    { 408, "request_timeout",        "request timeout" },
    { 409, "conflict",               "conflict" },
    { 411, "length_required",        "length required" },
    { 413, "payload_too_large",      "request body too large" },
    { 414, "uri_too_long",           "URI too long" },
    { 415, "unsupported_media_type", "unsupported media type" },
    { 422, "invalid",                "unprocessable content" }, /* an Idempotency-Key reused */
    { 429, "too_many_requests",      "too many requests" },
    { 431, "headers_too_large",      "request header fields too large" },
    { 500, "error",                  "internal error" },
    { 501, "not_implemented",        "not implemented" },
    { 503, "unavailable",            "service unavailable; retry later" },
};

static const edge_status *find_status(int status)
{
    size_t i;
    for (i = 0; i < DAAP_ARRAY_SIZE(statuses); i++)
        if (statuses[i].status == status)
            return &statuses[i];
    return NULL;
}

const char *daap_problem_code(int status)
{
    const edge_status *s = find_status(status);
    return s ? s->code : "error";
}

int daap_problem_json(daap_buf *out, int status, const char *detail, const char *instance)
{
    const edge_status *s;
    const char *title;

    DAAP_ASSERT_ARG(out);
    if (status < 400 || status > 599)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "problem status %d is not an HTTP error", status);
    s = find_status(status);
    title = s ? s->title : (status < 500 ? "client error" : "server error");
    DAAP_TRY(daap__buf_printf(out, "{\"type\":\"urn:daap:error:%s\",\"title\":", daap_problem_code(status)));
    DAAP_TRY(daap__buf_put_json_str(out, title));
    DAAP_TRY(daap__buf_printf(out, ",\"status\":%d,\"code\":\"%s\",\"detail\":", status, daap_problem_code(status)));
    DAAP_TRY(daap__buf_put_json_str(out, detail && *detail ? detail : title));
    if (instance) {
        DAAP_TRY(daap__buf_puts(out, ",\"instance\":"));
        DAAP_TRY(daap__buf_put_json_str(out, instance));
    }
    return daap__buf_putc(out, '}');
}

typedef struct {
    int         klass;
    int         code;
    const char *detail;
} client_detail;

/* What a client is told when the cause stays in the server log. Codes of a
 * class not listed here get daap_strerror(), which names no internals. */
static const client_detail client_details[] = {
    { DAAP_ERRCLASS_STORAGE, DAAP_EUNAVAILABLE, "the metadata store is unavailable; retry later" },
    { DAAP_ERRCLASS_STORAGE, DAAP_ETIMEOUT,     "the metadata store did not answer in time; retry later" },
    { DAAP_ERRCLASS_STORAGE, DAAP_EAUTH,        "the metadata store refused the server's credentials; ask the operator" },
    { DAAP_ERRCLASS_STORAGE, DAAP_ENOTFOUND,    "no database with this id" },
    { DAAP_ERRCLASS_STORAGE, DAAP_EEXISTS,      "a database with this name already exists" },
    { DAAP_ERRCLASS_STORAGE, DAAP_ECONFLICT,    "the database changed meanwhile; read it again and retry" },
    { DAAP_ERRCLASS_STORAGE, DAAP_EINVALID,     "the metadata store refused the request" },
    { DAAP_ERRCLASS_KUBE,    DAAP_EUNAVAILABLE, "the Kubernetes API is unavailable; retry later" },
    { DAAP_ERRCLASS_KUBE,    DAAP_ETIMEOUT,     "the Kubernetes API did not answer in time; retry later" },
    { DAAP_ERRCLASS_KUBE,    DAAP_EAUTH,        "the Kubernetes API refused the server's credentials; ask the operator" },
    { DAAP_ERRCLASS_KUBE,    DAAP_EINVALID,     "Kubernetes refused the database's objects" },
    { DAAP_ERRCLASS_KUBE,    DAAP_ECONFLICT,    "a Kubernetes object changed meanwhile; retry" },
    { DAAP_ERRCLASS_HTTP,    DAAP_EUNAVAILABLE, "an upstream daap-server is unavailable; retry later" },
};

static const char *client_detail_for(int klass, int code)
{
    size_t i;
    for (i = 0; i < DAAP_ARRAY_SIZE(client_details); i++)
        if (client_details[i].klass == klass && client_details[i].code == code)
            return client_details[i].detail;
    return daap_strerror(code);
}

int daap_error_for_client(daap_error *out, const daap_error *err)
{
    DAAP_ASSERT_ARG(out && err);
    *out = *err;
    if (err->klass == DAAP_ERRCLASS_INVALID || err->klass == DAAP_ERRCLASS_NONE)
        return 0;
    out->message = client_detail_for(err->klass, err->code);
    out->fields = NULL;
    out->field_count = 0;
    return 1;
}
