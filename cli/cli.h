/* daapctl: shared declarations. The command table (commands.c) is the one
 * source of --help, the man page, docs/cli.md and bash completion. */
#ifndef DAAPCTL_CLI_H
#define DAAPCTL_CLI_H

#include <daap/daap.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define CLI_MAX_OPTIONS 16
#define CLI_MAX_ARGS    16

/* Propagate a negative result. */
#define CLI_TRY(expr) do { int cli_rc_ = (expr); if (cli_rc_ < 0) return cli_rc_; } while (0)

/* Results that are not library codes but still need an exit status. */
enum {
    CLI_USAGE        = -1000, /* bad command line */
    CLI_DB_FAILED    = -1001, /* --wait: the database went to status error */
    CLI_WAIT_TIMEOUT = -1002, /* --wait: the timeout passed first */
    CLI_NOT_ROTATED  = -1003  /* rotate-password --wait: the old password is still the one */
};

typedef enum { OUT_TABLE, OUT_JSON, OUT_YAML } cli_output;

/* One option of a command, or a global one. */
typedef struct {
    const char *name;    /* long name without "--"; NULL ends a list */
    char        short_;  /* one-letter alias or 0 */
    const char *metavar; /* NULL: a flag without a value */
    const char *help;    /* one line */
    const char *choices; /* space-separated values, for completion; or NULL */
    const char *env;     /* environment variable the CLI reads, or NULL */
} cli_option;

typedef struct cli_args cli_args;
typedef int (*cli_fn)(cli_args *a);

/* Command flags. */
enum {
    CMD_HIDDEN = 1u << 0 /* not in help, completion or docs */
};

typedef struct {
    const char       *name;
    cli_fn            fn;
    const char       *summary;     /* one line */
    const char       *synopsis;    /* arguments and options after the name */
    const char       *description; /* paragraphs separated by blank lines */
    const cli_option *options;     /* NULL-terminated, or NULL */
    int               min_args, max_args;
    const char       *arg_choices; /* first argument's values, for completion */
    unsigned int      flags;
} cli_command;

/* Global options, in table order. */
typedef enum {
    G_SERVER, G_STORE, G_KUBECONFIG, G_CONTEXT, G_NAMESPACE, G_SECRET_KEY_FILE,
    G_TEAM, G_OUTPUT, G_HELP, G__COUNT
} cli_global;

struct cli_args {
    const cli_command *cmd;
    const char *opts[CLI_MAX_OPTIONS];   /* by index in cmd->options; flags are "1" */
    const char *global[G__COUNT];        /* from the command line only */
    const char *args[CLI_MAX_ARGS];
    int         nargs;
    cli_output  output;
    bool        help;
};

typedef struct {
    const char *name;
    const char *meaning;
} cli_env;

typedef struct {
    const char *what;    /* one line */
    const char *command; /* one or more lines */
} cli_example;

/* commands.c */
extern const cli_env     cli_library_env[];
extern const cli_example cli_examples[];
extern const cli_command cli_commands[];
extern const size_t      cli_command_count;
extern const cli_option  cli_globals[];
const cli_command *cli_find_command(const char *name);
extern const char cli_about[];

/* args.c */
int  cli_parse(cli_args *a, int argc, char **argv);
const char *cli_opt(const cli_args *a, const char *name);
bool cli_flag(const cli_args *a, const char *name);
/* A global option: command line, then its environment variable. */
const char *cli_global_value(const cli_args *a, cli_global g);
int  cli_usage_error(const char *fmt, ...) DAAP_PRINTF(1, 2);
int  cli_parse_duration(long long *ms, const char *text);
int  cli_parse_int(int *out, const char *text, const char *what, int lo, int hi);

/* context.c */
enum { OPEN_KUBE = 1u << 0, OPEN_STORE_ONLY = 1u << 1, OPEN_NO_SCHEMA_CHECK = 1u << 2 };
int  cli_open(daap_ctx **out, const cli_args *a, unsigned int how);
const char *cli_caller_team(const cli_args *a);
/* Find a record by id or by exact name. */
int  cli_resolve(daap_db **out, daap_ctx *ctx, const char *id_or_name);
/* Only the id (malloc'd): an id is taken as it is, a name is looked up. */
int  cli_resolve_id(char **out, daap_ctx *ctx, const char *id_or_name);

/* help.c */
void cli_print_main_help(FILE *f);
void cli_print_command_help(FILE *f, const cli_command *c);
int  cli_gen_man(FILE *f);
int  cli_gen_markdown(FILE *f);
int  cli_gen_bash_completion(FILE *f);

/* output.c */
/* Report a failure the library did not record: print it now and return
 * `code`; main() then prints nothing more. */
int  cli_fail(int code, const char *fmt, ...) DAAP_PRINTF(2, 3);
int  cli_failv(int code, const char *fmt, va_list ap);
bool cli_failure_reported(void);
int  cli_print_record(const cli_args *a, const daap_db *db, bool secrets);
int  cli_print_records(const cli_args *a, daap_db **items, size_t count, const char *next_cursor);
void cli_print_error(const cli_args *a, int rc);
void cli_json_string(FILE *f, const char *s);
void cli_format_time(char *out, size_t size, int64_t ms);
void cli_format_age(char *out, size_t size, int64_t ms);
int  cli_print_table(FILE *f, const char *const *cells, size_t rows, size_t cols);
/* A ready record's URI, password included (malloc'd; free with
 * cli_free_secret). direct: the primary's -rw Service, not the pooler. */
int  cli_uri(char **out, const daap_db *db, bool direct);
void cli_free_secret(char *s);

/* exitcodes.c */
typedef struct {
    int         code;   /* daap_error_code or CLI_* */
    int         status; /* process exit status */
    const char *name;
    const char *meaning;
} cli_exit_entry;
extern const cli_exit_entry cli_exit_table[];
extern const size_t         cli_exit_count;
int cli_exit_status(int code);

/* Command functions. */
int cmd_create(cli_args *a);
int cmd_list(cli_args *a);
int cmd_get(cli_args *a);
int cmd_update(cli_args *a);
int cmd_delete(cli_args *a);
int cmd_events(cli_args *a);
int cmd_protect(cli_args *a);
int cmd_unprotect(cli_args *a);
int cmd_resize(cli_args *a);
int cmd_rotate_password(cli_args *a);
/* Whether a rotation is under way: its status_reason says so (cmd_db.c). */
bool cli_is_rotating(const daap_db *db);
int cmd_url(cli_args *a);
int cmd_connect(cli_args *a);
int cmd_migrate(cli_args *a);
int cmd_reconcile(cli_args *a);
int cmd_version(cli_args *a);
int cmd_completion(cli_args *a);
int cmd_help(cli_args *a);
int cmd_gen_man(cli_args *a);

/* wait.c */
/* What --wait waits for. */
typedef enum { WAIT_READY, WAIT_DELETED, WAIT_ROTATED } wait_goal;
/* Follow db until ready: 0 with the ready record in *out, CLI_DB_FAILED,
 * CLI_WAIT_TIMEOUT, or another failure. */
int cli_wait_ready(daap_db **out, daap_ctx *ctx, const daap_db *db, long long timeout_ms);
/* Follow a deleting db until it is gone: 0, CLI_DB_FAILED, CLI_WAIT_TIMEOUT, ... */
int cli_wait_deleted(daap_ctx *ctx, const daap_db *db, long long timeout_ms);
/* Follow a rotating db until its rotation ends: 0 with the record and its
 * new credentials in *out, CLI_NOT_ROTATED when `old_password` is still
 * the one (the rotation failed), CLI_WAIT_TIMEOUT, ... */
int cli_wait_rotated(daap_db **out, daap_ctx *ctx, const daap_db *db, const char *old_password,
                     long long timeout_ms);

#endif
