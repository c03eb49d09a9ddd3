/* daap_db_wait(): the public entry and the local engine's store poll. The
 * remote engine asks its server instead (remote/remote.c). */
#include "lifecycle/wait.h"
#include "engine.h"
#include "ctx.h"

/* Short enough that a CLI feels immediate, long enough that a waiting
 * process costs the store ten cheap reads a second. */
#define LOCAL_POLL_MS 100

int daap_db_wait(daap_db **out, daap_ctx *ctx, const char *id, const daap_db_wait_options *opts)
{
    DAAP_ASSERT_ARG(out && ctx && id && opts);
    *out = NULL;
    DAAP_CHECK_VERSION(opts, DAAP_DB_WAIT_OPTIONS_VERSION, "daap_db_wait_options");
    if (opts->timeout_ms < 0 || opts->revision < 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "daap_db_wait: timeout_ms and revision must not be negative");
    return ctx->engine->wait(out, ctx->engine_self, id, opts);
}

int daap__db_wait_local(daap_db **out, void *self, const char *id, const daap_db_wait_options *opts)
{
    int64_t deadline = daap__mono_ms() + opts->timeout_ms;

    for (;;) {
        daap_db *db = NULL;
        int64_t left;

        DAAP_TRY(daap_db_get(&db, (daap_ctx *)self, id)); /* deleted: DAAP_ENOTFOUND */
        if (daap_db_revision(db) != opts->revision) {
            *out = db;
            return 0;
        }
        daap_db_free(db);
        left = deadline - daap__mono_ms();
        if (left <= 0)
            return daap_error_set(DAAP_ETIMEOUT, DAAP_ERRCLASS_INVALID,
                                  "database %.64s is still at revision %lld", id, (long long)opts->revision);
        daap__sleep_ms(left < LOCAL_POLL_MS ? left : LOCAL_POLL_MS);
    }
}
