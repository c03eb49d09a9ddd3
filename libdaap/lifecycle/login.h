/* The login a password rotation verifies (login.c): libpq, as a user
 * would connect, with a short connect_timeout. */
#ifndef DAAP_INTERNAL_LOGIN_H
#define DAAP_INTERNAL_LOGIN_H

#include "ctx.h"

/* A daap__login_check: connect and disconnect. 0, or DAAP_EAUTH (the server
 * refused the credentials) or DAAP_EUNAVAILABLE (no connection), with
 * libpq's message, which never holds the password. `payload` is unused. */
int daap__login_libpq(void *payload, const daap__login *login);

#endif
