/* A storage decorator that fails chosen calls of a real backend (SQLite
 * testvfs idea): simulates a store that dies between two steps. */
#ifndef DAAP_TEST_FAULTY_STORAGE_H
#define DAAP_TEST_FAULTY_STORAGE_H

#include <daap/sys/storage.h>

typedef enum {
    FAULTY_INSERT = 0, FAULTY_GET, FAULTY_LIST, FAULTY_UPDATE, FAULTY__METHODS
} faulty_method;

/* Wrap `inner` (owned by the decorator from now on). */
int faulty_storage_new(daap_storage_backend **out, daap_storage_backend *inner);

/* A migrated context on SQLite at `store_path` (":memory:" too) behind the
 * faulty decorator, and a fresh fake kube. `o` is used as given, plus
 * DAAP_CTX_CREATE_KEY | DAAP_CTX_NO_SCHEMA_CHECK. On success the context
 * owns both backends; `*faulty` and `*kube` stay usable to inject faults. */
int faulty_ctx_open(daap_ctx **ctx, daap_storage_backend **faulty, daap_kube_backend **kube,
                    const char *store_path, daap_ctx_options o);
/* Fail call number nth (1-based, counted from now) of method with code;
 * nth 0: every call until cleared with code 0. */
void faulty_storage_fail(daap_storage_backend *be, faulty_method method, unsigned nth, int code);
unsigned long faulty_storage_calls(const daap_storage_backend *be, faulty_method method);

#endif
