/* GET /databases query strings. */
#include "common.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    daap_db_list_options o;
    daap_buf scratch = DAAP_BUF_INIT;
    char *q = malloc(size + 1);

    memcpy(q, data, size);
    q[size] = '\0';
    if (daap_db_list_options_parse(&o, &scratch, q) == 0 && o.limit > 100)
        __builtin_trap();
    daap_buf_dispose(&scratch);
    free(q);
    return 0;
}
