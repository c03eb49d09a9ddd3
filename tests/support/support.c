/* Shared helpers for cmocka tests. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *daap_test_env(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

void daap_test_print_error(const char *what, int rc)
{
    const daap_error *e = daap_error_last();
    size_t i;
    fprintf(stderr, "%s: rc=%d (%s) %s\n", what, rc, daap_error_code_name(rc), e->message);
    for (i = 0; i < e->field_count; i++)
        fprintf(stderr, "  field %s [%s] %s\n", e->fields[i].field, e->fields[i].code, e->fields[i].message);
}

int daap_test_remove_dir(const char *dir)
{
    char cmd[4200];

    if (dir == NULL || strncmp(dir, "/tmp/", 5) != 0 || strchr(dir, '\'') != NULL)
        return -1; /* only what a test made with mkdtemp under /tmp */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
