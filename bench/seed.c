/* daap-bench-seed: write N database records straight into a migrated store,
 * through the library's own storage backend (so the rows match the schema of
 * libdaap/storage/sql/ by construction) and its own crypto (so every ready
 * record carries a real AES-256-GCM sealed password, bound to its id, that
 * the server decrypts with the same --secret-key-file).
 *
 *   daap-bench-seed --store URI --key FILE [--count N] [--teams T]
 *                   [--prefix NAME] [--namespace NS]
 *
 * Records: names PREFIX-000000.., owner_team team-00..team-(T-1) round
 * robin, created_at one second apart ending now. Statuses: 85% ready (with
 * host, port, user, sealed password, direct host), 5% error, 10% deleted.
 * The store is migrated first; the key file is created when missing.
 * Prints one JSON line: counts, one ready id and its team, the elapsed time.
 *
 *   daap-bench-seed --list-sql sqlite|postgres
 *
 * prints the library's own list statements for GET /databases?owner_team=X
 * (first page, then a keyset page), one per line, so the figure scripts can
 * EXPLAIN exactly what the server runs.
 *
 *   daap-bench-seed --list-shapes sqlite|postgres
 *
 * prints, one "label<TAB>sql" line each, the statement of every filter
 * combination of GET /databases (none, owner_team, status, both), first
 * page and keyset page, for bench/list-plans. */
#include "crypto.h"
#include "ctx.h"
#include "storage/sqlgen.h"
#include "ids.h"
#include "storage/storage.h"
#include "db/validate.h"

#include <daap/daap.h>
#include <daap/sys/db.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    const daap_error *e = daap_error_last();
    fprintf(stderr, "daap-bench-seed: %s: %s\n", what, e && e->message ? e->message : "failed");
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: daap-bench-seed --store URI --key FILE [--count N] [--teams T] [--prefix NAME] [--namespace NS]\n");
    exit(2);
}

/* One record; status picked from i so the mix is the same on every run. */
static int build(daap_db **out, daap_ctx *ctx, long i, long teams, const char *prefix, const char *ns, int64_t created)
{
    char id[DAAP__UUID_STRLEN + 1], name[64], team[32], purpose[64], cluster[128], pooler[128], host[256], user[64],
        pass[64];
    int status = (i % 20 == 7) ? DAAP_DB_ERROR : (i % 10 == 3) ? DAAP_DB_DELETED : DAAP_DB_READY;
    daap_db *db;
    daap_buf sealed = DAAP_BUF_INIT;
    int rc;

    snprintf(name, sizeof(name), "%s-%06ld", prefix, i);
    snprintf(team, sizeof(team), "team-%02ld", i % teams);
    snprintf(purpose, sizeof(purpose), "benchmark record %ld", i);
    daap__cluster_name(cluster, sizeof(cluster), name);
    daap__pooler_name(pooler, sizeof(pooler), name);
    DAAP_TRY(daap__uuid7(id, created));
    DAAP_TRY(daap_db_new(&db));
    rc = daap_db_set_text(db, DAAP_DB_F_ID, id);
    if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_NAME, name);
    if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, team);
    if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_PURPOSE, purpose);
    if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_NAMESPACE, ns);
    if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_CLUSTER_NAME, cluster);
    if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_POOLER_NAME, pooler);
    if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_INSTANCES, 1);
    if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, "1Gi");
    if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_PG_VERSION, 16);
    if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_STATUS, status);
    if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_CREATED_AT, created);
    if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_UPDATED_AT, created + 3000);
    if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_REVISION, status == DAAP_DB_DELETED ? 4 : 2);
    if (rc == 0 && status == DAAP_DB_ERROR)
        rc = daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, "CNPG: Cluster is unrecoverable and needs manual intervention");
    if (rc == 0 && status == DAAP_DB_DELETED) {
        rc = daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, "the Pooler and the Cluster are gone");
        if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_DELETED_AT, created + 5000);
    }
    if (rc == 0 && status == DAAP_DB_READY) {
        snprintf(host, sizeof(host), "%s.%s.svc.cluster.local", pooler, ns);
        snprintf(user, sizeof(user), "app");
        snprintf(pass, sizeof(pass), "pw%08lx%08lxbench", (unsigned long)i * 2654435761ul, (unsigned long)created);
        rc = daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, "the Cluster is healthy and the pooler is serving");
        if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_HOST, host);
        if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_PORT, 5432);
        if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_DBNAME, "app");
        if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_USERNAME, user);
        if (rc == 0) rc = daap__seal(&sealed, &ctx->key, pass, id);
        if (rc == 0) rc = daap_db_set_blob(db, DAAP_DB_F_PASSWORD, (const unsigned char *)sealed.ptr, sealed.size);
        snprintf(host, sizeof(host), "%s-rw.%s.svc.cluster.local", cluster, ns);
        if (rc == 0) rc = daap_db_set_text(db, DAAP_DB_F_DIRECT_HOST, host);
        if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_DIRECT_PORT, 5432);
        if (rc == 0) rc = daap_db_set_int(db, DAAP_DB_F_READY_AT, created + 2500);
    }
    daap_buf_dispose(&sealed);
    if (rc < 0) {
        daap_db_free(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int list_sql(const char *dialect)
{
    const daap__sqlgen_dialect *d = strcmp(dialect, "postgres") == 0 ? &daap__sqlgen_postgres : &daap__sqlgen_sqlite;
    /* The shapes GET /databases?owner_team=X runs: first page, then later ones. */
    unsigned int page = DAAP__LIST_OWNER | DAAP__LIST_LIVE | DAAP__LIST_SUMMARY;
    unsigned int shapes[] = { page, page | DAAP__LIST_KEYSET };
    size_t i;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        daap_buf sql = DAAP_BUF_INIT;
        if (daap__sqlgen_list(&sql, d, shapes[i]) < 0)
            die("list SQL");
        printf("%s\n", sql.ptr);
        daap_buf_dispose(&sql);
    }
    return 0;
}

/* The filter combinations of GET /databases, as bench/list-plans names them. */
static int list_shapes(const char *dialect)
{
    static const struct { const char *label; unsigned int shape; } filters[] = {
        { "none", 0 },
        { "owner_team", DAAP__LIST_OWNER },
        { "status", DAAP__LIST_STATUS },
        { "owner_team+status", DAAP__LIST_OWNER | DAAP__LIST_STATUS },
    };
    const daap__sqlgen_dialect *d = strcmp(dialect, "postgres") == 0 ? &daap__sqlgen_postgres : &daap__sqlgen_sqlite;
    size_t i;
    int keyset;

    for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        for (keyset = 0; keyset < 2; keyset++) {
            daap_buf sql = DAAP_BUF_INIT;
            unsigned int shape = filters[i].shape | DAAP__LIST_LIVE | DAAP__LIST_SUMMARY;
            if (daap__sqlgen_list(&sql, d, keyset ? shape | DAAP__LIST_KEYSET : shape) < 0)
                die("list SQL");
            printf("%s%s\t%s\n", filters[i].label, keyset ? ",keyset" : "", sql.ptr);
            daap_buf_dispose(&sql);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *store = NULL, *key = NULL, *prefix = "bench", *ns = "daap";
    long count = 100000, teams = 100, i, ready = 0, errors = 0, deleted = 0;
    char ready_id[DAAP__UUID_STRLEN + 1] = "", ready_team[32] = "";
    daap_ctx_options co;
    daap_ctx *ctx;
    int64_t start;
    double t0 = now_s();

    if (argc == 3 && strcmp(argv[1], "--list-sql") == 0)
        return list_sql(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--list-shapes") == 0)
        return list_shapes(argv[2]);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (strcmp(a, "--store") == 0) store = v;
        else if (strcmp(a, "--key") == 0) key = v;
        else if (strcmp(a, "--count") == 0) count = atol(v);
        else if (strcmp(a, "--teams") == 0) teams = atol(v);
        else if (strcmp(a, "--prefix") == 0) prefix = v;
        else if (strcmp(a, "--namespace") == 0) ns = v;
        else usage();
        i++;
    }
    if (store == NULL || key == NULL || count < 1 || teams < 1)
        usage();
    if (daap_init() < 0)
        die("init");
    daap_ctx_options_init(&co, DAAP_CTX_OPTIONS_VERSION);
    co.store_uri = store;
    co.secret_key_file = key;
    co.flags = DAAP_CTX_NO_KUBE | DAAP_CTX_CREATE_KEY | DAAP_CTX_NO_SCHEMA_CHECK;
    if (daap_ctx_open(&ctx, &co) < 0)
        die("open the store");
    if (daap_migrate(ctx, -1) < 0)
        die("migrate");
    start = daap__now_ms() - count * 1000;
    for (i = 0; i < count; i++) {
        daap_db *db = NULL;
        if (build(&db, ctx, i, teams, prefix, ns, start + i * 1000) < 0)
            die("build a record");
        if (daap__storage_insert(ctx->storage, db) < 0)
            die("insert");
        switch (daap_db_status(db)) {
        case DAAP_DB_READY:
            if (ready++ == 0) {
                snprintf(ready_id, sizeof(ready_id), "%s", daap_db_id(db));
                snprintf(ready_team, sizeof(ready_team), "%s", daap_db_owner_team(db));
            }
            break;
        case DAAP_DB_ERROR: errors++; break;
        default: deleted++; break;
        }
        daap_db_free(db);
    }
    printf("{\"inserted\":%ld,\"ready\":%ld,\"error\":%ld,\"deleted\":%ld,\"teams\":%ld,"
           "\"ready_id\":\"%s\",\"ready_team\":\"%s\",\"seconds\":%.1f}\n",
           count, ready, errors, deleted, teams, ready_id, ready_team, now_s() - t0);
    daap_ctx_free(ctx);
    daap_shutdown();
    return 0;
}
