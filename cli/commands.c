/* THE command table: names, functions, options and every word of help.
 * --help, the man page, docs/cli.md and bash completion are all made from
 * it, so they cannot disagree. */
#include "cli.h"

#include <string.h>

const char cli_about[] =
    "daapctl asks a daap-server for PostgreSQL databases and manages them: each database is a "
    "CloudNativePG Cluster with a PgBouncer Pooler, and daap keeps one record of who owns it and "
    "what it is for.\n\n"
    "There are two ways in. Application developers point daapctl at a running daap-server with "
    "--server URL (or DAAP_SERVER) and need no other credentials. Operators can instead work "
    "directly on the metadata store and the cluster with --store URI and --kubeconfig PATH: this "
    "is how migrate and reconcile run, and the same create, list, get, update and delete work "
    "there too.\n\n"
    "Options given before the command are global; after it, a command's own option wins over a "
    "global option of the same name (create --team names the owner, update --team the new "
    "owner).";

const cli_option cli_globals[] = {
    [G_SERVER] = { "server", 0, "URL", "daap-server to talk to (remote mode)", NULL, "DAAP_SERVER" },
    [G_STORE] = { "store", 0, "URI", "metadata store: sqlite:///path/daap.db or postgresql://... (operator mode)",
                  NULL, "DAAP_STORE" },
    [G_KUBECONFIG] = { "kubeconfig", 0, "PATH", "kubeconfig for operator mode; default $KUBECONFIG, ~/.kube/config",
                       NULL, NULL },
    [G_CONTEXT] = { "context", 0, "NAME", "kubeconfig context; default its current-context", NULL, NULL },
    [G_NAMESPACE] = { "namespace", 0, "NAME", "Kubernetes namespace for new databases (operator mode)", NULL, NULL },
    [G_SECRET_KEY_FILE] = { "secret-key-file", 0, "FILE",
                            "key that encrypts stored passwords; default $DAAP_SECRET_KEY_FILE", NULL, NULL },
    [G_TEAM] = { "team", 0, "TEAM", "your team: sent as X-Daap-Team, and the default owner of new databases",
                 NULL, "DAAP_TEAM" },
    [G_OUTPUT] = { "output", 'o', "FORMAT", "table (for people), json or yaml (for scripts)", "table json yaml", NULL },
    [G_HELP] = { "help", 'h', NULL, "show help and exit", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option create_opts[] = {
    { "team", 0, "TEAM", "owner team (default: the global --team or DAAP_TEAM)", NULL, NULL },
    { "purpose", 0, "TEXT", "what the database is for", NULL, NULL },
    { "instances", 0, "N", "PostgreSQL instances, 1 primary plus replicas (default 1)", NULL, NULL },
    { "storage", 0, "SIZE", "volume size per instance, a Kubernetes quantity (default 1Gi)", NULL, NULL },
    { "pg-version", 0, "V", "PostgreSQL major version (default: the server's)", NULL, NULL },
    { "wait", 0, NULL, "wait until the database is ready or in error", NULL, NULL },
    { "timeout", 0, "DURATION", "with --wait: give up after this long, e.g. 90s, 10m (default 20m)", NULL, NULL },
    { "idempotency-key", 0, "KEY", "the request's Idempotency-Key (default: a fresh random one)", NULL, NULL },
    { "deletion-protection", 0, NULL, "refuse deletes until 'daapctl unprotect NAME'", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option list_opts[] = {
    { "team", 0, "TEAM", "only databases owned by this team", NULL, NULL },
    { "status", 0, "LIST", "only these statuses, comma-separated",
      "provisioning ready error deleting deleted", NULL },
    { "name", 0, "PREFIX", "only names starting with this", NULL, NULL },
    { "limit", 0, "N", "show at most N databases (default: all, page by page)", NULL, NULL },
    { "cursor", 0, "CURSOR", "start after this next_cursor of an earlier -o json list", NULL, NULL },
    { "include-deleted", 0, NULL, "also show deleted databases", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option update_opts[] = {
    { "team", 0, "TEAM", "hand the database to this team", NULL, NULL },
    { "purpose", 0, "TEXT", "new purpose", NULL, NULL },
    { "as", 0, "TEAM", "the team making the change (default: the global --team or DAAP_TEAM)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option delete_opts[] = {
    { "yes", 'y', NULL, "do not ask for confirmation", NULL, NULL },
    { "as", 0, "TEAM", "the team making the change (default: the global --team or DAAP_TEAM)", NULL, NULL },
    { "wait", 0, NULL, "wait until the database is gone (or in error)", NULL, NULL },
    { "timeout", 0, "DURATION", "with --wait: give up after this long, e.g. 90s, 10m (default 20m)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option events_opts[] = {
    { "follow", 'f', NULL, "keep printing new events until Ctrl-C or the database is deleted", NULL, NULL },
    { "type", 0, "TYPE", "only events of this type", "warning", NULL },
    { "limit", 0, "N", "how many of the newest events to show first, 1 to 200 (default 50)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

/* resize */
static const cli_option resize_opts[] = {
    { "storage", 0, "SIZE", "grow the volume of each instance to SIZE (it cannot shrink)", NULL, NULL },
    { "instances", 0, "N", "run N PostgreSQL instances, 1 primary plus replicas", NULL, NULL },
    { "as", 0, "TEAM", "the team making the change (default: the global --team or DAAP_TEAM)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

/* rotate-password */
static const cli_option rotate_opts[] = {
    { "wait", 0, NULL, "wait until the rotation is done (or undone)", NULL, NULL },
    { "timeout", 0, "DURATION", "with --wait: give up after this long, e.g. 90s, 10m (default 20m)", NULL, NULL },
    { "as", 0, "TEAM", "the team making the change (default: the global --team or DAAP_TEAM)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

/* protect, unprotect */
static const cli_option protect_opts[] = {
    { "as", 0, "TEAM", "the team making the change (default: the global --team or DAAP_TEAM)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option url_opts[] = {
    { "direct", 0, NULL, "the primary's -rw Service instead of the pooler (for session state)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option migrate_opts[] = {
    { "to", 0, "VERSION", "up: stop at this version; down: revert to it (default: one step)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option reconcile_opts[] = {
    { "once", 0, NULL, "one bounded pass, then exit", NULL, NULL },
    { "interval", 0, "DURATION", "without --once: pause between passes (default 10s)", NULL, NULL },
    { "timeout", 0, "DURATION", "bound for one pass (default 30s)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

static const cli_option gen_man_opts[] = {
    { "markdown", 0, NULL, "write docs/cli.md instead of the man page", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL }
};

const cli_command cli_commands[] = {
    { "create", cmd_create, "ask for a new database",
      "NAME [--team TEAM] --purpose TEXT [--instances N] [--storage SIZE] [--pg-version V] [--deletion-protection] "
      "[--wait [--timeout DURATION]] [--idempotency-key KEY]",
      "Record a new database and start provisioning it. NAME is 3 to 45 lowercase letters, digits and "
      "hyphens, starting with a letter.\n\n"
      "With --wait, daapctl follows the database until it is ready and shows each status change (live "
      "on a terminal, one line per change otherwise). A daap-server answers each change as it "
      "happens (GET /databases/{id}?wait=), so nothing polls. It exits 0 once ready, 1 when the "
      "database goes to error, 2 when the timeout passes. Every invalid field is reported at once.\n\n"
      "The request carries an Idempotency-Key (a fresh random one unless --idempotency-key gives it), and "
      "when the server cannot be reached or the connection breaks, daapctl sends the same request with the "
      "same key again, up to 5 times with growing pauses: a retried create never makes two databases. "
      "A retry that the server already answered gets that answer again.\n\n"
      "With --deletion-protection, deletes are refused until the owner runs daapctl unprotect.",
      create_opts, 1, 1, NULL, 0 },
    { "list", cmd_list, "list databases",
      "[--team TEAM] [--status LIST] [--name PREFIX] [--limit N] [--include-deleted]",
      "List databases, oldest first. daapctl follows the server's pages until it has them all, or "
      "--limit of them; with -o json the last next_cursor is kept so a script can continue with --cursor.",
      list_opts, 0, 0, NULL, 0 },
    { "get", cmd_get, "show one database",
      "ID|NAME",
      "Show a database's record. The table hides the password; -o json and -o yaml include the "
      "connection details, password too, once the database is ready.",
      NULL, 1, 1, NULL, 0 },
    { "update", cmd_update, "change a database's owner team or purpose",
      "ID|NAME [--team NEWTEAM] [--purpose TEXT] [--as TEAM]",
      "Change the owner team and/or the purpose. Only the owner team may do this: --as (or the global "
      "--team) must name it. Every other field is immutable.",
      update_opts, 1, 1, NULL, 0 },
    { "delete", cmd_delete, "delete a database and its data",
      "ID|NAME [--yes] [--as TEAM] [--wait [--timeout DURATION]]",
      "Delete a database: its Pooler, then its Cluster and with it all data. On a terminal daapctl "
      "asks first unless --yes is given; without a terminal it refuses to go on without --yes. Only "
      "the owner team may delete.\n\n"
      "With --wait, daapctl follows the deletion until the database is gone, showing each change; "
      "it exits 0 once deleted, 1 when the database goes to error, 2 when the timeout passes.",
      delete_opts, 1, 1, NULL, 0 },
    { "events", cmd_events, "show what happened to a database",
      "ID|NAME [--follow] [--type warning] [--limit N]",
      "Show the database's event history, oldest first: every status change, Kubernetes error, "
      "update and delete, with who did it (a team or the reconciler). A repeat of the same event is "
      "one line with its count. --follow keeps printing new events once a second until Ctrl-C or "
      "until the database is deleted. A deleted database's history stays readable by its id. "
      "-o json and -o yaml print the API's page, newest first.",
      events_opts, 1, 1, NULL, 0 },
    /* resize */
    { "resize", cmd_resize, "grow storage or change instances of a ready database",
      "ID|NAME [--storage SIZE] [--instances N] [--as TEAM]",
      "Grow the storage of each instance (never shrink: CNPG cannot shrink a volume; at most the "
      "server's max_storage_size) and/or change the number of instances (1 to max_instances). The "
      "database must be ready and stays ready while CNPG rolls the change out; its status reason says "
      "'rolling out: ...' until it is done. One change at a time: another resize before then is "
      "refused (exit status 6). Only the owner team may do this.",
      resize_opts, 1, 1, NULL, 0 },
    /* rotate-password */
    { "rotate-password", cmd_rotate_password, "give a ready database a new random password",
      "ID|NAME [--wait [--timeout DURATION]] [--as TEAM]",
      "Ask for a new random password (64 letters and digits). daap writes it into the Cluster's -app "
      "Secret, CNPG applies it to the role, and only once a login with it succeeds through the pooler "
      "does the database's record carry it: until then 'daapctl get' shows the old password, which keeps "
      "working, and the status reason says 'rotating password: ...'. If no login succeeds within the "
      "rotation deadline (2 minutes by default) the old password is put back and kept, and 'daapctl "
      "events NAME' says why. Open sessions keep working; new connections need the new password. The "
      "database must be ready, and one change at a time: while a resize or another rotation is under way "
      "it is refused (exit status 6). Only the owner team may do this.\n\n"
      "With --wait, daapctl follows the rotation until it ends and prints the record with its new "
      "credentials: exit 0 when rotated, 1 when the rotation failed and the old password was kept, 2 when "
      "the timeout passes.",
      rotate_opts, 1, 1, NULL, 0 },
    /* protect, unprotect */
    { "protect", cmd_protect, "turn deletion protection on",
      "ID|NAME [--as TEAM]",
      "Refuse every delete of the database (HTTP 409 deletion_protected, exit status 14) until the "
      "owner team turns protection off again with daapctl unprotect. Only the owner team may do this.",
      protect_opts, 1, 1, NULL, 0 },
    { "unprotect", cmd_unprotect, "turn deletion protection off",
      "ID|NAME [--as TEAM]",
      "Allow deletes of the database again. Only the owner team may do this.",
      protect_opts, 1, 1, NULL, 0 },
    { "url", cmd_url, "print a ready database's connection URI",
      "ID|NAME [--direct]",
      "Print the postgresql:// URI of the pooled endpoint, password included, for use in scripts "
      "and configuration.",
      url_opts, 1, 1, NULL, 0 },
    { "connect", cmd_connect, "open psql on a ready database",
      "ID|NAME [--direct] [-- PSQL-ARGS...]",
      "Run psql against the database. The password goes to psql through PGPASSWORD, not the command "
      "line. Arguments after -- are passed to psql.",
      url_opts, 1, CLI_MAX_ARGS, NULL, 0 },
    { "migrate", cmd_migrate, "apply, revert or show metadata-store migrations",
      "up|down|status [--to VERSION]",
      "Operator mode only (--store). up applies every pending migration (or up to --to), down "
      "reverts the newest one (or down to --to; 0 drops everything), status shows what is applied.",
      migrate_opts, 1, 1, "up down status", 0 },
    { "reconcile", cmd_reconcile, "bring records and Kubernetes together",
      "--once [--timeout DURATION] | [--interval DURATION]",
      "Operator mode only (--store and --kubeconfig). Create missing Clusters and Poolers, move "
      "databases to ready or error, finish deletes and remove orphans. --once runs one bounded pass; "
      "without it passes repeat until interrupted.",
      reconcile_opts, 0, 0, NULL, 0 },
    { "version", cmd_version, "print versions",
      "",
      "Print the version of daapctl and of the libdaap it runs with, and the library's features.",
      NULL, 0, 0, NULL, 0 },
    { "completion", cmd_completion, "print a shell completion script",
      "bash",
      "Print a bash completion script. Load it with: source <(daapctl completion bash)",
      NULL, 1, 1, "bash", 0 },
    { "help", cmd_help, "show help for a command",
      "[COMMAND]",
      "Show the help of daapctl or of one command (the same as COMMAND --help).",
      NULL, 0, 1, NULL, 0 },
    { "__gen-man", cmd_gen_man, "write the man page (docs/man/daapctl.1) to stdout",
      "[--markdown]",
      "Generate the documentation from this table.",
      gen_man_opts, 0, 0, NULL, CMD_HIDDEN },
};

const size_t cli_command_count = sizeof(cli_commands) / sizeof(cli_commands[0]);

const cli_command *cli_find_command(const char *name)
{
    size_t i;
    for (i = 0; i < cli_command_count; i++)
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    return NULL;
}

/* Environment the library reads by itself; the options' own variables
 * (cli_globals[].env) are listed with them. */
const cli_env cli_library_env[] = {
    { "KUBECONFIG", "kubeconfig path(s) in operator mode when --kubeconfig is not given" },
    { "DAAP_SECRET_KEY_FILE", "key file for stored passwords in operator mode (--secret-key-file)" },
    { "DAAP_NAMESPACE", "namespace for new databases in operator mode (--namespace)" },
    { "DAAP_HTTP_TIMEOUT_MS", "bound for one call to a daap-server, retries included (default 60000)" },
    { NULL, NULL }
};

const cli_example cli_examples[] = {
    { "Point daapctl at your daap-server once, as your team",
      "export DAAP_SERVER=http://daap.example.internal:8080 DAAP_TEAM=payments" },
    { "Ask for a database and wait until it is ready",
      "daapctl create orders --purpose 'order history' --wait" },
    { "Use it", "psql \"$(daapctl url orders)\"" },
    { "Your team's databases that are not ready",
      "daapctl list --team payments --status provisioning,error" },
    { "Hand a database to another team", "daapctl update orders --team billing" },
    { "Watch what happens to a database", "daapctl events orders --follow" },
    { "Keep a database from being deleted by accident", "daapctl protect orders" },
    { "Give a database more disk and a replica", "daapctl resize orders --storage 20Gi --instances 2" },
    { "Delete without a prompt, from a script", "daapctl delete orders --yes" },
    { "Operator: migrate a store, then run one reconcile pass",
      "daapctl --store postgresql://daap@db/daap migrate up\n"
      "daapctl --store postgresql://daap@db/daap --kubeconfig ~/.kube/config reconcile --once" },
    { NULL, NULL }
};
