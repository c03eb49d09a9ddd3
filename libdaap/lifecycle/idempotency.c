/* Idempotency keys (daap/idempotency.h): the key's syntax, the public calls
 * and the local engine's slots, which claim, finish and purge keys in the
 * store; and the idempotent create of daap_db_spec.idempotency_key. */
#include "lifecycle/idempotency.h"
#include "ctx.h"
#include "crypto.h"
#include "db/db_parse.h"
#include "ids.h"
#include "storage/storage.h"

#include <stdio.h>

#define PURGE_LIMIT_MAX 10000

int daap_idempotency_request_init(daap_idempotency_request *req, unsigned int version)
{
    DAAP_INIT_VERSIONED(req, version, DAAP_IDEMPOTENCY_REQUEST_VERSION, "daap_idempotency_request");
    return 0;
}

int daap_idempotency_key_new(char *out, size_t size)
{
    DAAP_ASSERT_ARG(out);
    if (size < DAAP_IDEMPOTENCY_KEY_NEW_SIZE)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "an idempotency key needs %d bytes",
                              DAAP_IDEMPOTENCY_KEY_NEW_SIZE);
    return daap__uuid4(out);
}

static int bad_key(const char *why)
{
    return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                          "Idempotency-Key %s; send a string such as \"8e03978e-40d5-43e8-bc93-6894a57f9324\" "
                          "(1 to %d printable ASCII characters)", why, DAAP_IDEMPOTENCY_KEY_MAX);
}

/* RFC 8941 sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE,
 * where unescaped is printable ASCII but DQUOTE and "\". */
static int parse_sf_string(char *out, size_t size, const char *p)
{
    size_t n = 0;

    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\') {
            p++;
            if (*p != '"' && *p != '\\')
                return bad_key("has a backslash that escapes neither '\"' nor '\\'");
        } else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            return bad_key("holds a character that is not printable ASCII");
        }
        if (n + 1 >= size || n == DAAP_IDEMPOTENCY_KEY_MAX)
            return bad_key("is too long");
        out[n++] = *p;
    }
    if (*p != '"')
        return bad_key("opens a quote it does not close");
    if (p[1] != '\0')
        return bad_key("has something after its closing quote (parameters and lists are not accepted)");
    out[n] = '\0';
    return n ? 0 : bad_key("is empty");
}

/* Stripe's form: the key itself, a token without quotes or spaces. */
static int parse_bare(char *out, size_t size, const char *p)
{
    size_t n = strlen(p), i;

    if (n > DAAP_IDEMPOTENCY_KEY_MAX || n + 1 > size)
        return bad_key("is too long");
    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] > 0x7e || strchr("\",;\\", p[i]))
            return bad_key("is neither a quoted string nor a bare token (no spaces, quotes, commas, semicolons or backslashes)");
    memcpy(out, p, n + 1);
    return 0;
}

int daap_idempotency_key_parse(char *out, size_t size, const char *header)
{
    size_t start, end;
    char trimmed[2 * DAAP_IDEMPOTENCY_KEY_MAX + 8];

    DAAP_ASSERT_ARG(out && size > 0 && header);
    out[0] = '\0';
    /* Fields may carry optional whitespace around the value (RFC 9110). */
    start = strspn(header, " \t");
    end = strlen(header);
    while (end > start && (header[end - 1] == ' ' || header[end - 1] == '\t'))
        end--;
    if (end == start)
        return bad_key("is empty");
    if (end - start >= sizeof(trimmed))
        return bad_key("is too long");
    memcpy(trimmed, header + start, end - start);
    trimmed[end - start] = '\0';
    return trimmed[0] == '"' ? parse_sf_string(out, size, trimmed) : parse_bare(out, size, trimmed);
}

int daap__idempotency_key_check(const char *key)
{
    const char *p;

    if (key[0] == '\0' || strlen(key) > DAAP_IDEMPOTENCY_KEY_MAX)
        return bad_key(key[0] ? "is too long" : "is empty");
    for (p = key; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return bad_key("holds a character that is not printable ASCII");
    return 0;
}

/* ---- the public calls: checked, then one dispatch */

static int check_request(const daap_idempotency_request *req)
{
    DAAP_ASSERT_ARG(req && req->key && req->method && req->path && (req->body || req->body_len == 0));
    DAAP_CHECK_VERSION(req, DAAP_IDEMPOTENCY_REQUEST_VERSION, "daap_idempotency_request");
    DAAP_TRY(daap__idempotency_key_check(req->key));
    if (req->ttl_ms < 0 || req->lease_ms < 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, "idempotency ttl and lease must not be negative");
    return 0;
}

int daap_idempotency_begin(daap_idempotency_record *out, daap_ctx *ctx, const daap_idempotency_request *req)
{
    DAAP_ASSERT_ARG(out && ctx);
    memset(out, 0, sizeof(*out));
    DAAP_TRY(check_request(req));
    return ctx->engine->idempotency_begin(out, ctx->engine_self, req);
}

int daap_idempotency_finish(daap_ctx *ctx, const daap_idempotency_request *req, int32_t status,
                            const char *location, const char *body, size_t len)
{
    DAAP_ASSERT_ARG(ctx && (body || len == 0) && status >= 100 && status <= 599);
    DAAP_TRY(check_request(req));
    return ctx->engine->idempotency_finish(ctx->engine_self, req, status, location, body, len);
}

int daap_idempotency_abandon(daap_ctx *ctx, const daap_idempotency_request *req)
{
    DAAP_ASSERT_ARG(ctx);
    DAAP_TRY(check_request(req));
    return ctx->engine->idempotency_abandon(ctx->engine_self, req);
}

int daap_idempotency_purge(uint32_t *purged, daap_ctx *ctx, uint32_t limit)
{
    uint32_t ignored;

    DAAP_ASSERT_ARG(ctx);
    if (limit == 0 || limit > PURGE_LIMIT_MAX)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "idempotency purge limit %u is not in 1..%d", limit, PURGE_LIMIT_MAX);
    return ctx->engine->idempotency_purge(purged ? purged : &ignored, ctx->engine_self, limit);
}

/* ---- the local engine */

/* The store's view of a request: its scope and fingerprint. Each part of
 * the fingerprint is preceded by its length, so no two requests hash the
 * same parts the same way ("ab"+"c" against "a"+"bc"). */
typedef struct {
    daap_storage_idem k;
    char              fingerprint[DAAP__SHA256_HEX_LEN + 1];
} store_key;

static int fingerprint(char *out, const daap_idempotency_request *req, const char *scope)
{
    const char *parts[4] = { req->method, req->path, scope, req->body ? req->body : "" };
    size_t lens[4] = { strlen(req->method), strlen(req->path), strlen(scope), req->body_len };
    char prefix[4][24];
    daap__bytes bytes[8];
    size_t i;

    for (i = 0; i < 4; i++) {
        int n = snprintf(prefix[i], sizeof(prefix[i]), "%zu:", lens[i]);
        bytes[2 * i] = (daap__bytes){ prefix[i], (size_t)n };
        bytes[2 * i + 1] = (daap__bytes){ parts[i], lens[i] };
    }
    return daap__sha256_hex(out, bytes, 8);
}

static int to_store_key(store_key *sk, const daap_idempotency_request *req, int64_t lifetime)
{
    const char *scope = req->scope ? req->scope : "";

    sk->k = (daap_storage_idem){ DAAP_STORAGE_IDEM_VERSION, scope, req->key, sk->fingerprint, daap__now_ms(), 0 };
    sk->k.expires_at = sk->k.now + lifetime;
    return fingerprint(sk->fingerprint, req, scope);
}

static int64_t lease_of(const daap_idempotency_request *req)
{
    return req->lease_ms ? req->lease_ms : DAAP_IDEMPOTENCY_LEASE_DEFAULT_MS;
}

static int64_t ttl_of(const daap_idempotency_request *req)
{
    return req->ttl_ms ? req->ttl_ms : DAAP_IDEMPOTENCY_TTL_DEFAULT_MS;
}

static daap_storage_backend *store_of(void *self)
{
    return ((daap_ctx *)self)->storage;
}

int daap__idempotency_begin_local(daap_idempotency_record *out, void *self, const daap_idempotency_request *req)
{
    store_key sk;

    DAAP_TRY(to_store_key(&sk, req, lease_of(req)));
    return daap__storage_idem_begin(out, store_of(self), &sk.k);
}

int daap__idempotency_finish_local(void *self, const daap_idempotency_request *req, int32_t status,
                                   const char *location, const char *body, size_t len)
{
    store_key sk;

    DAAP_TRY(to_store_key(&sk, req, ttl_of(req)));
    return daap__storage_idem_finish(store_of(self), &sk.k, status, location, body, len);
}

int daap__idempotency_abandon_local(void *self, const daap_idempotency_request *req)
{
    store_key sk;

    DAAP_TRY(to_store_key(&sk, req, 0));
    return daap__storage_idem_abandon(store_of(self), &sk.k);
}

int daap__idempotency_purge_local(uint32_t *purged, void *self, uint32_t limit)
{
    return daap__storage_idem_purge(purged, store_of(self), daap__now_ms(), limit);
}

/* ---- create under a key (daap_db_spec.idempotency_key, local engine) */

/* What the key covers: the spec as a create body, so that a retry with
 * another spec is told apart. */
static int spec_body(daap_buf *out, const daap_db_spec *s)
{
    const char *texts[4] = { s->name, s->owner_team, s->purpose, s->storage_size ? s->storage_size : "" };
    size_t i;

    for (i = 0; i < 4; i++) {
        DAAP_TRY(daap__buf_putc(out, i ? ',' : '['));
        DAAP_TRY(daap__buf_put_json_str(out, texts[i]));
    }
    return daap__buf_printf(out, ",%d,%d]", (int)s->instances, (int)s->pg_version);
}

static int replay(daap_db **out, const daap_idempotency_record *rec, const char *key)
{
    switch (rec->state) {
    case DAAP_IDEMPOTENCY_IN_FLIGHT:
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_INVALID,
                              "a request with Idempotency-Key '%s' is still in flight; retry it later", key);
    case DAAP_IDEMPOTENCY_MISMATCH:
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID,
                              "Idempotency-Key '%s' was already used for another request", key);
    default:
        break;
    }
    if (rec->status != 201 || rec->body.ptr == NULL)
        return daap_error_set(DAAP_ECONFLICT, DAAP_ERRCLASS_INVALID,
                              "Idempotency-Key '%s' was used for a create that answered %d", key, (int)rec->status);
    return out ? daap__db_from_json(out, rec->body.ptr, rec->body.size) : 0;
}

/* A failed create stores nothing, so the key can be used again (the local
 * engine replays successes only). The create's error is kept. */
static int forget_failure(daap_ctx *ctx, const daap_idempotency_request *req, int rc)
{
    const daap_error *e = daap_error_last();
    int klass = e->klass;
    char msg[512];

    snprintf(msg, sizeof(msg), "%s", e->message);
    (void)daap__idempotency_abandon_local(ctx, req);
    return daap_error_set(rc, klass, "%s", msg);
}

/* The database exists whatever happens here: a key that cannot be stored
 * (its lease passed, the store went away) leaves a retry to find the name
 * taken, which is still one database. */
static void remember_success(daap_ctx *ctx, const daap_idempotency_request *req, const daap_db *db)
{
    daap_buf json = DAAP_BUF_INIT;
    char location[160];

    snprintf(location, sizeof(location), "/databases/%s", daap_db_id(db));
    if (daap_db_to_json(&json, db, DAAP_JSON_NO_SECRETS) == 0)
        (void)daap__idempotency_finish_local(ctx, req, 201, location, json.ptr, json.size);
    daap_buf_dispose(&json);
    daap_error_clear();
}

int daap__idempotent_create(daap_db **out, daap_ctx *ctx, const daap_db_spec *spec, daap__create_fn create)
{
    daap_idempotency_request req = DAAP_IDEMPOTENCY_REQUEST_INIT;
    daap_idempotency_record rec = { 0 };
    daap_buf body = DAAP_BUF_INIT;
    daap_db *made = NULL;
    int rc;

    req.scope = spec->owner_team;
    req.key = spec->idempotency_key;
    req.method = "POST";
    req.path = "/databases";
    if ((rc = spec_body(&body, spec)) == 0 && (rc = check_request(&req)) == 0) {
        req.body = body.ptr;
        req.body_len = body.size;
        rc = daap__idempotency_begin_local(&rec, ctx, &req);
    }
    if (rc == 0 && rec.state != DAAP_IDEMPOTENCY_STARTED)
        rc = replay(out, &rec, req.key);
    else if (rc == 0) {
        if ((rc = create(&made, ctx, spec)) < 0)
            rc = forget_failure(ctx, &req, rc);
        else
            remember_success(ctx, &req, made);
        if (rc == 0 && out)
            made = (*out = made, NULL);
        daap_db_free(made);
    }
    daap_idempotency_record_dispose(&rec);
    daap_buf_dispose(&body);
    return rc;
}
