/* Password rotation (rotate.c, docs/day2.md): the request path that writes
 * the intent (a sealed pending password) and the reconciler's step that
 * carries it out: the -app Secret, a verifying login through the pooler,
 * then the record; or, past the rotation deadline, the old password back. */
#ifndef DAAP_INTERNAL_ROTATE_H
#define DAAP_INTERNAL_ROTATE_H

#include "ctx.h"

#define DAAP__ROTATING_PREFIX "rotating password: "

/* The local engine's daap_db_rotate_password(). */
int daap__rotate_password_local(daap_db **out, void *self, const char *id, const char *caller_team);

/* Whether the record has a rotation under way (a pending password). */
bool daap__rotation_pending(const daap_db *db);

/* The next step of the rotation of a ready record whose Cluster exists;
 * handed to the context's handoff instead when it has one. Each call tries
 * one login: until one succeeds it answers DAAP_EUNAVAILABLE (retry with
 * back-off), or 0 once the rotation is recorded or undone. */
int daap__reconcile_rotation(daap_ctx *ctx, daap_db *db);

#endif
