/* The record's layout, shared by the model, lifecycle and rendering code. */
#ifndef DAAP_INTERNAL_DB_H
#define DAAP_INTERNAL_DB_H

#include "common.h"

struct daap_db {
    char          *text[DAAP_DB_F__COUNT];
    int64_t        num[DAAP_DB_F__COUNT];
    unsigned char *blob;      /* DAAP_DB_F_PASSWORD ciphertext */
    size_t         blob_len;
    char          *password;  /* plaintext, only after decryption for a ready record */
};

/* Set the decrypted password (copied). */
int daap__db_set_password(daap_db *db, const char *password);

#endif
