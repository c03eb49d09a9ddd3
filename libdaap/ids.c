#include "ids.h"

#include <pthread.h>
#include <stdio.h>
#include <openssl/rand.h>

/* Within one millisecond the 12-bit rand_a field counts up, so ids made in
 * one process stay in creation order (RFC 9562, method 1), whichever thread
 * makes them: a server's requests run on several. When it runs out, the id
 * takes the next millisecond (method 3: the clock only moves forward), so
 * order holds at any rate. */
static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_ms;
static uint16_t seq;

/* The id's time and its 12-bit counter: the clock, made monotonic. */
static uint16_t next_time_and_count(int64_t *ms, const unsigned char *random)
{
    uint16_t rand_a;

    pthread_mutex_lock(&clock_lock);
    if (*ms < last_ms && last_ms - *ms < 1000)
        *ms = last_ms; /* earlier ids borrowed ahead, or the clock stepped back a little */
    if (*ms == last_ms && seq == 0x0fff)
        *ms = last_ms + 1;
    if (*ms == last_ms) {
        rand_a = ++seq;
    } else {
        seq = (uint16_t)((random[0] << 4 | random[1] >> 4) & 0x07ff); /* leave room to count up */
        rand_a = seq;
        last_ms = *ms;
    }
    pthread_mutex_unlock(&clock_lock);
    return rand_a;
}

static void format_uuid(char out[DAAP__UUID_STRLEN + 1], const unsigned char b[16])
{
    snprintf(out, DAAP__UUID_STRLEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
             b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int daap__uuid7(char out[DAAP__UUID_STRLEN + 1], int64_t ms)
{
    unsigned char b[16];
    uint16_t rand_a;

    if (RAND_bytes(b, sizeof(b)) != 1)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "no randomness for a UUID");
    rand_a = next_time_and_count(&ms, b + 6);
    b[0] = (unsigned char)(ms >> 40); b[1] = (unsigned char)(ms >> 32);
    b[2] = (unsigned char)(ms >> 24); b[3] = (unsigned char)(ms >> 16);
    b[4] = (unsigned char)(ms >> 8);  b[5] = (unsigned char)ms;
    b[6] = (unsigned char)(0x70 | ((rand_a >> 8) & 0x0f));
    b[7] = (unsigned char)(rand_a & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format_uuid(out, b);
    return 0;
}

int daap__uuid4(char out[DAAP__UUID_STRLEN + 1])
{
    unsigned char b[16];

    if (RAND_bytes(b, sizeof(b)) != 1)
        return daap_error_set(DAAP_ERROR, DAAP_ERRCLASS_OS, "no randomness for a UUID");
    b[6] = (unsigned char)(0x40 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format_uuid(out, b);
    return 0;
}

bool daap__uuid_valid(const char *s)
{
    size_t i;
    if (s == NULL || strlen(s) != DAAP__UUID_STRLEN)
        return false;
    for (i = 0; i < DAAP__UUID_STRLEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}
