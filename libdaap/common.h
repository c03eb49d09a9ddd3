/* Internal umbrella header: every library source includes this first. */
#ifndef DAAP_INTERNAL_COMMON_H
#define DAAP_INTERNAL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <daap/daap.h>
#include <daap/sys/errors.h>
#include <daap/sys/alloc.h>
#include <daap/sys/db.h>

#include "alloc.h"
#include "buf.h"

/* Misuse of the API: an assert in debug builds, DAAP_EINVALID in release. */
#define DAAP_ASSERT_ARG(expr) do { \
        if (!(expr)) \
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, \
                                  "invalid argument: %s", #expr); \
    } while (0)

#define DAAP_ERROR_CHECK_ALLOC(ptr) do { \
        if ((ptr) == NULL) return daap_error_set_oom(); \
    } while (0)

/* Propagate a negative return code. */
#define DAAP_TRY(expr) do { int daap__rc = (expr); if (daap__rc < 0) return daap__rc; } while (0)

/* Check a versioned options struct: version 0 and future versions are misuse. */
#define DAAP_CHECK_VERSION(ptr, max, what) do { \
        if ((ptr) != NULL && ((ptr)->version == 0 || (ptr)->version > (max))) \
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, \
                                  "unsupported %s version %u", (what), (ptr)->version); \
    } while (0)

/* The body of every *_init(opts, version) of a struct that has one version
 * so far: refuse version 0 and future versions, zero it, record the version.
 * A struct that grows a second version moves to DAAP_INIT_VERSIONS, which
 * the assertion below insists on. */
#define DAAP_INIT_VERSIONED(ptr, ver, max, what) do { \
        _Static_assert((max) == 1, what ": a second version needs DAAP_INIT_VERSIONS and a size table"); \
        DAAP_INIT_VERSIONS(ptr, ver, max, daap__single_version_size(sizeof(*(ptr))), what); \
    } while (0)

/* The same for a struct with several versions. `sizes` is a static array
 * with the struct's size as a caller of each version knows it (index 0 is
 * version 1): a caller built against an older version has a shorter
 * struct, so only that much is cleared (and read: DAAP_VERSION_SIZE). */
#define DAAP_INIT_VERSIONS(ptr, ver, max, sizes, what) do { \
        DAAP_ASSERT_ARG(ptr); \
        if ((ver) == 0 || (ver) > (max)) \
            return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_INVALID, \
                                  "unsupported %s version %u", (what), (ver)); \
        memset((ptr), 0, DAAP_VERSION_SIZE(sizes, ver)); \
        (ptr)->version = (ver); \
    } while (0)

/* How many bytes of a versioned struct a caller of version `ver` has. */
#define DAAP_VERSION_SIZE(sizes, ver) ((sizes)[(ver) - 1])
#define daap__single_version_size(size) ((const size_t[]){ (size) })

#define DAAP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wall clock, milliseconds since the epoch (UTC). */
int64_t daap__now_ms(void);
/* Monotonic clock in milliseconds, for deadlines. */
int64_t daap__mono_ms(void);
/* Sleep `ms` milliseconds, through signals. */
void    daap__sleep_ms(int64_t ms);

#endif
