/* Request bodies: the strict JSON parser, field mapping and validation. */
#include "common.h"

static daap_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    daap_db *db = NULL;
    if (ctx == NULL) {
        daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
        daap_init();
        o.store_uri = "sqlite::memory:";
        o.flags = DAAP_CTX_NO_KUBE | DAAP_CTX_NO_SCHEMA_CHECK;
        if (daap_ctx_open(&ctx, &o) < 0 || daap_migrate(ctx, -1) < 0)
            __builtin_trap();
    }
    if (daap_db_create_json(&db, ctx, (const char *)data, size) == 0) {
        /* Whatever was accepted must be valid by the rules and render. */
        daap_buf b = DAAP_BUF_INIT;
        if (daap_db_to_json(&b, db, 0) < 0)
            __builtin_trap();
        daap_buf_dispose(&b);
        daap_db_delete(NULL, ctx, daap_db_id(db), daap_db_owner_team(db));
    }
    daap_db_free(db);
    return 0;
}
