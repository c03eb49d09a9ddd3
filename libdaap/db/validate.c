/* Field rules for database specs. Every bad field is collected, then all are
 * reported at once through the thread-local error (STYLE.md section 3). */
#include "db/validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_PENDING 16

typedef struct {
    char field[64];
    char code[32];
    char message[256];
} pending_field;

/* Collected before reporting, because daap_error_set() clears field errors. */
static _Thread_local pending_field pending[MAX_PENDING];

void daap__fields_init(daap__fields *f)
{
    f->count = 0;
}

void daap__fields_add(daap__fields *f, const char *field, const char *code, const char *fmt, ...)
{
    va_list ap;
    pending_field *p;

    size_t i;

    /* One message per field: the first (e.g. a type error) is the useful one. */
    for (i = 0; i < f->count; i++)
        if (strcmp(pending[i].field, field) == 0)
            return;
    if (f->count >= MAX_PENDING)
        return;
    p = &pending[f->count++];
    snprintf(p->field, sizeof(p->field), "%s", field);
    snprintf(p->code, sizeof(p->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

int daap__fields_result(daap__fields *f, const char *what)
{
    size_t i;

    if (f->count == 0)
        return 0;
    if (f->count == 1)
        daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "%s: %s", pending[0].field, pending[0].message);
    else
        daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "invalid %s: %zu fields have errors", what, f->count);
    for (i = 0; i < f->count; i++)
        daap_error_add_field(pending[i].field, pending[i].code, pending[i].message);
    return DAAP_EINVALID;
}

bool daap__is_clean_text(const char *s, size_t len, bool allow_tab)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n;
        if (p[i] < 0x20 || p[i] == 0x7f) {
            if (!(allow_tab && p[i] == '\t'))
                return false;
            i++;
            continue;
        }
        n = daap__utf8_valid_prefix(s + i, len - i);
        /* C1 control characters (U+0080..U+009F) are controls too. */
        if (n == 0 || (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
            return false;
        i += n;
    }
    return true;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Suffixes that would make a derived object collide with another database's
 * objects: a Cluster "daap-x-pooler" would share the Pooler name of database
 * "x" (CNPG refuses that), "-primary" the PodDisruptionBudget of "x"; the
 * Service suffixes are reserved by CNPG for the Services of "x". */
static const char *const reserved_suffixes[] = { "-pooler", "-primary", "-rw", "-ro", "-r", "-any" };

void daap__check_name(daap__fields *f, const char *field, const char *name)
{
    size_t len, i;

    if (name == NULL || *name == '\0') {
        daap__fields_add(f, field, "required", "name is required");
        return;
    }
    len = strlen(name);
    if (len > DAAP__NAME_MAX) {
        daap__fields_add(f, field, "too_long",
            "name is %zu characters; at most %d are allowed because the CNPG Cluster '%s<name>' "
            "may have at most %d characters (its pods, jobs and services add suffixes up to 63)",
            len, DAAP__NAME_MAX, DAAP__CLUSTER_PREFIX, DAAP__CLUSTER_NAME_MAX);
        return;
    }
    if (len < DAAP__NAME_MIN) {
        daap__fields_add(f, field, "too_short", "name must have at least %d characters", DAAP__NAME_MIN);
        return;
    }
    for (i = 0; i < len; i++) {
        if (!is_lower_alnum(name[i]) && name[i] != '-') {
            daap__fields_add(f, field, "pattern",
                "name may contain only lowercase letters, digits and hyphens (found '%s')",
                isprint((unsigned char)name[i]) ? (char[]){ name[i], 0 } : "a control or non-ASCII character");
            return;
        }
    }
    if (!(name[0] >= 'a' && name[0] <= 'z')) {
        daap__fields_add(f, field, "pattern", "name must start with a lowercase letter");
        return;
    }
    if (name[len - 1] == '-') {
        daap__fields_add(f, field, "pattern", "name must end with a letter or digit");
        return;
    }
    for (i = 0; i < DAAP_ARRAY_SIZE(reserved_suffixes); i++) {
        if (ends_with(name, reserved_suffixes[i])) {
            daap__fields_add(f, field, "reserved",
                "name must not end in '%s': its Kubernetes objects would collide with those CNPG "
                "creates for another database", reserved_suffixes[i]);
            return;
        }
    }
}

void daap__check_team(daap__fields *f, const char *field, const char *team)
{
    size_t len, i;

    if (team == NULL || *team == '\0') {
        daap__fields_add(f, field, "required", "%s is required", field);
        return;
    }
    len = strlen(team);
    if (len > DAAP__TEAM_MAX) {
        daap__fields_add(f, field, "too_long", "%s may have at most %d characters (it becomes a Kubernetes label value)", field, DAAP__TEAM_MAX);
        return;
    }
    for (i = 0; i < len; i++) {
        if (!is_lower_alnum(team[i]) && team[i] != '-') {
            daap__fields_add(f, field, "pattern",
                "%s may contain only lowercase letters, digits and hyphens, and must start and end with a letter or digit", field);
            return;
        }
    }
    if (team[0] == '-' || team[len - 1] == '-')
        daap__fields_add(f, field, "pattern", "%s must start and end with a letter or digit", field);
}

void daap__check_purpose(daap__fields *f, const char *field, const char *purpose)
{
    size_t len;

    if (purpose == NULL) {
        daap__fields_add(f, field, "required", "purpose is required");
        return;
    }
    len = strlen(purpose);
    if (len == 0 || strspn(purpose, " \t") == len) {
        daap__fields_add(f, field, "required", "purpose must not be empty");
        return;
    }
    if (len > DAAP__PURPOSE_MAX) {
        daap__fields_add(f, field, "too_long", "purpose may have at most %d bytes", DAAP__PURPOSE_MAX);
        return;
    }
    if (!daap__is_clean_text(purpose, len, false))
        daap__fields_add(f, field, "invalid_text", "purpose must be valid UTF-8 without control characters");
}

void daap__check_instances(daap__fields *f, const char *field, int64_t n, const daap__limits *lim)
{
    if (n < 1 || n > lim->max_instances)
        daap__fields_add(f, field, "out_of_range", "instances must be between 1 and %d", (int)lim->max_instances);
}

bool daap__parse_quantity(const char *s, double *bytes)
{
    static const struct { const char *suffix; double mult; } units[] = {
        { "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
        { "Ti", 1099511627776.0 }, { "Pi", 1125899906842624.0 },
        { "k", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 }, { "P", 1e15 }, { "", 1.0 },
    };
    size_t i = 0, digits = 0, frac = 0;
    double value;
    char *end;

    while (s[i] >= '0' && s[i] <= '9') { i++; digits++; }
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9') { i++; frac++; }
        if (frac == 0) return false;
    }
    if (digits == 0 || digits > 15)
        return false;
    value = strtod(s, &end);
    if (end != s + i)
        return false;
    for (size_t u = 0; u < DAAP_ARRAY_SIZE(units); u++) {
        if (strcmp(s + i, units[u].suffix) == 0) {
            *bytes = value * units[u].mult;
            return true;
        }
    }
    return false;
}

/* Smallest and largest volume we accept: below 1Gi PostgreSQL plus WAL do not
 * fit comfortably; above 64Ti is a typo more often than a plan. */
#define STORAGE_MIN_BYTES 1073741824.0
#define STORAGE_MAX_BYTES (64.0 * 1099511627776.0)

void daap__check_storage_size(daap__fields *f, const char *field, const char *size)
{
    double bytes;

    if (size == NULL || *size == '\0') {
        daap__fields_add(f, field, "required", "storage_size must not be empty");
        return;
    }
    if (strlen(size) > 32 || !daap__parse_quantity(size, &bytes)) {
        daap__fields_add(f, field, "pattern",
            "storage_size must be a Kubernetes quantity such as 1Gi, 500Gi or 2Ti");
        return;
    }
    if (bytes < STORAGE_MIN_BYTES || bytes > STORAGE_MAX_BYTES)
        daap__fields_add(f, field, "out_of_range", "storage_size must be between 1Gi and 64Ti");
}

void daap__check_pg_version(daap__fields *f, const char *field, int64_t v, const daap__limits *lim)
{
    if (!lim->has_pg_version(lim->payload, (int32_t)(v > INT32_MAX ? 0 : v)))
        daap__fields_add(f, field, "unsupported",
            "pg_version %lld has no configured image (see the image map)", (long long)v);
}

void daap__cluster_name(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s%s", DAAP__CLUSTER_PREFIX, name);
}

void daap__pooler_name(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s%s%s", DAAP__CLUSTER_PREFIX, name, DAAP__POOLER_SUFFIX);
}

void daap__pg_identifier(char *out, size_t size, const char *name)
{
    size_t i;
    snprintf(out, size, "%s", name);
    for (i = 0; out[i]; i++)
        if (out[i] == '-')
            out[i] = '_';
}
