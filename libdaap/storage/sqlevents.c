/* SQL text and values for the `database_events` table (see sqlevents.h). */
#include "storage/sqlevents.h"
#include "db/event.h"

#define TABLE "database_events"

/* "?N" or "$N", the dialect's parameter N. */
static int param(daap_buf *b, const daap__sqlgen_dialect *d, int n)
{
    return daap__buf_printf(b, "%c%d", d->placeholder, n);
}

/* Parameter N holding ms since the epoch, as the dialect's time value. */
static int time_param(daap_buf *b, const daap__sqlgen_dialect *d, int n)
{
    return daap__buf_printf(b, "%s%c%d%s", d->time_in_pre, d->placeholder, n, d->time_in_post);
}

static int time_column(daap_buf *b, const daap__sqlgen_dialect *d, const char *column)
{
    return daap__buf_printf(b, "%s%s%s", d->time_out_pre, column, d->time_out_post);
}

static int newest_sql(daap_buf *b, const daap__sqlgen_dialect *d)
{
    DAAP_TRY(daap__buf_puts(b, "SELECT id, type, reason, message FROM " TABLE " WHERE database_id = "));
    DAAP_TRY(param(b, d, 1));
    return daap__buf_puts(b, " ORDER BY id DESC LIMIT 1");
}

static int fold_sql(daap_buf *b, const daap__sqlgen_dialect *d)
{
    DAAP_TRY(daap__buf_puts(b, "UPDATE " TABLE " SET count = count + 1, last_at = "));
    DAAP_TRY(time_param(b, d, 2));
    DAAP_TRY(daap__buf_puts(b, " WHERE id = "));
    return param(b, d, 1);
}

static int insert_sql(daap_buf *b, const daap__sqlgen_dialect *d)
{
    int n;

    DAAP_TRY(daap__buf_puts(b, "INSERT INTO " TABLE " (database_id, at, last_at, type, reason, message,"
                               " from_status, to_status, actor, request_id, count) VALUES ("));
    DAAP_TRY(param(b, d, 1));
    DAAP_TRY(daap__buf_puts(b, ", "));
    DAAP_TRY(time_param(b, d, 2));
    DAAP_TRY(daap__buf_puts(b, ", "));
    DAAP_TRY(time_param(b, d, 2));
    for (n = 3; n <= 9; n++) {
        DAAP_TRY(daap__buf_puts(b, ", "));
        DAAP_TRY(param(b, d, n));
    }
    return daap__buf_puts(b, ", 1)");
}

/* Newest first from the (database_id, id) index; the type filter only
 * skips rows of that range. */
static int page_sql(daap_buf *b, const daap__sqlgen_dialect *d)
{
    DAAP_TRY(daap__buf_puts(b, "SELECT id, database_id, "));
    DAAP_TRY(time_column(b, d, "at"));
    DAAP_TRY(daap__buf_puts(b, ", "));
    DAAP_TRY(time_column(b, d, "last_at"));
    DAAP_TRY(daap__buf_puts(b, ", type, reason, message, from_status, to_status, actor, request_id, count"
                               " FROM " TABLE " WHERE database_id = "));
    DAAP_TRY(param(b, d, 1));
    DAAP_TRY(daap__buf_puts(b, " AND id < "));
    DAAP_TRY(param(b, d, 2));
    DAAP_TRY(daap__buf_puts(b, " AND ("));
    DAAP_TRY(param(b, d, 3));
    DAAP_TRY(daap__buf_puts(b, " = 0 OR type = 'warning') ORDER BY id DESC LIMIT "));
    return param(b, d, 4);
}

/* Oldest first from the last_at index, a bounded batch per call. */
static int purge_sql(daap_buf *b, const daap__sqlgen_dialect *d)
{
    DAAP_TRY(daap__buf_puts(b, "DELETE FROM " TABLE " WHERE id IN (SELECT id FROM " TABLE " WHERE last_at < "));
    DAAP_TRY(time_param(b, d, 1));
    DAAP_TRY(daap__buf_puts(b, " ORDER BY last_at LIMIT "));
    DAAP_TRY(param(b, d, 2));
    return daap__buf_putc(b, ')');
}

int daap__sqlevents_statement(daap_buf *out, const daap__sqlgen_dialect *d, int which)
{
    switch (which) {
    case DAAP__STMT_EVENT_NEWEST: return newest_sql(out, d);
    case DAAP__STMT_EVENT_FOLD:   return fold_sql(out, d);
    case DAAP__STMT_EVENT_INSERT: return insert_sql(out, d);
    case DAAP__STMT_EVENT_PAGE:   return page_sql(out, d);
    case DAAP__STMT_EVENT_PURGE:  return purge_sql(out, d);
    default:
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "no event statement %d", which);
    }
}

static daap__sqlvalue text_value(const char *s)
{
    daap__sqlvalue v = { DAAP__SQL_NULL, 0, NULL, 0 };

    if (s) {
        v.kind = DAAP__SQL_TEXT;
        v.p = s;
        v.len = strlen(s);
    }
    return v;
}

static daap__sqlvalue int_value(int64_t i)
{
    daap__sqlvalue v = { DAAP__SQL_INT, i, NULL, 0 };
    return v;
}

size_t daap__sqlevents_newest_params(daap__sqlvalue *out, const char *database_id)
{
    out[0] = text_value(database_id);
    return 1;
}

size_t daap__sqlevents_fold_params(daap__sqlvalue *out, int64_t event_id, const daap_db_event *ev)
{
    out[0] = int_value(event_id);
    out[1] = int_value(ev->at);
    return 2;
}

size_t daap__sqlevents_insert_params(daap__sqlvalue *out, const char *database_id, const daap_db_event *ev)
{
    const char *type = daap_db_event_type_name(ev->type);

    out[0] = text_value(database_id);
    out[1] = int_value(ev->at);
    out[2] = text_value(type ? type : "normal");
    out[3] = text_value(ev->reason);
    out[4] = text_value(ev->message ? ev->message : "");
    out[5] = text_value(ev->from_status);
    out[6] = text_value(ev->to_status);
    out[7] = text_value(ev->actor ? ev->actor : "reconciler");
    out[8] = text_value(ev->request_id);
    return 9;
}

size_t daap__sqlevents_page_params(daap__sqlvalue *out, const daap_storage_event_query *q)
{
    out[0] = text_value(q->database_id);
    out[1] = int_value(q->before_id > 0 ? q->before_id : INT64_MAX);
    out[2] = int_value(q->warnings_only ? 1 : 0);
    out[3] = int_value(q->limit);
    return 4;
}

size_t daap__sqlevents_purge_params(daap__sqlvalue *out, int64_t before_ms, uint32_t max_rows)
{
    out[0] = int_value(before_ms);
    out[1] = int_value(max_rows);
    return 2;
}

int daap__sqlevents_check_query(const daap_storage_event_query *q)
{
    DAAP_ASSERT_ARG(q);
    DAAP_CHECK_VERSION(q, DAAP_STORAGE_EVENT_QUERY_VERSION, "daap_storage_event_query");
    if (q->database_id == NULL || q->limit == 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "an event query needs a database id and a limit");
    return 0;
}

static bool text_is(const daap__sqlvalue *v, const char *s)
{
    return v->kind == DAAP__SQL_TEXT && s && v->len == strlen(s) && memcmp(v->p, s, v->len) == 0;
}

bool daap__sqlevents_folds(const daap__sqlvalue *newest, const daap_db_event *ev)
{
    const char *type = daap_db_event_type_name(ev->type);

    return text_is(&newest[1], type ? type : "normal") && text_is(&newest[2], ev->reason) &&
           text_is(&newest[3], ev->message ? ev->message : "");
}

/* Drivers NUL-terminate text values, so a row's strings can be borrowed. */
static const char *text_of(const daap__sqlvalue *v)
{
    return v->kind == DAAP__SQL_TEXT ? v->p : NULL;
}

int daap__sqlevents_push_row(daap_db_event_page *out, const daap__sqlvalue *row)
{
    daap_db_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.id = row[0].i;
    ev.database_id = text_of(&row[1]);
    ev.at = row[2].i;
    ev.last_at = row[3].i;
    ev.type = daap__event_type_parse(text_of(&row[4]));
    ev.reason = text_of(&row[5]);
    ev.message = text_of(&row[6]);
    ev.from_status = text_of(&row[7]);
    ev.to_status = text_of(&row[8]);
    ev.actor = text_of(&row[9]);
    ev.request_id = text_of(&row[10]);
    ev.count = row[11].i;
    if (ev.type < 0)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "event %lld has an unknown type", (long long)ev.id);
    return daap_db_event_page_push(out, &ev);
}
