/* All public headers together in one unit (CMakeLists.txt also compiles
 * each alone in a unit of its own: headertest_alone_*). */
#include <daap/common.h>
#include <daap/errors.h>
#include <daap/buffer.h>
#include <daap/types.h>
#include <daap/global.h>
#include <daap/ctx.h>
#include <daap/db.h>
#include <daap/migrate.h>
#include <daap/reconcile.h>
#include <daap/config.h>
#include <daap/problem.h>
#include <daap/version.h>
#include <daap/sys/errors.h>
#include <daap/sys/alloc.h>
#include <daap/sys/db.h>
#include <daap/sys/storage.h>
#include <daap/sys/kube.h>
#include <daap/daap.h>

int main(void)
{
    daap_ctx_options o = DAAP_CTX_OPTIONS_INIT;
    daap_buf b = DAAP_BUF_INIT;
    (void)b;
    return o.version == DAAP_CTX_OPTIONS_VERSION ? 0 : 1;
}
