/* Credentials at rest: round trip, wrong key, tampering, key files. */
#include "crypto.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/daap-crypto-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return daap_test_remove_dir(dir);
}

static void key_at(daap__key *key, const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_ok(daap_secret_key_create(path));
    assert_ok(daap__key_load(key, path));
}

static void test_round_trip(void **state)
{
    daap__key key;
    daap_buf sealed = DAAP_BUF_INIT, plain = DAAP_BUF_INIT;
    (void)state;
    key_at(&key, "k1");
    assert_ok(daap__seal(&sealed, &key, "s3cret-pa55", "id-1"));
    assert_null(memmem(sealed.ptr, sealed.size, "s3cret", 6));
    assert_ok(daap__open(&plain, &key, (unsigned char *)sealed.ptr, sealed.size, "id-1"));
    assert_string_equal(plain.ptr, "s3cret-pa55");
    /* Again: the key's decryption context is reused with a new nonce. */
    daap_buf_dispose(&sealed);
    assert_ok(daap__seal(&sealed, &key, "second", "id-2"));
    assert_ok(daap__open(&plain, &key, (unsigned char *)sealed.ptr, sealed.size, "id-2"));
    assert_string_equal(plain.ptr, "second");
    daap_buf_dispose(&sealed);
    daap_buf_dispose(&plain);
    daap__key_wipe(&key);
}

static void test_wrong_key_is_a_clear_error(void **state)
{
    daap__key k1, k2;
    daap_buf sealed = DAAP_BUF_INIT, plain = DAAP_BUF_INIT;
    (void)state;
    key_at(&k1, "ka");
    key_at(&k2, "kb");
    assert_ok(daap__seal(&sealed, &k1, "pw", "id"));
    assert_int_equal(daap__open(&plain, &k2, (unsigned char *)sealed.ptr, sealed.size, "id"), DAAP_ECRYPTO);
    assert_non_null(strstr(daap_error_last()->message, "different secret key"));
    assert_null(plain.ptr != NULL && plain.size > 0 ? plain.ptr : NULL);
    daap_buf_dispose(&sealed);
    daap_buf_dispose(&plain);
    daap__key_wipe(&k1);
    daap__key_wipe(&k2);
}

static void test_tamper_and_wrong_record(void **state)
{
    daap__key key;
    daap_buf sealed = DAAP_BUF_INIT, plain = DAAP_BUF_INIT;
    (void)state;
    key_at(&key, "kt");
    assert_ok(daap__seal(&sealed, &key, "password", "id-a"));
    assert_int_equal(daap__open(&plain, &key, (unsigned char *)sealed.ptr, sealed.size, "id-b"), DAAP_ECRYPTO);
    sealed.ptr[sealed.size - 20] ^= 1;
    assert_int_equal(daap__open(&plain, &key, (unsigned char *)sealed.ptr, sealed.size, "id-a"), DAAP_ECRYPTO);
    assert_int_equal(daap__open(&plain, &key, (unsigned char *)sealed.ptr, 10, "id-a"), DAAP_ECRYPTO);
    /* A failed check leaves the reused context fit for the next record. */
    sealed.ptr[sealed.size - 20] ^= 1;
    assert_ok(daap__open(&plain, &key, (unsigned char *)sealed.ptr, sealed.size, "id-a"));
    assert_string_equal(plain.ptr, "password");
    daap_buf_dispose(&sealed);
    daap_buf_dispose(&plain);
    daap__key_wipe(&key);
}

static void test_key_file_mode_and_idempotence(void **state)
{
    char path[128], before[80], after[80];
    struct stat st;
    FILE *f;
    (void)state;
    snprintf(path, sizeof(path), "%s/key", dir);
    assert_ok(daap_secret_key_create(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    f = fopen(path, "r"); assert_non_null(fgets(before, sizeof(before), f)); fclose(f);
    assert_ok(daap_secret_key_create(path)); /* never overwrites */
    f = fopen(path, "r"); assert_non_null(fgets(after, sizeof(after), f)); fclose(f);
    assert_string_equal(before, after);
}

static void test_bad_key_files(void **state)
{
    daap__key key;
    char path[128];
    FILE *f;
    (void)state;
    snprintf(path, sizeof(path), "%s/short", dir);
    f = fopen(path, "w"); fputs("abcd\n", f); fclose(f);
    assert_int_equal(daap__key_load(&key, path), DAAP_EINVALID);
    assert_non_null(strstr(daap_error_last()->message, "64 hex"));
    assert_int_equal(daap__key_load(&key, "/nonexistent/key"), DAAP_EINVALID);
    memset(&key, 0, sizeof(key));
    {
        daap_buf out = DAAP_BUF_INIT;
        assert_int_equal(daap__seal(&out, &key, "pw", "id"), DAAP_EINVALID);
        daap_buf_dispose(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_key_is_a_clear_error),
        cmocka_unit_test(test_tamper_and_wrong_record),
        cmocka_unit_test(test_key_file_mode_and_idempotence),
        cmocka_unit_test(test_bad_key_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
