/* Everything written about daapctl, made from the command table: --help,
 * the man page, docs/cli.md and the bash completion script. */
#include "cli.h"

#include <ctype.h>
#include <string.h>

#define WIDTH 80

static bool visible(const cli_command *c)
{
    return !(c->flags & CMD_HIDDEN);
}

/* ---- plain text */

/* Fill paragraphs ("\n\n"-separated) to WIDTH. The first line continues at
 * column `col`; the others start at `indent`. */
static void wrap_from(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;
    bool fresh = true; /* nothing written on this line yet */

    while (*p) {
        size_t n = strcspn(p, " \n");
        if (n > 0) {
            if (!fresh && col + 1 + (int)n > WIDTH) {
                fputc('\n', f);
                col = 0;
                fresh = true;
            }
            if (col < indent)
                col += fprintf(f, "%*s", indent - col, "");
            col += fprintf(f, "%s%.*s", fresh ? "" : " ", (int)n, p);
            fresh = false;
            p += n;
        }
        if (strncmp(p, "\n\n", 2) == 0) {
            fputs("\n\n", f);
            col = 0;
            fresh = true;
            p += 2;
        } else if (*p) {
            p++;
        }
    }
    if (!fresh)
        fputc('\n', f);
}

static void wrap(FILE *f, const char *text, int indent)
{
    wrap_from(f, text, 0, indent);
}

static void option_label(char *out, size_t size, const cli_option *o)
{
    if (o->short_)
        snprintf(out, size, "-%c, --%s%s%s", o->short_, o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    else
        snprintf(out, size, "    --%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

static void print_options(FILE *f, const cli_option *list)
{
    char label[64], help[512];
    int i, col;

    for (i = 0; list && list[i].name; i++) {
        option_label(label, sizeof(label), &list[i]);
        col = fprintf(f, "  %-26s ", label);
        if (col > 29) {
            fprintf(f, "\n%29s", "");
            col = 29;
        }
        snprintf(help, sizeof(help), "%s%s%s%s", list[i].help, list[i].env ? " [$" : "",
                 list[i].env ? list[i].env : "", list[i].env ? "]" : "");
        wrap_from(f, help, col, 29);
    }
}

static void print_exit_statuses(FILE *f)
{
    size_t i;
    for (i = 0; i < cli_exit_count; i++)
        fprintf(f, "  %-3d %-15s %s\n", cli_exit_table[i].status, cli_exit_table[i].name, cli_exit_table[i].meaning);
}

void cli_print_main_help(FILE *f)
{
    size_t i;

    fputs("daapctl: ask for PostgreSQL databases and manage them\n\n"
          "Usage: daapctl [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n\n", f);
    wrap(f, cli_about, 0);
    fputs("\nCommands:\n", f);
    for (i = 0; i < cli_command_count; i++)
        if (visible(&cli_commands[i]))
            fprintf(f, "  %-12s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fputs("\nGlobal options:\n", f);
    print_options(f, cli_globals);
    fputs("\nExit status:\n", f);
    print_exit_statuses(f);
    fputs("\nRun 'daapctl COMMAND --help' for a command's options, 'man daapctl' for the manual.\n", f);
}

void cli_print_command_help(FILE *f, const cli_command *c)
{
    static const cli_option help_only[] = {
        { "help", 'h', NULL, "show this help", NULL, NULL }, { NULL, 0, NULL, NULL, NULL, NULL }
    };

    int col = fprintf(f, "Usage: daapctl %s ", c->name);

    wrap_from(f, c->synopsis, col, 8);
    fprintf(f, "\n%c%s.\n\n", toupper((unsigned char)c->summary[0]), c->summary + 1);
    wrap(f, c->description, 0);
    fputs("\nOptions:\n", f);
    print_options(f, c->options);
    print_options(f, help_only);
    fputs("\nGlobal options (see 'daapctl --help'):\n", f);
    print_options(f, cli_globals);
}

/* ---- the man page */

/* roff: backslashes and hyphens escaped, no line may start with a dot. */
static void roff(FILE *f, const char *s)
{
    bool line_start = true;

    for (; *s; s++) {
        if (line_start && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        if (*s == '\\') fputs("\\e", f);
        else if (*s == '-') fputs("\\-", f);
        else fputc(*s, f);
        line_start = *s == '\n';
    }
}

static void roff_paragraphs(FILE *f, const char *text)
{
    const char *p = text;

    while (*p) {
        const char *end = strstr(p, "\n\n");
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char para[2048];
        snprintf(para, sizeof(para), "%.*s", (int)n, p);
        fputs(".PP\n", f);
        roff(f, para);
        fputc('\n', f);
        p += n;
        if (end)
            p += 2;
    }
}

static void roff_option(FILE *f, const cli_option *o)
{
    fputs(".TP\n", f);
    if (o->short_)
        fprintf(f, "\\fB\\-%c\\fR, ", o->short_);
    fputs("\\fB\\-\\-", f);
    roff(f, o->name);
    fputs("\\fR", f);
    if (o->metavar) {
        fputs(" \\fI", f);
        roff(f, o->metavar);
        fputs("\\fR", f);
    }
    fputc('\n', f);
    roff(f, o->help);
    if (o->env) {
        fputs(" (environment: ", f);
        roff(f, o->env);
        fputc(')', f);
    }
    fputs(".\n", f);
}

static void man_command(FILE *f, const cli_command *c)
{
    int i;

    fprintf(f, ".SS \"%s\"\n.B daapctl %s\n", c->name, c->name);
    if (*c->synopsis) {
        roff(f, c->synopsis);
        fputc('\n', f);
    }
    roff_paragraphs(f, c->description);
    for (i = 0; c->options && c->options[i].name; i++)
        roff_option(f, &c->options[i]);
}

static void man_environment(FILE *f)
{
    int i;

    fputs(".SH ENVIRONMENT\n", f);
    for (i = 0; cli_globals[i].name; i++) {
        if (!cli_globals[i].env)
            continue;
        fprintf(f, ".TP\n.B %s\nThe default of \\fB\\-\\-", cli_globals[i].env);
        roff(f, cli_globals[i].name);
        fputs("\\fR.\n", f);
    }
    for (i = 0; cli_library_env[i].name; i++) {
        fputs(".TP\n.B ", f);
        roff(f, cli_library_env[i].name);
        fputc('\n', f);
        roff(f, cli_library_env[i].meaning);
        fputs(".\n", f);
    }
}

static void man_tail(FILE *f)
{
    size_t i;

    fputs(".SH EXIT STATUS\n", f);
    for (i = 0; i < cli_exit_count; i++) {
        fprintf(f, ".TP\n.B %d\n", cli_exit_table[i].status);
        roff(f, cli_exit_table[i].meaning);
        fprintf(f, " (%s).\n", cli_exit_table[i].name);
    }
    fputs(".SH EXAMPLES\n", f);
    for (i = 0; cli_examples[i].what; i++) {
        fputs(".PP\n", f);
        roff(f, cli_examples[i].what);
        fputs(":\n.PP\n.RS\n.nf\n", f);
        roff(f, cli_examples[i].command);
        fputs("\n.fi\n.RE\n", f);
    }
    fputs(".SH SEE ALSO\n.BR psql (1),\n.BR kubectl (1)\n", f);
}

int cli_gen_man(FILE *f)
{
    size_t i;
    int g;

    fputs(".\\\" Generated by 'daapctl __gen-man' from cli/commands.c; do not edit.\n", f);
    fprintf(f, ".TH DAAPCTL 1 \"\" \"daapctl %s\" \"daap manual\"\n", DAAP_VERSION_STRING);
    fputs(".SH NAME\ndaapctl \\- ask for PostgreSQL databases and manage them\n"
          ".SH SYNOPSIS\n.B daapctl\n"
          "[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIarguments\\fR] [\\fIoptions\\fR]\n"
          ".SH DESCRIPTION\n", f);
    roff_paragraphs(f, cli_about);
    fputs(".SH COMMANDS\n", f);
    for (i = 0; i < cli_command_count; i++)
        if (visible(&cli_commands[i]))
            man_command(f, &cli_commands[i]);
    fputs(".SH GLOBAL OPTIONS\n", f);
    for (g = 0; cli_globals[g].name; g++)
        roff_option(f, &cli_globals[g]);
    man_environment(f);
    man_tail(f);
    return 0;
}

/* ---- docs/cli.md */

static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

static void md_options(FILE *f, const cli_option *list)
{
    int i;

    fputs("| Option | Meaning |\n| --- | --- |\n", f);
    for (i = 0; list[i].name; i++) {
        fputs("| ", f);
        if (list[i].short_)
            fprintf(f, "`-%c`, ", list[i].short_);
        fprintf(f, "`--%s%s%s` | ", list[i].name, list[i].metavar ? " " : "", list[i].metavar ? list[i].metavar : "");
        md_cell(f, list[i].help);
        if (list[i].env)
            fprintf(f, " (environment: `%s`)", list[i].env);
        fputs(" |\n", f);
    }
}

static void md_command(FILE *f, const cli_command *c)
{
    fprintf(f, "### %s\n\n```\ndaapctl %s %s\n```\n\n%c%s.\n\n%s\n\n", c->name, c->name, c->synopsis,
            toupper((unsigned char)c->summary[0]), c->summary + 1, c->description);
    if (c->options)
        md_options(f, c->options), fputc('\n', f);
}

static void md_tail(FILE *f)
{
    size_t i;

    fputs("## Environment\n\n| Variable | Meaning |\n| --- | --- |\n", f);
    for (i = 0; cli_globals[i].name; i++)
        if (cli_globals[i].env)
            fprintf(f, "| `%s` | the default of `--%s` |\n", cli_globals[i].env, cli_globals[i].name);
    for (i = 0; cli_library_env[i].name; i++) {
        fprintf(f, "| `%s` | ", cli_library_env[i].name);
        md_cell(f, cli_library_env[i].meaning);
        fputs(" |\n", f);
    }
    fputs("\n## Exit status\n\n| Status | Name | Meaning |\n| --- | --- | --- |\n", f);
    for (i = 0; i < cli_exit_count; i++) {
        fprintf(f, "| %d | `%s` | ", cli_exit_table[i].status, cli_exit_table[i].name);
        md_cell(f, cli_exit_table[i].meaning);
        fputs(" |\n", f);
    }
    fputs("\n## Examples\n\n", f);
    for (i = 0; cli_examples[i].what; i++)
        fprintf(f, "%s:\n\n```sh\n%s\n```\n\n", cli_examples[i].what, cli_examples[i].command);
}

int cli_gen_markdown(FILE *f)
{
    size_t i;

    fprintf(f, "# daapctl %s\n\n<!-- Generated by 'daapctl __gen-man --markdown' from cli/commands.c; do not edit. -->\n\n"
               "daapctl: ask for PostgreSQL databases and manage them.\n\n"
               "```\ndaapctl [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n```\n\n%s\n\n## Commands\n\n",
            DAAP_VERSION_STRING, cli_about);
    for (i = 0; i < cli_command_count; i++)
        if (visible(&cli_commands[i]))
            md_command(f, &cli_commands[i]);
    fputs("## Global options\n\n", f);
    md_options(f, cli_globals);
    fputc('\n', f);
    md_tail(f);
    return 0;
}

/* ---- bash completion */

static void words_of(FILE *f, const cli_option *list)
{
    int i;
    for (i = 0; list && list[i].name; i++) {
        if (list[i].short_)
            fprintf(f, " -%c", list[i].short_);
        fprintf(f, " --%s", list[i].name);
    }
}

/* One case arm per option that takes a value: its choices, files, or
 * nothing (so the value is not completed as a command). */
static void value_arm(FILE *f, const cli_option *o)
{
    if (o->metavar == NULL)
        return;
    fprintf(f, "        --%s", o->name);
    if (o->short_)
        fprintf(f, "|-%c", o->short_);
    fputc(')', f);
    if (o->choices)
        fprintf(f, " COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return;;\n", o->choices);
    else if (strcmp(o->metavar, "FILE") == 0 || strcmp(o->metavar, "PATH") == 0)
        fputs(" COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n", f);
    else
        fputs(" COMPREPLY=(); return;;\n", f);
}

static bool seen_before(const cli_option *o, size_t cmd, int idx)
{
    size_t i;
    int j;

    for (j = 0; cli_globals[j].name; j++)
        if (strcmp(cli_globals[j].name, o->name) == 0)
            return true;
    for (i = 0; i <= cmd; i++)
        for (j = 0; cli_commands[i].options && cli_commands[i].options[j].name; j++) {
            if (i == cmd && j == idx)
                return false;
            if (strcmp(cli_commands[i].options[j].name, o->name) == 0)
                return true;
        }
    return false;
}

static void completion_values(FILE *f)
{
    size_t i;
    int j;

    fputs("    case $prev in\n", f);
    for (j = 0; cli_globals[j].name; j++)
        value_arm(f, &cli_globals[j]);
    for (i = 0; i < cli_command_count; i++)
        for (j = 0; cli_commands[i].options && cli_commands[i].options[j].name; j++)
            if (!seen_before(&cli_commands[i].options[j], i, j))
                value_arm(f, &cli_commands[i].options[j]);
    fputs("    esac\n", f);
}

int cli_gen_bash_completion(FILE *f)
{
    size_t i;

    fputs("# bash completion for daapctl (generated by 'daapctl completion bash')\n"
          "_daapctl() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local commands=\"", f);
    for (i = 0; i < cli_command_count; i++)
        if (visible(&cli_commands[i]))
            fprintf(f, "%s%s", i ? " " : "", cli_commands[i].name);
    fputs("\"\n    local globals=\"", f);
    words_of(f, cli_globals);
    fputs("\"\n    local cmd= i\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case \" $commands \" in *\" ${COMP_WORDS[i]} \"*) cmd=${COMP_WORDS[i]}; break;; esac\n"
          "    done\n", f);
    completion_values(f);
    fputs("    local words=\"$commands $globals\"\n    case $cmd in\n", f);
    for (i = 0; i < cli_command_count; i++) {
        const cli_command *c = &cli_commands[i];
        if (!visible(c))
            continue;
        fprintf(f, "        %s) words=\"%s", c->name, c->arg_choices ? c->arg_choices : "");
        words_of(f, c->options);
        fputs(" $globals\";;\n", f);
    }
    fputs("    esac\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "}\n"
          "complete -F _daapctl daapctl\n", f);
    return 0;
}
