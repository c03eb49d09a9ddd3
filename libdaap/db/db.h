/* db/: the record model: its layout and getters, JSON both ways, validation,
 * query strings and strict request JSON. Pure data and rules, no I/O. It may
 * include the root's utility headers only.
 *
 * This header: the record's layout, shared by the model, lifecycle and rendering code. */
#ifndef DAAP_INTERNAL_DB_H
#define DAAP_INTERNAL_DB_H

#include "common.h"

/* A record either owns its strings, or is a view (daap__db_view_*) whose
 * strings and blob borrow a storage driver's row memory for one callback;
 * a view is never freed, only copied with daap_db_dup(). */
struct daap_db {
    char          *text[DAAP_DB_F__COUNT];
    size_t         text_len[DAAP_DB_F__COUNT]; /* strlen(text[f]), kept by every setter */
    int64_t        num[DAAP_DB_F__COUNT];
    unsigned char *blob;      /* DAAP_DB_F_PASSWORD ciphertext */
    size_t         blob_len;
    unsigned char *pending;   /* DAAP_DB_F_PENDING_PASSWORD ciphertext (a rotation) */
    size_t         pending_len;
    char          *password;  /* plaintext, only after decryption for a ready record */
};

/* Where a BLOB field lives in the record: its pointer and length, or NULL
 * for a field that is not a BLOB. */
unsigned char **daap__db_blob_slot(daap_db *db, int field, size_t **len);

/* A TEXT field and its length (0 when unset): lets renderers skip strlen. */
const char *daap__db_textn(const daap_db *db, int field, size_t *len);

/* The connection fields (host … direct_port): secret or only for ready records. */
bool daap__db_field_is_connection(int field);

/* Set the decrypted password (copied). */
int daap__db_set_password(daap_db *db, const char *password);

#endif
