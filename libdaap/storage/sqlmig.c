/* The migration engine shared by the SQL storage backends (see sqlmig.h). */
#include "storage/sqlmig.h"
#include "assets.h"

#include <stdio.h>
#include <stdlib.h>
#include <openssl/evp.h>

#define UP_SUFFIX   ".up.sql"
#define DOWN_SUFFIX ".down.sql"

int daap__sqlmig_checksum(char *out, const char *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen * 2 != DAAP__SQLMIG_CHECKSUM_LEN)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CRYPTO, "SHA-256 of a migration is not available");
    for (i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * mdlen] = '\0';
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "0001_create_databases.up.sql" -> version 1, name "create_databases". */
static int parse_file_name(daap__sqlmig_step *step, const char *file)
{
    size_t len = strlen(file), name_len = 0, i;
    const char *name = file + 5;

    if (len > strlen(UP_SUFFIX) + 5)
        name_len = len - strlen(UP_SUFFIX) - 5;
    if (name_len == 0 || name_len >= sizeof(step->name) || file[4] != '_' ||
        strspn(file, "0123456789") != 4)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE,
                              "embedded migration '%s' is not named NNNN_name.up.sql", file);
    for (i = 0; i < name_len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_", name[i]))
            return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE,
                                  "embedded migration '%s' has characters other than [a-z0-9_]", file);
    step->version = (int32_t)strtol(file, NULL, 10);
    memcpy(step->name, name, name_len);
    step->name[name_len] = '\0';
    return 0;
}

static int load_step(daap__sqlmig_step *step, const daap__asset *up, const char *dir)
{
    char down_path[256];
    const daap__asset *down;

    DAAP_TRY(parse_file_name(step, up->path + strlen(dir)));
    snprintf(down_path, sizeof(down_path), "%s%04d_%s" DOWN_SUFFIX, dir, (int)step->version, step->name);
    if ((down = daap__asset_find(down_path)) == NULL)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "embedded migration %s has no %s", up->path, down_path);
    step->up = up->data;
    step->down = down->data;
    return daap__sqlmig_checksum(step->checksum, up->data, up->size);
}

static size_t count_up_assets(const char *dir)
{
    const daap__asset *a;
    size_t n = 0;

    for (a = daap__assets; a->path; a++)
        if (strncmp(a->path, dir, strlen(dir)) == 0 && ends_with(a->path, UP_SUFFIX))
            n++;
    return n;
}

/* Assets are sorted by path, so zero-padded versions arrive in order. */
static int load_steps(daap__sqlmig *m, const char *dir)
{
    const daap__asset *a;
    size_t n = 0;

    for (a = daap__assets; a->path; a++) {
        if (strncmp(a->path, dir, strlen(dir)) != 0 || !ends_with(a->path, UP_SUFFIX))
            continue;
        DAAP_TRY(load_step(&m->steps[n], a, dir));
        if (m->steps[n].version < 1 || (n > 0 && m->steps[n].version <= m->steps[n - 1].version))
            return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE,
                                  "embedded migration %s: versions must increase from 1", a->path);
        n++;
    }
    return 0;
}

int daap__sqlmig_init(daap__sqlmig *m, const daap__sqlmig_dialect *dialect, void *conn)
{
    char dir[64];
    int rc;

    memset(m, 0, sizeof(*m));
    m->dialect = dialect;
    m->conn = conn;
    snprintf(dir, sizeof(dir), "sql/%s/", dialect->name);
    m->count = count_up_assets(dir);
    m->steps = daap__calloc(m->count ? m->count : 1, sizeof(*m->steps));
    DAAP_ERROR_CHECK_ALLOC(m->steps);
    if ((rc = load_steps(m, dir)) < 0)
        daap__sqlmig_dispose(m);
    return rc;
}

void daap__sqlmig_dispose(daap__sqlmig *m)
{
    daap__free(m->steps);
    m->steps = NULL;
    m->count = 0;
}

/* Run SQL whose failure must not replace the error being reported. */
static void exec_keeping_error(daap__sqlmig *m, const char *sql)
{
    const daap_error *e = daap_error_last();
    int code = e->code, klass = e->klass;
    char msg[1024];

    snprintf(msg, sizeof(msg), "%s", e->message);
    m->dialect->exec(m->conn, sql);
    daap_error_set(code, klass, "%s", msg);
}

static int32_t current_version(const daap__sqlmig_applied *rows, size_t count)
{
    return count ? rows[count - 1].version : 0;
}

static int32_t latest_version(const daap__sqlmig *m)
{
    return m->count ? m->steps[m->count - 1].version : 0;
}

/* How many steps a store at `target` has applied: those numbered up to it. */
static size_t steps_up_to(const daap__sqlmig *m, int32_t target)
{
    size_t n = 0;

    while (n < m->count && m->steps[n].version <= target)
        n++;
    return n;
}

/* The applied rows must be the first known steps, in order. Versions may
 * have gaps (two branches each took a number), but a step is never applied
 * after a later one: a store that has 0003 and not 0002 is refused. */
static int check_applied(const daap__sqlmig *m, const daap__sqlmig_applied *rows, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++) {
        const daap__sqlmig_step *s;

        if (rows[i].version < 1 || rows[i].version > latest_version(m))
            return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE,
                                  "%s store has migration %d applied, newer than this library knows (latest %d)",
                                  m->dialect->name, (int)rows[i].version, (int)latest_version(m));
        s = &m->steps[i];
        if (rows[i].version != s->version)
            return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE,
                                  "%s store has migration %d applied but not %04d_%s, which comes before it",
                                  m->dialect->name, (int)rows[i].version, (int)s->version, s->name);
        if (strcmp(rows[i].checksum, s->checksum) != 0)
            return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_STORAGE,
                                  "migration %04d_%s was changed after it was applied: checksum %.12s... in the store, %.12s... in this library",
                                  (int)s->version, s->name, rows[i].checksum, s->checksum);
    }
    return 0;
}

/* Apply one step up (record it) or down (forget it), inside the open transaction. */
static int apply_step(daap__sqlmig *m, const daap__sqlmig_step *s, int up)
{
    char record[512];
    int rc;

    if (up)
        snprintf(record, sizeof(record),
                 "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (%d, '%s', '%s', %s)",
                 (int)s->version, s->name, s->checksum, m->dialect->now_sql);
    else
        snprintf(record, sizeof(record), "DELETE FROM schema_migrations WHERE version = %d", (int)s->version);
    rc = m->dialect->exec(m->conn, up ? s->up : s->down);
    if (rc == 0)
        rc = m->dialect->exec(m->conn, record);
    if (rc < 0) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", daap_error_last()->message);
        daap_error_set(rc, daap_error_last()->klass, "migration %04d_%s %s: %s",
                       (int)s->version, s->name, up ? "up" : "down", msg);
    }
    return rc;
}

/* Which step moves a store with `applied` steps toward `target` steps; NULL when there. */
static const daap__sqlmig_step *next_step(const daap__sqlmig *m, size_t applied, size_t target, int *up)
{
    *up = applied < target;
    if (applied == target)
        return NULL;
    return &m->steps[*up ? applied : applied - 1];
}

/* One step in its own transaction. The applied rows are read inside it, so
 * a concurrent migrator (SQLite: BEGIN IMMEDIATE) is never acted on stale.
 * @return 1 after a step, 0 when at target, < 0 on error */
static int run_one_step(daap__sqlmig *m, size_t target)
{
    daap__sqlmig_applied *rows = NULL;
    const daap__sqlmig_step *step = NULL;
    size_t count = 0;
    int up = 0, rc;

    DAAP_TRY(m->dialect->exec(m->conn, m->dialect->begin_sql));
    rc = m->dialect->read_applied(&rows, &count, m->conn);
    if (rc == 0)
        rc = check_applied(m, rows, count);
    if (rc == 0 && (step = next_step(m, count, target, &up)) != NULL)
        rc = apply_step(m, step, up);
    daap__free(rows);
    if (rc < 0) {
        exec_keeping_error(m, m->dialect->rollback_sql);
        return rc;
    }
    DAAP_TRY(m->dialect->exec(m->conn, m->dialect->commit_sql));
    return step != NULL;
}

int daap__sqlmig_run(daap__sqlmig *m, int32_t target)
{
    int rc;

    size_t steps;

    if (target < -1 || target > latest_version(m))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "no migration %d (known: 0..%d, -1 for the latest)", (int)target, (int)latest_version(m));
    /* A target in a gap means the last step below it. */
    steps = target == -1 ? m->count : steps_up_to(m, target);
    if (m->dialect->lock_sql)
        DAAP_TRY(m->dialect->exec(m->conn, m->dialect->lock_sql));
    rc = m->dialect->exec(m->conn, m->dialect->bootstrap_sql);
    while (rc == 0 && (rc = run_one_step(m, steps)) == 1)
        rc = 0;
    if (m->dialect->unlock_sql)
        exec_keeping_error(m, m->dialect->unlock_sql);
    return rc;
}

static const daap__sqlmig_applied *find_applied(const daap__sqlmig_applied *rows, size_t count, int32_t version)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (rows[i].version == version)
            return &rows[i];
    return NULL;
}

/* Items and their names share one block, so daap_migration_status_dispose()
 * frees both with st->items. */
static int fill_status(daap_migration_status *out, const daap__sqlmig *m,
                       const daap__sqlmig_applied *rows, size_t count)
{
    size_t i, items = m->count * sizeof(daap_migration_info);
    char *names;

    out->items = daap__calloc(1, items + m->count * DAAP__SQLMIG_NAME_MAX + 1);
    DAAP_ERROR_CHECK_ALLOC(out->items);
    names = (char *)out->items + items;
    for (i = 0; i < m->count; i++) {
        const daap__sqlmig_step *s = &m->steps[i];
        const daap__sqlmig_applied *a = find_applied(rows, count, s->version);
        daap_migration_info *info = &out->items[i];

        info->version = s->version;
        info->name = strcpy(names + i * DAAP__SQLMIG_NAME_MAX, s->name);
        info->applied = a != NULL;
        info->applied_at = a ? a->applied_at : 0;
        info->checksum_ok = a == NULL || strcmp(a->checksum, s->checksum) == 0;
    }
    out->count = m->count;
    out->current = current_version(rows, count);
    out->latest = latest_version(m);
    return 0;
}

int daap__sqlmig_status(daap_migration_status *out, daap__sqlmig *m)
{
    daap__sqlmig_applied *rows = NULL;
    size_t count = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    DAAP_TRY(m->dialect->read_applied(&rows, &count, m->conn));
    rc = fill_status(out, m, rows, count);
    daap__free(rows);
    return rc;
}
