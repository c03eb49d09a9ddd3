/* Password rotation in the library (docs/day2.md) on SQLite and the
 * in-memory kube backend: the pending password, the -app Secret with its
 * reload label, the verifying login (a stand-in for libpq that accepts
 * what the Secret holds, as CNPG and PgBouncer would), the record, the
 * events; a login that never succeeds; a crash between the Secret write
 * and the record write; and the handoff that keeps logins off a thread. */
#include "common.h"
#include "ctx.h"
#include "support.h"
#include "faulty_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <daap/sys/kube.h>

#define NS "daap"

/* The stand-in login: it accepts the password the -app Secret holds,
 * unless told to refuse everything (a role CNPG never changed). */
typedef struct {
    daap_kube_backend *kube;
    bool  refuse;
    int   calls;
    char  host[256];
    char  password[128];
} login_stub;

typedef struct {
    daap_ctx *ctx;
    daap_kube_backend *kube;
    daap_storage_backend *storage;
    login_stub login;
    char dir[64];
    char key[96];
    char id[64];
    char handed_off[64];
} fixture;

static int secret_password(daap_buf *out, daap_kube_backend *kube, const char *key)
{
    daap_kube_ref ref = { DAAP_KUBE_SECRET, NS, "daap-rotated-app" };
    daap_kube_object *secret;
    int rc;

    if ((rc = kube->get(&secret, kube, &ref)) < 0)
        return rc;
    rc = daap_kube_object_secret_value(out, secret, key);
    daap_kube_object_free(secret);
    return rc;
}

static int stub_check(void *payload, const daap__login *l)
{
    login_stub *s = payload;
    daap_buf want = DAAP_BUF_INIT;
    int ok;

    s->calls++;
    snprintf(s->host, sizeof(s->host), "%s:%lld", l->host, (long long)l->port);
    snprintf(s->password, sizeof(s->password), "%s", l->password);
    ok = !s->refuse && secret_password(&want, s->kube, "password") == 0 && strcmp(want.ptr, l->password) == 0;
    daap_buf_dispose(&want);
    return ok ? 0 : daap_error_set(DAAP_EAUTH, DAAP_ERRCLASS_RECONCILE,
                                   "FATAL:  password authentication failed for user \"rotated\"");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_db_spec s = DAAP_DB_SPEC_INIT;
    daap_db *db = NULL;

    daap_init();
    snprintf(f->dir, sizeof(f->dir), "/tmp/daap-rot-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->key, sizeof(f->key), "%s/secret.key", f->dir);
    o.secret_key_file = f->key;
    if (faulty_ctx_open(&f->ctx, &f->storage, &f->kube, ":memory:", o) < 0) {
        daap_test_print_error("setup", -1);
        return -1;
    }
    f->login.kube = f->kube;
    f->ctx->login_check = stub_check;
    f->ctx->login_payload = &f->login;
    s.name = "rotated";
    s.owner_team = "payments";
    s.purpose = "tests";
    if (daap_db_create(&db, f->ctx, &s) < 0)
        return -1;
    snprintf(f->id, sizeof(f->id), "%s", daap_db_id(db));
    daap_db_free(db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    daap_ctx_free(f->ctx);
    if (daap_test_remove_dir(f->dir) < 0) return -1;
    free(f);
    daap_shutdown();
    return 0;
}

static void make_ready(fixture *f)
{
    daap_db *db;

    assert_ok(daap_kube_fake_set_cluster_phase(f->kube, NS, "daap-rotated", NULL));
    assert_ok(daap_reconcile_once(NULL, f->ctx, NULL));
    assert_ok(daap_db_get(&db, f->ctx, f->id));
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    daap_db_free(db);
}

/* The record's password now, copied. */
static void password_of(fixture *f, char *out, size_t size)
{
    daap_db *db;

    assert_ok(daap_db_get(&db, f->ctx, f->id));
    assert_non_null(daap_db_password(db));
    snprintf(out, size, "%s", daap_db_password(db));
    daap_db_free(db);
}

static void secret_value(fixture *f, const char *key, char *out, size_t size)
{
    daap_buf v = DAAP_BUF_INIT;

    assert_ok(secret_password(&v, f->kube, key));
    snprintf(out, size, "%s", v.ptr);
    daap_buf_dispose(&v);
}

/* The newest event of `reason`, or NULL; and no event mentions `a` or `b`. */
static bool has_event(fixture *f, const char *reason, int type, const char *contains, const char *a, const char *b)
{
    daap_db_event_page page = { 0 };
    bool found = false;
    size_t i;

    assert_ok(daap_db_events(&page, f->ctx, f->id, NULL));
    for (i = 0; i < page.count; i++) {
        const daap_db_event *e = &page.items[i];
        assert_null(strstr(e->message, a));
        assert_null(strstr(e->message, b));
        if (!found && strcmp(e->reason, reason) == 0 && e->type == type)
            found = !contains || strstr(e->message, contains);
    }
    daap_db_event_page_dispose(&page);
    return found;
}

static bool pending(fixture *f)
{
    daap_db *db;
    bool p;

    assert_ok(daap_db_get(&db, f->ctx, f->id));
    p = daap_db_get_blob(db, DAAP_DB_F_PENDING_PASSWORD, NULL) != NULL;
    daap_db_free(db);
    return p;
}

static void start(fixture *f)
{
    daap_db *db = NULL;

    assert_ok(daap_db_rotate_password(&db, f->ctx, f->id, "payments"));
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    assert_non_null(strstr(daap_db_status_reason(db), "rotating password:"));
    daap_db_free(db);
}

/* Rotation end to end: refused while not ready, for another team and
 * while under way; then Secret, login, record and event. */
static void test_rotation_is_recorded_after_a_login(void **state)
{
    fixture *f = *state;
    daap_db_update_spec u = DAAP_DB_UPDATE_INIT;
    char old[128], now[128], uri[512], host[300];
    daap_buf json = DAAP_BUF_INIT;
    daap_db *db = NULL;

    assert_int_equal(daap_db_rotate_password(NULL, f->ctx, f->id, "payments"), DAAP_ECONFLICT);
    assert_non_null(strstr(daap_error_last()->message, "once it is ready"));
    make_ready(f);
    password_of(f, old, sizeof(old));
    assert_int_equal(daap_db_rotate_password(NULL, f->ctx, f->id, "other-team"), DAAP_EFORBIDDEN);

    assert_ok(daap_db_rotate_password(&db, f->ctx, f->id, "payments"));
    assert_string_equal(daap_db_password(db), old); /* the answer has the credentials that work now */
    snprintf(host, sizeof(host), "%s:%lld", daap_db_host(db), (long long)daap_db_port(db));
    assert_ok(daap_db_to_json(&json, db, 0));
    assert_null(strstr(json.ptr, "pending"));
    daap_buf_dispose(&json);
    daap_db_free(db);
    assert_int_equal(daap_db_rotate_password(NULL, f->ctx, f->id, "payments"), DAAP_ECONFLICT);
    assert_non_null(strstr(daap_error_last()->message, "already rotating"));
    u.instances = 2;
    assert_int_equal(daap_db_update(NULL, f->ctx, f->id, "payments", &u), DAAP_ECONFLICT); /* one change at a time */

    assert_ok(daap_reconcile_once(NULL, f->ctx, NULL));
    password_of(f, now, sizeof(now));
    assert_string_not_equal(now, old);
    assert_int_equal(strlen(now), 64);
    secret_value(f, "password", uri, sizeof(uri));
    assert_string_equal(uri, now);
    secret_value(f, "uri", uri, sizeof(uri));
    assert_non_null(strstr(uri, now));
    assert_null(strstr(uri, old));
    secret_value(f, "pgpass", uri, sizeof(uri));
    assert_non_null(strstr(uri, now));
    {
        daap_kube_ref ref = { DAAP_KUBE_SECRET, NS, "daap-rotated-app" };
        daap_kube_object *secret;
        assert_ok(f->kube->get(&secret, f->kube, &ref));
        assert_string_equal(daap_kube_object_label(secret, "cnpg.io/reload"), "true");
        assert_string_equal(daap_kube_object_str(secret, "type"), "kubernetes.io/basic-auth");
        daap_kube_object_free(secret);
    }
    assert_int_equal(f->login.calls, 1);
    assert_string_equal(f->login.host, host); /* the pooler: what a user connects to */
    assert_string_equal(f->login.password, now);
    assert_false(pending(f));
    assert_ok(daap_db_get(&db, f->ctx, f->id));
    assert_int_equal(daap_db_change_started_at(db), 0);
    assert_string_equal(daap_db_status_reason(db), "the Cluster is healthy and the pooler is serving");
    daap_db_free(db);
    assert_true(has_event(f, "PasswordRotated", DAAP_DB_EVENT_NORMAL, NULL, old, now));
    assert_true(has_event(f, "PasswordRotationStarted", DAAP_DB_EVENT_NORMAL, NULL, old, now));

    /* Done: another rotation may start, and a resize too. */
    assert_ok(daap_db_rotate_password(NULL, f->ctx, f->id, "payments"));
}

/* A login that never works: the old password goes back into the Secret
 * past the deadline, the record keeps it, and a warning says why. */
static void test_failed_login_restores_the_old_password(void **state)
{
    fixture *f = *state;
    char old[128], now[128], in_secret[512];
    daap_db *db;

    make_ready(f);
    password_of(f, old, sizeof(old));
    f->login.refuse = true;
    start(f);
    assert_int_equal(daap_reconcile_db(f->ctx, f->id), DAAP_EUNAVAILABLE); /* try again later */
    secret_value(f, "password", in_secret, sizeof(in_secret));
    assert_string_not_equal(in_secret, old); /* the new one was written */
    snprintf(now, sizeof(now), "%.127s", in_secret);
    password_of(f, in_secret, sizeof(in_secret));
    assert_string_equal(in_secret, old);
    assert_ok(daap_db_get(&db, f->ctx, f->id));
    assert_non_null(strstr(daap_db_status_reason(db), "waiting for a login"));
    assert_non_null(strstr(daap_db_status_reason(db), "password authentication failed"));
    daap_db_free(db);

    f->ctx->rotation_deadline_ms = 1;
    usleep(5000);
    assert_ok(daap_reconcile_db(f->ctx, f->id));
    secret_value(f, "password", in_secret, sizeof(in_secret));
    assert_string_equal(in_secret, old);
    secret_value(f, "uri", in_secret, sizeof(in_secret));
    assert_non_null(strstr(in_secret, old));
    assert_null(strstr(in_secret, now));
    password_of(f, in_secret, sizeof(in_secret));
    assert_string_equal(in_secret, old);
    assert_false(pending(f));
    assert_true(has_event(f, "PasswordRotationFailed", DAAP_DB_EVENT_WARNING, "password authentication failed", old, now));
    assert_false(has_event(f, "PasswordRotated", DAAP_DB_EVENT_NORMAL, NULL, old, now));
    assert_ok(daap_db_get(&db, f->ctx, f->id));
    assert_int_equal(daap_db_status(db), DAAP_DB_READY);
    assert_int_equal(daap_db_change_started_at(db), 0);
    daap_db_free(db);
}

/* The store dies after the Secret was written and the login worked: the
 * next reconcile finds the pending password already in the Secret, writes
 * nothing to Kubernetes, logs in and records it. */
static void test_crash_after_the_secret_write_is_repaired(void **state)
{
    fixture *f = *state;
    char old[128], now[128], in_secret[128];
    uint64_t patches;

    make_ready(f);
    password_of(f, old, sizeof(old));
    start(f);
    faulty_storage_fail(f->storage, FAULTY_UPDATE, 1, DAAP_EUNAVAILABLE);
    assert_int_equal(daap_reconcile_db(f->ctx, f->id), DAAP_EUNAVAILABLE);
    assert_true(pending(f));
    password_of(f, now, sizeof(now));
    assert_string_equal(now, old);
    secret_value(f, "password", in_secret, sizeof(in_secret));
    assert_string_not_equal(in_secret, old);

    patches = daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_PATCH);
    assert_ok(daap_reconcile_once(NULL, f->ctx, NULL));
    assert_int_equal(daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_PATCH), patches);
    assert_false(pending(f));
    password_of(f, now, sizeof(now));
    assert_string_equal(now, in_secret);
    assert_true(has_event(f, "PasswordRotated", DAAP_DB_EVENT_NORMAL, NULL, old, now));
}

static void note_handoff(const char *id, void *payload)
{
    fixture *f = payload;
    snprintf(f->handed_off, sizeof(f->handed_off), "%s", id);
}

/* With a handoff, passes leave the rotation to whoever takes the id. */
static void test_handoff_keeps_the_login_off_the_pass(void **state)
{
    fixture *f = *state;

    make_ready(f);
    start(f);
    assert_ok(daap_reconcile_set_handoff(f->ctx, note_handoff, f));
    assert_ok(daap_reconcile_once(NULL, f->ctx, NULL));
    assert_string_equal(f->handed_off, f->id);
    assert_int_equal(f->login.calls, 0);
    assert_int_equal(daap_kube_fake_calls(f->kube, DAAP_KUBE_FAKE_PATCH), 0);
    assert_true(pending(f));
    assert_ok(daap_reconcile_set_handoff(f->ctx, NULL, NULL));
    assert_ok(daap_reconcile_db(f->ctx, f->id));
    assert_int_equal(f->login.calls, 1);
    assert_false(pending(f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotation_is_recorded_after_a_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_login_restores_the_old_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_the_secret_write_is_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handoff_keeps_the_login_off_the_pass, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
