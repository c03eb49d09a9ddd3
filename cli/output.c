/* Presentation: tables for people, the library's JSON (and a YAML rendering
 * of the same fields) for scripts, and errors on stderr. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool reported;

int cli_failv(int code, const char *fmt, va_list ap)
{
    fputs("daapctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    reported = true;
    return code;
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = cli_failv(code, fmt, ap);
    va_end(ap);
    return code;
}

bool cli_failure_reported(void)
{
    return reported;
}

void cli_print_error(const cli_args *a, int rc)
{
    const daap_error *e = daap_error_last();
    size_t i;

    if (reported)
        return;
    if (a->output == OUT_JSON) {
        daap_buf b = DAAP_BUF_INIT;
        if (daap_error_to_problem_json(&b, e, NULL) == 0)
            fprintf(stderr, "%s\n", b.ptr);
        daap_buf_dispose(&b);
        return;
    }
    fprintf(stderr, "daapctl: %s\n", e->message && *e->message ? e->message : daap_strerror(rc));
    for (i = 0; i < e->field_count; i++)
        fprintf(stderr, "  - %s: %s (%s)\n", e->fields[i].field, e->fields[i].message, e->fields[i].code);
}

/* ---- small formatters */

void cli_format_time(char *out, size_t size, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    if (ms == 0 || gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, size, "-");
        return;
    }
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cli_format_age(char *out, size_t size, int64_t ms)
{
    long long s = ms ? ((long long)time(NULL) * 1000 - ms) / 1000 : -1;

    if (s < 0) snprintf(out, size, ms ? "0s" : "-");
    else if (s < 120) snprintf(out, size, "%llds", s);
    else if (s < 7200) snprintf(out, size, "%lldm", s / 60);
    else if (s < 172800) snprintf(out, size, "%lldh", s / 3600);
    else snprintf(out, size, "%lldd", s / 86400);
}

void cli_json_string(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

int cli_print_table(FILE *f, const char *const *cells, size_t rows, size_t cols)
{
    size_t width[16] = { 0 }, r, c;

    if (cols > 16)
        return DAAP_EINVALID;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            size_t n = strlen(cells[r * cols + c]);
            if (n > width[c])
                width[c] = n;
        }
    for (r = 0; r < rows; r++) {
        for (c = 0; c < cols; c++) {
            const char *cell = cells[r * cols + c];
            if (c + 1 < cols)
                fprintf(f, "%-*s  ", (int)width[c], cell);
            else
                fprintf(f, "%s\n", cell);
        }
    }
    return 0;
}

/* ---- URIs */

/* Wipe and free a string that held a password. */
void cli_free_secret(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = '\0';
    }
    free(s);
}

/* The library renders only the pooled URI (see the report on library gaps):
 * the direct one is the same URI with the -rw endpoint put in. */
static int swap_endpoint(char **out, const char *uri, const daap_db *db)
{
    char from[300], to[300];
    const char *at;
    size_t head, tail_at;

    snprintf(from, sizeof(from), "@%s:%d/", daap_db_host(db), (int)daap_db_port(db));
    snprintf(to, sizeof(to), "@%s:%d/", daap_db_direct_host(db), (int)daap_db_direct_port(db));
    if ((at = strstr(uri, from)) == NULL)
        return cli_fail(DAAP_ERROR, "cannot build the direct URI of %s", daap_db_name(db));
    head = (size_t)(at - uri);
    tail_at = head + strlen(from);
    if ((*out = malloc(head + strlen(to) + strlen(uri + tail_at) + 1)) == NULL)
        return cli_fail(DAAP_ERROR, "out of memory");
    memcpy(*out, uri, head);
    strcpy(*out + head, to);
    strcat(*out, uri + tail_at);
    return 0;
}

int cli_uri(char **out, const daap_db *db, bool direct)
{
    daap_buf b = DAAP_BUF_INIT;
    int rc;

    *out = NULL;
    if (direct && daap_db_direct_host(db) == NULL && daap_db_status(db) == DAAP_DB_READY)
        return cli_fail(DAAP_ENOTFOUND, "database %s has no direct endpoint", daap_db_name(db));
    if ((rc = daap_db_uri(&b, db)) < 0) {
        daap_buf_dispose(&b);
        return rc;
    }
    if (direct)
        rc = swap_endpoint(out, b.ptr, db);
    else if ((*out = strdup(b.ptr)) == NULL)
        rc = cli_fail(DAAP_ERROR, "out of memory");
    memset(b.ptr, 0, b.size);
    daap_buf_dispose(&b);
    return rc;
}

/* ---- one record */

static bool has_secrets(const daap_db *db)
{
    return daap_db_status(db) == DAAP_DB_READY && daap_db_password(db) != NULL && daap_db_host(db) != NULL;
}

static int print_json_record(const daap_db *db, bool secrets)
{
    daap_buf b = DAAP_BUF_INIT;
    int rc = daap_db_to_json(&b, db, DAAP_JSON_PRETTY | (secrets ? 0u : DAAP_JSON_NO_SECRETS));

    if (rc == 0)
        printf("%s\n", b.ptr);
    if (b.ptr)
        memset(b.ptr, 0, b.size);
    daap_buf_dispose(&b);
    return rc;
}

static void yaml_str(const char *pad, const char *key, const char *value)
{
    printf("%s%s: ", pad, key);
    cli_json_string(stdout, value); /* a JSON string is a YAML double-quoted scalar */
    putchar('\n');
}

static void yaml_time(const char *pad, const char *key, int64_t ms)
{
    char t[40];
    if (ms == 0) {
        printf("%s%s: null\n", pad, key);
        return;
    }
    cli_format_time(t, sizeof(t), ms);
    printf("%s%s: \"%.19s.%03dZ\"\n", pad, key, t, (int)(ms % 1000));
}

static int yaml_connection(const char *pad, const daap_db *db)
{
    char *uri = NULL;
    int rc;

    printf("%sconnection:\n", pad);
    printf("%s  host: ", pad); cli_json_string(stdout, daap_db_host(db));
    printf("\n%s  port: %d\n", pad, (int)daap_db_port(db));
    printf("%s  dbname: ", pad); cli_json_string(stdout, daap_db_dbname(db));
    printf("\n%s  user: ", pad); cli_json_string(stdout, daap_db_username(db));
    printf("\n%s  password: ", pad); cli_json_string(stdout, daap_db_password(db));
    if ((rc = cli_uri(&uri, db, false)) < 0)
        return rc;
    printf("\n%s  uri: ", pad); cli_json_string(stdout, uri);
    printf("\n%s  sslmode: \"prefer\"\n", pad);
    cli_free_secret(uri);
    if (daap_db_direct_host(db) == NULL)
        return 0;
    if ((rc = cli_uri(&uri, db, true)) < 0)
        return rc;
    printf("%s  direct:\n%s    host: ", pad, pad); cli_json_string(stdout, daap_db_direct_host(db));
    printf("\n%s    port: %d\n%s    uri: ", pad, (int)daap_db_direct_port(db), pad);
    cli_json_string(stdout, uri);
    putchar('\n');
    cli_free_secret(uri);
    return 0;
}

/* The fields of daap_db_to_json(), in its order. `first` starts a list item. */
static int print_yaml_record(const daap_db *db, bool secrets, const char *first, const char *pad)
{
    printf("%sid: ", first); cli_json_string(stdout, daap_db_id(db)); putchar('\n');
    yaml_str(pad, "name", daap_db_name(db));
    yaml_str(pad, "owner_team", daap_db_owner_team(db));
    yaml_str(pad, "purpose", daap_db_purpose(db));
    yaml_str(pad, "namespace", daap_db_namespace(db));
    yaml_str(pad, "cluster_name", daap_db_cluster_name(db));
    yaml_str(pad, "pooler_name", daap_db_pooler_name(db));
    printf("%sinstances: %d\n", pad, (int)daap_db_instances(db));
    yaml_str(pad, "storage_size", daap_db_storage_size(db));
    printf("%spg_version: %d\n", pad, (int)daap_db_pg_version(db));
    yaml_str(pad, "status", daap_db_status_name(daap_db_status(db)));
    yaml_str(pad, "status_reason", daap_db_status_reason(db));
    yaml_time(pad, "created_at", daap_db_created_at(db));
    yaml_time(pad, "updated_at", daap_db_updated_at(db));
    yaml_time(pad, "ready_at", daap_db_ready_at(db));
    yaml_time(pad, "deleted_at", daap_db_deleted_at(db));
    printf("%srevision: %lld\n", pad, (long long)daap_db_revision(db));
    printf("%sdeletion_protection: %s\n", pad, daap_db_deletion_protection(db) ? "true" : "false");
    return secrets && has_secrets(db) ? yaml_connection(pad, db) : 0;
}

static void row(const char *key, const char *value)
{
    if (value && *value)
        printf("%-12s %s\n", key, value);
}

static void print_table_record(const daap_db *db)
{
    char t[64], age[16], buf[320];

    row("Name:", daap_db_name(db));
    row("ID:", daap_db_id(db));
    row("Team:", daap_db_owner_team(db));
    row("Purpose:", daap_db_purpose(db));
    row("Status:", daap_db_status_name(daap_db_status(db)));
    row("Reason:", daap_db_status_reason(db));
    if (daap_db_created_at(db) == 0)
        return; /* only the id and status are known (deleted) */
    row("Namespace:", daap_db_namespace(db));
    row("Cluster:", daap_db_cluster_name(db));
    row("Pooler:", daap_db_pooler_name(db));
    snprintf(buf, sizeof(buf), "%d x %s, PostgreSQL %d", (int)daap_db_instances(db),
             daap_db_storage_size(db) ? daap_db_storage_size(db) : "?", (int)daap_db_pg_version(db));
    row("Instances:", buf);
    if (daap_db_deletion_protection(db)) {
        snprintf(buf, sizeof(buf), "on; 'daapctl unprotect %s' allows delete", daap_db_name(db));
        row("Protection:", buf);
    }
    cli_format_time(t, sizeof(t), daap_db_created_at(db));
    cli_format_age(age, sizeof(age), daap_db_created_at(db));
    snprintf(buf, sizeof(buf), "%s (%s ago)", t, age);
    row("Created:", buf);
    if (daap_db_ready_at(db)) {
        cli_format_time(t, sizeof(t), daap_db_ready_at(db));
        row("Ready:", t);
    }
    if (daap_db_host(db)) {
        snprintf(buf, sizeof(buf), "%s:%d (pooled)", daap_db_host(db), (int)daap_db_port(db));
        row("Endpoint:", buf);
    }
    if (daap_db_direct_host(db)) {
        snprintf(buf, sizeof(buf), "%s:%d", daap_db_direct_host(db), (int)daap_db_direct_port(db));
        row("Direct:", buf);
    }
    row("Database:", daap_db_dbname(db));
    row("User:", daap_db_username(db));
    if (daap_db_password(db)) {
        snprintf(buf, sizeof(buf), "hidden; 'daapctl url %s' prints the URI with it", daap_db_name(db));
        row("Password:", buf);
    }
}

int cli_print_record(const cli_args *a, const daap_db *db, bool secrets)
{
    switch (a->output) {
    case OUT_JSON: return print_json_record(db, secrets);
    case OUT_YAML: return print_yaml_record(db, secrets, "", "");
    default:       print_table_record(db); return 0;
    }
}

/* ---- several records */

static int print_json_records(daap_db **items, size_t count, const char *next_cursor)
{
    daap_db_page page;
    daap_buf b = DAAP_BUF_INIT;
    int rc;

    page.items = items;
    page.count = count;
    page.next_cursor = (char *)next_cursor; /* read only */
    rc = daap_db_page_to_json(&b, &page, DAAP_JSON_PRETTY | DAAP_JSON_NO_SECRETS);
    if (rc == 0)
        printf("%s\n", b.ptr);
    daap_buf_dispose(&b);
    return rc;
}

static int print_yaml_records(daap_db **items, size_t count, const char *next_cursor)
{
    size_t i;

    printf("items:%s\n", count ? "" : " []");
    for (i = 0; i < count; i++)
        CLI_TRY(print_yaml_record(items[i], false, "- ", "  "));
    printf("next_cursor: ");
    cli_json_string(stdout, next_cursor);
    putchar('\n');
    return 0;
}

static int print_table_records(daap_db **items, size_t count)
{
    enum { COLS = 8 };
    const char **cells = calloc((count + 1) * COLS, sizeof(*cells));
    char (*num)[3][24] = calloc(count + 1, sizeof(*num));
    size_t i;
    int rc;

    if (cells == NULL || num == NULL) {
        free(cells);
        free(num);
        return cli_fail(DAAP_ERROR, "out of memory");
    }
    memcpy(cells, (const char *[COLS]){ "NAME", "ID", "TEAM", "STATUS", "PG", "INSTANCES", "STORAGE", "AGE" },
           sizeof(*cells) * COLS);
    for (i = 0; i < count; i++) {
        const daap_db *db = items[i];
        const char **r = cells + (i + 1) * COLS;
        snprintf(num[i][0], sizeof(num[i][0]), "%d", (int)daap_db_pg_version(db));
        snprintf(num[i][1], sizeof(num[i][1]), "%d", (int)daap_db_instances(db));
        cli_format_age(num[i][2], sizeof(num[i][2]), daap_db_created_at(db));
        r[0] = daap_db_name(db) ? daap_db_name(db) : "-";
        r[1] = daap_db_id(db) ? daap_db_id(db) : "-";
        r[2] = daap_db_owner_team(db) ? daap_db_owner_team(db) : "-";
        r[3] = daap_db_status_name(daap_db_status(db));
        r[4] = num[i][0];
        r[5] = num[i][1];
        r[6] = daap_db_storage_size(db) ? daap_db_storage_size(db) : "-";
        r[7] = num[i][2];
    }
    rc = cli_print_table(stdout, cells, count + 1, COLS);
    free(cells);
    free(num);
    return rc;
}

int cli_print_records(const cli_args *a, daap_db **items, size_t count, const char *next_cursor)
{
    switch (a->output) {
    case OUT_JSON: return print_json_records(items, count, next_cursor);
    case OUT_YAML: return print_yaml_records(items, count, next_cursor);
    default:
        if (count == 0) {
            fputs("No databases found.\n", stderr);
            return 0;
        }
        return print_table_records(items, count);
    }
}
