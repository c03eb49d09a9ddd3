/* Field rules for database specs (DESIGN.md section 5). */
#ifndef DAAP_INTERNAL_VALIDATE_H
#define DAAP_INTERNAL_VALIDATE_H

#include "common.h"

/* Longest database name: the CNPG webhook caps a Cluster name at 50
 * characters and the Cluster is "daap-" + name. */
#define DAAP__CLUSTER_PREFIX     "daap-"
#define DAAP__POOLER_SUFFIX      "-pooler"
#define DAAP__CLUSTER_NAME_MAX   50
#define DAAP__NAME_MIN           3
#define DAAP__NAME_MAX           (DAAP__CLUSTER_NAME_MAX - 5)
#define DAAP__TEAM_MAX           63
#define DAAP__PURPOSE_MAX        500

/* The limits that depend on configuration. */
typedef struct {
    int32_t max_instances;
    /* Returns non-zero when the major version has an image. */
    int (*has_pg_version)(const void *payload, int32_t version);
    const void *payload;
    double  max_storage_bytes;     /* what a resize may grow to */
    char    max_storage_size[33];  /* the same, as configured ("64Ti") */
} daap__limits;

/* A collector of field errors; reported all at once by daap__fields_fail(). */
typedef struct {
    size_t count;
} daap__fields;

void daap__fields_init(daap__fields *f);
/* Record one bad field (message is formatted). */
void daap__fields_add(daap__fields *f, const char *field, const char *code, const char *fmt, ...) DAAP_PRINTF(4, 5);
/* 0 when no field was bad, else DAAP_EINVALID with every field error set. */
int daap__fields_result(daap__fields *f, const char *what);

/* Each checker appends its errors to f. */
void daap__check_name(daap__fields *f, const char *field, const char *name);
void daap__check_team(daap__fields *f, const char *field, const char *team);
void daap__check_purpose(daap__fields *f, const char *field, const char *purpose);
void daap__check_instances(daap__fields *f, const char *field, int64_t n, const daap__limits *lim);
void daap__check_storage_size(daap__fields *f, const char *field, const char *size);
void daap__check_pg_version(daap__fields *f, const char *field, int64_t v, const daap__limits *lim);

/* Valid UTF-8 without control characters (tab excepted when allow_tab). */
bool daap__is_clean_text(const char *s, size_t len, bool allow_tab);

/* Parse a Kubernetes quantity into bytes; false when malformed. */
bool daap__parse_quantity(const char *s, double *bytes);

/* Derived names. out must hold DAAP__CLUSTER_NAME_MAX + 16 bytes. */
void daap__cluster_name(char *out, size_t size, const char *name);
void daap__pooler_name(char *out, size_t size, const char *name);
/* The database/role name inside PostgreSQL: '-' becomes '_'. */
void daap__pg_identifier(char *out, size_t size, const char *name);

#endif
