/* The REST backend against a real kubesim over https: CRUD, errors, retries
 * under injected faults, watches that drop or expire, and every kubeconfig
 * form. The test starts its own kubesim (no PostgreSQL backing) in a
 * temporary directory and stops it at the end. */
#include "common.h"
#include "kube/kube.h"
#include "kube/kube_object.h"
#include "kube/kubeconfig.h"
#include "support.h"

#include <curl/curl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS          "daap"
#define WRONG_TOKEN "not-the-kubesim-token"

static struct {
    char               dir[256];   /* kubesim's state and our files */
    char               kubeconfig[512];
    char               url[256];
    char               token[256];
    daap__kubeconfig   cfg;        /* kubesim's kubeconfig, parsed */
    daap_kube_backend *be;
} sim;

/* ---- harness */

static void read_small_file(char *out, size_t size, const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(out, 1, size - 1, f);
    fclose(f);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
}

static char *path_in(const char *rel)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 512, "%s/%s", sim.dir, rel);
    return p;
}

static void write_file(const char *rel, const char *text, size_t len)
{
    FILE *f = fopen(path_in(rel), "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static int start_kubesim(void **state)
{
    const char *src = getenv("DAAP_SOURCE_DIR");
    char cmd[2048];
    FILE *p;

    (void)state;
    if (src == NULL) {
        fprintf(stderr, "DAAP_SOURCE_DIR is not set; run through ctest\n");
        return -1;
    }
    if (daap_init() < 0)
        return -1;
    snprintf(sim.dir, sizeof(sim.dir), "%s/daap-kubesim-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(sim.dir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s/tools/kubesim/kubesim-up' '%s' --no-backing --ready-delay 0.5 "
             "--pooler-delay 0.2 --bookmark-interval 1 --client-cert-kubeconfig-out '%s/cc-kubeconfig'",
             src, sim.dir, sim.dir);
    if ((p = popen(cmd, "r")) == NULL || fgets(sim.kubeconfig, sizeof(sim.kubeconfig), p) == NULL) {
        fprintf(stderr, "could not start kubesim: %s\n", cmd);
        if (p)
            pclose(p);
        return -1;
    }
    if (pclose(p) != 0)
        return -1;
    sim.kubeconfig[strcspn(sim.kubeconfig, "\n")] = '\0';
    read_small_file(sim.url, sizeof(sim.url), path_in("url"));
    read_small_file(sim.token, sizeof(sim.token), path_in("token"));
    unsetenv("KUBECONFIG");
    if (daap__kubeconfig_load(&sim.cfg, sim.kubeconfig, NULL, 0) < 0)
        return -1;
    return daap_kube_rest_new(&sim.be, &(daap_kube_rest_options){
        .version = DAAP_KUBE_REST_OPTIONS_VERSION, .kubeconfig = sim.kubeconfig, .timeout_ms = 10000 });
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static int stop_kubesim(void **state)
{
    char cmd[1024];

    (void)state;
    daap__kube_free(sim.be);
    daap__kubeconfig_dispose(&sim.cfg);
    snprintf(cmd, sizeof(cmd), "'%s/tools/kubesim/kubesim-down' '%s'", getenv("DAAP_SOURCE_DIR"), sim.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "kubesim-down failed; log in %s/kubesim.log\n", sim.dir);
    else
        nftw(sim.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    daap_shutdown();
    return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    return daap__buf_put(arg, data, size * n) == 0 ? size * n : 0;
}

/* kubesim's admin API, straight through libcurl (test plumbing only). */
static daap_kube_object *admin(const char *method, const char *path, const char *body)
{
    CURL *h = curl_easy_init();
    struct curl_slist *headers = NULL;
    daap_buf url = DAAP_BUF_INIT, auth = DAAP_BUF_INIT, out = DAAP_BUF_INIT;
    daap_kube_object *answer = NULL;
    long status = 0;

    daap__buf_printf(&url, "%s%s", sim.url, path);
    daap__buf_printf(&auth, "Authorization: Bearer %s", sim.token);
    headers = curl_slist_append(headers, auth.ptr);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url.ptr);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        fprintf(stderr, "kubesim admin %s %s: %ld %s\n", method, path, status, out.ptr ? out.ptr : "");
    assert_int_equal(status, 200);
    assert_ok(daap_kube_object_parse(&answer, out.ptr, out.size));
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    daap_buf_dispose(&url);
    daap_buf_dispose(&auth);
    daap_buf_dispose(&out);
    return answer;
}

static void faults(const char *json)
{
    daap_kube_object_free(admin("POST", "/kubesim/faults", json));
}

static int reset(void **state)
{
    (void)state;
    daap_kube_object_free(admin("DELETE", "/kubesim/faults", NULL));
    daap_kube_object_free(admin("POST", "/kubesim/stats/reset", NULL));
    return 0;
}

static int64_t requests(const char *verb)
{
    daap_kube_object *stats = admin("GET", "/kubesim/stats", NULL);
    char path[64];
    int64_t n = 0;

    snprintf(path, sizeof(path), "by_verb.%s", verb);
    daap_kube_object_int(&n, stats, path);
    daap_kube_object_free(stats);
    return n;
}

static daap_kube_backend *open_backend(const char *kubeconfig, int32_t timeout_ms)
{
    daap_kube_backend *be = NULL;
    daap_kube_rest_options opts = DAAP_KUBE_REST_OPTIONS_INIT;

    opts.kubeconfig = kubeconfig;
    opts.timeout_ms = timeout_ms;
    assert_ok(daap_kube_rest_new(&be, &opts));
    return be;
}

/* ---- objects */

static daap_kube_object *cluster_object(const char *name, const char *db_id)
{
    char json[1024];
    daap_kube_object *obj = NULL;

    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Cluster\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"" NS "\",\"labels\":{\"app.kubernetes.io/managed-by\":\"daap\",\"daap.dev/database-id\":\"%s\"}},"
             "\"spec\":{\"instances\":1,\"storage\":{\"size\":\"1Gi\"},"
             "\"bootstrap\":{\"initdb\":{\"database\":\"app\",\"owner\":\"app\"}}}}", name, db_id);
    assert_ok(daap_kube_object_parse(&obj, json, strlen(json)));
    return obj;
}

static daap_kube_object *pooler_object(const char *name, const char *cluster)
{
    char json[1024];
    daap_kube_object *obj = NULL;

    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"postgresql.cnpg.io/v1\",\"kind\":\"Pooler\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"" NS "\",\"labels\":{\"app.kubernetes.io/managed-by\":\"daap\"}},"
             "\"spec\":{\"cluster\":{\"name\":\"%s\"},\"type\":\"rw\",\"instances\":1,"
             "\"pgbouncer\":{\"poolMode\":\"transaction\"}}}", name, cluster);
    assert_ok(daap_kube_object_parse(&obj, json, strlen(json)));
    return obj;
}

static daap_kube_object *secret_object(const char *name, const char *label)
{
    char json[512];
    daap_kube_object *obj = NULL;
    size_t eq = strcspn(label, "=");

    snprintf(json, sizeof(json), "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"" NS "\",\"labels\":{\"%.*s\":\"%s\"}},\"data\":{}}", name, (int)eq, label, label + eq + 1);
    assert_ok(daap_kube_object_parse(&obj, json, strlen(json)));
    return obj;
}

static int create(daap_kube_backend *be, daap_kube_object *obj)
{
    int rc = daap__kube_create(NULL, be, obj);
    daap_kube_object_free(obj);
    return rc;
}

static int get_rc(daap_kube_backend *be, int kind, const char *name)
{
    daap_kube_object *obj = NULL;
    daap_kube_ref ref = { kind, NS, name };
    int rc = daap__kube_get(&obj, be, &ref);

    daap_kube_object_free(obj);
    return rc;
}

static int remove_rc(daap_kube_backend *be, int kind, const char *name)
{
    daap_kube_ref ref = { kind, NS, name };
    return daap__kube_remove(be, &ref);
}

/* Poll until get returns `want` (kubesim's operator works in the background). */
static void wait_for_get(int kind, const char *name, int want)
{
    int64_t deadline = daap__mono_ms() + 10000;
    int rc;

    while ((rc = get_rc(sim.be, kind, name)) != want && daap__mono_ms() < deadline)
        usleep(50 * 1000);
    assert_int_equal(rc, want);
}

/* ---- tests */

static void test_cluster_and_pooler_lifecycle(void **state)
{
    daap_kube_object *created = NULL, *secret = NULL;
    daap_kube_ref secret_ref = { DAAP_KUBE_SECRET, NS, "daap-life-app" };
    daap_kube_list list = { 0 };
    daap_buf password = DAAP_BUF_INIT;
    daap_kube_object *c;

    (void)state;
    c = cluster_object("daap-life", "id-life");
    assert_ok(daap__kube_create(&created, sim.be, c));
    daap_kube_object_free(c);
    assert_string_equal(daap_kube_object_str(created, "metadata.name"), "daap-life");
    assert_non_null(daap_kube_object_str(created, "metadata.uid"));
    daap_kube_object_free(created);
    assert_ok(create(sim.be, pooler_object("daap-life-pooler", "daap-life")));
    assert_ok(create(sim.be, cluster_object("daap-other", "id-other")));

    assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_CLUSTER, NS, "daap.dev/database-id=id-life"));
    assert_int_equal(list.count, 1);
    assert_string_equal(daap_kube_object_str(list.items[0], "metadata.name"), "daap-life");
    assert_string_equal(daap_kube_object_str(list.items[0], "kind"), "Cluster");
    assert_non_null(list.resource_version);
    daap_kube_list_dispose(&list);
    assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_CLUSTER, NULL, "app.kubernetes.io/managed-by=daap"));
    assert_int_equal(list.count, 2);
    daap_kube_list_dispose(&list);

    wait_for_get(DAAP_KUBE_SECRET, "daap-life-app", 0);
    assert_ok(daap__kube_get(&secret, sim.be, &secret_ref));
    assert_string_equal(daap_kube_object_str(secret, "kind"), "Secret"); /* set even when the server omits it */
    assert_ok(daap_kube_object_secret_value(&password, secret, "password"));
    assert_true(password.size > 0);
    daap_buf_dispose(&password);
    daap_kube_object_free(secret);
    wait_for_get(DAAP_KUBE_DEPLOYMENT, "daap-life-pooler", 0);
    assert_ok(get_rc(sim.be, DAAP_KUBE_SERVICE, "daap-life-pooler"));

    assert_ok(remove_rc(sim.be, DAAP_KUBE_POOLER, "daap-life-pooler"));
    assert_ok(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-life"));
    assert_ok(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-other"));
    wait_for_get(DAAP_KUBE_CLUSTER, "daap-life", DAAP_ENOTFOUND);
    wait_for_get(DAAP_KUBE_SECRET, "daap-life-app", DAAP_ENOTFOUND);
    assert_int_equal(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-life"), DAAP_ENOTFOUND);
    assert_ok(daap__kube_ping(sim.be));
}

/* A JSON merge patch changes only what it names, and kubesim's webhook
 * refuses a storage shrink as CNPG's does (DAAP_EINVALID, with its words). */
static void test_merge_patch(void **state)
{
    static const char grow[] = "{\"spec\":{\"instances\":2,\"storage\":{\"size\":\"2Gi\"}}}";
    static const char shrink[] = "{\"spec\":{\"storage\":{\"size\":\"500Mi\"}}}";
    daap_kube_ref ref = { DAAP_KUBE_CLUSTER, NS, "daap-patched" };
    daap_kube_object *after = NULL;
    int64_t n = 0;

    (void)state;
    assert_ok(create(sim.be, cluster_object("daap-patched", "id-patched")));
    assert_ok(daap__kube_patch(&after, sim.be, &ref, grow, sizeof(grow) - 1));
    assert_ok(daap_kube_object_int(&n, after, "spec.instances"));
    assert_int_equal(n, 2);
    assert_string_equal(daap_kube_object_str(after, "spec.storage.size"), "2Gi");
    assert_string_equal(daap_kube_object_label(after, "daap.dev/database-id"), "id-patched");
    daap_kube_object_free(after);
    assert_int_equal(daap__kube_patch(NULL, sim.be, &ref, shrink, sizeof(shrink) - 1), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "shrink"));
    ref.name = "daap-nobody";
    assert_int_equal(daap__kube_patch(NULL, sim.be, &ref, grow, sizeof(grow) - 1), DAAP_ENOTFOUND);
    assert_ok(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-patched"));
    /* Let its owned objects go before the next test counts requests. */
    wait_for_get(DAAP_KUBE_CLUSTER, "daap-patched", DAAP_ENOTFOUND);
    wait_for_get(DAAP_KUBE_SECRET, "daap-patched-app", DAAP_ENOTFOUND);
}

static void test_errors_are_mapped(void **state)
{
    daap_kube_backend *bad_token;
    char text[1024];
    const char *msg;
    int rc;

    (void)state;
    assert_int_equal(get_rc(sim.be, DAAP_KUBE_CLUSTER, "nope"), DAAP_ENOTFOUND);
    assert_non_null(strstr(daap_error_last()->message, "\"nope\" not found"));

    assert_ok(create(sim.be, cluster_object("daap-twice", "id-twice")));
    assert_int_equal(create(sim.be, cluster_object("daap-twice", "id-twice")), DAAP_EEXISTS);
    assert_non_null(strstr(daap_error_last()->message, "already exists"));
    assert_ok(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-twice"));

    rc = create(sim.be, cluster_object("Daap_Bad", "id-bad"));
    msg = daap_error_last()->message;
    if (rc != DAAP_EINVALID)
        fprintf(stderr, "422 case: %s\n", msg);
    assert_int_equal(rc, DAAP_EINVALID);
    assert_non_null(strstr(msg, "422"));
    assert_non_null(strstr(msg, "metadata.name"));

    {   /* fieldValidation=Strict: a misspelt field is an error, not silently dropped */
        daap_kube_object *typo = cluster_object("daap-typo", "id-typo");
        assert_ok(daap_kube_object_set_int(typo, "spec.instancez", 2));
        assert_int_equal(create(sim.be, typo), DAAP_EINVALID);
        assert_non_null(strstr(daap_error_last()->message, "instancez"));
    }

    snprintf(text, sizeof(text), "apiVersion: v1\nkind: Config\nusers:\n- name: kubesim\n  user: {token: %s}\n",
             WRONG_TOKEN);
    write_file("wrong-token", text, strlen(text));
    /* two files in $KUBECONFIG: the first definition of user "kubesim" wins */
    snprintf(text, sizeof(text), "%s:%s", path_in("wrong-token"), sim.kubeconfig);
    setenv("KUBECONFIG", text, 1);
    bad_token = open_backend(NULL, 5000);
    assert_int_equal(get_rc(bad_token, DAAP_KUBE_CLUSTER, "any"), DAAP_EAUTH);
    assert_non_null(strstr(daap_error_last()->message, "401"));
    assert_null(strstr(daap_error_last()->message, WRONG_TOKEN));
    daap__kube_free(bad_token);
    snprintf(text, sizeof(text), "%s:%s", sim.kubeconfig, path_in("wrong-token"));
    setenv("KUBECONFIG", text, 1);
    bad_token = open_backend(NULL, 5000);
    unsetenv("KUBECONFIG");
    assert_int_equal(get_rc(bad_token, DAAP_KUBE_CLUSTER, "any"), DAAP_ENOTFOUND);
    daap__kube_free(bad_token);
}

static void test_safe_calls_retry_through_503_and_429(void **state)
{
    int64_t start;

    (void)state;
    faults("{\"error_next\":{\"get\":2},\"error_codes\":[503],\"retry_after_seconds\":0}");
    assert_int_equal(get_rc(sim.be, DAAP_KUBE_CLUSTER, "nope"), DAAP_ENOTFOUND);
    assert_int_equal(requests("get"), 3); /* 503, 503, 404 */

    faults("{\"error_next\":{\"list\":1},\"error_codes\":[429],\"retry_after_seconds\":1}");
    start = daap__mono_ms();
    {
        daap_kube_list list = { 0 };
        assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_CLUSTER, NS, NULL));
        daap_kube_list_dispose(&list);
    }
    assert_true(daap__mono_ms() - start >= 900); /* Retry-After honoured */
    assert_int_equal(requests("list"), 2);

    faults("{\"error_next\":{\"delete\":1},\"error_codes\":[500],\"retry_after_seconds\":0}");
    assert_int_equal(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "nope"), DAAP_ENOTFOUND);
    assert_int_equal(requests("delete"), 2);

    faults("{\"error_rate\":{\"get\":1},\"error_codes\":[503],\"retry_after_seconds\":0}");
    assert_int_equal(get_rc(sim.be, DAAP_KUBE_CLUSTER, "nope"), DAAP_EUNAVAILABLE);
    assert_non_null(strstr(daap_error_last()->message, "after 5 attempts"));
    assert_int_equal(requests("get"), 3 + 5); /* the first try and max_retries (4) more */
}

static void test_create_retries_only_what_was_not_done(void **state)
{
    (void)state;
    faults("{\"error_next\":{\"create\":1},\"error_codes\":[503],\"retry_after_seconds\":0}");
    assert_ok(create(sim.be, cluster_object("daap-retry", "id-retry")));
    assert_int_equal(requests("create"), 2);

    faults("{\"error_next\":{\"create\":1},\"error_codes\":[429],\"retry_after_seconds\":0}");
    assert_ok(create(sim.be, pooler_object("daap-retry-pooler", "daap-retry")));
    assert_int_equal(requests("create"), 4);

    /* a 500 may have created the object: no blind retry */
    faults("{\"error_next\":{\"create\":1},\"error_codes\":[500],\"retry_after_seconds\":0}");
    assert_int_equal(create(sim.be, cluster_object("daap-retry-2", "id-retry-2")), DAAP_EUNAVAILABLE);
    assert_int_equal(requests("create"), 5);
    assert_ok(remove_rc(sim.be, DAAP_KUBE_POOLER, "daap-retry-pooler"));
    assert_ok(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-retry"));
}

/* A map for list_map: summaries of even-numbered items, DAAP_EEXISTS at
 * item `fail_at` (counted from 1). */
typedef struct {
    int calls;
    int fail_at;
} map_counter;

static int keep_even_summaries(daap_kube_object **kept, daap_kube_object *obj, void *arg)
{
    map_counter *c = arg;
    const char *name = daap_kube_object_str(obj, "metadata.name");
    int rc = 0;

    *kept = NULL;
    if (++c->calls == c->fail_at)
        rc = daap_error_set(DAAP_EEXISTS, DAAP_ERRCLASS_KUBE, "stopped by the test");
    else if (name && (name[strlen(name) - 1] - '0') % 2 == 0)
        rc = daap__kube_object_summary(kept, obj);
    daap_kube_object_free(obj);
    return rc;
}

static void lists_map_each_item(void)
{
    daap_kube_list list = { 0 };
    map_counter c = { 0, 0 };
    size_t i;

    assert_ok(daap__kube_list_map(&list, sim.be, DAAP_KUBE_SECRET, NS, "page=test", keep_even_summaries, &c));
    assert_int_equal(c.calls, 505);
    assert_int_equal(list.count, 253); /* page-000, -002, ... -504 */
    for (i = 0; i < list.count; i++)
        assert_true(daap__kube_object_packed_size(list.items[i]) > 0);
    assert_string_equal(daap_kube_object_str(list.items[252], "metadata.name"), "page-504");
    /* An error on the second page ends the list and keeps nothing of it. */
    c = (map_counter){ 0, 502 };
    assert_int_equal(daap__kube_list_map(&list, sim.be, DAAP_KUBE_SECRET, NS, "page=test", keep_even_summaries, &c),
                     DAAP_EEXISTS);
    assert_int_equal(list.count, 253);
    daap_kube_list_dispose(&list);
}

static void test_lists_follow_continue_tokens(void **state)
{
    daap_kube_list list = { 0 };
    char name[32];
    int i;

    (void)state;
    for (i = 0; i < 505; i++) {
        snprintf(name, sizeof(name), "page-%03d", i);
        assert_ok(create(sim.be, secret_object(name, "page=test")));
    }
    assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_SECRET, NS, "page=test"));
    assert_int_equal(list.count, 505);
    assert_int_equal(requests("list"), 2); /* 500 + 5 */
    daap_kube_list_dispose(&list);
    lists_map_each_item();
    for (i = 0; i < 505; i++) {
        snprintf(name, sizeof(name), "page-%03d", i);
        assert_ok(remove_rc(sim.be, DAAP_KUBE_SECRET, name));
    }
}

static void test_timeouts(void **state)
{
    daap_kube_backend *slow = open_backend(sim.kubeconfig, 500);
    int64_t start = daap__mono_ms();

    (void)state;
    faults("{\"latency_ms\":2000}");
    assert_int_equal(get_rc(slow, DAAP_KUBE_CLUSTER, "nope"), DAAP_ETIMEOUT);
    assert_true(daap__mono_ms() - start < 1500);
    daap__kube_free(slow);
}

/* Next event that is not a BOOKMARK, remembering the RV either way. */
static int next_change(daap_kube_watch *w, daap_kube_event *ev, char *rv, size_t rv_size, int32_t timeout_ms)
{
    int64_t deadline = daap__mono_ms() + timeout_ms;
    int rc;

    for (;;) {
        int64_t left = deadline - daap__mono_ms();
        rc = daap__kube_watch_next(ev, sim.be, w, (int32_t)(left > 0 ? left : 0));
        if (rc < 0)
            return rc;
        snprintf(rv, rv_size, "%s", daap_kube_object_str(ev->object, "metadata.resourceVersion"));
        if (ev->type != DAAP_KUBE_BOOKMARK)
            return 0;
        daap_kube_object_free(ev->object);
    }
}

static void test_watch_events_and_bookmarks(void **state)
{
    daap_kube_list list = { 0 };
    daap_kube_watch *w = NULL;
    daap_kube_event ev;
    int64_t start = daap__mono_ms();
    bool bookmark = false, ready = false;
    int rc;

    (void)state;
    assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_CLUSTER, NS, NULL));
    assert_ok(daap__kube_watch(&w, sim.be, DAAP_KUBE_CLUSTER, NS, "daap.dev/database-id=id-watch",
                               list.resource_version));
    assert_int_equal(daap__kube_watch_next(&ev, sim.be, w, 100), DAAP_ETIMEOUT);
    assert_ok(create(sim.be, cluster_object("daap-watch", "id-watch")));
    assert_ok(create(sim.be, cluster_object("daap-unwatched", "id-unwatched")));
    while (!(ready && bookmark) && daap__mono_ms() - start < 8000) {
        rc = daap__kube_watch_next(&ev, sim.be, w, 500);
        if (rc == DAAP_ETIMEOUT)
            continue;
        assert_ok(rc);
        assert_non_null(ev.object);
        if (ev.type == DAAP_KUBE_BOOKMARK) {
            bookmark = true;
            assert_non_null(daap_kube_object_str(ev.object, "metadata.resourceVersion"));
        } else {
            assert_string_equal(daap_kube_object_str(ev.object, "metadata.name"), "daap-watch");
            assert_string_equal(daap_kube_object_str(ev.object, "kind"), "Cluster");
            ready = ready || (ev.type == DAAP_KUBE_MODIFIED && daap_kube_object_condition(ev.object, "Ready") == 1);
        }
        daap_kube_object_free(ev.object);
    }
    assert_true(ready);
    assert_true(bookmark);
    daap__kube_watch_free(sim.be, w);
    daap_kube_list_dispose(&list);
    assert_ok(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-watch"));
    assert_ok(remove_rc(sim.be, DAAP_KUBE_CLUSTER, "daap-unwatched"));
}

static void test_watch_resumes_after_a_drop(void **state)
{
    daap_kube_list list = { 0 };
    daap_kube_watch *w = NULL;
    daap_kube_event ev;
    char rv[64];
    int rc;

    (void)state;
    faults("{\"watch_drop_seconds\":1}");
    assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_SECRET, NS, NULL));
    snprintf(rv, sizeof(rv), "%s", list.resource_version);
    assert_ok(daap__kube_watch(&w, sim.be, DAAP_KUBE_SECRET, NS, "drop=test", rv));
    assert_ok(create(sim.be, secret_object("drop-1", "drop=test")));
    assert_ok(next_change(w, &ev, rv, sizeof(rv), 5000));
    assert_int_equal(ev.type, DAAP_KUBE_ADDED);
    daap_kube_object_free(ev.object);
    while ((rc = next_change(w, &ev, rv, sizeof(rv), 5000)) == 0)
        daap_kube_object_free(ev.object);
    assert_int_equal(rc, DAAP_ITEROVER); /* kubesim cut the stream */
    daap__kube_watch_free(sim.be, w);

    faults("{\"watch_drop_seconds\":0}");
    assert_ok(remove_rc(sim.be, DAAP_KUBE_SECRET, "drop-1")); /* happens while nobody watches */
    assert_ok(daap__kube_watch(&w, sim.be, DAAP_KUBE_SECRET, NS, "drop=test", rv));
    assert_ok(next_change(w, &ev, rv, sizeof(rv), 5000));
    assert_int_equal(ev.type, DAAP_KUBE_DELETED);
    assert_string_equal(daap_kube_object_str(ev.object, "metadata.name"), "drop-1");
    daap_kube_object_free(ev.object);
    daap__kube_watch_free(sim.be, w);
    daap_kube_list_dispose(&list);
}

static void test_watch_410_means_relist(void **state)
{
    daap_kube_list list = { 0 };
    daap_kube_watch *w = NULL;
    daap_kube_event ev;
    int rc;

    (void)state;
    assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_CLUSTER, NS, NULL));
    faults("{\"watch_410_on_resume\":true,\"watch_410_mode\":\"event\"}");
    assert_ok(daap__kube_watch(&w, sim.be, DAAP_KUBE_CLUSTER, NS, NULL, list.resource_version));
    assert_int_equal(daap__kube_watch_next(&ev, sim.be, w, 5000), DAAP_EEXPIRED);
    assert_int_equal(daap__kube_watch_next(&ev, sim.be, w, 0), DAAP_ITEROVER);
    daap__kube_watch_free(sim.be, w);

    faults("{\"watch_410_mode\":\"http\"}");
    assert_int_equal(daap__kube_watch(&w, sim.be, DAAP_KUBE_CLUSTER, NS, NULL, list.resource_version),
                     DAAP_EEXPIRED);
    assert_null(w);

    /* the remedy: list again and watch from the new RV (or from nothing) */
    daap_kube_list_dispose(&list);
    assert_ok(daap__kube_list(&list, sim.be, DAAP_KUBE_CLUSTER, NS, NULL));
    assert_ok(daap__kube_watch(&w, sim.be, DAAP_KUBE_CLUSTER, NS, NULL, NULL));
    while ((rc = daap__kube_watch_next(&ev, sim.be, w, 300)) == 0) { /* what exists, as ADDED */
        assert_int_equal(ev.type, DAAP_KUBE_ADDED);
        daap_kube_object_free(ev.object);
    }
    assert_int_equal(rc, DAAP_ETIMEOUT);
    daap__kube_watch_free(sim.be, w);
    daap_kube_list_dispose(&list);
}

static void test_client_certificate_kubeconfig(void **state)
{
    daap_kube_backend *be = open_backend(path_in("cc-kubeconfig"), 5000); /* -data forms */
    char text[1024];

    (void)state;
    assert_int_equal(get_rc(be, DAAP_KUBE_CLUSTER, "nope"), DAAP_ENOTFOUND);
    daap__kube_free(be);

    snprintf(text, sizeof(text), "current-context: c\nclusters:\n- name: s\n  cluster: {server: '%s', "
             "certificate-authority: pki/ca.crt}\ncontexts:\n- name: c\n  context: {cluster: s, user: u}\n"
             "users:\n- name: u\n  user: {client-certificate: pki/client.crt, client-key: pki/client.key}\n",
             sim.cfg.server);
    write_file("cert-files", text, strlen(text));
    be = open_backend(path_in("cert-files"), 5000);
    assert_int_equal(get_rc(be, DAAP_KUBE_CLUSTER, "nope"), DAAP_ENOTFOUND);
    daap__kube_free(be);
}

static void test_ca_file_and_token_file(void **state)
{
    daap_kube_backend *be;
    char text[1024];

    (void)state;
    mkdir(path_in("files"), 0700);
    write_file("files/ca.crt", sim.cfg.ca_pem.ptr, sim.cfg.ca_pem.size);
    write_file("files/token", sim.token, strlen(sim.token));
    snprintf(text, sizeof(text), "current-context: c\nclusters:\n- name: s\n  cluster: {server: '%s', "
             "certificate-authority: ca.crt}\ncontexts:\n- name: c\n  context: {cluster: s, user: u, namespace: " NS "}\n"
             "users:\n- name: u\n  user: {tokenFile: token, token: " WRONG_TOKEN "}\n", sim.cfg.server);
    write_file("files/config", text, strlen(text));
    be = open_backend(path_in("files/config"), 5000);
    assert_int_equal(get_rc(be, DAAP_KUBE_CLUSTER, "nope"), DAAP_ENOTFOUND); /* tokenFile won */

    usleep(20 * 1000); /* a new mtime */
    write_file("files/token", WRONG_TOKEN, strlen(WRONG_TOKEN));
    assert_int_equal(get_rc(be, DAAP_KUBE_CLUSTER, "nope"), DAAP_EAUTH); /* re-read */
    write_file("files/token", sim.token, strlen(sim.token));
    assert_int_equal(get_rc(be, DAAP_KUBE_CLUSTER, "nope"), DAAP_ENOTFOUND);
    daap__kube_free(be);
}

static void test_wrong_ca_says_so(void **state)
{
    daap_kube_backend *be;
    char text[1024];

    (void)state;
    snprintf(text, sizeof(text), "current-context: c\nclusters:\n- name: s\n  cluster: {server: '%s', "
             "certificate-authority: pki/client-ca.crt}\ncontexts:\n- name: c\n  context: {cluster: s, user: u}\n"
             "users:\n- name: u\n  user: {token: '%s'}\n", sim.cfg.server, sim.token);
    write_file("wrong-ca", text, strlen(text));
    be = open_backend(path_in("wrong-ca"), 5000);
    assert_int_equal(get_rc(be, DAAP_KUBE_CLUSTER, "nope"), DAAP_EAUTH);
    assert_non_null(strstr(daap_error_last()->message, "TLS certificate verification failed for https://"));
    assert_null(strstr(daap_error_last()->message, sim.token));
    daap__kube_free(be);
}

static int get_with_server_name(const char *server_name)
{
    daap_kube_backend *be;
    char text[1024];
    int rc;

    snprintf(text, sizeof(text), "current-context: c\nclusters:\n- name: s\n  cluster: {server: '%s', "
             "certificate-authority: pki/ca.crt, tls-server-name: %s}\ncontexts:\n- name: c\n"
             "  context: {cluster: s, user: u}\nusers:\n- name: u\n  user: {token: '%s'}\n",
             sim.cfg.server, server_name, sim.token);
    write_file("server-name", text, strlen(text));
    be = open_backend(path_in("server-name"), 5000);
    rc = get_rc(be, DAAP_KUBE_CLUSTER, "nope");
    daap__kube_free(be);
    return rc;
}

static void test_tls_server_name(void **state)
{
    (void)state;
    assert_int_equal(get_with_server_name("kubernetes.default.svc"), DAAP_ENOTFOUND);
    assert_int_equal(get_with_server_name("not-in-the-certificate.example"), DAAP_EAUTH);
    assert_non_null(strstr(daap_error_last()->message, "TLS certificate verification failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cluster_and_pooler_lifecycle, reset),
        cmocka_unit_test_setup(test_merge_patch, reset),
        cmocka_unit_test_setup(test_errors_are_mapped, reset),
        cmocka_unit_test_setup(test_safe_calls_retry_through_503_and_429, reset),
        cmocka_unit_test_setup(test_create_retries_only_what_was_not_done, reset),
        cmocka_unit_test_setup(test_lists_follow_continue_tokens, reset),
        cmocka_unit_test_setup(test_timeouts, reset),
        cmocka_unit_test_setup(test_watch_events_and_bookmarks, reset),
        cmocka_unit_test_setup(test_watch_resumes_after_a_drop, reset),
        cmocka_unit_test_setup(test_watch_410_means_relist, reset),
        cmocka_unit_test_setup(test_client_certificate_kubeconfig, reset),
        cmocka_unit_test_setup(test_ca_file_and_token_file, reset),
        cmocka_unit_test_setup(test_wrong_ca_says_so, reset),
        cmocka_unit_test_setup(test_tls_server_name, reset),
    };
    return cmocka_run_group_tests(tests, start_kubesim, stop_kubesim);
}
