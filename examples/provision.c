/*
 * provision: the whole life of one database, driven through libdaap.
 *
 *   provision [--store URI] [--kubeconfig PATH] [--key FILE] [--name NAME]
 *             [--team TEAM] [--timeout SECONDS] [--migrate]
 *
 * 1. create a database (a CNPG Cluster plus a PgBouncer Pooler);
 * 2. reconcile it until it is ready (daap_reconcile_db in a loop, with a timeout);
 * 3. connect with libpq to the returned pooled endpoint and run SELECT 1;
 * 4. update its purpose;
 * 5. delete it and reconcile until the record is deleted (Pooler and Cluster gone).
 *
 * Defaults come from the environment, as for every libdaap program:
 * $DAAP_STORE, $KUBECONFIG and $DAAP_SECRET_KEY_FILE. The key file is created
 * (mode 0600) when it does not exist. --migrate brings a fresh store's schema
 * up to date first. Passwords are never printed.
 *
 * This program is an application, so it links libpq itself besides libdaap:
 *   cc provision.c $(pkg-config --cflags --libs libdaap libpq) -o provision
 */
#define _POSIX_C_SOURCE 200809L

#include <daap/daap.h>
#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 250

static const char *prog = "provision";

/* Report the last libdaap error, with every field error. Call it right
 * after the failing call: daap_error_last() is replaced by the next call. */
static int report(const char *step, int rc)
{
    const daap_error *err = daap_error_last();
    size_t i;

    fprintf(stderr, "%s: %s failed: %s (%s)\n", prog, step, err->message, daap_error_code_name(rc));
    for (i = 0; i < err->field_count; i++)
        fprintf(stderr, "  %s: %s (%s)\n", err->fields[i].field, err->fields[i].message, err->fields[i].code);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Reconcile one record until it is ready. On success *out holds the ready
 * record, with its connection details. */
static int wait_ready(daap_db **out, daap_ctx *ctx, const char *id, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    int last_status = -1, rc;

    *out = NULL;
    for (;;) {
        daap_db *db = NULL;

        /* Kubernetes may hiccup: a failed pass is retried by the next one. */
        if ((rc = daap_reconcile_db(ctx, id)) < 0 && rc != DAAP_EUNAVAILABLE && rc != DAAP_ECONFLICT)
            return report("reconcile", rc);
        if ((rc = daap_db_get(&db, ctx, id)) < 0)
            return report("get", rc);
        if (daap_db_status(db) != last_status) {
            last_status = daap_db_status(db);
            printf("  status %s: %s\n", daap_db_status_name(last_status),
                   daap_db_status_reason(db) ? daap_db_status_reason(db) : "");
        }
        if (last_status == DAAP_DB_READY) {
            *out = db;
            return 0;
        }
        daap_db_free(db);
        if (last_status != DAAP_DB_PROVISIONING) {
            fprintf(stderr, "%s: the database will not become ready\n", prog);
            return DAAP_ERROR;
        }
        if (now_s() > deadline) {
            fprintf(stderr, "%s: not ready after %.0f s\n", prog, timeout_s);
            return DAAP_ETIMEOUT;
        }
        sleep_ms(POLL_MS);
    }
}

/* The record's current status, soft-deleted ones included. */
static int find_status(int *status_out, daap_ctx *ctx, const char *id, const char *name)
{
    daap_db_list_options opts = DAAP_DB_LIST_OPTIONS_INIT;
    daap_db_page page = { NULL, 0, NULL };
    size_t i;
    int rc;

    opts.name_prefix = name;
    opts.include_deleted = 1;
    opts.limit = 100;
    if ((rc = daap_db_list(&page, ctx, &opts)) < 0)
        return report("list", rc);
    rc = DAAP_ENOTFOUND;
    for (i = 0; i < page.count; i++) {
        if (strcmp(daap_db_id(page.items[i]), id) == 0) {
            *status_out = daap_db_status(page.items[i]);
            rc = 0;
        }
    }
    daap_db_page_dispose(&page);
    if (rc < 0)
        fprintf(stderr, "%s: record %s is missing from the store\n", prog, id);
    return rc;
}

static int wait_deleted(daap_ctx *ctx, const char *id, const char *name, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    int status = -1, rc;

    for (;;) {
        if ((rc = daap_reconcile_db(ctx, id)) < 0 && rc != DAAP_EUNAVAILABLE && rc != DAAP_ECONFLICT
            && rc != DAAP_ENOTFOUND)
            return report("reconcile", rc);
        if ((rc = find_status(&status, ctx, id, name)) < 0)
            return rc;
        if (status == DAAP_DB_DELETED)
            return 0;
        if (now_s() > deadline) {
            fprintf(stderr, "%s: still %s after %.0f s\n", prog, daap_db_status_name(status), timeout_s);
            return DAAP_ETIMEOUT;
        }
        sleep_ms(POLL_MS);
    }
}

/* SELECT 1 through PgBouncer with the connection details libdaap returned.
 * A pooler that has just become ready may refuse the very first connection,
 * so try a few times. */
static int select_one(const daap_db *db)
{
    char port[16];
    const char *keys[] = { "host", "port", "dbname", "user", "password", "connect_timeout",
                           "application_name", NULL };
    const char *values[] = { daap_db_host(db), port, daap_db_dbname(db), daap_db_username(db),
                             daap_db_password(db), "10", "daap-provision-example", NULL };
    int attempt;

    snprintf(port, sizeof(port), "%d", (int)daap_db_port(db));
    for (attempt = 1; attempt <= 10; attempt++) {
        PGconn *conn = PQconnectdbParams(keys, values, 0);
        PGresult *res;
        int ok;

        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "%s: connect (attempt %d): %s", prog, attempt, PQerrorMessage(conn));
            PQfinish(conn);
            sleep_ms(500);
            continue;
        }
        res = PQexec(conn, "SELECT 1");
        ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
             && strcmp(PQgetvalue(res, 0, 0), "1") == 0;
        if (ok)
            printf("  SELECT 1 -> %s (server %d, via %s:%s)\n", PQgetvalue(res, 0, 0),
                   PQserverVersion(conn), daap_db_host(db), port);
        else
            fprintf(stderr, "%s: SELECT 1: %s", prog, PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return ok ? 0 : DAAP_ERROR;
    }
    return DAAP_EUNAVAILABLE;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: %s [--store URI] [--kubeconfig PATH] [--key FILE] [--name NAME]\n"
               "       %*s [--team TEAM] [--timeout SECONDS] [--migrate]\n",
            prog, (int)strlen(prog), "");
}

int main(int argc, char **argv)
{
    daap_ctx_options opts = DAAP_CTX_OPTIONS_INIT;
    daap_db_spec spec = DAAP_DB_SPEC_INIT;
    daap_db_update_spec upd = DAAP_DB_UPDATE_INIT;
    daap_ctx *ctx = NULL;
    daap_db *db = NULL, *ready = NULL, *updated = NULL, *gone = NULL;
    const char *name = "provision-example", *team = "examples";
    char *id = NULL;
    double timeout_s = 300;
    int migrate = 0, rc, i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--migrate") == 0) { migrate = 1; continue; }
        if (strcmp(a, "--help") == 0) { usage(stdout); return 0; }
        if (v == NULL) { usage(stderr); return 2; }
        if (strcmp(a, "--store") == 0) opts.store_uri = v;
        else if (strcmp(a, "--kubeconfig") == 0) opts.kubeconfig = v;
        else if (strcmp(a, "--key") == 0) opts.secret_key_file = v;
        else if (strcmp(a, "--name") == 0) name = v;
        else if (strcmp(a, "--team") == 0) team = v;
        else if (strcmp(a, "--timeout") == 0) timeout_s = atof(v);
        else { usage(stderr); return 2; }
        i++;
    }
    opts.flags = DAAP_CTX_CREATE_KEY | (migrate ? DAAP_CTX_NO_SCHEMA_CHECK : 0u);

    if ((rc = daap_init()) < 0) {
        fprintf(stderr, "%s: daap_init: %s\n", prog, daap_strerror(rc));
        return 1;
    }
    printf("libdaap %s\n", daap_version_string());
    if ((rc = daap_ctx_open(&ctx, &opts)) < 0) {
        report("open", rc);
        goto out;
    }
    if (migrate && (rc = daap_migrate(ctx, -1)) < 0) {
        report("migrate", rc);
        goto out;
    }

    /* 1. create */
    spec.name = name;
    spec.owner_team = team;
    spec.purpose = "libdaap provision example";
    if ((rc = daap_db_create(&db, ctx, &spec)) < 0) {
        report("create", rc);
        goto out;
    }
    id = strdup(daap_db_id(db)); /* borrowed from db: copy before freeing it */
    printf("created %s (id %s) in namespace %s: Cluster %s, Pooler %s\n", daap_db_name(db), id,
           daap_db_namespace(db), daap_db_cluster_name(db), daap_db_pooler_name(db));

    /* 2. reconcile until ready */
    printf("waiting up to %.0f s for it to become ready\n", timeout_s);
    if ((rc = wait_ready(&ready, ctx, id, timeout_s)) < 0)
        goto out;
    printf("ready: host %s port %d dbname %s user %s (direct: %s:%d)\n", daap_db_host(ready),
           (int)daap_db_port(ready), daap_db_dbname(ready), daap_db_username(ready),
           daap_db_direct_host(ready) ? daap_db_direct_host(ready) : "-", (int)daap_db_direct_port(ready));

    /* 3. connect through PgBouncer */
    if ((rc = select_one(ready)) < 0)
        goto out;

    /* 4. update */
    upd.purpose = "libdaap provision example (updated)";
    if ((rc = daap_db_update(&updated, ctx, id, team, &upd)) < 0) {
        report("update", rc);
        goto out;
    }
    printf("updated: purpose \"%s\", revision %lld\n", daap_db_purpose(updated),
           (long long)daap_db_revision(updated));

    /* 5. delete, then reconcile until the objects are gone */
    if ((rc = daap_db_delete(&gone, ctx, id, team)) < 0) {
        report("delete", rc);
        goto out;
    }
    printf("deleting: status %s\n", daap_db_status_name(daap_db_status(gone)));
    if ((rc = wait_deleted(ctx, id, name, timeout_s)) < 0)
        goto out;
    printf("deleted: Pooler and Cluster are gone\n");

    /* The API agrees: a deleted record is invisible to get. */
    daap_db_free(db);
    db = NULL;
    rc = daap_db_get(&db, ctx, id);
    if (rc != DAAP_ENOTFOUND) {
        fprintf(stderr, "%s: get after delete returned %s, want not_found\n", prog, daap_error_code_name(rc));
        rc = DAAP_ERROR;
        goto out;
    }
    printf("get after delete: not_found, as expected\ndone\n");
    rc = 0;

out:
    free(id);
    daap_db_free(db);
    daap_db_free(ready);
    daap_db_free(updated);
    daap_db_free(gone);
    daap_ctx_free(ctx);
    daap_shutdown();
    return rc < 0 ? 1 : 0;
}
