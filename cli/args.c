/* The command line: global options anywhere, a command, its options and
 * arguments, all checked against the command table. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = cli_failv(CLI_USAGE, fmt, ap);
    va_end(ap);
    return rc;
}

static int find_option(const cli_option *list, const char *name, size_t len, char short_)
{
    int i;
    for (i = 0; list && list[i].name; i++) {
        if (short_ ? list[i].short_ == short_
                   : strlen(list[i].name) == len && strncmp(list[i].name, name, len) == 0)
            return i;
    }
    return -1;
}

static int store_value(cli_args *a, bool global, int idx, const char *value)
{
    if (!global)
        a->opts[idx] = value;
    else if (idx == G_HELP)
        a->help = true;
    else
        a->global[idx] = value;
    return 0;
}

/* "--name", "--name=value", "-x", "-xvalue"; a value may be the next word. */
static int take_option(cli_args *a, int argc, char **argv, int *i)
{
    const char *t = argv[*i], *name, *inline_value = NULL, *eq;
    bool is_long = t[1] == '-', global = false;
    const cli_option *o;
    size_t len;
    int idx = -1;

    name = t + (is_long ? 2 : 1);
    eq = is_long ? strchr(name, '=') : NULL;
    len = eq ? (size_t)(eq - name) : is_long ? strlen(name) : 1;
    if (eq) inline_value = eq + 1;
    if (!is_long && name[1]) inline_value = name + 1;
    if (a->cmd)
        idx = find_option(a->cmd->options, name, len, is_long ? 0 : name[0]);
    if (idx < 0) {
        global = true;
        idx = find_option(cli_globals, name, len, is_long ? 0 : name[0]);
    }
    if (idx < 0)
        return cli_usage_error("unknown option '%s'%s%s", t, a->cmd ? " for " : "", a->cmd ? a->cmd->name : "");
    o = global ? &cli_globals[idx] : &a->cmd->options[idx];
    if (o->metavar == NULL) {
        if (inline_value)
            return cli_usage_error("option --%s takes no value", o->name);
        return store_value(a, global, idx, "1");
    }
    if (inline_value == NULL) {
        if (*i + 1 >= argc)
            return cli_usage_error("option --%s needs a value (%s)", o->name, o->metavar);
        inline_value = argv[++*i];
    }
    return store_value(a, global, idx, inline_value);
}

static int take_word(cli_args *a, const char *word)
{
    if (a->cmd == NULL) {
        a->cmd = cli_find_command(word);
        if (a->cmd == NULL)
            return cli_usage_error("unknown command '%s' (see 'daapctl --help')", word);
        return 0;
    }
    if (a->nargs >= CLI_MAX_ARGS)
        return cli_usage_error("too many arguments");
    a->args[a->nargs++] = word;
    return 0;
}

static int check_output(cli_args *a)
{
    const char *o = cli_global_value(a, G_OUTPUT);

    if (o == NULL || strcmp(o, "table") == 0) a->output = OUT_TABLE;
    else if (strcmp(o, "json") == 0) a->output = OUT_JSON;
    else if (strcmp(o, "yaml") == 0) a->output = OUT_YAML;
    else return cli_usage_error("unknown output format '%s' (table, json or yaml)", o);
    return 0;
}

static int check_arg_count(const cli_args *a)
{
    const cli_command *c = a->cmd;

    if (a->nargs < c->min_args)
        return cli_usage_error("%s needs %s", c->name, c->synopsis);
    if (a->nargs > c->max_args)
        return cli_usage_error("%s: unexpected argument '%s'", c->name, a->args[c->max_args]);
    return 0;
}

int cli_parse(cli_args *a, int argc, char **argv)
{
    bool only_words = false;
    int i, rc;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        const char *t = argv[i];
        if (only_words || t[0] != '-' || t[1] == '\0')
            rc = take_word(a, t);
        else if (strcmp(t, "--") == 0)
            rc = a->cmd ? (only_words = true, 0) : cli_usage_error("'--' before a command");
        else
            rc = take_option(a, argc, argv, &i);
        if (rc < 0)
            return rc;
    }
    if ((rc = check_output(a)) < 0)
        return rc;
    if (a->help || a->cmd == NULL)
        return 0;
    return check_arg_count(a);
}

static int option_index(const cli_args *a, const char *name)
{
    return a->cmd ? find_option(a->cmd->options, name, strlen(name), 0) : -1;
}

const char *cli_opt(const cli_args *a, const char *name)
{
    int i = option_index(a, name);
    return i >= 0 ? a->opts[i] : NULL;
}

bool cli_flag(const cli_args *a, const char *name)
{
    return cli_opt(a, name) != NULL;
}

const char *cli_global_value(const cli_args *a, cli_global g)
{
    const char *env;

    if (a->global[g])
        return a->global[g];
    env = cli_globals[g].env ? getenv(cli_globals[g].env) : NULL;
    return env && *env ? env : NULL;
}

/* "90" (seconds), "90s", "500ms", "10m", "1h30m". */
int cli_parse_duration(long long *ms, const char *text)
{
    const char *p = text;
    long long total = 0;

    if (*p == '\0')
        return cli_usage_error("empty duration");
    while (*p) {
        char *end;
        long long v;
        if (!isdigit((unsigned char)*p))
            return cli_usage_error("bad duration '%s' (e.g. 90s, 10m, 1h30m)", text);
        errno = 0;
        v = strtoll(p, &end, 10);
        if (errno || v > 1000000000LL)
            return cli_usage_error("duration '%s' is too long", text);
        p = end;
        if (strncmp(p, "ms", 2) == 0) { total += v; p += 2; }
        else if (*p == 's' || *p == '\0') { total += v * 1000; p += *p != '\0'; }
        else if (*p == 'm') { total += v * 60000; p++; }
        else if (*p == 'h') { total += v * 3600000; p++; }
        else return cli_usage_error("bad duration '%s' (e.g. 90s, 10m, 1h30m)", text);
    }
    *ms = total;
    return 0;
}

int cli_parse_int(int *out, const char *text, const char *what, int lo, int hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno || v < lo || v > hi)
        return cli_usage_error("%s must be a whole number from %d to %d, not '%s'", what, lo, hi, text);
    *out = (int)v;
    return 0;
}
