/* The reconciler's work queue: de-duplication, no key held twice, per-key
 * backoff, and shutdown that drains or drops. */
#include "support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KEYS      5
#define WORKERS   4
#define ROUNDS    4000

static daap_workqueue *new_queue(int64_t base_ms, int64_t max_ms)
{
    daap_workqueue_options o = DAAP_WORKQUEUE_OPTIONS_INIT;
    daap_workqueue *q;
    o.base_delay_ms = base_ms;
    o.max_delay_ms = max_ms;
    assert_ok(daap_workqueue_new(&q, &o));
    return q;
}

static void expect_key(daap_workqueue *q, const char *want)
{
    char key[DAAP_WORKQUEUE_KEY_MAX + 1];
    assert_ok(daap_workqueue_get(q, key, sizeof(key), 5000));
    assert_string_equal(key, want);
}

static void expect_empty(daap_workqueue *q)
{
    char key[DAAP_WORKQUEUE_KEY_MAX + 1];
    assert_int_equal(daap_workqueue_get(q, key, sizeof(key), 0), DAAP_ETIMEOUT);
}

static void test_dedupe(void **state)
{
    daap_workqueue *q = new_queue(0, 0);
    (void)state;

    assert_ok(daap_workqueue_add(q, "a"));
    assert_ok(daap_workqueue_add(q, "b"));
    assert_ok(daap_workqueue_add(q, "a"));
    assert_int_equal(daap_workqueue_len(q), 2);
    expect_key(q, "a"); /* first come, first served */
    /* Added while held: not handed out again until done. */
    assert_ok(daap_workqueue_add(q, "a"));
    assert_ok(daap_workqueue_add(q, "a"));
    expect_key(q, "b");
    expect_empty(q);
    daap_workqueue_done(q, "a");
    expect_key(q, "a");
    daap_workqueue_done(q, "a");
    daap_workqueue_done(q, "b");
    expect_empty(q);
    daap_workqueue_free(q);
}

static void test_bad_keys(void **state)
{
    daap_workqueue *q = new_queue(0, 0);
    char longkey[DAAP_WORKQUEUE_KEY_MAX + 2], small[8];
    daap_workqueue_options bad = { 99 };
    (void)state;

    memset(longkey, 'x', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(daap_workqueue_add(q, ""), DAAP_EINVALID);
    assert_int_equal(daap_workqueue_add(q, longkey), DAAP_EINVALID);
    assert_int_equal(daap_workqueue_get(q, small, sizeof(small), 0), DAAP_EINVALID);
    daap_workqueue_free(q);
    assert_int_equal(daap_workqueue_new(&q, &bad), DAAP_EINVALID);
    assert_null(q);
}

/* ---- no key held by two workers ---- */

typedef struct {
    daap_workqueue *q;
    atomic_int      held[KEYS];
    atomic_int      overlaps, handled;
} crowd;

static void *crowd_worker(void *payload)
{
    crowd *c = payload;
    char key[DAAP_WORKQUEUE_KEY_MAX + 1];

    while (daap_workqueue_get(c->q, key, sizeof(key), -1) == 0) {
        int k = key[1] - '0';
        if (atomic_fetch_add(&c->held[k], 1) != 0)
            atomic_fetch_add(&c->overlaps, 1);
        usleep(50);
        atomic_fetch_sub(&c->held[k], 1);
        atomic_fetch_add(&c->handled, 1);
        daap_workqueue_done(c->q, key);
    }
    return NULL;
}

static void test_no_key_twice(void **state)
{
    crowd c = { new_queue(0, 0) };
    pthread_t t[WORKERS];
    int i;
    (void)state;

    for (i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, crowd_worker, &c), 0);
    for (i = 0; i < ROUNDS; i++) {
        char key[4];
        snprintf(key, sizeof(key), "k%d", i % KEYS);
        assert_ok(daap_workqueue_add(c.q, key));
    }
    daap_workqueue_shutdown(c.q, DAAP_WORKQUEUE_DRAIN);
    for (i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&c.overlaps), 0);
    /* De-duplication folded many adds together, but every key ran. */
    assert_true(atomic_load(&c.handled) >= KEYS);
    assert_true(atomic_load(&c.handled) <= ROUNDS);
    daap_workqueue_free(c.q);
}

/* ---- backoff ---- */

static void test_backoff(void **state)
{
    /* A first delay of a minute: a key must not come back at once. */
    daap_workqueue *q = new_queue(60000, 600000);
    (void)state;

    assert_int_equal(daap_workqueue_failures(q, "a"), 0);
    assert_ok(daap_workqueue_add_rate_limited(q, "a"));
    assert_ok(daap_workqueue_add_rate_limited(q, "a"));
    assert_int_equal(daap_workqueue_failures(q, "a"), 2);
    expect_empty(q);
    assert_int_equal(daap_workqueue_len(q), 0);
    /* An add now beats the delay, and the other keys are not held back. */
    assert_ok(daap_workqueue_add(q, "b"));
    expect_key(q, "b");
    daap_workqueue_done(q, "b");
    assert_ok(daap_workqueue_add(q, "a"));
    expect_key(q, "a");
    daap_workqueue_done(q, "a");
    daap_workqueue_forget(q, "a");
    assert_int_equal(daap_workqueue_failures(q, "a"), 0);
    daap_workqueue_free(q);
}

static void test_backoff_comes_back(void **state)
{
    daap_workqueue *q = new_queue(1, 4);
    int i;
    (void)state;

    /* Capped at 4 ms however often it failed: it comes back. */
    for (i = 0; i < 50; i++)
        assert_ok(daap_workqueue_add_rate_limited(q, "a"));
    expect_key(q, "a");
    daap_workqueue_done(q, "a");
    /* Delayed keys come in due order. */
    assert_ok(daap_workqueue_add_after(q, "late", 200));
    assert_ok(daap_workqueue_add_after(q, "soon", 1));
    expect_key(q, "soon");
    expect_key(q, "late");
    daap_workqueue_free(q);
}

/* ---- shutdown ---- */

static void test_shutdown_drain(void **state)
{
    daap_workqueue *q = new_queue(60000, 0);
    char key[DAAP_WORKQUEUE_KEY_MAX + 1];
    (void)state;

    assert_ok(daap_workqueue_add(q, "a"));
    assert_ok(daap_workqueue_add(q, "b"));
    assert_ok(daap_workqueue_add_rate_limited(q, "later"));
    expect_key(q, "a");
    daap_workqueue_shutdown(q, DAAP_WORKQUEUE_DRAIN);
    assert_int_equal(daap_workqueue_add(q, "c"), DAAP_ITEROVER);
    expect_key(q, "b");
    /* Delayed keys are dropped; then the workers are told to stop. */
    assert_int_equal(daap_workqueue_get(q, key, sizeof(key), 1000), DAAP_ITEROVER);
    assert_int_equal(daap_workqueue_wait_idle(q, 0), DAAP_ETIMEOUT);
    daap_workqueue_done(q, "a");
    daap_workqueue_done(q, "b");
    assert_ok(daap_workqueue_wait_idle(q, 0));
    daap_workqueue_free(q);
}

static void test_shutdown_drop(void **state)
{
    daap_workqueue *q = new_queue(0, 0);
    char key[DAAP_WORKQUEUE_KEY_MAX + 1];
    (void)state;

    assert_ok(daap_workqueue_add(q, "a"));
    assert_ok(daap_workqueue_add(q, "b"));
    expect_key(q, "a");
    assert_ok(daap_workqueue_add(q, "a")); /* would come again after done */
    daap_workqueue_shutdown(q, DAAP_WORKQUEUE_DROP);
    assert_int_equal(daap_workqueue_get(q, key, sizeof(key), -1), DAAP_ITEROVER);
    daap_workqueue_done(q, "a");
    assert_int_equal(daap_workqueue_get(q, key, sizeof(key), -1), DAAP_ITEROVER);
    assert_ok(daap_workqueue_wait_idle(q, -1));
    daap_workqueue_free(q);
}

/* A worker asleep in get() wakes up when the queue shuts down. */
static void *sleeper(void *payload)
{
    char key[DAAP_WORKQUEUE_KEY_MAX + 1];
    return (void *)(intptr_t)daap_workqueue_get(payload, key, sizeof(key), -1);
}

static void test_shutdown_wakes(void **state)
{
    daap_workqueue *q = new_queue(0, 0);
    pthread_t t;
    void *rc;
    (void)state;

    assert_int_equal(pthread_create(&t, NULL, sleeper, q), 0);
    usleep(10000);
    daap_workqueue_shutdown(q, DAAP_WORKQUEUE_DRAIN);
    pthread_join(t, &rc);
    assert_int_equal((int)(intptr_t)rc, DAAP_ITEROVER);
    daap_workqueue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedupe),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_no_key_twice),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_backoff_comes_back),
        cmocka_unit_test(test_shutdown_drain),
        cmocka_unit_test(test_shutdown_drop),
        cmocka_unit_test(test_shutdown_wakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
