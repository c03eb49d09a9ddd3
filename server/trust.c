/* Address lists (trust.h). */
#include "trust.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static int parse_prefix(const char *text, int max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno || v < 0 || v > max)
        return -1;
    return (int)v;
}

/* One "ADDR" or "ADDR/BITS", already trimmed. */
static int parse_one(net_prefix *out, char *item)
{
    char *slash = strchr(item, '/');
    int max;

    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, item, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, item, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -1;
    max = out->family == AF_INET ? 32 : 128;
    out->prefix = slash ? parse_prefix(slash + 1, max) : max;
    return out->prefix < 0 ? -1 : 0;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

int net_list_parse(net_list *out, const char *text)
{
    char *copy = strdup(text ? text : ""), *save = NULL, *item;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (copy == NULL)
        return -1;
    for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        item = trim(item);
        if (*item == '\0')
            continue;
        if (out->count == TRUSTED_NETS_MAX || parse_one(&out->nets[out->count], item) < 0)
            rc = -1;
        else
            out->count++;
    }
    free(copy);
    return rc;
}

static bool prefix_matches(const unsigned char *a, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    return rest == 0 || ((a[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* The peer's family and address bytes; an IPv4-mapped IPv6 peer is IPv4. */
static int peer_bytes(const struct sockaddr *sa, unsigned char *out)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (sa && sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const unsigned char *a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
            memcpy(out, a6 + 12, 4);
            return AF_INET;
        }
        memcpy(out, a6, 16);
        return AF_INET6;
    }
    return 0;
}

bool net_list_contains(const net_list *list, const struct sockaddr *sa)
{
    unsigned char peer[16];
    int family = peer_bytes(sa, peer), i;

    for (i = 0; family && i < list->count; i++)
        if (list->nets[i].family == family && prefix_matches(peer, list->nets[i].addr, list->nets[i].prefix))
            return true;
    return false;
}
