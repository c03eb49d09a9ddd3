/* SQL text and values for the `databases` table, from the field table. */
#include "storage/sqlgen.h"
#include "storage/sqlevents.h"

#include <stdio.h>

#define TABLE "databases"
/* A status IN list always has this many parameters; unused ones repeat a
 * wanted status, so one statement serves every status mask. */
#define STATUS_SLOTS 5

const daap__sqlgen_dialect daap__sqlgen_sqlite = { '?', "", "", "", "" };

const daap__sqlgen_dialect daap__sqlgen_postgres = {
    '$',
    "to_timestamp(", "::float8 / 1000)",
    "floor(extract(epoch FROM ", ") * 1000)::int8"
};

static int put_param(daap_buf *b, const daap__sqlgen_dialect *d, int n)
{
    return daap__buf_printf(b, "%c%d", d->placeholder, n);
}

static int put_value(daap_buf *b, const daap__sqlgen_dialect *d, daap_db_field_type type, int n)
{
    if (type != DAAP_DB_T_TIME)
        return put_param(b, d, n);
    DAAP_TRY(daap__buf_puts(b, d->time_in_pre));
    DAAP_TRY(put_param(b, d, n));
    return daap__buf_puts(b, d->time_in_post);
}

/* `summary` selects NULL in place of the connection columns, which keeps
 * every statement's columns in field order while sparing the store from
 * reading them. */
static int put_column_list(daap_buf *b, const daap__sqlgen_dialect *d, int convert_time, int summary)
{
    int f;

    for (f = 0; f < DAAP_DB_F__COUNT; f++) {
        const daap_db_field_info *fi = daap_db_field_describe(f);
        int wrap = convert_time && fi->type == DAAP_DB_T_TIME;

        if (f > 0)
            DAAP_TRY(daap__buf_puts(b, ", "));
        if (summary && daap__db_field_is_connection(f)) {
            DAAP_TRY(daap__buf_puts(b, "NULL"));
            continue;
        }
        if (wrap)
            DAAP_TRY(daap__buf_puts(b, d->time_out_pre));
        DAAP_TRY(daap__buf_puts(b, fi->column));
        if (wrap)
            DAAP_TRY(daap__buf_puts(b, d->time_out_post));
    }
    return 0;
}

static int put_select(daap_buf *b, const daap__sqlgen_dialect *d, int summary)
{
    DAAP_TRY(daap__buf_puts(b, "SELECT "));
    DAAP_TRY(put_column_list(b, d, 1, summary));
    return daap__buf_puts(b, " FROM " TABLE);
}

static int daap__sqlgen_select_by_id(daap_buf *out, const daap__sqlgen_dialect *d)
{
    DAAP_TRY(put_select(out, d, 0));
    DAAP_TRY(daap__buf_puts(out, " WHERE id = "));
    return put_param(out, d, 1);
}

static int daap__sqlgen_insert(daap_buf *out, const daap__sqlgen_dialect *d)
{
    int f;

    DAAP_TRY(daap__buf_puts(out, "INSERT INTO " TABLE " ("));
    DAAP_TRY(put_column_list(out, d, 0, 0));
    DAAP_TRY(daap__buf_puts(out, ") VALUES ("));
    for (f = 0; f < DAAP_DB_F__COUNT; f++) {
        if (f > 0)
            DAAP_TRY(daap__buf_puts(out, ", "));
        DAAP_TRY(put_value(out, d, daap_db_field_describe(f)->type, f + 1));
    }
    return daap__buf_putc(out, ')');
}

static int daap__sqlgen_update(daap_buf *out, const daap__sqlgen_dialect *d)
{
    int f;

    DAAP_TRY(daap__buf_puts(out, "UPDATE " TABLE " SET "));
    for (f = 0; f < DAAP_DB_F__COUNT; f++) {
        const daap_db_field_info *fi = daap_db_field_describe(f);

        if (f == DAAP_DB_F_ID)
            continue;
        DAAP_TRY(daap__buf_printf(out, "%s%s = ", f == DAAP_DB_F_ID + 1 ? "" : ", ", fi->column));
        DAAP_TRY(put_value(out, d, fi->type, f + 1));
    }
    DAAP_TRY(daap__buf_puts(out, " WHERE id = "));
    DAAP_TRY(put_param(out, d, DAAP_DB_F_ID + 1));
    DAAP_TRY(daap__buf_puts(out, " AND revision = "));
    return put_param(out, d, DAAP_DB_F__COUNT + 1);
}

static int daap__sqlgen_revision_of(daap_buf *out, const daap__sqlgen_dialect *d)
{
    DAAP_TRY(daap__buf_puts(out, "SELECT revision FROM " TABLE " WHERE id = "));
    return put_param(out, d, 1);
}

/* Appends " WHERE " before the first condition and " AND " before the rest. */
static int put_condition_start(daap_buf *b, int *count)
{
    return daap__buf_puts(b, (*count)++ == 0 ? " WHERE " : " AND ");
}

static int put_status_in(daap_buf *b, const daap__sqlgen_dialect *d, int *n)
{
    int i;

    DAAP_TRY(daap__buf_puts(b, "status IN ("));
    for (i = 0; i < STATUS_SLOTS; i++) {
        if (i > 0)
            DAAP_TRY(daap__buf_puts(b, ", "));
        DAAP_TRY(put_param(b, d, (*n)++));
    }
    return daap__buf_putc(b, ')');
}

/* Parameter order here must match daap__sqlgen_list_params(). */
int daap__sqlgen_list(daap_buf *out, const daap__sqlgen_dialect *d, unsigned int shape)
{
    int n = 1, conds = 0;

    DAAP_TRY(put_select(out, d, (shape & DAAP__LIST_SUMMARY) != 0));
    if (shape & DAAP__LIST_OWNER) {
        DAAP_TRY(put_condition_start(out, &conds));
        DAAP_TRY(daap__buf_puts(out, "owner_team = "));
        DAAP_TRY(put_param(out, d, n++));
    }
    if (shape & DAAP__LIST_STATUS) {
        DAAP_TRY(put_condition_start(out, &conds));
        DAAP_TRY(daap__buf_puts(out, "status = "));
        DAAP_TRY(put_param(out, d, n++));
    }
    if (shape & DAAP__LIST_STATUS_ANY) {
        DAAP_TRY(put_condition_start(out, &conds));
        DAAP_TRY(put_status_in(out, d, &n));
    }
    if (shape & DAAP__LIST_PREFIX) {
        /* substr, not LIKE: the prefix is matched literally. */
        DAAP_TRY(put_condition_start(out, &conds));
        DAAP_TRY(daap__buf_printf(out, "substr(name, 1, %c%d) = %c%d",
                                  d->placeholder, n, d->placeholder, n + 1));
        n += 2;
    }
    if (shape & DAAP__LIST_LIVE) {
        DAAP_TRY(put_condition_start(out, &conds));
        DAAP_TRY(daap__buf_puts(out, "deleted_at IS NULL"));
    }
    if (shape & DAAP__LIST_KEYSET) {
        DAAP_TRY(put_condition_start(out, &conds));
        DAAP_TRY(daap__buf_puts(out, "(created_at, id) > ("));
        DAAP_TRY(put_value(out, d, DAAP_DB_T_TIME, n++));
        DAAP_TRY(daap__buf_puts(out, ", "));
        DAAP_TRY(put_param(out, d, n++));
        DAAP_TRY(daap__buf_putc(out, ')'));
    }
    DAAP_TRY(daap__buf_puts(out, " ORDER BY created_at, id LIMIT "));
    return put_param(out, d, n);
}

int daap__sqlgen_statement(daap_buf *out, const daap__sqlgen_dialect *d, int which)
{
    switch (which) {
    case DAAP__STMT_INSERT:   return daap__sqlgen_insert(out, d);
    case DAAP__STMT_GET:      return daap__sqlgen_select_by_id(out, d);
    case DAAP__STMT_UPDATE:   return daap__sqlgen_update(out, d);
    case DAAP__STMT_REVISION: return daap__sqlgen_revision_of(out, d);
    case DAAP__STMT_EVENT_NEWEST: case DAAP__STMT_EVENT_FOLD: case DAAP__STMT_EVENT_INSERT:
    case DAAP__STMT_EVENT_PAGE: case DAAP__STMT_EVENT_PURGE:
        return daap__sqlevents_statement(out, d, which);
    default:                  return daap__sqlgen_list(out, d, (unsigned int)(which - DAAP__STMT_LIST));
    }
}

int daap__sqlgen_list_shape(unsigned int *out, const daap_storage_query *q)
{
    unsigned int shape = 0;
    const unsigned int all = DAAP_DB_STATUS_BIT(DAAP_DB_DELETED + 1) - 1;

    DAAP_ASSERT_ARG(q);
    DAAP_CHECK_VERSION(q, DAAP_STORAGE_QUERY_VERSION, "daap_storage_query");
    if (q->status_mask & ~all)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "status mask 0x%x has unknown bits", q->status_mask);
    if (q->owner_team)
        shape |= DAAP__LIST_OWNER;
    if (q->status_mask && q->status_mask != all)
        shape |= (q->status_mask & (q->status_mask - 1)) ? DAAP__LIST_STATUS_ANY : DAAP__LIST_STATUS;
    if (q->name_prefix && *q->name_prefix)
        shape |= DAAP__LIST_PREFIX;
    if (!q->include_deleted)
        shape |= DAAP__LIST_LIVE;
    if (q->after_id)
        shape |= DAAP__LIST_KEYSET;
    if (q->version >= 2 && q->skip_connection)
        shape |= DAAP__LIST_SUMMARY;
    *out = shape;
    return 0;
}

static daap__sqlvalue int_value(int64_t i)
{
    daap__sqlvalue v = { DAAP__SQL_INT, i, NULL, 0 };
    return v;
}

static daap__sqlvalue text_value(const char *s)
{
    daap__sqlvalue v = { DAAP__SQL_TEXT, 0, s, s ? strlen(s) : 0 };
    if (s == NULL)
        v.kind = DAAP__SQL_NULL;
    return v;
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* The statuses in `mask`, repeating the last up to `slots` parameters. */
static size_t put_status_params(daap__sqlvalue *out, unsigned int mask, size_t slots)
{
    const char *last = NULL;
    size_t n = 0;
    int s;

    for (s = DAAP_DB_PROVISIONING; s <= DAAP_DB_DELETED; s++)
        if (mask & DAAP_DB_STATUS_BIT(s))
            out[n++] = text_value(last = daap_db_status_name(s));
    while (n < slots)
        out[n++] = text_value(last);
    return n;
}

size_t daap__sqlgen_list_params(daap__sqlvalue *out, const daap_storage_query *q)
{
    unsigned int shape = 0;
    size_t n = 0;

    daap__sqlgen_list_shape(&shape, q);
    if (shape & DAAP__LIST_OWNER)
        out[n++] = text_value(q->owner_team);
    if (shape & (DAAP__LIST_STATUS | DAAP__LIST_STATUS_ANY))
        n += put_status_params(out + n, q->status_mask, shape & DAAP__LIST_STATUS ? 1 : STATUS_SLOTS);
    if (shape & DAAP__LIST_PREFIX) {
        out[n++] = int_value((int64_t)utf8_length(q->name_prefix));
        out[n++] = text_value(q->name_prefix);
    }
    if (shape & DAAP__LIST_KEYSET) {
        out[n++] = int_value(q->after_created_at);
        out[n++] = text_value(q->after_id);
    }
    out[n++] = int_value(q->limit ? (int64_t)q->limit : INT64_MAX);
    return n;
}

static int field_param(daap__sqlvalue *out, const daap_db *db, int f)
{
    const daap_db_field_info *fi = daap_db_field_describe(f);
    int64_t i = daap_db_get_int(db, f);
    const char *status;

    switch (fi->type) {
    case DAAP_DB_T_TEXT:
        *out = text_value(daap_db_get_text(db, f));
        return 0;
    case DAAP_DB_T_INT:
        *out = int_value(i);
        return 0;
    case DAAP_DB_T_TIME:
        *out = int_value(i);
        if (i == 0)
            out->kind = DAAP__SQL_NULL;
        return 0;
    case DAAP_DB_T_STATUS:
        if ((status = daap_db_status_name((int)i)) == NULL)
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "unknown status %lld", (long long)i);
        *out = text_value(status);
        return 0;
    case DAAP_DB_T_BLOB:
        out->p = (const char *)daap_db_get_blob(db, f, &out->len);
        out->kind = out->p ? DAAP__SQL_BLOB : DAAP__SQL_NULL;
        return 0;
    }
    return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "field %d has no SQL type", f);
}

int daap__sqlgen_db_params(daap__sqlvalue *out, const daap_db *db)
{
    int f;

    DAAP_ASSERT_ARG(db);
    memset(out, 0, sizeof(*out) * DAAP_DB_F__COUNT);
    for (f = 0; f < DAAP_DB_F__COUNT; f++)
        DAAP_TRY(field_param(&out[f], db, f));
    return 0;
}

/* Drivers need not NUL-terminate text values. */
static int parse_status(int64_t *out, const daap__sqlvalue *v)
{
    int i;

    for (i = 0; i <= DAAP_DB_DELETED; i++) {
        const char *name = daap_db_status_name(i);
        if (strlen(name) == v->len && memcmp(name, v->p, v->len) == 0) {
            *out = i;
            return 0;
        }
    }
    return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "unknown status '%.*s' in the store",
                          (int)(v->len < 16 ? v->len : 16), v->p);
}

static daap__sqlkind kind_of(daap_db_field_type t)
{
    return (t == DAAP_DB_T_INT || t == DAAP_DB_T_TIME) ? DAAP__SQL_INT
         : t == DAAP_DB_T_BLOB ? DAAP__SQL_BLOB : DAAP__SQL_TEXT;
}

/* Text from the drivers is NUL-terminated (sqlite3_column_text, PQgetvalue),
 * which is what lets a view hand it out as C strings. */
static int view_field(daap_db *view, int f, const daap__sqlvalue *v)
{
    const daap_db_field_info *fi = daap_db_field_describe(f);

    if (v->kind == DAAP__SQL_NULL)
        return 0;
    if (v->kind != kind_of(fi->type))
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE,
                              "column %s has an unexpected type in the store", fi->column);
    switch (fi->type) {
    case DAAP_DB_T_TEXT:
        view->text[f] = (char *)v->p;
        view->text_len[f] = v->len;
        return 0;
    case DAAP_DB_T_STATUS:
        return parse_status(&view->num[f], v);
    case DAAP_DB_T_BLOB: {
        size_t *len;
        unsigned char **slot = daap__db_blob_slot(view, f, &len);
        *slot = (unsigned char *)v->p;
        *len = v->len;
        return 0;
    }
    default:
        view->num[f] = v->i;
        return 0;
    }
}

bool daap__sqlgen_skips(const daap_storage_query *q, int f)
{
    return q->version >= 2 && q->skip_connection && daap__db_field_is_connection(f);
}

int daap__sqlgen_db_view(daap_db *view, const daap__sqlvalue *row)
{
    int f;

    memset(view, 0, sizeof(*view));
    for (f = 0; f < DAAP_DB_F__COUNT; f++)
        DAAP_TRY(view_field(view, f, &row[f]));
    return 0;
}

int daap__sqlgen_db_from_row(daap_db **out, const daap__sqlvalue *row)
{
    daap_db view;

    *out = NULL;
    DAAP_TRY(daap__sqlgen_db_view(&view, row));
    return daap_db_dup(out, &view);
}

void daap__sqlgen_array_truncate(daap_db_array *arr, size_t count)
{
    while (arr->count > count)
        daap_db_free(arr->items[--arr->count]);
}

int daap__sqlgen_check_update(const daap_db *db, int64_t expected_revision)
{
    int64_t rev;

    DAAP_ASSERT_ARG(db && daap_db_get_text(db, DAAP_DB_F_ID));
    rev = daap_db_get_int(db, DAAP_DB_F_REVISION);
    if (rev != expected_revision + 1)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "update of %s: new revision %lld must be expected revision %lld + 1",
                              daap_db_get_text(db, DAAP_DB_F_ID), (long long)rev,
                              (long long)expected_revision);
    return 0;
}

int daap__sql_exists_error(const char *where, const daap_db *db, int on_id, const char *detail)
{
    if (on_id)
        return daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_STORAGE, "%s: id %s already exists (%s)",
                              where, daap_db_get_text(db, DAAP_DB_F_ID), detail);
    return daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_STORAGE,
                          "%s: name '%s' is in use by a database that is not deleted (%s)",
                          where, daap_db_get_text(db, DAAP_DB_F_NAME), detail);
}

void daap__sql_one_line(char *dst, size_t size, const char *msg)
{
    size_t n = 0;

    if (size == 0)
        return;
    for (; msg && *msg && n + 1 < size; msg++)
        dst[n++] = (*msg == '\n' || *msg == '\r' || *msg == '\t') ? ' ' : *msg;
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

static bool value_is(const daap__sqlvalue *v, const char *text)
{
    return v->kind == DAAP__SQL_TEXT && v->len == strlen(text) && memcmp(v->p, text, v->len) == 0;
}

int daap__sql_idem_row(daap_idempotency_record *out, const daap_storage_idem *k, const daap__sqlvalue *row)
{
    if (!value_is(&row[0], k->fingerprint)) {
        out->state = DAAP_IDEMPOTENCY_MISMATCH;
        return 0;
    }
    if (!value_is(&row[1], "done")) {
        out->state = DAAP_IDEMPOTENCY_IN_FLIGHT;
        return 0;
    }
    out->state = DAAP_IDEMPOTENCY_DONE;
    out->status = (int32_t)row[2].i;
    if (row[3].kind != DAAP__SQL_NULL)
        DAAP_TRY(daap__buf_put(&out->location, row[3].p, row[3].len));
    if (row[4].kind != DAAP__SQL_NULL)
        DAAP_TRY(daap__buf_put(&out->body, row[4].p, row[4].len));
    return 0;
}
