/* daapctl events: a database's history, oldest of the page first, and
 * --follow, which polls for newer events until Ctrl-C or the database is
 * deleted. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOLLOW_INTERVAL_MS 1000
#define FOLLOW_PAGE        50
#define EVENT_COLUMNS      5

static volatile sig_atomic_t follow_stopped;

static void on_interrupt(int sig)
{
    (void)sig;
    follow_stopped = 1;
}

static void pause_unless_stopped(long long ms)
{
    while (ms > 0 && !follow_stopped) {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
        ms -= 100;
    }
}

static const char *what_happened(char *buf, size_t size, const daap_db_event *ev)
{
    if (ev->count > 1)
        snprintf(buf, size, "%s (x%lld)", ev->message ? ev->message : "", (long long)ev->count);
    else
        snprintf(buf, size, "%s", ev->message ? ev->message : "");
    return buf;
}

/* Events in the order given, as one aligned table. */
static int print_rows(const daap_db_event *const *rows, size_t n, bool header)
{
    char (*text)[2][600] = calloc(n ? n : 1, sizeof(*text));
    const char **cells = calloc((n + 1) * EVENT_COLUMNS, sizeof(*cells));
    size_t r, at = 0;
    int rc;

    if (text == NULL || cells == NULL) {
        free(text);
        free(cells);
        return cli_fail(DAAP_ERROR, "out of memory");
    }
    if (header) {
        static const char *const head[EVENT_COLUMNS] = { "LAST SEEN", "TYPE", "REASON", "ACTOR", "MESSAGE" };
        memcpy(cells, head, sizeof(head));
        at = EVENT_COLUMNS;
    }
    for (r = 0; r < n; r++, at += EVENT_COLUMNS) {
        cli_format_time(text[r][0], sizeof(text[r][0]), rows[r]->last_at);
        cells[at] = text[r][0];
        cells[at + 1] = daap_db_event_type_name(rows[r]->type);
        cells[at + 2] = rows[r]->reason;
        cells[at + 3] = rows[r]->actor ? rows[r]->actor : "-";
        cells[at + 4] = what_happened(text[r][1], sizeof(text[r][1]), rows[r]);
    }
    rc = cli_print_table(stdout, cells, at / EVENT_COLUMNS, EVENT_COLUMNS);
    fflush(stdout);
    free(text);
    free(cells);
    return rc;
}

/* A page arrives newest first; people read a history oldest first. */
static int print_page(const daap_db_event_page *page, bool header)
{
    const daap_db_event **rows = calloc(page->count ? page->count : 1, sizeof(*rows));
    size_t i;
    int rc;

    if (rows == NULL)
        return cli_fail(DAAP_ERROR, "out of memory");
    for (i = 0; i < page->count; i++)
        rows[i] = &page->items[page->count - 1 - i];
    rc = print_rows(rows, page->count, header);
    free(rows);
    return rc;
}

static int events_options(daap_db_events_options *o, const cli_args *a)
{
    int limit = 0;

    if (cli_opt(a, "limit"))
        CLI_TRY(cli_parse_int(&limit, cli_opt(a, "limit"), "--limit", 1, 200));
    o->limit = (uint32_t)limit;
    if (cli_opt(a, "type")) {
        if (strcmp(cli_opt(a, "type"), "warning") != 0)
            return cli_usage_error("--type takes only 'warning'");
        o->warnings_only = 1;
    }
    return 0;
}

/* What --follow has shown: the newest event and how often it had happened. */
typedef struct {
    int64_t id;
    int64_t count;
    bool    deleted;
} follow_mark;

/* Print what is newer than the mark (a folded repeat of the newest event
 * shows again with its new count), then move the mark. */
static int print_newer(follow_mark *m, const daap_db_event_page *page)
{
    const daap_db_event **rows = calloc(page->count ? page->count : 1, sizeof(*rows));
    size_t i, n = 0;
    int rc;

    if (rows == NULL)
        return cli_fail(DAAP_ERROR, "out of memory");
    for (i = page->count; i-- > 0;) {
        const daap_db_event *ev = &page->items[i];
        if (ev->id > m->id || (ev->id == m->id && ev->count > m->count))
            rows[n++] = ev;
        if (strcmp(ev->reason, "Deleted") == 0)
            m->deleted = true;
    }
    if (page->count > 0) {
        m->id = page->items[0].id;
        m->count = page->items[0].count;
    }
    rc = n ? print_rows(rows, n, false) : 0;
    free(rows);
    return rc;
}

static int follow(daap_ctx *ctx, const char *id, const daap_db_events_options *first)
{
    daap_db_events_options o = *first;
    follow_mark mark = { 0, 0, false };
    daap_db_event_page page;
    int rc;

    o.limit = FOLLOW_PAGE;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    CLI_TRY(daap_db_events(&page, ctx, id, first));
    rc = print_page(&page, true);
    if (rc == 0)
        (void)print_newer(&mark, &page); /* sets the mark; everything is shown already */
    daap_db_event_page_dispose(&page);
    while (rc == 0 && !mark.deleted && !follow_stopped) {
        pause_unless_stopped(FOLLOW_INTERVAL_MS);
        if (follow_stopped)
            break;
        if ((rc = daap_db_events(&page, ctx, id, &o)) < 0)
            break;
        rc = print_newer(&mark, &page);
        daap_db_event_page_dispose(&page);
    }
    return rc;
}

static int print_once(const cli_args *a, daap_ctx *ctx, const char *id, const daap_db_events_options *o)
{
    daap_db_event_page page;
    daap_buf json = DAAP_BUF_INIT;
    int rc;

    CLI_TRY(daap_db_events(&page, ctx, id, o));
    if (a->output == OUT_TABLE) {
        rc = print_page(&page, true);
    } else if ((rc = daap_db_event_page_to_json(&json, &page, DAAP_JSON_PRETTY)) == 0) {
        /* JSON is YAML too: one document for both, as the API sends it. */
        printf("%s\n", json.ptr);
    }
    daap_buf_dispose(&json);
    daap_db_event_page_dispose(&page);
    return rc;
}

int cmd_events(cli_args *a)
{
    daap_db_events_options o = DAAP_DB_EVENTS_OPTIONS_INIT;
    daap_ctx *ctx;
    char *id = NULL;
    int rc;

    CLI_TRY(events_options(&o, a));
    if (cli_flag(a, "follow") && a->output != OUT_TABLE)
        return cli_usage_error("--follow prints a table; leave out -o");
    CLI_TRY(cli_open(&ctx, a, 0));
    rc = cli_resolve_id(&id, ctx, a->args[0]);
    if (rc == 0)
        rc = cli_flag(a, "follow") ? follow(ctx, id, &o) : print_once(a, ctx, id, &o);
    free(id);
    daap_ctx_free(ctx);
    return rc;
}
