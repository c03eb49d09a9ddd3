/* daapctl: parse the command line, run one command, map the result to an
 * exit status (exitcodes.c). Every rule lives in libdaap. */
#include "cli.h"

static int usage_exit(const cli_args *a)
{
    if (a->cmd)
        fprintf(stderr, "Run 'daapctl %s --help' for its usage.\n", a->cmd->name);
    else
        fputs("Run 'daapctl --help' for usage.\n", stderr);
    return cli_exit_status(CLI_USAGE);
}

static int show_help(const cli_args *a)
{
    if (a->cmd) {
        cli_print_command_help(stdout, a->cmd);
        return 0;
    }
    if (a->help) {
        cli_print_main_help(stdout);
        return 0;
    }
    cli_print_main_help(stderr); /* no command at all */
    return cli_exit_status(CLI_USAGE);
}

int main(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, argc, argv);

    if (rc < 0)
        return usage_exit(&a);
    if (a.help || a.cmd == NULL)
        return show_help(&a);
    if ((rc = daap_init()) < 0) {
        cli_print_error(&a, rc);
        return cli_exit_status(rc);
    }
    rc = a.cmd->fn(&a);
    if (rc == CLI_USAGE)
        usage_exit(&a);
    else if (rc < 0)
        cli_print_error(&a, rc);
    fflush(stdout);
    daap_shutdown();
    return cli_exit_status(rc < 0 ? rc : 0);
}
