/* Helpers shared by the template tests: scratch directories, standard
 * marker values, rendering to json-c. */
#ifndef DAAP_TEST_TPLUTIL_H
#define DAAP_TEST_TPLUTIL_H

#include <stddef.h>
#include <json-c/json.h>

#include "manifest/template.h"

#define TPL_MARKERS 12

/* A fresh directory under $TMPDIR (or /tmp); the path is malloc'd. */
char *tpl_mkdtemp(void);
/* Write dir/name with text (fails the test on error). */
void tpl_write(const char *dir, const char *name, const char *text);
/* Remove every regular file in dir, then dir; frees dir. */
void tpl_rmdir(char *dir);

/* Values for every known marker, valid for CNPG; fields may be changed. */
typedef struct {
    daap__template_value v[TPL_MARKERS];
} tpl_values;
void tpl_values_default(tpl_values *vals);
/* Point marker `name` at value (is_int as given); fails the test when unknown. */
void tpl_values_set(tpl_values *vals, const char *name, const char *value, int is_int);

/* Render to a json-c tree (caller puts it); NULL with the rc in *rc on failure. */
json_object *tpl_render_json(const daap__templates *t, daap__template_kind kind,
                             const daap__template_value *v, size_t n, int *rc);
/* Field by keys, ending with NULL; NULL when absent. */
json_object *tpl_get(json_object *root, ...);
/* Does the last error message contain s? Prints it when not. */
int tpl_error_has(const char *s);

#endif
