/* create --wait and delete --wait: follow a database until it is ready (or
 * deleted) or in error, with daap_db_wait(): a daap-server answers as soon
 * as the record changes, so nothing here polls on a timer.
 *
 * Each status or reason change is one line on stderr (stdout stays for the
 * result); on a terminal a spinner line below them shows that time passes,
 * so there each wait lasts at most a second before the spinner is redrawn.
 * In operator mode nobody else may be reconciling, so each round runs one
 * reconcile step for this record first and then waits a growing interval
 * for its own write (the local engine reads the store). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define POLL_FIRST_MS 300    /* operator mode: first pause between reconcile steps */
#define POLL_MAX_MS   2000
#define TICK_MS       100
#define SPIN_ROUND_MS 1000   /* on a terminal: redraw the spinner this often */
#define WAIT_ROUND_MS 30000  /* otherwise: one server-side wait */
#define RETRY_MS      1000   /* after the server could not be reached */

typedef struct {
    wait_goal goal;
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

static bool transient(int rc)
{
    return rc == DAAP_EUNAVAILABLE || rc == DAAP_ETIMEOUT;
}

static int verdict(progress *p, const daap_db *db)
{
    const char *name = daap_db_name(db);

    switch (daap_db_status(db)) {
    case DAAP_DB_READY:
        if (p->goal == WAIT_ROTATED)
            return cli_is_rotating(db) ? 0 : 1;
        return p->goal == WAIT_READY ? 1 : 0;
    case DAAP_DB_ERROR:
        clear_spinner(p);
        return cli_fail(CLI_DB_FAILED, "database %s went to error: %s", name,
                        daap_db_status_reason(db) ? daap_db_status_reason(db) : "no reason given");
    case DAAP_DB_DELETED:
        if (p->goal == WAIT_DELETED)
            return 1;
        /* fall through */
    case DAAP_DB_DELETING:
        if (p->goal == WAIT_DELETED)
            return 0;
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
    return cli_fail(CLI_WAIT_TIMEOUT, "database %s is still %s after %llds%s%s", name, p->status,
                    timeout_ms / 1000, p->reason && *p->reason ? ": " : "", p->reason ? p->reason : "");
}

/* How long the next daap_db_wait may block. */
static long long round_ms(const progress *p, daap_ctx *ctx, long long *interval, long long left)
{
    long long ms = p->tty ? SPIN_ROUND_MS : WAIT_ROUND_MS;

    if (!daap_ctx_is_remote(ctx)) {
        ms = *interval;
        *interval = *interval * 3 / 2 > POLL_MAX_MS ? POLL_MAX_MS : *interval * 3 / 2;
    }
    return ms < left ? ms : left;
}

/* One round: 1 changed (in *cur), 0 nothing new yet, or a failure. */
static int wait_round(daap_db **cur, progress *p, daap_ctx *ctx, const daap_db *db, long long *interval,
                      long long deadline)
{
    daap_db_wait_options o = DAAP_DB_WAIT_OPTIONS_INIT;
    const char *id = daap_db_id(db);
    int rc;

    if (!daap_ctx_is_remote(ctx))
        (void)daap_reconcile_db(ctx, id); /* its failures show in the record */
    o.revision = daap_db_revision(db);
    o.timeout_ms = round_ms(p, ctx, interval, deadline - now_ms());
    draw_spinner(p);
    rc = daap_db_wait(cur, ctx, id, &o);
    if (rc == 0)
        return 1;
    if (rc == DAAP_ENOTFOUND && p->goal == WAIT_DELETED)
        return rc; /* gone: the caller's success */
    if (rc == DAAP_ETIMEOUT) /* a round without change, or a slow server */
        return 0;
    if (transient(rc)) {
        if (!p->unreachable)
            say(p, "still trying", daap_error_last()->message);
        p->unreachable = true;
        pause_for(p, RETRY_MS, deadline);
        return 0;
    }
    return rc;
}

static int follow(daap_db **out, progress *p, daap_ctx *ctx, const daap_db *db, long long timeout_ms)
{
    long long deadline = p->start_ms + timeout_ms, interval = POLL_FIRST_MS;
    int rc;

    observe(p, db);
    while ((rc = verdict(p, db)) == 0) {
        daap_db *cur = NULL;
        if (now_ms() >= deadline)
            return timed_out(p, daap_db_name(db), timeout_ms);
        rc = wait_round(&cur, p, ctx, db, &interval, deadline);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            observe(p, cur);
            daap_db_free(*out);
            *out = cur;
            db = cur;
        }
    }
    return rc < 0 ? rc : 0;
}

static int follow_until(daap_db **out, daap_ctx *ctx, const daap_db *db, long long timeout_ms, wait_goal goal)
{
    progress p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.goal = goal;
    p.tty = isatty(STDERR_FILENO);
    p.columns = p.tty ? terminal_columns() : 80;
    p.start_ms = now_ms();
    *out = NULL;
    rc = follow(out, &p, ctx, db, timeout_ms);
    if (rc == DAAP_ENOTFOUND && goal == WAIT_DELETED) {
        say(&p, "deleted", NULL);
        rc = 0;
    }
    clear_spinner(&p);
    free(p.reason);
    if (rc < 0) {
        daap_db_free(*out);
        *out = NULL;
    }
    return rc;
}

int cli_wait_deleted(daap_ctx *ctx, const daap_db *db, long long timeout_ms)
{
    daap_db *last = NULL;
    int rc = follow_until(&last, ctx, db, timeout_ms, WAIT_DELETED);

    daap_db_free(last);
    return rc;
}

/* The rotation has ended either way; the credentials tell which. */
int cli_wait_rotated(daap_db **out, daap_ctx *ctx, const daap_db *db, const char *old_password,
                     long long timeout_ms)
{
    daap_db *last = NULL;
    const char *now;
    int rc = follow_until(&last, ctx, db, timeout_ms, WAIT_ROTATED);

    daap_db_free(last);
    *out = NULL;
    if (rc < 0 || (rc = daap_db_get(out, ctx, daap_db_id(db))) < 0)
        return rc;
    now = daap_db_password(*out);
    if (old_password && now && strcmp(now, old_password) == 0)
        return cli_fail(CLI_NOT_ROTATED, "the password of %s was not rotated and the old one still works; "
                        "'daapctl events %s' says why", daap_db_name(*out), daap_db_name(*out));
    return 0;
}

int cli_wait_ready(daap_db **out, daap_ctx *ctx, const daap_db *db, long long timeout_ms)
{
    int rc = follow_until(out, ctx, db, timeout_ms, WAIT_READY);

    if (rc == 0 && *out == NULL && (rc = daap_db_get(out, ctx, daap_db_id(db))) < 0)
        *out = NULL; /* ready at once: fetch the credentials */
    return rc;
}
