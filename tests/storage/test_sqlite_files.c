/* The SQLite store's files are private: daap.db, -wal and -shm are created
 * 0600 whatever the process umask, and an existing file keeps its mode. */
#include "common.h"
#include "support.h"
#include <daap/sys/storage.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static unsigned mode_of(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static void open_migrated(const char *dir, mode_t umask_value)
{
    char path[512];
    daap_storage_backend *be = NULL;
    mode_t old = umask(umask_value);

    snprintf(path, sizeof(path), "%s/daap.db", dir);
    assert_ok(daap_storage_sqlite_new(&be, path));
    assert_ok(be->migrate(be, -1)); /* writes: the -wal and -shm files exist now */
    assert_int_equal(mode_of(dir, "daap.db"), 0600);
    assert_int_equal(mode_of(dir, "daap.db-wal"), 0600);
    assert_int_equal(mode_of(dir, "daap.db-shm"), 0600);
    be->free(be);
    umask(old);
}

static void test_new_store_is_private(void **state)
{
    static const mode_t umasks[] = { 022, 0, 077 };
    (void)state;
    for (size_t i = 0; i < DAAP_ARRAY_SIZE(umasks); i++) {
        char dir[] = "/tmp/daap-sqlite-files.XXXXXX";
        assert_non_null(mkdtemp(dir));
        open_migrated(dir, umasks[i]);
        assert_int_equal(daap_test_remove_dir(dir), 0);
    }
}

static void test_existing_file_keeps_its_mode(void **state)
{
    char dir[] = "/tmp/daap-sqlite-files.XXXXXX", path[512];
    daap_storage_backend *be = NULL;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/daap.db", dir);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    assert_int_equal(chmod(path, 0640), 0);
    assert_ok(daap_storage_sqlite_new(&be, path));
    be->free(be);
    assert_int_equal(mode_of(dir, "daap.db"), 0640);
    assert_int_equal(daap_test_remove_dir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_store_is_private),
        cmocka_unit_test(test_existing_file_keeps_its_mode),
    };
    assert_ok(daap_init() < 0 ? -1 : 0);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    daap_shutdown();
    return rc;
}
