/* Credentials at rest: AES-256-GCM with a key from DAAP_SECRET_KEY_FILE. */
#ifndef DAAP_INTERNAL_CRYPTO_H
#define DAAP_INTERNAL_CRYPTO_H

#include "common.h"

#define DAAP__KEY_LEN 32

struct evp_cipher_ctx_st;

typedef struct {
    unsigned char key[DAAP__KEY_LEN];
    unsigned char fingerprint[4]; /* first bytes of SHA-256(key): tells keys apart */
    bool          loaded;
    /* Set up for decryption with this key once, at load: every GET of a
     * ready record decrypts, and a fresh context (cipher fetch, key
     * schedule) cost more than the rest of the lookup. Used by the one
     * thread that uses the owning daap_ctx. NULL: set up per call. */
    struct evp_cipher_ctx_st *opener;
} daap__key;

/* Load a key file: 64 hex characters, or 32 raw bytes. `key` need not be
 * initialised; a loaded key is released with daap__key_wipe(). */
int daap__key_load(daap__key *key, const char *path);
void daap__key_wipe(daap__key *key);

/* Encrypt `plain` bound to `aad` (the record id): version | fingerprint |
 * nonce | ciphertext | tag. */
int daap__seal(daap_buf *out, const daap__key *key, const char *plain, const char *aad);
/* Decrypt; DAAP_ECRYPTO with a plain message for a wrong key or tampering. */
int daap__open(daap_buf *out, const daap__key *key, const unsigned char *sealed, size_t len, const char *aad);

/* A random password of `len` characters (and a NUL) from A-Z, a-z and 0-9:
 * the strength and alphabet of CNPG's generated ones (64 characters,
 * reference/cnpg.md 3.1), so no URI ever needs escaping. Drawn from
 * RAND_bytes without modulo bias. */
#define DAAP__PASSWORD_LEN 64
int daap__random_alnum(char *out, size_t len);

/* The hex SHA-256 (64 digits and a NUL) of `count` byte ranges, hashed
 * one after the other. */
#define DAAP__SHA256_HEX_LEN 64
typedef struct {
    const void *data;
    size_t      len;
} daap__bytes;
int daap__sha256_hex(char out[DAAP__SHA256_HEX_LEN + 1], const daap__bytes *parts, size_t count);

#endif
