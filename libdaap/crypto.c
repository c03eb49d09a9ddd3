#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

#define FORMAT_V1  0x01
#define NONCE_LEN  12
#define TAG_LEN    16
#define HEADER_LEN (1 + 4 + NONCE_LEN)

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool decode_hex_key(unsigned char *key, const char *text, size_t len)
{
    size_t i;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    if (len != DAAP__KEY_LEN * 2)
        return false;
    for (i = 0; i < DAAP__KEY_LEN; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static void fingerprint(daap__key *key)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(key->key, DAAP__KEY_LEN, md, &mdlen, EVP_sha256(), NULL);
    memcpy(key->fingerprint, md, sizeof(key->fingerprint));
}

/* A decryption context with the key set; only the nonce changes per call. */
static EVP_CIPHER_CTX *new_opener(const unsigned char *raw)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    if (c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
        && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1
        && EVP_DecryptInit_ex(c, NULL, NULL, raw, NULL) == 1)
        return c;
    EVP_CIPHER_CTX_free(c);
    return NULL; /* out of memory: daap__open sets up per call */
}

int daap__key_load(daap__key *key, const char *path)
{
    char text[DAAP__KEY_LEN * 2 + 8];
    ssize_t n;
    int fd;

    memset(key, 0, sizeof(*key));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CRYPTO,
                              "cannot read secret key file %s: %s", path, strerror(errno));
    n = read(fd, text, sizeof(text));
    close(fd);
    if (n == DAAP__KEY_LEN) {
        memcpy(key->key, text, DAAP__KEY_LEN);
    } else if (n < 0 || !decode_hex_key(key->key, text, (size_t)n)) {
        OPENSSL_cleanse(text, sizeof(text));
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CRYPTO,
                              "secret key file %s must hold 64 hex characters or 32 raw bytes", path);
    }
    OPENSSL_cleanse(text, sizeof(text));
    fingerprint(key);
    key->loaded = true;
    key->opener = new_opener(key->key);
    return 0;
}

void daap__key_wipe(daap__key *key)
{
    EVP_CIPHER_CTX_free(key->opener); /* cleanses the key schedule */
    OPENSSL_cleanse(key, sizeof(*key));
}

int daap__random_alnum(char *out, size_t len)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char pool[64];
    size_t have = 0, used = 0, n = 0;

    DAAP_ASSERT_ARG(out);
    while (n < len) {
        if (used == have) {
            if (RAND_bytes(pool, sizeof(pool)) != 1)
                return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CRYPTO, "no randomness for a password");
            have = sizeof(pool);
            used = 0;
        }
        /* 248 = 4 * 62: larger bytes are dropped, so every character is equally likely */
        if (pool[used] < 248)
            out[n++] = alnum[pool[used] % 62];
        used++;
    }
    out[len] = '\0';
    OPENSSL_cleanse(pool, sizeof(pool));
    return 0;
}

int daap_secret_key_create(const char *path)
{
    unsigned char raw[DAAP__KEY_LEN];
    char hex[DAAP__KEY_LEN * 2 + 2];
    size_t i;
    int fd, rc = 0;

    DAAP_ASSERT_ARG(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS,
                                   "cannot create secret key file %s: %s", path, strerror(errno));
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        rc = daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CRYPTO, "no randomness for a secret key");
    for (i = 0; rc == 0 && i < DAAP__KEY_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[DAAP__KEY_LEN * 2] = '\n';
    if (rc == 0 && write(fd, hex, DAAP__KEY_LEN * 2 + 1) != DAAP__KEY_LEN * 2 + 1)
        rc = daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "cannot write secret key file %s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "cannot write secret key file %s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(path);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(hex, sizeof(hex));
    return rc;
}

/* One GCM pass in either direction; tag is written (encrypt) or checked (decrypt). */
static int gcm(bool encrypt, const daap__key *key, const unsigned char *nonce, const char *aad,
               const unsigned char *in, size_t inlen, unsigned char *out, unsigned char *tag)
{
    bool reuse = !encrypt && key->opener != NULL;
    EVP_CIPHER_CTX *c = reuse ? key->opener : EVP_CIPHER_CTX_new();
    int len = 0, ok;

    if (c == NULL)
        return daap_error_set_oom();
    ok = (reuse ? EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) == 1
                : EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1
                  && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1
                  && EVP_CipherInit_ex(c, NULL, NULL, key->key, nonce, encrypt) == 1)
      && EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1
      && EVP_CipherUpdate(c, out, &len, in, (int)inlen) == 1
      && (encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1)
      && EVP_CipherFinal_ex(c, out + len, &len) == 1
      && (!encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
    if (!reuse)
        EVP_CIPHER_CTX_free(c);
    if (!ok)
        return daap_error_set(DAAP_ECRYPTO, DAAP_ERRCLASS_CRYPTO,
                              "stored credentials failed authentication (tampered, or sealed for another record)");
    return 0;
}

int daap__seal(daap_buf *out, const daap__key *key, const char *plain, const char *aad)
{
    size_t plen = strlen(plain), total = HEADER_LEN + plen + TAG_LEN;
    unsigned char *p;

    if (!key->loaded)
        return daap_error_set(DAAP_EINVALID, DAAP_ERRCLASS_CRYPTO,
                              "no secret key configured (set DAAP_SECRET_KEY_FILE)");
    daap__buf_clear(out);
    DAAP_TRY(daap__buf_grow(out, total));
    p = (unsigned char *)out->ptr;
    p[0] = FORMAT_V1;
    memcpy(p + 1, key->fingerprint, 4);
    if (RAND_bytes(p + 5, NONCE_LEN) != 1)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CRYPTO, "no randomness for a nonce");
    DAAP_TRY(gcm(true, key, p + 5, aad, (const unsigned char *)plain, plen,
                 p + HEADER_LEN, p + HEADER_LEN + plen));
    out->size = total;
    return 0;
}

int daap__open(daap_buf *out, const daap__key *key, const unsigned char *sealed, size_t len, const char *aad)
{
    size_t clen;

    if (!key->loaded)
        return daap_error_set(DAAP_ECRYPTO, DAAP_ERRCLASS_CRYPTO,
                              "stored credentials are encrypted but no secret key is configured (set DAAP_SECRET_KEY_FILE)");
    if (len < HEADER_LEN + TAG_LEN || sealed[0] != FORMAT_V1)
        return daap_error_set(DAAP_ECRYPTO, DAAP_ERRCLASS_CRYPTO, "stored credentials have an unknown format");
    if (memcmp(sealed + 1, key->fingerprint, 4) != 0)
        return daap_error_set(DAAP_ECRYPTO, DAAP_ERRCLASS_CRYPTO,
                              "stored credentials were encrypted with a different secret key than DAAP_SECRET_KEY_FILE holds");
    clen = len - HEADER_LEN - TAG_LEN;
    daap__buf_clear(out);
    DAAP_TRY(daap__buf_grow(out, clen));
    DAAP_TRY(gcm(false, key, sealed + 5, aad, sealed + HEADER_LEN, clen,
                 (unsigned char *)out->ptr, (unsigned char *)sealed + HEADER_LEN + clen));
    out->size = clen;
    out->ptr[clen] = '\0';
    return 0;
}

int daap__sha256_hex(char out[DAAP__SHA256_HEX_LEN + 1], const daap__bytes *parts, size_t count)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
    int ok = md_ctx != NULL && EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL) == 1;
    size_t p;

    for (p = 0; ok && p < count; p++)
        ok = EVP_DigestUpdate(md_ctx, parts[p].data, parts[p].len) == 1;
    ok = ok && EVP_DigestFinal_ex(md_ctx, md, &mdlen) == 1 && mdlen * 2 == DAAP__SHA256_HEX_LEN;
    EVP_MD_CTX_free(md_ctx);
    if (!ok)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_CRYPTO, "SHA-256 is not available");
    for (i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * mdlen] = '\0';
    return 0;
}
