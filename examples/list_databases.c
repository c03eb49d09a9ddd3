/*
 * list_databases: print every database record a daap store knows.
 *
 *   list_databases [--migrate] [STORE_URI]
 *
 * STORE_URI is sqlite:///path/daap.db, postgresql://... or the http:// URL of
 * a daap-server; the default is $DAAP_STORE. --migrate brings a local store's
 * schema up to date first (useful on a fresh SQLite file). Only the store is
 * read: no Kubernetes is needed.
 *
 * The minimal shape of every libdaap program: init, open, call, report errors
 * from daap_error_last() right after the failing call, free, shut down.
 *
 * Build against an installed libdaap:
 *   cc list_databases.c $(pkg-config --cflags --libs libdaap) -o list_databases
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <daap/daap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The canonical report: the code's name, the message and every field error.
 * daap_error_last() is read before any other library call can replace it. */
static int report(const char *what, int rc)
{
    const daap_error *err = daap_error_last();
    size_t i;

    fprintf(stderr, "list_databases: %s: %s (%s)\n", what, err->message, daap_error_code_name(rc));
    for (i = 0; i < err->field_count; i++)
        fprintf(stderr, "  %s: %s (%s)\n", err->fields[i].field, err->fields[i].message, err->fields[i].code);
    return 1;
}

static int list_all(daap_ctx *ctx)
{
    daap_db_list_options opts = DAAP_DB_LIST_OPTIONS_INIT;
    char *cursor = NULL;
    size_t total = 0;
    int rc = 0;

    printf("%-36s  %-24s  %-16s  %s\n", "ID", "NAME", "TEAM", "STATUS");
    opts.limit = 100;
    do {
        daap_db_page page = { NULL, 0, NULL };
        size_t i;

        opts.cursor = cursor;
        if ((rc = daap_db_list(&page, ctx, &opts)) < 0) {
            report("list", rc);
            break;
        }
        for (i = 0; i < page.count; i++) {
            const daap_db *db = page.items[i];
            printf("%-36s  %-24s  %-16s  %s\n", daap_db_id(db), daap_db_name(db),
                   daap_db_owner_team(db), daap_db_status_name(daap_db_status(db)));
        }
        total += page.count;
        /* The cursor belongs to the page: keep a copy for the next call. */
        free(cursor);
        cursor = page.next_cursor ? strdup(page.next_cursor) : NULL;
        daap_db_page_dispose(&page);
    } while (cursor != NULL);
    free(cursor);
    if (rc == 0)
        printf("(%zu database%s)\n", total, total == 1 ? "" : "s");
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    daap_ctx_options opts = DAAP_CTX_OPTIONS_INIT;
    daap_ctx *ctx = NULL;
    int migrate = 0, status = 1, rc, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--migrate") == 0)
            migrate = 1;
        else if (strcmp(argv[i], "--help") == 0 || argv[i][0] == '-' || opts.store_uri != NULL) {
            fprintf(stderr, "usage: %s [--migrate] [STORE_URI]\n", argv[0]);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        } else
            opts.store_uri = argv[i];
    }
    opts.flags = DAAP_CTX_NO_KUBE | (migrate ? DAAP_CTX_NO_SCHEMA_CHECK : 0u);

    if ((rc = daap_init()) < 0) {
        fprintf(stderr, "list_databases: daap_init: %s\n", daap_strerror(rc));
        return 1;
    }
    if ((rc = daap_ctx_open(&ctx, &opts)) < 0)
        report("open", rc);
    else if (migrate && (rc = daap_migrate(ctx, -1)) < 0)
        report("migrate", rc);
    else
        status = list_all(ctx);
    daap_ctx_free(ctx);
    daap_shutdown();
    return status;
}
