/* Password rotation (docs/day2.md, DESIGN.md section 11).
 *
 * Write-ahead intent: the request path generates the new password and
 * stores it sealed in the record (pending_password) before anything else
 * happens; the reconciler then, step by step and idempotently,
 *   1. writes it into the Cluster's -app Secret (every key that holds the
 *      password, and the cnpg.io/reload label CNPG watches),
 *   2. logs in with it through the pooler (the record's host and port),
 *   3. and only then makes it the record's password and clears pending.
 * A crash at any point leaves a pending password, and the next reconcile
 * continues from step 1 (which writes nothing when the Secret has it).
 * Past the rotation deadline the old password goes back into the Secret
 * and the record keeps it. The database stays ready all along. */
#include "lifecycle/rotate.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/login.h"
#include "lifecycle/steps.h"
#include "lifecycle/events.h"
#include "kube/kube.h"
#include "kube/kube_object.h"
#include "storage/storage.h"

#include <stdio.h>

#define READY_REASON     "the Cluster is healthy and the pooler is serving"
#define RELOAD_LABEL     "cnpg.io/reload"
#define LOGIN_TIMEOUT_S  2
#define ROTATE_RETRIES   5

/* The Secret keys CNPG derives from the password (reference/cnpg.md 3.1);
 * each one present is rewritten with it, so none goes stale. */
static const char *const derived_keys[] = { "pgpass", "uri", "jdbc-uri", "fqdn-uri", "fqdn-jdbc-uri" };

bool daap__rotation_pending(const daap_db *db)
{
    return daap_db_get_blob(db, DAAP_DB_F_PENDING_PASSWORD, NULL) != NULL;
}

static void wipe_buf(daap_buf *b)
{
    if (b->ptr)
        memset(b->ptr, 0, b->size);
    daap_buf_dispose(b);
}

static void secret_name(char *out, size_t size, const daap_db *db)
{
    snprintf(out, size, "%s-app", daap_db_cluster_name(db));
}

/* ---- the request path */

static int check_rotatable(const daap_db *db)
{
    const char *reason = daap_db_status_reason(db) ? daap_db_status_reason(db) : "";

    if (daap_db_status(db) != DAAP_DB_READY)
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_INVALID,
                              "database %s is %s; its password can be rotated once it is ready", daap_db_name(db),
                              daap_db_status_name(daap_db_status(db)));
    if (daap__rotation_pending(db))
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_INVALID,
                              "database %s is already rotating its password (%s); one change at a time: "
                              "try again once it is done", daap_db_name(db), reason);
    if (daap_db_change_started_at(db))
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_INVALID,
                              "database %s is still rolling out a change (%s); one change at a time: "
                              "try again once status_reason no longer says it is rolling out", daap_db_name(db), reason);
    return 0;
}

/* The new password, sealed into the record with the start of the change,
 * in one write with its event. */
static int start_rotation(daap_ctx *ctx, daap_db *db)
{
    char password[DAAP__PASSWORD_LEN + 1], reason[256], secret[128];
    daap_buf sealed = DAAP_BUF_INIT;
    int rc;

    DAAP_TRY(daap__random_alnum(password, DAAP__PASSWORD_LEN));
    rc = daap__seal(&sealed, &ctx->key, password, daap_db_id(db));
    memset(password, 0, sizeof(password));
    if (rc == 0)
        rc = daap_db_set_blob(db, DAAP_DB_F_PENDING_PASSWORD, (unsigned char *)sealed.ptr, sealed.size);
    daap_buf_dispose(&sealed);
    DAAP_TRY(rc);
    secret_name(secret, sizeof(secret), db);
    snprintf(reason, sizeof(reason), DAAP__ROTATING_PREFIX "writing a new password into Secret %s", secret);
    DAAP_TRY(daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, reason));
    db->num[DAAP_DB_F_CHANGE_STARTED_AT] = daap__now_ms();
    return daap__write_with_event(ctx, db, "PasswordRotationStarted", DAAP_DB_EVENT_NORMAL,
                                  "a new password will replace the current one once a login with it "
                                  "through the pooler succeeds");
}

/* Re-read and retry on a lost compare-and-set (the reconciler may have
 * rewritten the reason meanwhile); the rules are checked on every read. */
static int rotate_with_retries(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team)
{
    int attempt, rc = DAAP_ECONFLICT;

    for (attempt = 0; attempt < ROTATE_RETRIES && rc == DAAP_ECONFLICT; attempt++) {
        daap_db *db;

        DAAP_TRY(daap__get_live(&db, ctx, id));
        if ((rc = daap__check_owner(db, caller_team)) < 0 || (rc = check_rotatable(db)) < 0) {
            daap_db_free(db);
            return rc;
        }
        rc = start_rotation(ctx, db);
        /* The answer carries the credentials that work now: the old ones. */
        if (rc == 0 && daap__unseal_password(ctx, db) < 0)
            daap_error_clear();
        if (rc == 0 && out)
            *out = db;
        else
            daap_db_free(db);
    }
    return rc;
}

int daap__rotate_password_local(daap_db **out, void *self, const char *id, const char *caller_team)
{
    daap_ctx *ctx = self;
    const char *acted_for;
    int rc;

    if (!ctx->key.loaded)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CONFIG,
                              "password rotation needs the secret key (DAAP_SECRET_KEY_FILE) to seal the new password");
    acted_for = daap__act_for(ctx, caller_team);
    rc = rotate_with_retries(out, ctx, id, caller_team);
    ctx->acting_team = acted_for;
    return rc;
}

int daap_db_rotate_password(daap_db **out, daap_ctx *ctx, const char *id, const char *caller_team)
{
    DAAP_ASSERT_ARG(ctx && id);
    if (out) *out = NULL;
    return ctx->engine->rotate_password(out, ctx->engine_self, id, caller_team);
}

int daap_reconcile_set_handoff(daap_ctx *ctx, daap_reconcile_handoff_cb cb, void *payload)
{
    DAAP_ASSERT_ARG(ctx);
    if (ctx->engine->remote)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "a remote context has no reconciler of its own to hand work off from");
    ctx->handoff = cb;
    ctx->handoff_payload = cb ? payload : NULL;
    return 0;
}

/* ---- the -app Secret */

/* `text` with every `from` replaced by `to`, appended to out. */
static int replace_all(daap_buf *out, const char *text, size_t len, const char *from, const char *to)
{
    size_t n = strlen(from), i = 0;

    while (i < len) {
        if (n && i + n <= len && memcmp(text + i, from, n) == 0) {
            DAAP_TRY(daap__buf_puts(out, to));
            i += n;
        } else {
            DAAP_TRY(daap_buf_put(out, text + i, 1));
            i++;
        }
    }
    return 0;
}

/* <sep>"key":"<base64 of value>" */
static int put_data_member(daap_buf *patch, const char *sep, const char *key, const char *value, size_t len)
{
    daap_buf b64 = DAAP_BUF_INIT;
    int rc = daap__base64_encode(&b64, value, len);

    if (rc == 0)
        rc = daap__buf_printf(patch, "%s\"%s\":\"%s\"", sep, key, b64.ptr ? b64.ptr : "");
    wipe_buf(&b64);
    return rc;
}

/* A derived key, with the Secret's password in it replaced by the new one. */
static int put_derived(daap_buf *patch, const daap_kube_object *secret, const char *key, const char *old,
                       const char *password)
{
    daap_buf value = DAAP_BUF_INIT, fixed = DAAP_BUF_INIT;
    int rc;

    if (daap_kube_object_secret_value(&value, secret, key) < 0) {
        daap_error_clear();
        return 0; /* not in this Secret (an older CNPG has fewer keys) */
    }
    rc = replace_all(&fixed, value.ptr ? value.ptr : "", value.size, old, password);
    if (rc == 0)
        rc = put_data_member(patch, ",", key, fixed.ptr ? fixed.ptr : "", fixed.size);
    wipe_buf(&value);
    wipe_buf(&fixed);
    return rc;
}

/* The merge patch: the reload label, the password and its derived keys. */
static int secret_patch(daap_buf *patch, const daap_kube_object *secret, const char *old, const char *password)
{
    size_t i;

    DAAP_TRY(daap__buf_puts(patch, "{\"metadata\":{\"labels\":{\"" RELOAD_LABEL "\":\"true\"}},\"data\":{"));
    DAAP_TRY(put_data_member(patch, "", "password", password, strlen(password)));
    for (i = 0; old && *old && i < DAAP_ARRAY_SIZE(derived_keys); i++)
        DAAP_TRY(put_derived(patch, secret, derived_keys[i], old, password));
    return daap__buf_puts(patch, "}}");
}

/* Make the Secret hold `password`, labelled for CNPG to reload; nothing is
 * written when it already does (a repeat after a crash). */
static int write_secret(daap_ctx *ctx, const daap_db *db, const char *password)
{
    char name[128];
    daap_kube_ref ref = { DAAP_KUBE_SECRET, daap_db_namespace(db), name };
    daap_kube_object *secret;
    daap_buf old = DAAP_BUF_INIT, patch = DAAP_BUF_INIT;
    const char *label;
    int rc;

    secret_name(name, sizeof(name), db);
    DAAP_TRY(daap__kube_get(&secret, ctx->kube, &ref));
    if (daap_kube_object_secret_value(&old, secret, "password") < 0)
        daap_error_clear();
    label = daap_kube_object_label(secret, RELOAD_LABEL);
    if (old.ptr && strcmp(old.ptr, password) == 0 && label && strcmp(label, "true") == 0)
        rc = 0;
    else if ((rc = secret_patch(&patch, secret, old.ptr, password)) == 0)
        rc = daap__kube_patch(NULL, ctx->kube, &ref, patch.ptr, patch.size);
    daap_kube_object_free(secret);
    wipe_buf(&old);
    wipe_buf(&patch);
    return rc;
}

/* ---- the reconciler's steps */

static int open_pending(daap_buf *out, daap_ctx *ctx, const daap_db *db)
{
    size_t len = 0;
    const unsigned char *sealed = daap_db_get_blob(db, DAAP_DB_F_PENDING_PASSWORD, &len);

    return daap__open(out, &ctx->key, sealed, len, daap_db_id(db));
}

static int try_login(daap_ctx *ctx, const daap_db *db, const char *password)
{
    daap__login login = { daap_db_host(db), daap_db_port(db), daap_db_dbname(db), daap_db_username(db),
                          password, LOGIN_TIMEOUT_S };
    daap__login_check check = ctx->login_check ? ctx->login_check : daap__login_libpq;

    if (login.host == NULL || login.user == NULL)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_RECONCILE,
                              "database %s has no pooler address or user to log in with", daap_db_name(db));
    return check(ctx->login_payload, &login);
}

/* A lost compare-and-set is tried again by whoever called (a worker's
 * back-off), not forgotten: the rotation is not finished until written. */
static int rotation_write(daap_ctx *ctx, daap_db *db, const char *event_reason, int type, const char *message)
{
    int rc = daap__write_with_event(ctx, db, event_reason, type, message);

    if (rc == DAAP_ECONFLICT)
        return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_STORAGE,
                              "database %s changed while its password rotation was recorded; trying again",
                              daap_db_name(db));
    return rc;
}

/* The new password works: it becomes the record's, pending goes. */
static int record_rotation(daap_ctx *ctx, daap_db *db)
{
    size_t len = 0;
    const unsigned char *sealed = daap_db_get_blob(db, DAAP_DB_F_PENDING_PASSWORD, &len);

    DAAP_TRY(daap_db_set_blob(db, DAAP_DB_F_PASSWORD, sealed, len));
    DAAP_TRY(daap_db_set_blob(db, DAAP_DB_F_PENDING_PASSWORD, NULL, 0));
    DAAP_TRY(daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, READY_REASON));
    db->num[DAAP_DB_F_CHANGE_STARTED_AT] = 0;
    return rotation_write(ctx, db, "PasswordRotated", DAAP_DB_EVENT_NORMAL,
                          "the password was rotated: a login with the new one through the pooler succeeded, "
                          "and the record's credentials now carry it");
}

/* Past the deadline: the old password goes back into the Secret, so the
 * record's credentials keep working, and the rotation ends with a warning. */
static int undo_rotation(daap_ctx *ctx, daap_db *db, const char *why)
{
    char message[DAAP__EVENT_MESSAGE_MAX];
    daap_buf old = DAAP_BUF_INIT;
    size_t len = 0;
    const unsigned char *sealed = daap_db_get_blob(db, DAAP_DB_F_PASSWORD, &len);
    int rc = daap__open(&old, &ctx->key, sealed, len, daap_db_id(db));

    if (rc == 0)
        rc = write_secret(ctx, db, old.ptr);
    wipe_buf(&old);
    DAAP_TRY(rc);
    snprintf(message, sizeof(message), "the password was not rotated and the old one still works: no login with "
             "the new password through the pooler succeeded within %lld s (%.300s)",
             (long long)(ctx->rotation_deadline_ms / 1000), why);
    DAAP_TRY(daap_db_set_blob(db, DAAP_DB_F_PENDING_PASSWORD, NULL, 0));
    DAAP_TRY(daap_db_set_text(db, DAAP_DB_F_STATUS_REASON, READY_REASON));
    db->num[DAAP_DB_F_CHANGE_STARTED_AT] = 0;
    return rotation_write(ctx, db, "PasswordRotationFailed", DAAP_DB_EVENT_WARNING, message);
}

static bool past_deadline(const daap_ctx *ctx, const daap_db *db)
{
    return daap__now_ms() - daap_db_change_started_at(db) > ctx->rotation_deadline_ms;
}

/* Not yet: the reason says what is awaited and what the last try said; the
 * error asks for another try. */
static int not_yet(daap_ctx *ctx, daap_db *db, const char *why)
{
    char reason[DAAP__EVENT_MESSAGE_MAX], secret[128], cause[512];

    snprintf(cause, sizeof(cause), "%s", why);
    secret_name(secret, sizeof(secret), db);
    snprintf(reason, sizeof(reason), DAAP__ROTATING_PREFIX "the new password is in Secret %s; waiting for a login "
             "with it through the pooler to succeed (last try: %.240s)", secret, cause);
    if (daap__set_reason(ctx, db, reason) < 0)
        daap_error_clear();
    return daap_error_set(DAAP_EUNAVAILABLE, DAAP_ERRCLASS_RECONCILE,
                          "the new password of database %s does not log in through the pooler yet: %s",
                          daap_db_name(db), cause);
}

/* Past the deadline nothing is written any more, but one last login is
 * tried: a late success is still a rotation, and a failure says why. */
static int rotation_step(daap_ctx *ctx, daap_db *db, const char *password)
{
    char why[512];
    int rc;

    if (!past_deadline(ctx, db) && (rc = write_secret(ctx, db, password)) < 0)
        return rc; /* Kubernetes trouble: the next try writes it */
    if ((rc = try_login(ctx, db, password)) == 0)
        return record_rotation(ctx, db);
    snprintf(why, sizeof(why), "%s", daap_error_last()->message);
    return past_deadline(ctx, db) ? undo_rotation(ctx, db, why) : not_yet(ctx, db, why);
}

int daap__reconcile_rotation(daap_ctx *ctx, daap_db *db)
{
    daap_buf password = DAAP_BUF_INIT;
    int rc;

    if (ctx->handoff) {
        ctx->handoff(daap_db_id(db), ctx->handoff_payload);
        return 0;
    }
    DAAP_TRY(open_pending(&password, ctx, db));
    rc = rotation_step(ctx, db, password.ptr);
    wipe_buf(&password);
    return rc;
}
