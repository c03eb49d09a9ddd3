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
