/* The database lifecycle on the request path: create, get, list, update, delete. */
#include "lifecycle/steps.h"
#include "lifecycle/events.h"
#include "db/db_json.h"
#include "ids.h"
#include "db/reqjson.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/reconcile.h"
#include "lifecycle/watch.h"
#include "lifecycle/wait.h"
#include "lifecycle/idempotency.h"
#include "lifecycle/rotate.h"
#include "kube/kube.h"
#include "storage/storage.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_STORAGE_SIZE "1Gi"
#define DEFAULT_INSTANCES    1
#define LIST_DEFAULT_LIMIT   20
#define LIST_MAX_LIMIT       100
#define UPDATE_RETRIES       5

/* Per version, how much of each struct a caller of that version has. */
static const size_t spec_sizes[] = { offsetof(daap_db_spec, idempotency_key), sizeof(daap_db_spec) };
static const size_t update_sizes[] = { offsetof(daap_db_update_spec, deletion_protection),
                                       offsetof(daap_db_update_spec, instances), sizeof(daap_db_update_spec) };

int daap_db_spec_init(daap_db_spec *spec, unsigned int version)
{
    DAAP_INIT_VERSIONS(spec, version, DAAP_DB_SPEC_VERSION, spec_sizes, "daap_db_spec");
    return 0;
}

int daap_db_update_spec_init(daap_db_update_spec *spec, unsigned int version)
{
    DAAP_INIT_VERSIONS(spec, version, DAAP_DB_UPDATE_VERSION, update_sizes, "daap_db_update_spec");
    return 0;
}

static daap_db_spec with_defaults(const daap_ctx *ctx, const daap_db_spec *spec)
{
    daap_db_spec s;

    memset(&s, 0, sizeof(s));
    memcpy(&s, spec, DAAP_VERSION_SIZE(spec_sizes, spec->version));
    if (s.instances == 0) s.instances = DEFAULT_INSTANCES;
    if (s.storage_size == NULL) s.storage_size = DEFAULT_STORAGE_SIZE;
    if (s.pg_version == 0) s.pg_version = ctx->default_pg_version;
    return s;
}

static int validate_spec(daap_ctx *ctx, const daap_db_spec *spec, daap__fields *f)
{
    daap_db_spec s = with_defaults(ctx, spec);

    daap__check_name(f, "name", s.name);
    daap__check_team(f, "owner_team", s.owner_team);
    daap__check_purpose(f, "purpose", s.purpose);
    daap__check_instances(f, "instances", s.instances, &ctx->limits);
    daap__check_storage_size(f, "storage_size", s.storage_size);
    daap__check_pg_version(f, "pg_version", s.pg_version, &ctx->limits);
    return 0;
}

int daap_db_validate(daap_ctx *ctx, const daap_db_spec *spec)
{
    daap__fields f;

    DAAP_ASSERT_ARG(ctx && spec);
    DAAP_CHECK_VERSION(spec, DAAP_DB_SPEC_VERSION, "daap_db_spec");
    daap__fields_init(&f);
    validate_spec(ctx, spec, &f);
    return daap__fields_result(&f, "database spec");
}

static int build_record(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec)
{
    daap_db_spec s = with_defaults(ctx, spec);
    char id[DAAP__UUID_STRLEN + 1], cluster[64], pooler[80];
    int64_t now = daap__now_ms();
    daap_db *db;
    int rc;

    DAAP_TRY(daap__uuid7(id, now));
    DAAP_TRY(daap_db_new(&db));
    daap__cluster_name(cluster, sizeof(cluster), s.name);
    daap__pooler_name(pooler, sizeof(pooler), s.name);
    if ((rc = daap_db_set_text(db, DAAP_DB_F_ID, id)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_NAME, s.name)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, s.owner_team)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_PURPOSE, s.purpose)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_NAMESPACE, ctx->namespace_)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_CLUSTER_NAME, cluster)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_POOLER_NAME, pooler)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, s.storage_size)) < 0 ||
        (rc = daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, "creating the CNPG Cluster and Pooler")) < 0) {
        daap_db_free(db);
        return rc;
    }
    db->num[DAAP_DB_F_INSTANCES] = s.instances;
    db->num[DAAP_DB_F_PG_VERSION] = s.pg_version;
    db->num[DAAP_DB_F_STATUS] = DAAP_DB_PROVISIONING;
    db->num[DAAP_DB_F_CREATED_AT] = now;
    db->num[DAAP_DB_F_UPDATED_AT] = now;
    db->num[DAAP_DB_F_REVISION] = 1;
    db->num[DAAP_DB_F_DELETION_PROTECTION] = s.deletion_protection != 0;
    *out = db;
    return 0;
}

/* Kubernetes being down is not the caller's problem once the record exists:
 * the reconciler creates the objects later (docs/adr/0002-create-semantics.md).
 * Only an answer that refuses the spec itself is final; anything else (out
 * of memory, an unexpected error) is tried again. */
static bool is_transient(int rc)
{
    return !daap__is_rejection(rc);
}

static int provision(daap_ctx *ctx, daap_db *db)
{
    static const int kinds[] = { DAAP_KUBE_CLUSTER, DAAP_KUBE_POOLER };
    char reason[512];
    size_t i;
    int rc = 0;

    for (i = 0; i < DAAP_ARRAY_SIZE(kinds) && rc >= 0; i++)
        rc = daap__create_object(ctx, db, kinds[i]);
    if (rc >= 0)
        return daap__set_reason(ctx, db, "waiting for CNPG to start the cluster");
    snprintf(reason, sizeof(reason), "%s%s", is_transient(rc) ? "waiting for Kubernetes: " : "Kubernetes rejected the database: ",
             daap_error_last()->message);
    if (is_transient(rc))
        return daap__set_reason_because(ctx, db, reason, "KubernetesError", DAAP_DB_EVENT_WARNING);
    return daap__transition_because(ctx, db, DAAP_DB_ERROR, reason, "KubernetesError", DAAP_DB_EVENT_WARNING);
}

/* Request-path writes are by `team` unless the call info names the caller;
 * returns the team acted for before, to put back. */
const char *daap__act_for(daap_ctx *ctx, const char *team)
{
    const char *before = ctx->acting_team;
    ctx->acting_team = team;
    return before;
}

static int insert_created(daap_ctx *ctx, const daap_db *db)
{
    char message[256];
    daap__events e;

    snprintf(message, sizeof(message), "database %s created (PostgreSQL %d, %d instance%s, %s)",
             daap_db_name(db), (int)daap_db_pg_version(db), (int)daap_db_instances(db),
             daap_db_instances(db) == 1 ? "" : "s", daap_db_storage_size(db));
    daap__events_init(&e);
    daap__events_add(&e, ctx, DAAP_DB_EVENT_NORMAL, "Created", message, -1, DAAP_DB_PROVISIONING);
    return daap__storage_insert_with_events(ctx->storage, db, e.items, e.count);
}

static int create_as_owner(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec)
{
    daap_db *db;
    int rc;

    DAAP_TRY(build_record(&db, ctx, spec));
    if ((rc = insert_created(ctx, db)) < 0) {
        /* Told in terms of the request alone, so a client may see it
         * (daap_error_for_client); the store's own text had the store in it. */
        if (rc == DAAP_EEXISTS)
            daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_INVALID, "a database named '%s' already exists", spec->name);
        daap_db_free(db);
        return rc;
    }
    /* The record is durable now; failures past this point are the
     * reconciler's to repair, so they do not fail the create. */
    if (ctx->kube)
        (void)provision(ctx, db);
    daap_error_clear();
    if (out)
        *out = db;
    else
        daap_db_free(db);
    return 0;
}

static int create_checked(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec)
{
    const char *acted_for = daap__act_for(ctx, spec->owner_team);
    int rc = create_as_owner(out, ctx, spec);

    ctx->acting_team = acted_for;
    return rc;
}

static int local_create(daap_db **out, void *self, const daap_db_spec *spec)
{
    daap_ctx *ctx = self;

    DAAP_TRY(daap_db_validate(ctx, spec));
    /* Validation failures are never stored: only a valid spec claims a key. */
    if (spec->version >= 2 && spec->idempotency_key)
        return daap__idempotent_create(out, ctx, spec, create_checked);
    return create_checked(out, ctx, spec);
}

int daap_db_create(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec)
{
    DAAP_ASSERT_ARG(ctx && spec);
    if (out) *out = NULL;
    DAAP_CHECK_VERSION(spec, DAAP_DB_SPEC_VERSION, "daap_db_spec");
    if (spec->version >= 2 && spec->idempotency_key)
        DAAP_TRY(daap__idempotency_key_check(spec->idempotency_key));
    return ctx->engine->create(out, ctx->engine_self, spec);
}

/* Request-body helpers: fill a string or integer field, or record why not. */
static void take_string(daap__fields *f, const daap__rj_member *m, const char **dst)
{
    if (m->type == DAAP__RJ_STRING)
        *dst = m->text ? m->text : "";
    else
        daap__fields_add(f, m->key, "type", "%s must be a string, not %s", m->key, daap__rj_type_name(m->type));
}

static void take_bool(daap__fields *f, const daap__rj_member *m, int32_t *dst, int32_t if_true, int32_t if_false)
{
    if (m->type == DAAP__RJ_BOOL)
        *dst = m->text && m->text[0] == 't' ? if_true : if_false;
    else
        daap__fields_add(f, m->key, "type", "%s must be a boolean, not %s", m->key, daap__rj_type_name(m->type));
}

static void take_int(daap__fields *f, const daap__rj_member *m, int32_t *dst)
{
    char *end;
    long long v;

    if (m->type != DAAP__RJ_NUMBER) {
        daap__fields_add(f, m->key, "type", "%s must be an integer, not %s", m->key, daap__rj_type_name(m->type));
        return;
    }
    v = strtoll(m->text, &end, 10);
    if (*end != '\0')
        daap__fields_add(f, m->key, "type", "%s must be an integer", m->key);
    else if (v < 1 || v > 1000000)
        daap__fields_add(f, m->key, "out_of_range", "%s is out of range", m->key);
    else
        *dst = (int32_t)v;
}

/* Fields of the record that a request may mention but never change. */
static bool is_record_field(const char *key)
{
    int i;
    for (i = 0; i < DAAP_DB_F__COUNT; i++)
        if (strcmp(daap_db_field_describe(i)->column, key) == 0)
            return true;
    return strcmp(key, "connection") == 0;
}

static void spec_from_members(daap__fields *f, const daap__rj_object *o, daap_db_spec *spec)
{
    size_t i;

    for (i = 0; i < o->count; i++) {
        const daap__rj_member *m = &o->members[i];
        if (strcmp(m->key, "name") == 0) take_string(f, m, &spec->name);
        else if (strcmp(m->key, "owner_team") == 0) take_string(f, m, &spec->owner_team);
        else if (strcmp(m->key, "purpose") == 0) take_string(f, m, &spec->purpose);
        else if (strcmp(m->key, "storage_size") == 0) take_string(f, m, &spec->storage_size);
        else if (strcmp(m->key, "instances") == 0) take_int(f, m, &spec->instances);
        else if (strcmp(m->key, "pg_version") == 0) take_int(f, m, &spec->pg_version);
        else if (strcmp(m->key, "deletion_protection") == 0) take_bool(f, m, &spec->deletion_protection, 1, 0);
        else if (is_record_field(m->key))
            daap__fields_add(f, m->key, "read_only", "%s is set by daap and cannot be given", m->key);
        else
            daap__fields_add(f, m->key, "unknown_field", "unknown field '%s'", m->key);
    }
}

int daap_db_create_json(daap_db **out, daap_ctx *ctx, const char *json, size_t len)
{
    DAAP_ASSERT_ARG(ctx && (json || len == 0));
    if (out) *out = NULL;
    return ctx->engine->create_json(out, ctx->engine_self, json, len);
}

static int local_create_json(daap_db **out, void *self, const char *json, size_t len)
{
    daap_ctx *ctx = self;
    daap_db_spec spec = DAAP_DB_SPEC_INIT;
    daap__rj_object obj;
    daap__fields f;
    int rc;

    DAAP_TRY(daap__reqjson_parse(&obj, json, len));
    daap__fields_init(&f);
    spec_from_members(&f, &obj, &spec);
    validate_spec(ctx, &spec, &f); /* one error per field: type errors win */
    rc = daap__fields_result(&f, "request");
    if (rc == 0)
        rc = create_checked(out, ctx, &spec);
    daap__reqjson_dispose(&obj);
    return rc;
}

/* A live record: not soft-deleted. */
int daap__get_live(daap_db **out, daap_ctx *ctx, const char *id)
{
    if (!daap__uuid_valid(id))
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_INVALID, "no database with id '%.64s'", id);
    DAAP_TRY(daap__storage_get(out, ctx->storage, id));
    if (daap_db_get_int(*out, DAAP_DB_F_DELETED_AT) != 0) {
        daap_db_free(*out);
        *out = NULL;
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_STORAGE, "database %s was deleted", id);
    }
    return 0;
}

int daap_db_get(daap_db **out, daap_ctx *ctx, const char *id)
{
    DAAP_ASSERT_ARG(out && ctx && id);
    *out = NULL;
    return ctx->engine->get(out, ctx->engine_self, id);
}

static int local_get(daap_db **out, void *self, const char *id)
{
    daap_ctx *ctx = self;
    daap_db *db;
    int rc;

    DAAP_TRY(daap__get_live(&db, ctx, id));
    if (daap_db_status(db) == DAAP_DB_READY && (rc = daap__unseal_password(ctx, db)) < 0) {
        daap_db_free(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int to_query(daap_storage_query *q, char *after_id, size_t idsize, const daap_db_list_options *o)
{
    memset(q, 0, sizeof(*q));
    q->version = DAAP_STORAGE_QUERY_VERSION;
    if (o == NULL) {
        q->limit = LIST_DEFAULT_LIMIT;
        return 0;
    }
    DAAP_CHECK_VERSION(o, DAAP_DB_LIST_OPTIONS_VERSION, "daap_db_list_options");
    if (o->limit > LIST_MAX_LIMIT) {
        daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "limit must be between 1 and %d", LIST_MAX_LIMIT);
        daap_error_add_field("limit", "out_of_range", "limit must be between 1 and 100");
        return DAAP_EINVALID;
    }
    if (o->cursor && *o->cursor) {
        if (daap__cursor_decode(&q->after_created_at, after_id, idsize, o->cursor) < 0) {
            daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "cursor is not one this server issued");
            daap_error_add_field("cursor", "invalid", "cursor is not one this server issued");
            return DAAP_EINVALID;
        }
        q->after_id = after_id;
    }
    q->owner_team = o->owner_team;
    q->status_mask = o->status_mask;
    q->name_prefix = o->name_prefix;
    q->include_deleted = o->include_deleted;
    q->limit = o->limit ? o->limit : LIST_DEFAULT_LIMIT;
    return 0;
}

/* One more row than asked for tells whether another page exists. */
static int fetch_page(daap_db_array *rows, bool *more, daap_ctx *ctx, const daap_db_list_options *opts)
{
    daap_storage_query q;
    char after_id[DAAP__UUID_STRLEN + 1];
    uint32_t want;

    DAAP_TRY(to_query(&q, after_id, sizeof(after_id), opts));
    want = q.limit;
    q.limit = want + 1;
    memset(rows, 0, sizeof(*rows));
    DAAP_TRY(daap__storage_list(rows, ctx->storage, &q));
    *more = rows->count > want;
    if (*more) {
        daap_db_free(rows->items[want]);
        rows->count = want;
    }
    return 0;
}

int daap_db_list(daap_db_page *out, daap_ctx *ctx, const daap_db_list_options *opts)
{
    DAAP_ASSERT_ARG(out && ctx);
    memset(out, 0, sizeof(*out));
    return ctx->engine->list(out, ctx->engine_self, opts);
}

static int local_list(daap_db_page *out, void *self, const daap_db_list_options *opts)
{
    daap_ctx *ctx = self;
    daap_db_array rows;
    bool more;
    int rc = 0;

    DAAP_TRY(fetch_page(&rows, &more, ctx, opts));
    if (more && rows.count > 0) {
        const daap_db *last = rows.items[rows.count - 1];
        rc = daap__cursor_encode(&out->next_cursor, daap_db_created_at(last), daap_db_id(last));
    }
    if (rc < 0) {
        daap_db_array_dispose(&rows);
        return rc;
    }
    out->items = rows.items;
    out->count = rows.count;
    return 0;
}

/* The fast list path: rows go from the driver straight into the response,
 * with no record built in between (bench figure 2). */
typedef struct {
    daap_buf *out;
    uint32_t  want, seen;
    bool      more;
    int64_t   last_created_at;
    char      last_id[DAAP__UUID_STRLEN + 1];
} page_stream;

static int stream_row(const daap_db *row, void *payload)
{
    page_stream *ps = payload;

    if (ps->seen == ps->want) {
        ps->more = true;
        return 1;
    }
    DAAP_TRY(daap__db_render_item(ps->out, row, ps->seen++));
    ps->last_created_at = daap_db_created_at(row);
    if (strlen(daap_db_id(row)) >= sizeof(ps->last_id))
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_STORAGE, "record id '%.40s…' is not a UUID", daap_db_id(row));
    strcpy(ps->last_id, daap_db_id(row));
    return 0;
}

/* About one rendered row, so the buffer grows once per page. */
#define LIST_ROW_BYTES 600

static int stream_page(daap_buf *out, daap_ctx *ctx, const daap_db_list_options *opts)
{
    daap_storage_query q;
    char after_id[DAAP__UUID_STRLEN + 1], *cursor = NULL;
    page_stream ps = { out, 0, 0, false, 0, "" };
    int rc;

    DAAP_TRY(to_query(&q, after_id, sizeof(after_id), opts));
    ps.want = q.limit;
    q.limit = ps.want + 1; /* one more row tells whether another page exists */
    q.skip_connection = 1;
    DAAP_TRY(daap__buf_grow(out, (size_t)ps.want * LIST_ROW_BYTES + 64));
    DAAP_TRY(daap__page_json_open(out));
    DAAP_TRY(daap__storage_scan(ctx->storage, &q, stream_row, &ps));
    if (ps.more && ps.seen > 0)
        DAAP_TRY(daap__cursor_encode(&cursor, ps.last_created_at, ps.last_id));
    rc = daap__page_json_close(out, cursor);
    daap__free(cursor);
    return rc;
}

int daap_db_list_json(daap_buf *out, daap_ctx *ctx, const daap_db_list_options *opts)
{
    DAAP_ASSERT_ARG(out && ctx);
    return ctx->engine->list_json(out, ctx->engine_self, opts);
}

static int local_list_json(daap_buf *out, void *self, const daap_db_list_options *opts)
{
    daap_ctx *ctx = self;
    size_t start;
    int rc;

    start = out->size;
    if ((rc = stream_page(out, ctx, opts)) < 0 && out->ptr) {
        out->size = start; /* nothing half-written is left appended */
        out->ptr[start] = '\0';
    }
    return rc;
}

int daap__check_owner(const daap_db *db, const char *caller_team)
{
    if (caller_team == NULL || strcmp(caller_team, daap_db_owner_team(db)) != 0)
        return daap_error_set(DAAP_EFORBIDDEN, DAAP_ERRCLASS_INVALID,
                              "only the owner team can change database %s (the caller's team must be its owner_team)",
                              daap_db_name(db));
    return 0;
}

/* Fields a version 1 caller's struct does not have read as unchanged. */
static int32_t requested_protection(const daap_db_update_spec *spec)
{
    return spec->version >= 2 ? spec->deletion_protection : DAAP_DB_PROTECTION_UNCHANGED;
}

static int32_t requested_instances(const daap_db_update_spec *spec)
{
    return spec->version >= 3 ? spec->instances : 0;
}

static const char *requested_storage(const daap_db_update_spec *spec)
{
    return spec->version >= 3 ? spec->storage_size : NULL;
}

static void apply_protection(daap_db *db, const daap_db_update_spec *spec)
{
    int32_t p = requested_protection(spec);
    if (p != DAAP_DB_PROTECTION_UNCHANGED)
        db->num[DAAP_DB_F_DELETION_PROTECTION] = p == DAAP_DB_PROTECTION_ON;
}

/* The checks of the fields alone; a resize's rules that need the record
 * come later (check_resize). */
static void check_update_fields(daap_ctx *ctx, daap__fields *f, const daap_db_update_spec *spec)
{
    if (spec->owner_team)
        daap__check_team(f, "owner_team", spec->owner_team);
    if (spec->purpose)
        daap__check_purpose(f, "purpose", spec->purpose);
    if (requested_instances(spec))
        daap__check_instances(f, "instances", requested_instances(spec), &ctx->limits);
    if (requested_storage(spec))
        daap__check_storage_size(f, "storage_size", requested_storage(spec));
    if (requested_protection(spec) < DAAP_DB_PROTECTION_UNCHANGED || requested_protection(spec) > DAAP_DB_PROTECTION_OFF)
        daap__fields_add(f, "deletion_protection", "out_of_range",
                         "deletion_protection must be a daap_db_protection (0 unchanged, 1 on, 2 off)");
}

static int validate_update(daap_ctx *ctx, const daap_db_update_spec *spec)
{
    daap__fields f;

    daap__fields_init(&f);
    check_update_fields(ctx, &f, spec);
    return daap__fields_result(&f, "update");
}

/* ---- resize: grow storage, change instances (docs/day2.md) */

static bool wants_instances(const daap_db *db, const daap_db_update_spec *spec)
{
    return requested_instances(spec) && requested_instances(spec) != daap_db_instances(db);
}

static bool wants_storage(const daap_db *db, const daap_db_update_spec *spec)
{
    const char *size = requested_storage(spec);
    return size && strcmp(size, daap_db_storage_size(db)) != 0;
}

/* Rules that need the record: a ready database, one change at a time,
 * storage that grows (CNPG cannot shrink a volume) up to the maximum. */
static int check_resize(daap_ctx *ctx, const daap_db *db, const daap_db_update_spec *spec)
{
    double now_bytes = 0, want_bytes = 0;
    daap__fields f;

    if (daap_db_status(db) != DAAP_DB_READY)
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_INVALID,
                              "database %s is %s; it can be resized once it is ready", daap_db_name(db),
                              daap_db_status_name(daap_db_status(db)));
    if (daap_db_change_started_at(db))
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_INVALID,
                              "database %s is still rolling out a change (%s); one change at a time: "
                              "try again once status_reason no longer says it is rolling out",
                              daap_db_name(db), daap_db_status_reason(db) ? daap_db_status_reason(db) : "");
    if (!wants_storage(db, spec))
        return 0;
    daap__fields_init(&f);
    (void)daap__parse_quantity(daap_db_storage_size(db), &now_bytes);
    (void)daap__parse_quantity(requested_storage(spec), &want_bytes);
    if (want_bytes < now_bytes)
        daap__fields_add(&f, "storage_size", "shrink",
                         "storage_size can only grow: %s is less than the current %s, and CNPG cannot shrink a volume",
                         requested_storage(spec), daap_db_storage_size(db));
    else if (want_bytes > ctx->limits.max_storage_bytes)
        daap__fields_add(&f, "storage_size", "out_of_range",
                         "storage_size may be at most %s (the server's max_storage_size)", ctx->limits.max_storage_size);
    return daap__fields_result(&f, "update");
}

static void describe_change(char *out, size_t size, const daap_db *db)
{
    snprintf(out, size, "rolling out: %d instance%s with %s of storage each", (int)daap_db_instances(db),
             daap_db_instances(db) == 1 ? "" : "s", daap_db_storage_size(db));
}

/* The record takes the new values now; the reconciler patches the Cluster.
 * @return 1 when a resize was started, 0 when none was asked for, < 0 */
static int apply_resize(daap_ctx *ctx, daap_db *db, const daap_db_update_spec *spec)
{
    bool inst = wants_instances(db, spec), storage = wants_storage(db, spec);

    if (!inst && !storage)
        return 0;
    DAAP_TRY(check_resize(ctx, db, spec));
    if (storage)
        DAAP_TRY(daap_db_set_text(db, DAAP_DB_F_STORAGE_SIZE, requested_storage(spec)));
    if (inst)
        db->num[DAAP_DB_F_INSTANCES] = requested_instances(spec);
    db->num[DAAP_DB_F_CHANGE_STARTED_AT] = daap__now_ms();
    return 1;
}

/* Said through daap__set_reason, so the change shows in the history too; a
 * lost race leaves the reconciler's newer reason, which says the same. */
static void announce_resize(daap_ctx *ctx, daap_db *db)
{
    char reason[256];

    describe_change(reason, sizeof(reason), db);
    if (daap__set_reason(ctx, db, reason) < 0)
        daap_error_clear();
}

/* Re-read and retry on a lost compare-and-set: the reconciler may have moved
 * the status meanwhile, which does not touch the fields we change. */
static int update_with_retries(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team,
                        const daap_db_update_spec *spec)
{
    int attempt, rc = DAAP_ECONFLICT;

    for (attempt = 0; attempt < UPDATE_RETRIES && rc == DAAP_ECONFLICT; attempt++) {
        daap_db *db, *before = NULL;
        daap__events e;
        int64_t rev;
        int resized;

        DAAP_TRY(daap__get_live(&db, ctx, id));
        if ((rc = daap__check_owner(db, caller_team)) < 0 || (rc = daap_db_dup(&before, db)) < 0) {
            daap_db_free(db);
            return rc;
        }
        rev = daap_db_revision(db);
        if ((spec->owner_team && (rc = daap_db_set_text(db, DAAP_DB_F_OWNER_TEAM, spec->owner_team)) < 0) ||
            (spec->purpose && (rc = daap_db_set_text(db, DAAP_DB_F_PURPOSE, spec->purpose)) < 0)) {
            daap_db_free(before);
            daap_db_free(db);
            return rc;
        }
        apply_protection(db, spec);
        if ((resized = apply_resize(ctx, db, spec)) < 0) {
            daap_db_free(before);
            daap_db_free(db);
            return resized;
        }
        db->num[DAAP_DB_F_REVISION] = rev + 1;
        db->num[DAAP_DB_F_UPDATED_AT] = daap__now_ms();
        daap__events_init(&e);
        daap__events_for_update(&e, ctx, before, db);
        daap_db_free(before);
        rc = daap__storage_update_with_events(ctx->storage, db, rev, e.items, e.count);
        if (rc == 0 && resized)
            announce_resize(ctx, db);
        /* The change is saved; a record without its password is still the answer. */
        if (rc == 0 && daap_db_status(db) == DAAP_DB_READY && daap__unseal_password(ctx, db) < 0)
            daap_error_clear();
        if (rc == 0 && out)
            *out = db;
        else
            daap_db_free(db);
    }
    return rc;
}

static int apply_update(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team,
                        const daap_db_update_spec *spec)
{
    const char *acted_for = daap__act_for(ctx, caller_team);
    int rc = update_with_retries(out, ctx, id, caller_team, spec);

    ctx->acting_team = acted_for;
    return rc;
}

int daap_db_update(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team,
                   const daap_db_update_spec *spec)
{
    DAAP_ASSERT_ARG(ctx && id && spec);
    if (out) *out = NULL;
    DAAP_CHECK_VERSION(spec, DAAP_DB_UPDATE_VERSION, "daap_db_update_spec");
    return ctx->engine->update(out, ctx->engine_self, id, caller_team, spec);
}

static int local_update(daap_db **out, void *self, const char *id, const char *caller_team,
                        const daap_db_update_spec *spec)
{
    daap_ctx *ctx = self;

    DAAP_TRY(validate_update(ctx, spec));
    return apply_update(out, ctx, id, caller_team, spec);
}

static void update_from_members(daap__fields *f, const daap__rj_object *o, daap_db_update_spec *spec)
{
    size_t i;

    for (i = 0; i < o->count; i++) {
        const daap__rj_member *m = &o->members[i];
        if (strcmp(m->key, "owner_team") == 0) take_string(f, m, &spec->owner_team);
        else if (strcmp(m->key, "purpose") == 0) take_string(f, m, &spec->purpose);
        else if (strcmp(m->key, "deletion_protection") == 0)
            take_bool(f, m, &spec->deletion_protection, DAAP_DB_PROTECTION_ON, DAAP_DB_PROTECTION_OFF);
        else if (strcmp(m->key, "instances") == 0) take_int(f, m, &spec->instances);
        else if (strcmp(m->key, "storage_size") == 0) take_string(f, m, &spec->storage_size);
        else if (is_record_field(m->key))
            daap__fields_add(f, m->key, "immutable",
                             "%s cannot be changed; only owner_team, purpose, deletion_protection, instances "
                             "and storage_size can", m->key);
        else
            daap__fields_add(f, m->key, "unknown_field", "unknown field '%s'", m->key);
    }
}

int daap_db_update_json(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team,
                        const char *json, size_t len)
{
    DAAP_ASSERT_ARG(ctx && id && (json || len == 0));
    if (out) *out = NULL;
    return ctx->engine->update_json(out, ctx->engine_self, id, caller_team, json, len);
}

static int local_update_json(daap_db **out, void *self, const char *id, const char *caller_team,
                             const char *json, size_t len)
{
    daap_ctx *ctx = self;
    daap_db_update_spec spec = DAAP_DB_UPDATE_INIT;
    daap__rj_object obj;
    daap__fields f;
    daap_db *db;
    int rc;

    /* Existence and ownership come first: a stranger learns nothing from
     * the validation of a body meant for someone else's database. */
    DAAP_TRY(daap__get_live(&db, ctx, id));
    rc = daap__check_owner(db, caller_team);
    daap_db_free(db);
    DAAP_TRY(rc);
    DAAP_TRY(daap__reqjson_parse(&obj, json, len));
    daap__fields_init(&f);
    update_from_members(&f, &obj, &spec);
    check_update_fields(ctx, &f, &spec); /* one error per field: type errors leave the field unset */
    rc = daap__fields_result(&f, "update");
    if (rc == 0)
        rc = apply_update(out, ctx, id, caller_team, &spec);
    daap__reqjson_dispose(&obj);
    return rc;
}

/* Start a delete: the record goes to deleting and is soft-deleted at once. */
static int mark_deleting(daap_ctx *ctx, daap_db *db)
{
    int64_t now = daap__now_ms();
    db->num[DAAP_DB_F_DELETED_AT] = now;
    return daap__transition(ctx, db, DAAP_DB_DELETING, "removing the Pooler, then the Cluster");
}

static int finish_delete_now(daap_ctx *ctx, daap_db *db)
{
    uint32_t deleted = 0;
    int gone;

    if (ctx->kube == NULL)
        return 0;
    gone = daap__remove_objects(ctx, db, &deleted);
    if (gone == 1)
        return daap__transition(ctx, db, DAAP_DB_DELETED, "the Pooler and the Cluster are gone");
    if (gone < 0 && gone != DAAP_EUNAVAILABLE && gone != DAAP_ETIMEOUT)
        return daap__set_reason(ctx, db, daap_error_last()->message);
    return 0; /* under way; the reconciler finishes it */
}

/* The refusal says how to lift it, since the owner asked for it on purpose. */
static int check_unprotected(const daap_db *db)
{
    if (daap_db_deletion_protection(db))
        return daap_error_set(DAAP_EPROTECTED, DAAP_ERRCLASS_INVALID,
                              "database %s has deletion protection on; turn it off first with "
                              "PATCH {\"deletion_protection\": false} (daapctl unprotect %s), then delete it",
                              daap_db_name(db), daap_db_name(db));
    return 0;
}

/* Soft-delete under compare-and-set; an already deleted record is returned as is. */
static int start_delete(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team)
{
    int attempt, rc = DAAP_ECONFLICT;

    for (attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
        daap_db *db;
        DAAP_TRY(daap__storage_get(&db, ctx->storage, id));
        rc = daap__check_owner(db, caller_team);
        if (rc == 0 && daap_db_deleted_at(db) == 0)
            rc = check_unprotected(db);
        if (rc == 0 && daap_db_deleted_at(db) == 0)
            rc = mark_deleting(ctx, db);
        if (rc == 0) {
            *out = db;
            return 0;
        }
        daap_db_free(db);
        if (rc != DAAP_ECONFLICT)
            return rc;
    }
    return rc;
}

int daap_db_delete(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team)
{
    DAAP_ASSERT_ARG(ctx && id);
    if (out) *out = NULL;
    return ctx->engine->remove(out, ctx->engine_self, id, caller_team);
}

static int remove_as_caller(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team)
{
    daap_db *db = NULL;
    int rc;

    DAAP_TRY(start_delete(&db, ctx, id, caller_team));
    if (daap_db_status(db) == DAAP_DB_DELETING && (rc = finish_delete_now(ctx, db)) < 0 && rc != DAAP_ECONFLICT) {
        daap_db_free(db);
        return rc;
    }
    daap_error_clear();
    if (out)
        *out = db;
    else
        daap_db_free(db);
    return 0;
}

static int local_remove(daap_db **out, void *self, const char *id, const char *caller_team)
{
    daap_ctx *ctx = self;
    const char *acted_for;
    int rc;

    if (!daap__uuid_valid(id))
        return daap_error_set(DAAP_ENOTFOUND, DAAP_ERRCLASS_INVALID, "no database with id '%.64s'", id);
    acted_for = daap__act_for(ctx, caller_team);
    rc = remove_as_caller(out, ctx, id, caller_team);
    ctx->acting_team = acted_for;
    return rc;
}

/* ---- the local engine: the store and Kubernetes, in this process */

static void local_free(void *self)
{
    (void)self; /* the context is self; daap_ctx_free frees its backends */
}

static int local_ping(void *self)
{
    daap_ctx *ctx = self;

    DAAP_TRY(daap__storage_ping(ctx->storage));
    return ctx->kube ? daap__kube_ping(ctx->kube) : 0;
}

static int local_migrate(void *self, int32_t target)
{
    return daap__storage_migrate(((daap_ctx *)self)->storage, target);
}

static int local_migration_status(daap_migration_status *out, void *self)
{
    return daap__storage_migration_status(out, ((daap_ctx *)self)->storage);
}

const daap__engine daap__local_engine = {
    .name             = "local",
    .remote           = false,
    .free             = local_free,
    .ping             = local_ping,
    .migrate          = local_migrate,
    .migration_status = local_migration_status,
    .create           = local_create,
    .create_json      = local_create_json,
    .get              = local_get,
    .list             = local_list,
    .list_json        = local_list_json,
    .update           = local_update,
    .update_json      = local_update_json,
    .remove           = local_remove,
    .wait             = daap__db_wait_local,
    .events           = daap__events_local,
    .rotate_password  = daap__rotate_password_local,
    .reconcile_once   = daap__reconcile_once_local,
    .reconcile_db     = daap__reconcile_db_local,
    .watch_open       = daap__watch_open_local,
    /* idempotency keys */
    .idempotency_begin   = daap__idempotency_begin_local,
    .idempotency_finish  = daap__idempotency_finish_local,
    .idempotency_abandon = daap__idempotency_abandon_local,
    .idempotency_purge   = daap__idempotency_purge_local,
};
