/* THE exit status table: one status per daap error code, plus daapctl's own
 * outcomes. The man page's EXIT STATUS section is generated from it. */
#include "cli.h"

const cli_exit_entry cli_exit_table[] = {
    { DAAP_OK,            0,  "ok",             "success" },
    { DAAP_ERROR,         1,  "error",          "any other failure; see the message" },
    { CLI_USAGE,          2,  "usage",          "bad command line: unknown command or option, missing argument, refused delete" },
    { DAAP_ENOTFOUND,     3,  "not_found",      "no such database (or it is not ready yet, for url and connect)" },
    { DAAP_EEXISTS,       4,  "already_exists", "a database with that name already exists" },
    { DAAP_EINVALID,      5,  "invalid",        "invalid input; every bad field is listed on stderr" },
    { DAAP_ECONFLICT,     6,  "conflict",       "changed concurrently, or an applied migration differs; retry" },
    { DAAP_EUNAVAILABLE,  7,  "unavailable",    "the daap-server, store or Kubernetes cannot be reached; retry later" },
    { DAAP_ETIMEOUT,      8,  "timeout",        "a deadline passed (a --wait that times out exits 2)" },
    { DAAP_EAUTH,         9,  "backend_auth",   "credentials or TLS certificates were rejected" },
    { DAAP_EFORBIDDEN,    10, "forbidden",      "your team does not own the database (see --team, --as)" },
    { DAAP_ECRYPTO,       11, "crypto",         "stored credentials cannot be decrypted (wrong --secret-key-file?)" },
    { DAAP_ENOTSUPPORTED, 12, "not_supported",  "not possible in this mode (e.g. migrate through a daap-server)" },
    { DAAP_EEXPIRED,      13, "expired",        "a Kubernetes watch expired; retry" },
    { DAAP_EPROTECTED,    14, "deletion_protected", "deletion protection is on (daapctl unprotect NAME turns it off)" },
    /* --wait's own verdicts: 0 ready (or deleted), 1 error, 2 timeout (DESIGN.md 11). */
    { CLI_DB_FAILED,      1,  "db_error",       "create/delete --wait: the database went to status error" },
    { CLI_WAIT_TIMEOUT,   2,  "wait_timeout",   "create/delete/rotate-password --wait: the --timeout passed first" },
    { CLI_NOT_ROTATED,    1,  "not_rotated",    "rotate-password --wait: the rotation failed and the old password still works" },
};

const size_t cli_exit_count = sizeof(cli_exit_table) / sizeof(cli_exit_table[0]);

int cli_exit_status(int code)
{
    size_t i;
    for (i = 0; i < cli_exit_count; i++)
        if (cli_exit_table[i].code == code)
            return cli_exit_table[i].status;
    return code > 0 ? 0 : 1;
}
