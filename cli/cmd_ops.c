/* migrate, reconcile, version, completion, help: operator and tool commands. */
#include "cli.h"

#include <signal.h>
#include <string.h>
#include <time.h>

/* ---- migrate */

static void print_migrations_table(const daap_migration_status *st)
{
    size_t i;

    printf("%-8s %-28s %-21s %s\n", "VERSION", "NAME", "APPLIED", "CHECKSUM");
    for (i = 0; i < st->count; i++) {
        const daap_migration_info *m = &st->items[i];
        char t[40];
        cli_format_time(t, sizeof(t), m->applied ? m->applied_at : 0);
        printf("%-8d %-28s %-21s %s\n", (int)m->version, m->name, m->applied ? t : "pending",
               !m->applied ? "-" : m->checksum_ok ? "ok" : "CHANGED");
    }
    printf("Schema version %d of %d.\n", (int)st->current, (int)st->latest);
}

static void print_migrations_data(const daap_migration_status *st, bool json)
{
    size_t i;

    printf(json ? "{\n  \"current\": %d,\n  \"latest\": %d,\n  \"migrations\": [" : "current: %d\nlatest: %d\nmigrations:",
           (int)st->current, (int)st->latest);
    for (i = 0; i < st->count; i++) {
        const daap_migration_info *m = &st->items[i];
        char t[40] = "null";
        if (m->applied) {
            t[0] = '"';
            cli_format_time(t + 1, sizeof(t) - 2, m->applied_at);
            strcat(t, "\"");
        }
        printf(json ? "%s\n    {\"version\": %d, \"name\": " : "%s\n- version: %d\n  name: ", json && i ? "," : "",
               (int)m->version);
        cli_json_string(stdout, m->name);
        printf(json ? ", \"applied\": %s, \"applied_at\": %s, \"checksum_ok\": %s}" :
                      "\n  applied: %s\n  applied_at: %s\n  checksum_ok: %s",
               m->applied ? "true" : "false", t, m->checksum_ok ? "true" : "false");
    }
    puts(json ? (st->count ? "\n  ]\n}" : "]\n}") : (st->count ? "" : " []"));
}

static int show_migrations(const cli_args *a, daap_ctx *ctx)
{
    daap_migration_status st;

    CLI_TRY(daap_migration_status_get(&st, ctx));
    if (a->output == OUT_TABLE)
        print_migrations_table(&st);
    else
        print_migrations_data(&st, a->output == OUT_JSON);
    daap_migration_status_dispose(&st);
    return 0;
}

/* down without --to reverts one step. */
static int migrate_target(int *target, const cli_args *a, daap_ctx *ctx, bool up)
{
    const char *to = cli_opt(a, "to");
    daap_migration_status st;

    if (to)
        return cli_parse_int(target, to, "--to", 0, 100000);
    if (up) {
        *target = -1;
        return 0;
    }
    CLI_TRY(daap_migration_status_get(&st, ctx));
    *target = st.current > 0 ? (int)st.current - 1 : 0;
    daap_migration_status_dispose(&st);
    return 0;
}

int cmd_migrate(cli_args *a)
{
    const char *verb = a->args[0];
    bool up = strcmp(verb, "up") == 0, down = strcmp(verb, "down") == 0;
    daap_ctx *ctx;
    int target = -1, rc;

    if (!up && !down && strcmp(verb, "status") != 0)
        return cli_usage_error("migrate wants up, down or status, not '%s'", verb);
    if (!up && !down && cli_opt(a, "to"))
        return cli_usage_error("--to goes with migrate up or down");
    CLI_TRY(cli_open(&ctx, a, OPEN_STORE_ONLY | OPEN_NO_SCHEMA_CHECK));
    rc = (up || down) ? migrate_target(&target, a, ctx, up) : 0;
    if (rc == 0 && (up || down))
        rc = daap_migrate(ctx, target);
    if (rc == 0)
        rc = show_migrations(a, ctx);
    daap_ctx_free(ctx);
    return rc;
}

/* ---- reconcile */

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void print_result(const cli_args *a, const daap_reconcile_result *r)
{
    static const char *const names[] = { "examined", "transitions", "objects_created", "objects_deleted",
                                         "orphans_removed", "conflicts", "failures", "pending" };
    const uint32_t values[] = { r->examined, r->transitions, r->objects_created, r->objects_deleted,
                                r->orphans_removed, r->conflicts, r->failures, r->pending };
    size_t i;

    for (i = 0; i < 8; i++) {
        if (a->output == OUT_JSON)
            printf("%s\"%s\": %u", i ? ", " : "{", names[i], (unsigned)values[i]);
        else if (a->output == OUT_YAML)
            printf("%s%s: %u\n", i == 0 ? "---\n" : "", names[i], (unsigned)values[i]);
        else
            printf("%s%s %u", i ? ", " : "", names[i], (unsigned)values[i]);
    }
    if (a->output != OUT_YAML)
        puts(a->output == OUT_JSON ? "}" : "");
    fflush(stdout);
}

static int reconcile_pass(const cli_args *a, daap_ctx *ctx, const daap_reconcile_options *o)
{
    daap_reconcile_result r = { DAAP_RECONCILE_RESULT_VERSION };
    CLI_TRY(daap_reconcile_once(&r, ctx, o));
    print_result(a, &r);
    return 0;
}

static void sleep_unless_stopped(long long ms)
{
    while (ms > 0 && !stop_requested) {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
        ms -= 100;
    }
}

/* The loop lives here, not in the library: a failed pass is reported and
 * the next one tries again. */
static int reconcile_loop(const cli_args *a, daap_ctx *ctx, const daap_reconcile_options *o, long long interval)
{
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    while (!stop_requested) {
        if (reconcile_pass(a, ctx, o) < 0)
            cli_print_error(a, daap_error_last()->code);
        sleep_unless_stopped(interval);
    }
    return 0;
}

int cmd_reconcile(cli_args *a)
{
    daap_reconcile_options o = DAAP_RECONCILE_OPTIONS_INIT;
    long long interval = 10000, timeout = 0;
    daap_ctx *ctx;
    int rc;

    if (cli_opt(a, "interval") && cli_flag(a, "once"))
        return cli_usage_error("--interval is for repeated passes; drop --once");
    if (cli_opt(a, "interval"))
        CLI_TRY(cli_parse_duration(&interval, cli_opt(a, "interval")));
    if (cli_opt(a, "timeout"))
        CLI_TRY(cli_parse_duration(&timeout, cli_opt(a, "timeout")));
    o.timeout_ms = timeout;
    CLI_TRY(cli_open(&ctx, a, OPEN_STORE_ONLY | OPEN_KUBE));
    rc = cli_flag(a, "once") ? reconcile_pass(a, ctx, &o) : reconcile_loop(a, ctx, &o, interval);
    daap_ctx_free(ctx);
    return rc;
}

/* ---- version, completion, help, docs */

static void print_features(bool json)
{
    static const struct { unsigned int bit; const char *name; } features[] = {
        { DAAP_FEATURE_SQLITE, "sqlite" }, { DAAP_FEATURE_POSTGRES, "postgres" },
        { DAAP_FEATURE_KUBE_REST, "kube-rest" }, { DAAP_FEATURE_REMOTE, "remote" },
    };
    unsigned int have = daap_features();
    size_t i;
    bool first = true;

    for (i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        if (!(have & features[i].bit))
            continue;
        printf(json ? "%s\"%s\"" : "%s%s", first ? "" : json ? ", " : " ", features[i].name);
        first = false;
    }
}

int cmd_version(cli_args *a)
{
    if (a->output == OUT_JSON) {
        printf("{\"daapctl\": \"%s\", \"libdaap\": \"%s\", \"features\": [", DAAP_VERSION_STRING, daap_version_string());
        print_features(true);
        puts("]}");
    } else if (a->output == OUT_YAML) {
        printf("daapctl: \"%s\"\nlibdaap: \"%s\"\nfeatures: [", DAAP_VERSION_STRING, daap_version_string());
        print_features(true);
        puts("]");
    } else {
        printf("daapctl %s\nlibdaap %s (", DAAP_VERSION_STRING, daap_version_string());
        print_features(false);
        puts(")");
    }
    return 0;
}

int cmd_completion(cli_args *a)
{
    if (strcmp(a->args[0], "bash") != 0)
        return cli_usage_error("only bash completion is available, not '%s'", a->args[0]);
    return cli_gen_bash_completion(stdout);
}

int cmd_help(cli_args *a)
{
    const cli_command *c;

    if (a->nargs == 0) {
        cli_print_main_help(stdout);
        return 0;
    }
    c = cli_find_command(a->args[0]);
    if (c == NULL)
        return cli_usage_error("unknown command '%s' (see 'daapctl --help')", a->args[0]);
    cli_print_command_help(stdout, c);
    return 0;
}

int cmd_gen_man(cli_args *a)
{
    return cli_flag(a, "markdown") ? cli_gen_markdown(stdout) : cli_gen_man(stdout);
}
