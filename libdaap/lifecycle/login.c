/* A rotation's verifying login: one libpq connection, made with the
 * record's host and port (the pooler's address, what a user connects to),
 * closed at once. Parameters go as keyword arrays, so no connection string
 * with the password in it is ever built. */
#include "lifecycle/login.h"

#include <libpq-fe.h>
#include <stdio.h>

/* libpq's message without its trailing newline, on one line. */
static void one_line(char *out, size_t size, const char *msg)
{
    size_t n;

    snprintf(out, size, "%s", msg && *msg ? msg : "no answer");
    for (n = 0; out[n]; n++)
        if (out[n] == '\n' || out[n] == '\r')
            out[n] = ' ';
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
}

int daap__login_libpq(void *payload, const daap__login *login)
{
    char port[16], timeout[16], msg[512];
    const char *keys[] = { "host", "port", "dbname", "user", "password", "connect_timeout",
                           "sslmode", "application_name", NULL };
    const char *values[9];
    PGconn *conn;
    int rc = 0;

    (void)payload;
    DAAP_ASSERT_ARG(login && login->host && login->user && login->password);
    snprintf(port, sizeof(port), "%lld", (long long)login->port);
    snprintf(timeout, sizeof(timeout), "%d", (int)(login->connect_timeout_s > 0 ? login->connect_timeout_s : 2));
    values[0] = login->host;
    values[1] = port;
    values[2] = login->dbname ? login->dbname : login->user;
    values[3] = login->user;
    values[4] = login->password;
    values[5] = timeout;
    values[6] = "prefer";
    values[7] = "daap-rotation-check";
    values[8] = NULL;
    conn = PQconnectdbParams(keys, values, 0);
    if (conn == NULL)
        return daap_error_set_oom();
    if (PQstatus(conn) != CONNECTION_OK) {
        one_line(msg, sizeof(msg), PQerrorMessage(conn));
        /* A refusal of the credentials names them; anything else is the way there. */
        rc = daap_error_set(strstr(msg, "password") || strstr(msg, "authentication") ? DAAP_EAUTH : DAAP_EUNAVAILABLE,
                            DAAP_ERRCLASS_RECONCILE, "%s", msg);
    }
    PQfinish(conn);
    return rc;
}
