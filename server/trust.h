/* Which peers may tell daap a caller's team: a list of addresses and
 * networks (IPv4 and IPv6, CIDR), e.g. an authenticating proxy's. */
#ifndef DAAP_SERVER_TRUST_H
#define DAAP_SERVER_TRUST_H

#include <stdbool.h>
#include <sys/socket.h>

#define TRUSTED_NETS_MAX 32

typedef struct {
    int           family;   /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network byte order; 4 bytes for AF_INET */
    int           prefix;   /* leading bits that must match */
} net_prefix;

typedef struct {
    net_prefix nets[TRUSTED_NETS_MAX];
    int        count;       /* 0: the list is empty */
} net_list;

/* Parse "ADDR[/BITS],..." (spaces around items allowed; an empty text gives
 * an empty list). 0, or -1 when an item is not an address, a prefix is out
 * of range, or there are more than TRUSTED_NETS_MAX items. */
int  net_list_parse(net_list *out, const char *text);
/* True when sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * its IPv4 address) is in one of the list's networks. */
bool net_list_contains(const net_list *list, const struct sockaddr *sa);

#endif
