/* Internal helpers around the error-code table in errors.c. */
#ifndef DAAP_INTERNAL_ERRORS_H
#define DAAP_INTERNAL_ERRORS_H

/* The code whose daap_error_code_name() is `name` ("not_found" ->
 * DAAP_ENOTFOUND), or DAAP_OK (0) when no error code has that name. */
int daap__error_code_from_name(const char *name);

#endif
