/* The database record: field table, constructors, setters and getters. */
#include "db/db.h"



static const daap_db_field_info fields[DAAP_DB_F__COUNT] = {
    [DAAP_DB_F_ID]            = { "id",            DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_NAME]          = { "name",          DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_OWNER_TEAM]    = { "owner_team",    DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_PURPOSE]       = { "purpose",       DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_NAMESPACE]     = { "namespace",     DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_CLUSTER_NAME]  = { "cluster_name",  DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_POOLER_NAME]   = { "pooler_name",   DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_INSTANCES]     = { "instances",     DAAP_DB_T_INT,    1 },
    [DAAP_DB_F_STORAGE_SIZE]  = { "storage_size",  DAAP_DB_T_TEXT,   1 },
    [DAAP_DB_F_PG_VERSION]    = { "pg_version",    DAAP_DB_T_INT,    1 },
    [DAAP_DB_F_STATUS]        = { "status",        DAAP_DB_T_STATUS, 1 },
    [DAAP_DB_F_STATUS_REASON] = { "status_reason", DAAP_DB_T_TEXT,   0 },
    [DAAP_DB_F_HOST]          = { "host",          DAAP_DB_T_TEXT,   0 },
    [DAAP_DB_F_PORT]          = { "port",          DAAP_DB_T_INT,    0 },
    [DAAP_DB_F_DBNAME]        = { "dbname",        DAAP_DB_T_TEXT,   0 },
    [DAAP_DB_F_USERNAME]      = { "username",      DAAP_DB_T_TEXT,   0 },
    [DAAP_DB_F_PASSWORD]      = { "password",      DAAP_DB_T_BLOB,   0 },
    [DAAP_DB_F_DIRECT_HOST]   = { "direct_host",   DAAP_DB_T_TEXT,   0 },
    [DAAP_DB_F_DIRECT_PORT]   = { "direct_port",   DAAP_DB_T_INT,    0 },
    [DAAP_DB_F_CREATED_AT]    = { "created_at",    DAAP_DB_T_TIME,   1 },
    [DAAP_DB_F_UPDATED_AT]    = { "updated_at",    DAAP_DB_T_TIME,   1 },
    [DAAP_DB_F_READY_AT]      = { "ready_at",      DAAP_DB_T_TIME,   0 },
    [DAAP_DB_F_DELETED_AT]    = { "deleted_at",    DAAP_DB_T_TIME,   0 },
    [DAAP_DB_F_REVISION]      = { "revision",      DAAP_DB_T_INT,    1 },
    [DAAP_DB_F_DELETION_PROTECTION] = { "deletion_protection", DAAP_DB_T_INT, 1 },
    [DAAP_DB_F_CHANGE_STARTED_AT]   = { "change_started_at",   DAAP_DB_T_TIME, 0 },
    [DAAP_DB_F_PENDING_PASSWORD]    = { "pending_password",    DAAP_DB_T_BLOB, 0 },
};

static const char *const status_names[] = {
    "provisioning", "ready", "error", "deleting", "deleted"
};

const daap_db_field_info *daap_db_field_describe(int f)
{
    return (f >= 0 && f < DAAP_DB_F__COUNT) ? &fields[f] : NULL;
}

const char *daap_db_status_name(int status)
{
    return (status >= 0 && status < (int)DAAP_ARRAY_SIZE(status_names)) ? status_names[status] : NULL;
}

int daap_db_status_parse(int *out, const char *name)
{
    int i;
    DAAP_ASSERT_ARG(out);
    for (i = 0; name && i < (int)DAAP_ARRAY_SIZE(status_names); i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                          "unknown status '%s' (provisioning, ready, error, deleting, deleted)",
                          name ? name : "");
}

int daap_db_new(daap_db **out)
{
    DAAP_ASSERT_ARG(out);
    *out = daap__calloc(1, sizeof(daap_db));
    DAAP_ERROR_CHECK_ALLOC(*out);
    return 0;
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void daap_db_free(daap_db *db)
{
    int i;
    if (db == NULL)
        return;
    for (i = 0; i < DAAP_DB_F__COUNT; i++)
        daap__free(db->text[i]);
    daap__free(db->blob);
    daap__free(db->pending);
    if (db->password) {
        wipe(db->password, strlen(db->password));
        daap__free(db->password);
    }
    daap__free(db);
}

int daap_db_dup(daap_db **out, const daap_db *db)
{
    daap_db *d;
    int i, rc = 0;

    DAAP_ASSERT_ARG(out && db);
    DAAP_TRY(daap_db_new(&d));
    memcpy(d->num, db->num, sizeof(d->num));
    for (i = 0; i < DAAP_DB_F__COUNT && rc == 0; i++)
        if (db->text[i])
            rc = daap_db_set_textn(d, i, db->text[i], db->text_len[i]);
    if (rc == 0)
        rc = daap_db_set_blob(d, DAAP_DB_F_PASSWORD, db->blob, db->blob_len);
    if (rc == 0)
        rc = daap_db_set_blob(d, DAAP_DB_F_PENDING_PASSWORD, db->pending, db->pending_len);
    if (rc == 0 && db->password)
        rc = daap__db_set_password(d, db->password);
    if (rc < 0) {
        daap_db_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

static int check_field(int field, daap_db_field_type t1, daap_db_field_type t2, daap_db_field_type t3)
{
    const daap_db_field_info *fi = daap_db_field_describe(field);
    if (fi == NULL || (fi->type != t1 && fi->type != t2 && fi->type != t3))
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "field %d has another type", field);
    return 0;
}

int daap_db_set_textn(daap_db *db, int field, const char *value, size_t len)
{
    char *copy = NULL;

    DAAP_ASSERT_ARG(db);
    DAAP_TRY(check_field(field, DAAP_DB_T_TEXT, DAAP_DB_T_TEXT, DAAP_DB_T_TEXT));
    if (value) {
        len = strnlen(value, len); /* the getters hand out C strings */
        copy = daap__strndup(value, len);
        DAAP_ERROR_CHECK_ALLOC(copy);
    }
    daap__free(db->text[field]);
    db->text[field] = copy;
    db->text_len[field] = copy ? len : 0;
    return 0;
}

int daap_db_set_text(daap_db *db, int field, const char *value)
{
    return daap_db_set_textn(db, field, value, value ? strlen(value) : 0);
}

int daap_db_set_int(daap_db *db, int field, int64_t value)
{
    DAAP_ASSERT_ARG(db);
    DAAP_TRY(check_field(field, DAAP_DB_T_INT, DAAP_DB_T_TIME, DAAP_DB_T_STATUS));
    db->num[field] = value;
    return 0;
}

unsigned char **daap__db_blob_slot(daap_db *db, int field, size_t **len)
{
    if (field == DAAP_DB_F_PASSWORD) {
        *len = &db->blob_len;
        return &db->blob;
    }
    if (field == DAAP_DB_F_PENDING_PASSWORD) {
        *len = &db->pending_len;
        return &db->pending;
    }
    return NULL;
}

int daap_db_set_blob(daap_db *db, int field, const unsigned char *value, size_t len)
{
    unsigned char *copy = NULL, **slot;
    size_t *slot_len = NULL;

    DAAP_ASSERT_ARG(db);
    DAAP_TRY(check_field(field, DAAP_DB_T_BLOB, DAAP_DB_T_BLOB, DAAP_DB_T_BLOB));
    slot = daap__db_blob_slot(db, field, &slot_len);
    if (value && len) {
        copy = daap__malloc(len);
        DAAP_ERROR_CHECK_ALLOC(copy);
        memcpy(copy, value, len);
    }
    daap__free(*slot);
    *slot = copy;
    *slot_len = copy ? len : 0;
    return 0;
}

int daap__db_set_password(daap_db *db, const char *password)
{
    char *copy = daap__strdup(password);
    DAAP_ERROR_CHECK_ALLOC(copy);
    if (db->password) {
        wipe(db->password, strlen(db->password));
        daap__free(db->password);
    }
    db->password = copy;
    return 0;
}

const char *daap__db_textn(const daap_db *db, int field, size_t *len)
{
    *len = db->text[field] ? db->text_len[field] : 0;
    return db->text[field];
}

bool daap__db_field_is_connection(int field)
{
    return field >= DAAP_DB_F_HOST && field <= DAAP_DB_F_DIRECT_PORT;
}

const char *daap_db_get_text(const daap_db *db, int field)
{
    return (db && field >= 0 && field < DAAP_DB_F__COUNT) ? db->text[field] : NULL;
}

int64_t daap_db_get_int(const daap_db *db, int field)
{
    return (db && field >= 0 && field < DAAP_DB_F__COUNT) ? db->num[field] : 0;
}

const unsigned char *daap_db_get_blob(const daap_db *db, int field, size_t *len)
{
    unsigned char **slot = NULL;
    size_t *slot_len = NULL;

    if (db)
        slot = daap__db_blob_slot((daap_db *)db, field, &slot_len);
    if (len)
        *len = slot ? *slot_len : 0;
    return slot ? *slot : NULL;
}

int daap_db_array_push(daap_db_array *arr, daap_db *db)
{
    if (arr->count == arr->alloc) {
        size_t n = arr->alloc ? arr->alloc * 2 : 16;
        daap_db **items = daap__realloc(arr->items, n * sizeof(*items));
        if (items == NULL) {
            daap_db_free(db);
            return daap_error_set_oom();
        }
        arr->items = items;
        arr->alloc = n;
    }
    arr->items[arr->count++] = db;
    return 0;
}

void daap_db_array_dispose(daap_db_array *arr)
{
    size_t i;
    if (arr == NULL)
        return;
    for (i = 0; i < arr->count; i++)
        daap_db_free(arr->items[i]);
    daap__free(arr->items);
    memset(arr, 0, sizeof(*arr));
}

void daap_db_page_dispose(daap_db_page *page)
{
    size_t i;
    if (page == NULL)
        return;
    for (i = 0; i < page->count; i++)
        daap_db_free(page->items[i]);
    daap__free(page->items);
    daap__free(page->next_cursor);
    memset(page, 0, sizeof(*page));
}

/* Public getters: thin views over the field table. */
#define TEXT_GETTER(fn, f) const char *fn(const daap_db *db) { return daap_db_get_text(db, f); }
#define INT_GETTER(fn, f, T) T fn(const daap_db *db) { return (T)daap_db_get_int(db, f); }

TEXT_GETTER(daap_db_id, DAAP_DB_F_ID)
TEXT_GETTER(daap_db_name, DAAP_DB_F_NAME)
TEXT_GETTER(daap_db_owner_team, DAAP_DB_F_OWNER_TEAM)
TEXT_GETTER(daap_db_purpose, DAAP_DB_F_PURPOSE)
TEXT_GETTER(daap_db_namespace, DAAP_DB_F_NAMESPACE)
TEXT_GETTER(daap_db_cluster_name, DAAP_DB_F_CLUSTER_NAME)
TEXT_GETTER(daap_db_pooler_name, DAAP_DB_F_POOLER_NAME)
TEXT_GETTER(daap_db_storage_size, DAAP_DB_F_STORAGE_SIZE)
TEXT_GETTER(daap_db_status_reason, DAAP_DB_F_STATUS_REASON)
TEXT_GETTER(daap_db_host, DAAP_DB_F_HOST)
TEXT_GETTER(daap_db_dbname, DAAP_DB_F_DBNAME)
TEXT_GETTER(daap_db_username, DAAP_DB_F_USERNAME)
TEXT_GETTER(daap_db_direct_host, DAAP_DB_F_DIRECT_HOST)
INT_GETTER(daap_db_instances, DAAP_DB_F_INSTANCES, int32_t)
INT_GETTER(daap_db_pg_version, DAAP_DB_F_PG_VERSION, int32_t)
INT_GETTER(daap_db_status, DAAP_DB_F_STATUS, int)
INT_GETTER(daap_db_port, DAAP_DB_F_PORT, int32_t)
INT_GETTER(daap_db_direct_port, DAAP_DB_F_DIRECT_PORT, int32_t)
INT_GETTER(daap_db_revision, DAAP_DB_F_REVISION, int64_t)
INT_GETTER(daap_db_created_at, DAAP_DB_F_CREATED_AT, int64_t)
INT_GETTER(daap_db_updated_at, DAAP_DB_F_UPDATED_AT, int64_t)
INT_GETTER(daap_db_ready_at, DAAP_DB_F_READY_AT, int64_t)
INT_GETTER(daap_db_deleted_at, DAAP_DB_F_DELETED_AT, int64_t)
INT_GETTER(daap_db_deletion_protection, DAAP_DB_F_DELETION_PROTECTION, int)
INT_GETTER(daap_db_change_started_at, DAAP_DB_F_CHANGE_STARTED_AT, int64_t)

const char *daap_db_password(const daap_db *db)
{
    return db ? db->password : NULL;
}
