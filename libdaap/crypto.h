/* Credentials at rest: AES-256-GCM with a key from DAAP_SECRET_KEY_FILE. */
#ifndef DAAP_INTERNAL_CRYPTO_H
#define DAAP_INTERNAL_CRYPTO_H

#include "common.h"

#define DAAP__KEY_LEN 32

typedef struct {
    unsigned char key[DAAP__KEY_LEN];
    unsigned char fingerprint[4]; /* first bytes of SHA-256(key): tells keys apart */
    bool          loaded;
} daap__key;

/* Load a key file: 64 hex characters, or 32 raw bytes. */
int daap__key_load(daap__key *key, const char *path);
void daap__key_wipe(daap__key *key);

/* Encrypt `plain` bound to `aad` (the record id): version | fingerprint |
 * nonce | ciphertext | tag. */
int daap__seal(daap_buf *out, const daap__key *key, const char *plain, const char *aad);
/* Decrypt; DAAP_ECRYPTO with a plain message for a wrong key or tampering. */
int daap__open(daap_buf *out, const daap__key *key, const unsigned char *sealed, size_t len, const char *aad);

#endif
