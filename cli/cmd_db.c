/* create, list, get, update, delete, url, connect: the record commands. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_WAIT_MS (20LL * 60 * 1000)
#define LIST_PAGE_MAX   100
/* Sends of one create after the first, and the pause before the first of
 * them; each pause doubles (0.5 s, 1 s, 2 s, 4 s, 8 s: 15.5 s in all, enough
 * for a server to restart). */
#define CREATE_RETRIES     5
#define CREATE_RETRY_MS    500

/* ---- create */

static int spec_from_args(daap_db_spec *spec, const cli_args *a)
{
    const char *v;
    int n;

    spec->name = a->args[0];
    spec->owner_team = cli_opt(a, "team") ? cli_opt(a, "team") : cli_global_value(a, G_TEAM);
    spec->purpose = cli_opt(a, "purpose");
    spec->storage_size = cli_opt(a, "storage");
    if ((v = cli_opt(a, "instances")) != NULL) {
        CLI_TRY(cli_parse_int(&n, v, "--instances", 1, 1000000));
        spec->instances = n;
    }
    if ((v = cli_opt(a, "pg-version")) != NULL) {
        CLI_TRY(cli_parse_int(&n, v, "--pg-version", 1, 1000000));
        spec->pg_version = n;
    }
    spec->deletion_protection = cli_flag(a, "deletion-protection");
    return 0;
}

static int wait_timeout(long long *ms, const cli_args *a)
{
    const char *t = cli_opt(a, "timeout");

    *ms = DEFAULT_WAIT_MS;
    if (t && !cli_flag(a, "wait"))
        return cli_usage_error("--timeout goes with --wait");
    return t ? cli_parse_duration(ms, t) : 0;
}

/* Network failures (refused, reset, timed out) may or may not have
 * reached the server; the key makes sending again safe either way. */
static bool worth_retrying(int rc)
{
    return rc == DAAP_EUNAVAILABLE || rc == DAAP_ETIMEOUT;
}

static int create_with_retries(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec)
{
    long long pause_ms = CREATE_RETRY_MS;
    int rc, attempt;

    for (attempt = 0; ; attempt++) {
        rc = daap_db_create(out, ctx, spec);
        if (rc == 0 || !worth_retrying(rc) || attempt == CREATE_RETRIES)
            return rc;
        fprintf(stderr, "daapctl: %s; sending the create again with the same Idempotency-Key in %.1fs\n",
                daap_error_last()->message, (double)pause_ms / 1000);
        usleep((useconds_t)(pause_ms * 1000));
        pause_ms *= 2;
    }
}

int cmd_create(cli_args *a)
{
    daap_db_spec spec = DAAP_DB_SPEC_INIT;
    daap_ctx *ctx;
    daap_db *db = NULL, *ready = NULL;
    long long timeout_ms;
    char key[DAAP_IDEMPOTENCY_KEY_NEW_SIZE];
    int rc;

    CLI_TRY(spec_from_args(&spec, a));
    CLI_TRY(wait_timeout(&timeout_ms, a));
    spec.idempotency_key = cli_opt(a, "idempotency-key");
    if (spec.idempotency_key == NULL) {
        if ((rc = daap_idempotency_key_new(key, sizeof(key))) < 0)
            return cli_fail(rc, "cannot make an Idempotency-Key; pass --idempotency-key");
        spec.idempotency_key = key;
    }
    CLI_TRY(cli_open(&ctx, a, OPEN_KUBE));
    rc = create_with_retries(&db, ctx, &spec);
    if (rc == 0 && cli_flag(a, "wait"))
        rc = cli_wait_ready(&ready, ctx, db, timeout_ms);
    if (rc == 0)
        rc = cli_print_record(a, ready ? ready : db, false);
    if (rc == 0 && !ready && a->output == OUT_TABLE)
        fprintf(stderr, "Provisioning; follow it with 'daapctl get %s' or create with --wait.\n", daap_db_name(db));
    daap_db_free(ready);
    daap_db_free(db);
    daap_ctx_free(ctx);
    return rc;
}

/* ---- list */

typedef struct {
    daap_db **items;
    size_t    count, alloc;
    char     *next_cursor;
} collected;

static void collected_dispose(collected *c)
{
    size_t i;
    for (i = 0; i < c->count; i++)
        daap_db_free(c->items[i]);
    free(c->items);
    free(c->next_cursor);
}

/* Move a page's records into `c`; the page keeps only what is left to free. */
static int take_page(collected *c, daap_db_page *page)
{
    size_t i;

    if (c->count + page->count > c->alloc) {
        size_t n = (c->count + page->count) * 2;
        daap_db **items = realloc(c->items, n * sizeof(*items));
        if (items == NULL)
            return cli_fail(DAAP_ERROR, "out of memory");
        c->items = items;
        c->alloc = n;
    }
    for (i = 0; i < page->count; i++)
        c->items[c->count++] = page->items[i];
    page->count = 0;
    free(c->next_cursor);
    c->next_cursor = NULL;
    if (page->next_cursor && (c->next_cursor = strdup(page->next_cursor)) == NULL)
        return cli_fail(DAAP_ERROR, "out of memory");
    return 0;
}

static int status_mask(unsigned int *mask, const char *list)
{
    char *copy = strdup(list), *save = NULL, *item;
    int rc = 0;

    *mask = 0;
    if (copy == NULL)
        return cli_fail(DAAP_ERROR, "out of memory");
    for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        int s;
        if ((rc = daap_db_status_parse(&s, item)) == 0)
            *mask |= DAAP_DB_STATUS_BIT(s);
    }
    free(copy);
    if (rc == 0 && *mask == 0)
        rc = cli_usage_error("--status needs at least one status");
    return rc;
}

static int list_options(daap_db_list_options *lo, int *cap, const cli_args *a)
{
    const char *v;

    lo->owner_team = cli_opt(a, "team");
    lo->name_prefix = cli_opt(a, "name");
    lo->include_deleted = cli_flag(a, "include-deleted");
    *cap = 0;
    if ((v = cli_opt(a, "status")) != NULL)
        CLI_TRY(status_mask(&lo->status_mask, v));
    if ((v = cli_opt(a, "limit")) != NULL)
        CLI_TRY(cli_parse_int(cap, v, "--limit", 1, 100000000));
    return 0;
}

/* Follow next_cursor until done or `cap` records are in. */
static int collect(collected *c, daap_ctx *ctx, daap_db_list_options *lo, int cap, const char *start)
{
    const char *cursor = start;
    int rc = 0;

    do {
        daap_db_page page;
        size_t left = cap ? (size_t)cap - c->count : LIST_PAGE_MAX;

        lo->limit = (uint32_t)(left < LIST_PAGE_MAX ? left : LIST_PAGE_MAX);
        lo->cursor = cursor;
        CLI_TRY(daap_db_list(&page, ctx, lo));
        rc = take_page(c, &page);
        daap_db_page_dispose(&page);
        cursor = c->next_cursor;
    } while (rc == 0 && cursor && (cap == 0 || c->count < (size_t)cap));
    return rc;
}

int cmd_list(cli_args *a)
{
    daap_db_list_options lo = DAAP_DB_LIST_OPTIONS_INIT;
    collected c = { NULL, 0, 0, NULL };
    daap_ctx *ctx;
    int cap, rc;

    CLI_TRY(list_options(&lo, &cap, a));
    CLI_TRY(cli_open(&ctx, a, 0));
    rc = collect(&c, ctx, &lo, cap, cli_opt(a, "cursor"));
    if (rc == 0)
        rc = cli_print_records(a, c.items, c.count, c.next_cursor);
    if (rc == 0 && c.next_cursor && a->output == OUT_TABLE)
        fprintf(stderr, "More databases follow; continue with --cursor %s\n", c.next_cursor);
    collected_dispose(&c);
    daap_ctx_free(ctx);
    return rc;
}

/* ---- get, update */

int cmd_get(cli_args *a)
{
    daap_ctx *ctx;
    daap_db *db = NULL;
    int rc;

    CLI_TRY(cli_open(&ctx, a, 0));
    rc = cli_resolve(&db, ctx, a->args[0]);
    if (rc == 0)
        rc = cli_print_record(a, db, true); /* asked for by name: -o json/yaml carry the credentials */
    daap_db_free(db);
    daap_ctx_free(ctx);
    return rc;
}

/* Resolve the database, apply `spec` as the caller's team and print the
 * result; how update, protect, unprotect and resize all end. */
static int run_update(cli_args *a, const daap_db_update_spec *spec, void (*after)(const cli_args *, const daap_db *))
{
    daap_ctx *ctx;
    daap_db *updated = NULL;
    char *id = NULL;
    int rc;

    CLI_TRY(cli_open(&ctx, a, 0));
    rc = cli_resolve_id(&id, ctx, a->args[0]);
    if (rc == 0)
        rc = daap_db_update(&updated, ctx, id, cli_caller_team(a), spec);
    if (rc == 0)
        rc = cli_print_record(a, updated, false);
    if (rc == 0 && after)
        after(a, updated);
    daap_db_free(updated);
    free(id);
    daap_ctx_free(ctx);
    return rc;
}

int cmd_update(cli_args *a)
{
    daap_db_update_spec spec = DAAP_DB_UPDATE_INIT;

    spec.owner_team = cli_opt(a, "team");
    spec.purpose = cli_opt(a, "purpose");
    if (spec.owner_team == NULL && spec.purpose == NULL)
        return cli_usage_error("update needs --team NEWTEAM and/or --purpose TEXT");
    return run_update(a, &spec, NULL);
}

/* ---- protect, unprotect */

static int set_protection(cli_args *a, int32_t protection)
{
    daap_db_update_spec spec = DAAP_DB_UPDATE_INIT;

    spec.deletion_protection = protection;
    return run_update(a, &spec, NULL);
}

int cmd_protect(cli_args *a)
{
    return set_protection(a, DAAP_DB_PROTECTION_ON);
}

int cmd_unprotect(cli_args *a)
{
    return set_protection(a, DAAP_DB_PROTECTION_OFF);
}

/* ---- resize */

/* Through a daap-server only the reason says so (change_started_at is internal). */
static void say_rolling_out(const cli_args *a, const daap_db *db)
{
    const char *reason = daap_db_status_reason(db);

    if (a->output == OUT_TABLE && reason && strncmp(reason, "rolling out:", 12) == 0)
        fprintf(stderr, "Rolling out; the database stays ready. Follow it with 'daapctl get %s'.\n",
                daap_db_name(db));
}

int cmd_resize(cli_args *a)
{
    daap_db_update_spec spec = DAAP_DB_UPDATE_INIT;
    const char *v;
    int n;

    spec.storage_size = cli_opt(a, "storage");
    if ((v = cli_opt(a, "instances")) != NULL) {
        CLI_TRY(cli_parse_int(&n, v, "--instances", 1, 1000000));
        spec.instances = n;
    }
    if (spec.storage_size == NULL && spec.instances == 0)
        return cli_usage_error("resize needs --storage SIZE and/or --instances N");
    return run_update(a, &spec, say_rolling_out);
}

/* ---- rotate-password */

bool cli_is_rotating(const daap_db *db)
{
    const char *reason = daap_db_status_reason(db);
    return reason && strncmp(reason, "rotating password:", 18) == 0;
}

/* Rotate, and with --wait follow it until the new password is in the
 * record (or the old one was kept). The password before is kept to tell
 * the two apart; it never leaves this process. */
static int rotate_and_follow(daap_db **out, cli_args *a, daap_ctx *ctx, const daap_db *before, long long timeout_ms)
{
    char *old = daap_db_password(before) ? strdup(daap_db_password(before)) : NULL;
    daap_db *started = NULL;
    int rc = daap_db_rotate_password(&started, ctx, daap_db_id(before), cli_caller_team(a));

    if (rc == 0 && cli_flag(a, "wait")) {
        rc = cli_wait_rotated(out, ctx, started, old, timeout_ms);
        daap_db_free(started);
    } else {
        *out = started;
    }
    if (old) {
        memset(old, 0, strlen(old));
        free(old);
    }
    return rc;
}

int cmd_rotate_password(cli_args *a)
{
    daap_ctx *ctx;
    daap_db *before = NULL, *after = NULL;
    long long timeout_ms;
    bool waited = cli_flag(a, "wait");
    int rc;

    CLI_TRY(wait_timeout(&timeout_ms, a));
    CLI_TRY(cli_open(&ctx, a, 0));
    rc = cli_resolve(&before, ctx, a->args[0]);
    if (rc == 0)
        rc = rotate_and_follow(&after, a, ctx, before, timeout_ms);
    if (rc == 0)
        rc = cli_print_record(a, after, waited); /* after --wait, -o json/yaml carry the new credentials */
    if (rc == 0 && !waited && a->output == OUT_TABLE)
        fprintf(stderr, "Rotating; the database stays ready and the old password works until a login with the "
                "new one succeeds. Follow it with 'daapctl get %s', or use --wait.\n", daap_db_name(after));
    daap_db_free(before);
    daap_db_free(after);
    daap_ctx_free(ctx);
    return rc;
}

/* ---- delete */

static bool confirmed(const daap_db *db)
{
    char answer[16];

    fprintf(stderr, "Delete database '%s' (%s, team %s) and all its data? [y/N] ", daap_db_name(db),
            daap_db_id(db), daap_db_owner_team(db));
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        return false;
    answer[strcspn(answer, "\r\n")] = '\0';
    return strcmp(answer, "y") == 0 || strcmp(answer, "Y") == 0 || strcmp(answer, "yes") == 0;
}

static void print_deleted(const cli_args *a, const daap_db *before, const daap_db *after, bool gone)
{
    if (a->output != OUT_TABLE) {
        cli_print_record(a, after, false);
        return;
    }
    if (gone || daap_db_status(after) == DAAP_DB_DELETED)
        printf("Deleted database %s (%s).\n", daap_db_name(before), daap_db_id(before));
    else
        printf("Deleting database %s (%s): %s.\n", daap_db_name(before), daap_db_id(before),
               daap_db_status_reason(after) ? daap_db_status_reason(after) : "under way");
}

int cmd_delete(cli_args *a)
{
    bool yes = cli_flag(a, "yes"), waited = false;
    daap_ctx *ctx;
    daap_db *db = NULL, *after = NULL;
    long long timeout_ms;
    int rc;

    if (!yes && !isatty(STDIN_FILENO))
        return cli_usage_error("refusing to delete without --yes: stdin is not a terminal to confirm on");
    CLI_TRY(wait_timeout(&timeout_ms, a));
    CLI_TRY(cli_open(&ctx, a, OPEN_KUBE));
    rc = cli_resolve(&db, ctx, a->args[0]);
    /* A protected database is refused by the library with how to lift it;
     * asking first would only make the owner answer for nothing. */
    if (rc == 0 && !yes && !daap_db_deletion_protection(db) && !confirmed(db))
        rc = cli_fail(DAAP_ERROR, "not deleted");
    if (rc == 0)
        rc = daap_db_delete(&after, ctx, daap_db_id(db), cli_caller_team(a));
    if (rc == 0 && cli_flag(a, "wait") && daap_db_status(after) != DAAP_DB_DELETED) {
        rc = cli_wait_deleted(ctx, after, timeout_ms);
        waited = true;
    }
    if (rc == 0)
        print_deleted(a, db, after, waited);
    daap_db_free(after);
    daap_db_free(db);
    daap_ctx_free(ctx);
    return rc;
}

/* ---- url, connect */

static int ready_record(daap_db **out, daap_ctx **ctx, const cli_args *a)
{
    int rc;

    *out = NULL;
    CLI_TRY(cli_open(ctx, a, 0));
    rc = cli_resolve(out, *ctx, a->args[0]);
    if (rc == 0 && daap_db_status(*out) != DAAP_DB_READY)
        rc = cli_fail(DAAP_ENOTFOUND, "database %s is %s, not ready: it has no connection details yet",
                      daap_db_name(*out), daap_db_status_name(daap_db_status(*out)));
    return rc;
}

int cmd_url(cli_args *a)
{
    daap_ctx *ctx = NULL;
    daap_db *db = NULL;
    char *uri = NULL;
    int rc = ready_record(&db, &ctx, a);

    if (rc == 0)
        rc = cli_uri(&uri, db, cli_flag(a, "direct"));
    if (rc == 0)
        printf("%s\n", uri);
    cli_free_secret(uri);
    daap_db_free(db);
    daap_ctx_free(ctx);
    return rc;
}

/* libpq's keyword=value form, each value quoted: nothing can break out. */
static int put_conninfo(char *out, size_t size, const char *key, const char *value, bool first)
{
    size_t n = strlen(out);
    const char *p;

    if (n + strlen(key) + 4 >= size)
        return -1;
    n += (size_t)snprintf(out + n, size - n, "%s%s='", first ? "" : " ", key);
    for (p = value ? value : ""; *p; p++) {
        if (n + 3 >= size)
            return -1;
        if (*p == '\'' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    if (n + 2 >= size)
        return -1;
    out[n++] = '\'';
    out[n] = '\0';
    return 0;
}

static int conninfo(char *out, size_t size, const daap_db *db, bool direct)
{
    char port[16];

    out[0] = '\0';
    if (direct && daap_db_direct_host(db) == NULL)
        return cli_fail(DAAP_ENOTFOUND, "database %s has no direct endpoint", daap_db_name(db));
    snprintf(port, sizeof(port), "%d", (int)(direct ? daap_db_direct_port(db) : daap_db_port(db)));
    if (put_conninfo(out, size, "host", direct ? daap_db_direct_host(db) : daap_db_host(db), true) < 0 ||
        put_conninfo(out, size, "port", port, false) < 0 ||
        put_conninfo(out, size, "dbname", daap_db_dbname(db), false) < 0 ||
        put_conninfo(out, size, "user", daap_db_username(db), false) < 0 ||
        put_conninfo(out, size, "sslmode", "prefer", false) < 0)
        return cli_fail(DAAP_ERROR, "connection details of %s are too long", daap_db_name(db));
    return 0;
}

/* The password travels in the environment, not in argv, which every user
 * of the machine can read in ps. */
static int exec_psql(const cli_args *a, const daap_db *db)
{
    char info[1024];
    const char *argv[CLI_MAX_ARGS + 3];
    int i, n = 0;

    CLI_TRY(conninfo(info, sizeof(info), db, cli_flag(a, "direct")));
    if (setenv("PGPASSWORD", daap_db_password(db) ? daap_db_password(db) : "", 1) != 0)
        return cli_fail(DAAP_ERROR, "cannot set PGPASSWORD: %s", strerror(errno));
    argv[n++] = "psql";
    argv[n++] = info;
    for (i = 1; i < a->nargs; i++)
        argv[n++] = a->args[i];
    argv[n] = NULL;
    fflush(NULL);
    execvp("psql", (char *const *)argv);
    unsetenv("PGPASSWORD");
    return cli_fail(DAAP_ERROR, "cannot run psql: %s%s", strerror(errno),
                    errno == ENOENT ? " (install the PostgreSQL client, or use 'daapctl url')" : "");
}

int cmd_connect(cli_args *a)
{
    daap_ctx *ctx = NULL;
    daap_db *db = NULL;
    int rc = ready_record(&db, &ctx, a);

    if (rc == 0)
        rc = exec_psql(a, db); /* returns only on failure */
    daap_db_free(db);
    daap_ctx_free(ctx);
    return rc;
}
