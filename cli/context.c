/* Opening a library context from the global options, and finding records
 * by id or name. */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* --server and --store on the command line beat the environment; of the
 * environment, DAAP_SERVER beats DAAP_STORE (a developer's shell may have
 * both, and the server is the path meant for people). */
static const char *pick_uri(const cli_args *a, bool *remote)
{
    const char *env;

    *remote = false;
    if (a->global[G_SERVER]) {
        *remote = true;
        return a->global[G_SERVER];
    }
    if (a->global[G_STORE])
        return a->global[G_STORE];
    if ((env = getenv("DAAP_SERVER")) && *env) {
        *remote = true;
        return env;
    }
    return NULL; /* the library's default: $DAAP_STORE, else sqlite://var/daap.db */
}

static int check_server_url(const char *uri)
{
    if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
        return cli_usage_error("--server wants an http:// or https:// URL, not '%s'", uri);
    return 0;
}

int cli_open(daap_ctx **out, const cli_args *a, unsigned int how)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    bool remote;

    *out = NULL;
    if (a->global[G_SERVER] && a->global[G_STORE])
        return cli_usage_error("give either --server or --store, not both");
    o.store_uri = pick_uri(a, &remote);
    if (remote && (how & OPEN_STORE_ONLY))
        return cli_usage_error("%s works on a store, not through a daap-server: use --store URI (or unset DAAP_SERVER)",
                               a->cmd->name);
    if (remote && check_server_url(o.store_uri) < 0)
        return CLI_USAGE;
    o.team = cli_global_value(a, G_TEAM);
    o.kubeconfig = a->global[G_KUBECONFIG];
    o.kube_context = a->global[G_CONTEXT];
    o.namespace_ = a->global[G_NAMESPACE];
    o.secret_key_file = a->global[G_SECRET_KEY_FILE];
    if (!(how & OPEN_KUBE))
        o.flags |= DAAP_CTX_NO_KUBE;
    if (how & OPEN_NO_SCHEMA_CHECK)
        o.flags |= DAAP_CTX_NO_SCHEMA_CHECK;
    return daap_ctx_open(out, &o);
}

const char *cli_caller_team(const cli_args *a)
{
    const char *as = cli_opt(a, "as");
    return as ? as : cli_global_value(a, G_TEAM);
}

/* 8-4-4-4-12 hexadecimal digits. */
static bool looks_like_id(const char *s)
{
    size_t i;

    if (strlen(s) != 36)
        return false;
    for (i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* Page through the names starting with `name` until one matches exactly. */
static int find_by_name(char **id_out, daap_ctx *ctx, const char *name)
{
    daap_db_list_options lo = DAAP_DB_LIST_OPTIONS_INIT;
    char *cursor = NULL;
    int rc;

    *id_out = NULL;
    lo.name_prefix = name;
    lo.limit = 100;
    do {
        daap_db_page page;
        size_t i;

        lo.cursor = cursor;
        rc = daap_db_list(&page, ctx, &lo);
        free(cursor);
        cursor = NULL;
        if (rc < 0)
            return rc;
        for (i = 0; i < page.count && *id_out == NULL; i++)
            if (strcmp(daap_db_name(page.items[i]), name) == 0 && !(*id_out = strdup(daap_db_id(page.items[i]))))
                rc = -1;
        if (page.next_cursor && *id_out == NULL && rc == 0 && !(cursor = strdup(page.next_cursor)))
            rc = -1;
        daap_db_page_dispose(&page);
        if (rc < 0) {
            free(cursor);
            return cli_fail(DAAP_ERROR, "out of memory");
        }
    } while (cursor);
    return 0;
}

int cli_resolve_id(char **out, daap_ctx *ctx, const char *id_or_name)
{
    *out = NULL;
    if (looks_like_id(id_or_name) && !isalpha((unsigned char)id_or_name[0])) {
        if ((*out = strdup(id_or_name)) == NULL)
            return cli_fail(DAAP_ERROR, "out of memory");
        return 0;
    }
    CLI_TRY(find_by_name(out, ctx, id_or_name));
    if (*out == NULL && looks_like_id(id_or_name) && (*out = strdup(id_or_name)) == NULL)
        return cli_fail(DAAP_ERROR, "out of memory");
    if (*out == NULL)
        return cli_fail(DAAP_ENOTFOUND, "no database with id or name '%s'", id_or_name);
    return 0;
}

int cli_resolve(daap_db **out, daap_ctx *ctx, const char *id_or_name)
{
    char *id = NULL;
    int rc;

    *out = NULL;
    if (looks_like_id(id_or_name)) {
        rc = daap_db_get(out, ctx, id_or_name);
        /* Names start with a letter; only then can an id-shaped word be one. */
        if (rc != DAAP_ENOTFOUND || !isalpha((unsigned char)id_or_name[0]))
            return rc;
    }
    if ((rc = find_by_name(&id, ctx, id_or_name)) < 0)
        return rc;
    if (id == NULL)
        return cli_fail(DAAP_ENOTFOUND, "no database with id or name '%s'", id_or_name);
    rc = daap_db_get(out, ctx, id);
    free(id);
    return rc;
}
