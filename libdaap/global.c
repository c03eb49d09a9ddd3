/* Process-wide initialisation: the only global state besides the registry. */
#include "common.h"
#include "storage/storage.h"

#include <pthread.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <openssl/crypto.h>

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

int daap_init(void)
{
    int rc;

    pthread_mutex_lock(&init_lock);
    if (init_count == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            pthread_mutex_unlock(&init_lock);
            return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "curl_global_init failed");
        }
        if (sqlite3_initialize() != SQLITE_OK) {
            curl_global_cleanup();
            pthread_mutex_unlock(&init_lock);
            return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "sqlite3_initialize failed");
        }
        OPENSSL_init_crypto(0, NULL);
        daap__storage_register_builtins();
    }
    rc = ++init_count;
    pthread_mutex_unlock(&init_lock);
    return rc;
}

int daap_shutdown(void)
{
    int rc;

    pthread_mutex_lock(&init_lock);
    if (init_count == 0) {
        pthread_mutex_unlock(&init_lock);
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_INVALID, "daap_shutdown without daap_init");
    }
    rc = --init_count;
    if (rc == 0) {
        daap__storage_registry_clear();
        curl_global_cleanup();
        sqlite3_shutdown();
    }
    pthread_mutex_unlock(&init_lock);
    return rc;
}

int daap_version(int *major, int *minor, int *patch)
{
    if (major) *major = DAAP_VERSION_MAJOR;
    if (minor) *minor = DAAP_VERSION_MINOR;
    if (patch) *patch = DAAP_VERSION_PATCH;
    return 0;
}

const char *daap_version_string(void)
{
    return DAAP_VERSION_STRING;
}

unsigned int daap_features(void)
{
    return DAAP_FEATURE_SQLITE | DAAP_FEATURE_POSTGRES | DAAP_FEATURE_KUBE_REST | DAAP_FEATURE_REMOTE;
}
