/* The thread-local last error and the tables that describe error codes. */
#include "common.h"
#include "errors.h"

#include <stdio.h>
#include <stdarg.h>

#define MESSAGE_MAX 1024
#define FIELDS_MAX  32
#define FIELD_TEXT_MAX 256

typedef struct {
    char field[64];
    char code[32];
    char message[FIELD_TEXT_MAX];
} field_slot;

/* Fixed-size storage, so recording an error never allocates and an
 * out-of-memory error can always be reported. */
typedef struct {
    daap_error       error;
    char             message[MESSAGE_MAX];
    field_slot       slots[FIELDS_MAX];
    daap_field_error fields[FIELDS_MAX];
} error_state;

static _Thread_local error_state tls;

typedef struct {
    int         code;
    const char *name;
    const char *text;
    int         http;
} code_info;

/* THE table: code -> name, text and HTTP status. */
static const code_info codes[] = {
    { DAAP_OK,            "ok",             "success",                            200 },
    { DAAP_ERROR,         "error",          "internal error",                     500 },
    { DAAP_ENOTFOUND,     "not_found",      "not found",                          404 },
    { DAAP_EEXISTS,       "already_exists", "already exists",                     409 },
    { DAAP_EINVALID,      "invalid",        "invalid argument",                   400 },
    { DAAP_ECONFLICT,     "conflict",       "modified concurrently; retry",       409 },
    { DAAP_EUNAVAILABLE,  "unavailable",    "backend unavailable; retry later",   503 },
    { DAAP_ETIMEOUT,      "timeout",        "deadline exceeded",                  504 },
    { DAAP_EAUTH,         "backend_auth",   "backend rejected the credentials",   502 },
    { DAAP_ENOTSUPPORTED, "not_supported",  "not supported by this backend",      501 },
    { DAAP_EFORBIDDEN,    "forbidden",      "caller's team does not own this database", 403 },
    { DAAP_EEXPIRED,      "expired",        "resource version too old",           410 },
    { DAAP_ECRYPTO,       "crypto",         "credentials cannot be decrypted",    500 },
    { DAAP_EPROTECTED,    "deletion_protected", "deletion protection is on",      409 },
    { DAAP_ITEROVER,      "iterover",       "end of iteration",                   200 },
};

static const code_info *find_code(int code)
{
    size_t i;
    for (i = 0; i < DAAP_ARRAY_SIZE(codes); i++)
        if (codes[i].code == code)
            return &codes[i];
    return &codes[1];
}

const char *daap_strerror(int code)
{
    return find_code(code)->text;
}

const char *daap_error_code_name(int code)
{
    return find_code(code)->name;
}

const char *daap_error_class_name(int klass)
{
    static const char *const names[] = { "none", "nomemory", "os", "invalid", "storage", "kube",
                                         "reconcile", "crypto", "config", "http" };
    return klass >= 0 && (size_t)klass < DAAP_ARRAY_SIZE(names) ? names[klass] : "unknown";
}

int daap_error_http_status(int code)
{
    return find_code(code)->http;
}

const daap_error *daap_error_last(void)
{
    if (tls.error.message == NULL)
        tls.error.message = tls.message;
    return &tls.error;
}

void daap_error_clear(void)
{
    tls.message[0] = '\0';
    tls.error.message = tls.message;
    tls.error.klass = DAAP_ERRCLASS_NONE;
    tls.error.code = 0;
    tls.error.fields = NULL;
    tls.error.field_count = 0;
}

static void set_message(int code, int klass, const char *fmt, va_list ap)
{
    vsnprintf(tls.message, sizeof(tls.message), fmt, ap);
    tls.error.message = tls.message;
    tls.error.klass = klass;
    tls.error.code = code;
    tls.error.fields = NULL;
    tls.error.field_count = 0;
}

int daap_error_set(int code, int klass, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_message(code, klass, fmt, ap);
    va_end(ap);
    return code;
}

int daap_error_set_oom(void)
{
    return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_NOMEMORY, "out of memory");
}

static void copy_trunc(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int daap_error_add_field(const char *field, const char *code, const char *message)
{
    size_t n = tls.error.field_count;
    field_slot *slot;

    if (n >= FIELDS_MAX)
        return 0; /* enough reported; the rest would not help a human */
    slot = &tls.slots[n];
    copy_trunc(slot->field, sizeof(slot->field), field);
    copy_trunc(slot->code, sizeof(slot->code), code);
    copy_trunc(slot->message, sizeof(slot->message), message);
    tls.fields[n].field = slot->field;
    tls.fields[n].code = slot->code;
    tls.fields[n].message = slot->message;
    tls.error.fields = tls.fields;
    tls.error.field_count = n + 1;
    return 0;
}

int daap__error_code_from_name(const char *name)
{
    size_t i;
    for (i = 0; name && i < DAAP_ARRAY_SIZE(codes); i++)
        if (codes[i].code != DAAP_OK && codes[i].code != DAAP_ITEROVER && strcmp(codes[i].name, name) == 0)
            return codes[i].code;
    return DAAP_OK;
}
