/* create --wait: follow a database until it is ready or in error.
 *
 * Each status or reason change is one line on stderr (stdout stays for the
 * result); on a terminal a spinner line below them shows that time passes.
 * In operator mode nobody else may be reconciling, so each poll runs one
 * reconcile step for this record first. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define POLL_FIRST_MS 300
#define POLL_MAX_MS   2000
#define TICK_MS       100

typedef struct {
    bool      tty;
    int       columns;
    long long start_ms;
    int       spin;
    char      status[32];
    char     *reason;
    bool      unreachable; /* said so already */
} progress;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int terminal_columns(void)
{
    struct winsize ws;
    return ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
}

static void clear_spinner(progress *p)
{
    if (p->tty)
        fputs("\r\033[K", stderr);
}

static void draw_spinner(progress *p)
{
    static const char frames[] = "|/-\\";
    double secs = (double)(now_ms() - p->start_ms) / 1000.0;

    if (!p->tty)
        return;
    clear_spinner(p);
    fprintf(stderr, "%c %s, %.0fs", frames[p->spin++ % 4], p->status, secs);
    fflush(stderr);
}

static void say(progress *p, const char *text, const char *detail)
{
    double secs = (double)(now_ms() - p->start_ms) / 1000.0;
    char line[600];
    size_t width = p->tty ? (size_t)p->columns - 11 : sizeof(line) - 1;

    snprintf(line, sizeof(line), "%s%s%s", text, detail && *detail ? ": " : "", detail ? detail : "");
    if (width < sizeof(line) && strlen(line) > width)
        line[width] = '\0'; /* one terminal line each, or the spinner smears */
    clear_spinner(p);
    fprintf(stderr, "[%6.1fs] %s\n", secs, line);
    draw_spinner(p);
}

/* Print a line when the status or the reason changed. */
static void observe(progress *p, const daap_db *db)
{
    const char *status = daap_db_status_name(daap_db_status(db));
    const char *reason = daap_db_status_reason(db) ? daap_db_status_reason(db) : "";

    if (strcmp(status, p->status) == 0 && p->reason && strcmp(reason, p->reason) == 0)
        return;
    snprintf(p->status, sizeof(p->status), "%s", status);
    free(p->reason);
    p->reason = strdup(reason);
    p->unreachable = false;
    say(p, status, reason);
}

static int poll_once(daap_db **out, daap_ctx *ctx, const char *id)
{
    if (!daap_ctx_is_remote(ctx))
        (void)daap_reconcile_db(ctx, id); /* its failures show in the record */
    return daap_db_get(out, ctx, id);
}

static bool transient(int rc)
{
    return rc == DAAP_EUNAVAILABLE || rc == DAAP_ETIMEOUT;
}

static int verdict(progress *p, const daap_db *db)
{
    const char *name = daap_db_name(db);

    switch (daap_db_status(db)) {
    case DAAP_DB_READY:
        return 1;
    case DAAP_DB_ERROR:
        clear_spinner(p);
        return cli_fail(CLI_DB_FAILED, "database %s went to error: %s", name,
                        daap_db_status_reason(db) ? daap_db_status_reason(db) : "no reason given");
    case DAAP_DB_DELETING:
    case DAAP_DB_DELETED:
        clear_spinner(p);
        return cli_fail(DAAP_ENOTFOUND, "database %s is being deleted", name);
    default:
        return 0;
    }
}

/* Sleep until the next poll, keeping the spinner moving. */
static void pause_for(progress *p, long long ms, long long deadline)
{
    long long until = now_ms() + ms;

    if (until > deadline)
        until = deadline;
    while (now_ms() < until) {
        draw_spinner(p);
        sleep_ms(TICK_MS);
    }
}

static int timed_out(progress *p, const char *name, long long timeout_ms)
{
    clear_spinner(p);
    return cli_fail(DAAP_ETIMEOUT, "database %s is still %s after %llds%s%s", name, p->status,
                    timeout_ms / 1000, p->reason && *p->reason ? ": " : "", p->reason ? p->reason : "");
}

static int follow(daap_db **out, progress *p, daap_ctx *ctx, const daap_db *db, long long timeout_ms)
{
    long long deadline = p->start_ms + timeout_ms, interval = POLL_FIRST_MS;
    const char *id = daap_db_id(db), *name = daap_db_name(db);
    int rc;

    observe(p, db);
    while ((rc = verdict(p, db)) == 0) {
        daap_db *cur = NULL;
        if (now_ms() >= deadline)
            return timed_out(p, name, timeout_ms);
        pause_for(p, interval, deadline);
        interval = interval * 3 / 2 > POLL_MAX_MS ? POLL_MAX_MS : interval * 3 / 2;
        rc = poll_once(&cur, ctx, id);
        if (transient(rc) && !p->unreachable) {
            say(p, "still trying", daap_error_last()->message);
            p->unreachable = true;
        }
        if (rc < 0 && !transient(rc))
            return rc;
        if (rc == 0) {
            observe(p, cur);
            daap_db_free(*out);
            *out = cur;
            db = cur;
        }
    }
    return rc < 0 ? rc : 0;
}

int cli_wait_ready(daap_db **out, daap_ctx *ctx, const daap_db *db, long long timeout_ms)
{
    progress p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.tty = isatty(STDERR_FILENO);
    p.columns = p.tty ? terminal_columns() : 80;
    p.start_ms = now_ms();
    *out = NULL;
    rc = follow(out, &p, ctx, db, timeout_ms);
    clear_spinner(&p);
    if (rc == 0 && *out == NULL)
        rc = daap_db_get(out, ctx, daap_db_id(db)); /* ready at once: fetch the credentials */
    free(p.reason);
    if (rc < 0) {
        daap_db_free(*out);
        *out = NULL;
    }
    return rc;
}
