/* Frame parser: plain bytes in, one bma_pkt_t out.
 *
 * No DPDK header here: the parser must run and be tested without EAL. Every read is checked
 * against `len` (the contiguous first segment); every length found in a header is checked
 * against `pkt_len` (the whole frame) or against the IP length that bounds it. A header that is
 * inside the frame but not inside the first segment ends the parse without a malformed reason:
 * the frame is fine, we just cannot see that far without walking segments.
 *
 * The descriptor is only ever written. What later layers and the hash read back (the flow key
 * and the flags) lives in a small local struct stored at the end: loading a field just stored
 * to the caller's buffer would wait on store forwarding.
 */
#include <stdint.h>
#include <string.h>

#include "bma_packet.h"

#define ETH_HLEN 14
#define ETH_ALEN 6

#define ETYPE_IPV4 0x0800
#define ETYPE_ARP 0x0806
#define ETYPE_IPV6 0x86dd
#define ETYPE_MIN 0x0600 /* below: an 802.3 length field, not an ethertype */
#define ETYPE_EAPOL 0x888e
#define ETYPE_LLDP 0x88cc

#define PROTO_ICMP 1
#define PROTO_IGMP 2
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define PROTO_NONE 59 /* IPv6 "no next header" */

#define V4MAPPED 0x0000ffff00000000ULL

/* IPv6 extension headers walked: hop-by-hop 0, routing 43, fragment 44, AH 51, dest-opts 60. */
#define IPV6_EXT_MASK ((1ULL << 0) | (1ULL << 43) | (1ULL << 44) | (1ULL << 51) | (1ULL << 60))

#define VLAN_MAX 2

#define HOT static inline __attribute__((always_inline))

/* The flow key and flags, kept in registers until the end of the parse. */
typedef struct {
    uint64_t src_hi, src_lo, dst_hi, dst_lo;
    uint16_t src_port, dst_port;
    uint16_t flags;
    uint8_t proto;
    uint8_t ip; /* the addresses came from an IP header: hash them rather than the MACs */
    uint8_t hk; /* BMA_HK_* */
} flow_t;

/* Big-endian loads. memcpy of a constant 4/8 bytes compiles to one unaligned load. */
HOT uint16_t be16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap16(v);
#endif
    return v;
}

HOT uint32_t be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

HOT uint64_t be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

HOT int is_vlan_tpid(uint16_t t)
{
    return t == 0x8100 || t == 0x88a8 || t == 0x9100;
}

HOT int is_ipv6_ext(uint8_t nh)
{
    return nh < 64 && ((IPV6_EXT_MASK >> nh) & 1);
}

/* Whether data[0..need) can be read. When it cannot, records `why` if the bytes are missing
 * from the packet itself (need > limit), and nothing if they merely sit in a later segment. */
HOT int have(uint32_t need, uint32_t limit, uint32_t len, unsigned why, bma_pkt_t *out)
{
    if (need > limit) {
        out->malformed = (uint8_t)why;
        return 0;
    }
    return need <= len;
}

/* Bit (port & 63) of every housekeeping port below: most ports fail this one test. */
#define HK_PORT_BITS ((1ULL << (67 & 63)) | (1ULL << (68 & 63)) | (1ULL << (546 & 63)) | \
                      (1ULL << (547 & 63)) | (1ULL << (1900 & 63)) | (1ULL << (5353 & 63)) | \
                      (1ULL << (5355 & 63)))

/* Housekeeping by one UDP port: the bit filter, then a switch (a compare tree). */
HOT uint8_t port_housekeeping(uint16_t port)
{
    if (__builtin_expect(!((HK_PORT_BITS >> (port & 63)) & 1), 1))
        return BMA_HK_NONE;
    switch (port) {
    case 67: case 68: case 546: case 547:
        return BMA_HK_DHCP;
    case 1900: case 5353: case 5355:
        return BMA_HK_DISCOVERY;
    default:
        return BMA_HK_NONE;
    }
}

/* Housekeeping by UDP port (either side: requests and answers); DHCP wins over discovery. */
HOT uint8_t udp_housekeeping(uint16_t sp, uint16_t dp)
{
    uint8_t a = port_housekeeping(sp), b = port_housekeeping(dp);
    if (a == BMA_HK_DHCP || b == BMA_HK_DHCP)
        return BMA_HK_DHCP;
    return a | b; /* NONE (0) or DISCOVERY */
}

/* Multicast and broadcast flags of a destination MAC (the group bit is the first byte's low bit). */
HOT uint16_t group_flags(uint8_t first_byte, uint64_t dst_mac)
{
    if (__builtin_expect(!(first_byte & 1), 1))
        return 0;
    return dst_mac == 0xffffffffffffULL ? BMA_PF_MULTICAST | BMA_PF_BROADCAST : BMA_PF_MULTICAST;
}

/* Housekeeping by ICMP (v4 or v6) type. Other types (redirects, timestamps, ...) are not. */
HOT uint8_t icmp_housekeeping(int v6, uint8_t type)
{
    if (!v6)
        return type == 0 || type == 8 || type == 3 || type == 11 ? BMA_HK_ICMP : BMA_HK_NONE;
    if (type >= 1 && type <= 3)
        return BMA_HK_ICMP; /* unreachable, packet too big, time exceeded */
    if (type == 128 || type == 129)
        return BMA_HK_ICMP;
    if (type >= 133 && type <= 137)
        return BMA_HK_NDP;
    if (type == 130 || type == 131 || type == 132 || type == 143)
        return BMA_HK_GROUP; /* MLD */
    return BMA_HK_NONE;
}

/* The upper layer at `off`. Headers must lie before `ip_end` (the end of the IP packet, or of
 * the frame when the capture cut it); lengths are checked against `claimed_end`, where the IP
 * header says the packet ends (the same unless the frame is cut short). */
HOT void parse_l4(const uint8_t *data, uint32_t len, uint32_t off, uint32_t ip_end,
                  uint32_t claimed_end, uint8_t icmp_proto, flow_t *f, bma_pkt_t *out)
{
    if (f->proto == PROTO_NONE)
        return;
    out->l4_off = (uint16_t)off;

    if (f->proto == PROTO_TCP) {
        if (!have(off + 20, ip_end, len, BMA_MAL_TCP_TRUNCATED, out))
            return;
        const uint8_t *t = data + off;
        uint32_t hl = (uint32_t)(t[12] >> 4) * 4;
        if (hl < 20) {
            out->malformed = BMA_MAL_TCP_OFFSET;
            return;
        }
        if (off + hl > claimed_end) {
            out->malformed = BMA_MAL_TCP_OFFSET_LONG;
            return;
        }
        f->src_port = be16(t);
        f->dst_port = be16(t + 2);
        f->flags |= BMA_PF_L4;
        out->tcp_flags = t[13];
        out->l4_payload = (uint16_t)(claimed_end - off - hl);
        /* DNS over TCP: bma_dns_frame reads a segment that holds one whole message. */
        if (f->src_port == 53 && out->l4_payload > 2 && !(f->flags & BMA_PF_FRAGMENT))
            f->flags |= BMA_PF_DNS_RESPONSE;
        return;
    }

    if (f->proto == PROTO_UDP) {
        if (!have(off + 8, ip_end, len, BMA_MAL_UDP_TRUNCATED, out))
            return;
        const uint8_t *u = data + off;
        uint32_t ulen = be16(u + 4);
        /* A first fragment carries only part of the datagram the UDP length describes. */
        if (ulen < 8 || (!(f->flags & BMA_PF_FRAGMENT) && off + ulen > claimed_end)) {
            out->malformed = BMA_MAL_UDP_LENGTH;
            return;
        }
        f->src_port = be16(u);
        f->dst_port = be16(u + 2);
        f->flags |= BMA_PF_L4;
        f->hk = udp_housekeeping(f->src_port, f->dst_port);
        if (f->src_port == 53 && !(f->flags & BMA_PF_FRAGMENT))
            f->flags |= BMA_PF_DNS_RESPONSE;
        out->l4_payload = (uint16_t)(claimed_end - off - 8);
        return;
    }

    if (f->proto == icmp_proto) {
        if (!have(off + 4, ip_end, len, BMA_MAL_ICMP_TRUNCATED, out))
            return;
        f->flags |= BMA_PF_L4;
        f->hk = icmp_housekeeping(icmp_proto == PROTO_ICMPV6, data[off]);
        out->icmp_type = data[off];
        out->icmp_code = data[off + 1];
        out->l4_payload = (uint16_t)(claimed_end - off - 4);
        return;
    }

    /* Another protocol: its header length is unknown, count everything after the IP header. */
    if (f->proto == PROTO_IGMP && icmp_proto == PROTO_ICMP)
        f->hk = BMA_HK_GROUP;
    out->l4_payload = (uint16_t)(claimed_end - off);
}

HOT void parse_ipv4(const uint8_t *data, uint32_t len, uint32_t pkt_len, uint32_t off,
                    flow_t *f, bma_pkt_t *out)
{
    if (!have(off + 20, pkt_len, len, BMA_MAL_IPV4_TRUNCATED, out))
        return;
    const uint8_t *ip = data + off;
    if ((ip[0] >> 4) != 4) {
        out->malformed = BMA_MAL_IPV4_VERSION;
        return;
    }
    uint32_t hl = (uint32_t)(ip[0] & 0x0f) * 4;
    if (hl < 20) {
        out->malformed = BMA_MAL_IPV4_IHL;
        return;
    }
    /* Options are never read, so they only need to be inside the frame, not the segment. */
    if (off + hl > pkt_len) {
        out->malformed = BMA_MAL_IPV4_OPTIONS;
        return;
    }
    uint32_t total = be16(ip + 2);
    if (total < hl) {
        out->malformed = BMA_MAL_IPV4_TOTAL_SHORT;
        return;
    }
    /* Shorter than the frame is Ethernet padding; longer means bytes are missing: a cut frame
     * (a capture's snaplen) is counted as malformed, and the headers that are there still
     * describe the packet, its true length included. */
    uint32_t ip_end = off + total;
    if (ip_end > pkt_len) {
        out->malformed = BMA_MAL_IPV4_TOTAL_LONG;
        ip_end = pkt_len;
    }

    f->ip = 1;
    f->proto = ip[9];
    f->src_lo = V4MAPPED | be32(ip + 12);
    f->dst_lo = V4MAPPED | be32(ip + 16);
    out->ip_len = (uint16_t)total;
    out->ttl = ip[8];
    if (hl > 20)
        f->flags |= BMA_PF_IP_OPTIONS;

    uint16_t frag = be16(ip + 6);
    if (frag & 0x3fff) { /* MF or a non-zero offset; DF alone is not a fragment */
        f->flags |= BMA_PF_FRAGMENT;
        if (frag & 0x1fff) {
            f->flags |= BMA_PF_LATER_FRAGMENT;
            return;
        }
    }
    uint8_t why = out->malformed;
    parse_l4(data, len, off + hl, ip_end, off + total, PROTO_ICMP, f, out);
    if (why)
        out->malformed = why; /* the first reason stands */
}

HOT void parse_ipv6(const uint8_t *data, uint32_t len, uint32_t pkt_len, uint32_t off,
                    flow_t *f, bma_pkt_t *out)
{
    if (!have(off + 40, pkt_len, len, BMA_MAL_IPV6_TRUNCATED, out))
        return;
    const uint8_t *ip = data + off;
    if ((ip[0] >> 4) != 6) {
        out->malformed = BMA_MAL_IPV6_VERSION;
        return;
    }
    uint32_t plen = be16(ip + 4);
    uint32_t claimed = off + 40 + plen;
    uint32_t end = claimed;
    if (end > pkt_len) { /* cut short: counted, and parsed as far as the bytes go */
        out->malformed = BMA_MAL_IPV6_PAYLOAD_LONG;
        end = pkt_len;
    }
    const uint8_t why = out->malformed;

    f->ip = 1;
    f->src_hi = be64(ip + 8);
    f->src_lo = be64(ip + 16);
    f->dst_hi = be64(ip + 24);
    f->dst_lo = be64(ip + 32);
    /* 40 + 65535 does not fit the field; only an LRO aggregate could be that long. */
    out->ip_len = (uint16_t)(plen > 0xffff - 40 ? 0xffff : 40 + plen);
    out->ttl = ip[7];

    uint8_t nh = ip[6];
    uint32_t p = off + 40;
    for (unsigned n = 0; is_ipv6_ext(nh); n++) {
        if (n == BMA_IPV6_MAX_EXT) {
            out->malformed = BMA_MAL_IPV6_EXT_DEPTH;
            goto stop;
        }
        f->flags |= BMA_PF_IP_OPTIONS;
        /* Every extension header is at least 8 bytes, which covers the fields read below. */
        if (!have(p + 8, end, len, BMA_MAL_IPV6_EXT_TRUNCATED, out))
            goto stop;
        const uint8_t *x = data + p;
        uint32_t xl;
        if (nh == 44) {
            xl = 8;
            uint16_t fo = be16(x + 2);
            if (fo & 0xfff9) { /* offset (bits 15..3) or M (bit 0) */
                f->flags |= BMA_PF_FRAGMENT;
                if (fo & 0xfff8) {
                    f->flags |= BMA_PF_LATER_FRAGMENT;
                    f->proto = x[0];
                    goto stop;
                }
            }
        } else if (nh == 51) {
            xl = ((uint32_t)x[1] + 2) * 4;
        } else {
            xl = ((uint32_t)x[1] + 1) * 8;
        }
        if (p + xl > end) {
            out->malformed = BMA_MAL_IPV6_EXT_TRUNCATED;
            goto stop;
        }
        nh = x[0];
        p += xl;
    }
    f->proto = nh;
    parse_l4(data, len, p, end, claimed, PROTO_ICMPV6, f, out);
stop:
    if (why)
        out->malformed = why; /* a cut frame: the first reason stands */
}

HOT void parse_arp(const uint8_t *data, uint32_t len, uint32_t pkt_len, uint32_t off,
                   flow_t *f, bma_pkt_t *out)
{
    if (!have(off + 28, pkt_len, len, BMA_MAL_ARP_TRUNCATED, out))
        return;
    const uint8_t *a = data + off;
    out->arp_op = be16(a + 6);
    /* Addresses only for IPv4 over a 6-byte hardware address; other layouts differ. */
    if (be16(a + 2) == ETYPE_IPV4 && a[4] == ETH_ALEN && a[5] == 4) {
        f->src_lo = V4MAPPED | be32(a + 14);
        f->dst_lo = V4MAPPED | be32(a + 24);
    }
}

/* The protocol class of a parsed frame (BMA_CLASS_*). */
HOT uint8_t proto_class(uint8_t l3, uint8_t proto)
{
    if (l3 == BMA_L3_ARP)
        return BMA_CLASS_ARP;
    if (l3 != BMA_L3_IPV4 && l3 != BMA_L3_IPV6)
        return BMA_CLASS_OTHER;
    switch (proto) {
    case PROTO_TCP: return BMA_CLASS_TCP;
    case PROTO_UDP: return BMA_CLASS_UDP;
    case PROTO_ICMP: case PROTO_ICMPV6: return BMA_CLASS_ICMP;
    default: return BMA_CLASS_OTHER;
    }
}

/* Multiply-xorshift finaliser: every input bit reaches every output bit. */
HOT uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    return x;
}

/* Order-independent combination of two endpoint keys: sort, then mix. Never 0. */
HOT uint32_t sym_hash(uint64_t a, uint64_t b, uint64_t salt)
{
    uint64_t lo = a < b ? a : b;
    uint64_t hi = a < b ? b : a;
    uint64_t h = mix64((lo ^ salt) + hi * 0xa0761d6478bd642fULL);
    uint32_t r = (uint32_t)(h ^ (h >> 32));
    return r + (r == 0);
}

/* One endpoint as a 64-bit key; the final mix does the avalanche. A v4-mapped address uses the
 * low 48 bits, so the port in bits 48..63 keeps (address, port) exact before the multiplies. */
HOT uint64_t endpoint(uint64_t hi, uint64_t lo, uint16_t port)
{
    return ((lo ^ ((uint64_t)port << 48)) * 0xe7037ed1a0b428dbULL) ^ (hi * 0x8ebc6af09c88c6e3ULL);
}

HOT uint32_t flow_hash(const flow_t *f, uint64_t src_mac, uint64_t dst_mac)
{
    if (!f->ip)
        return sym_hash(src_mac, dst_mac, 0);
    /* Ports only when every packet of the flow has them: fragments of one datagram must land
     * together, and only the first carries the ports. */
    uint16_t sp = f->src_port, dp = f->dst_port;
    if (f->flags & BMA_PF_FRAGMENT)
        sp = dp = 0;
    return sym_hash(endpoint(f->src_hi, f->src_lo, sp), endpoint(f->dst_hi, f->dst_lo, dp),
                    ((uint64_t)f->proto + 1) << 56);
}

uint32_t bma_flow_hash_tuple(uint64_t src_hi, uint64_t src_lo, uint64_t dst_hi, uint64_t dst_lo,
                             uint8_t proto, uint16_t src_port, uint16_t dst_port)
{
    flow_t f = {src_hi, src_lo, dst_hi, dst_lo, src_port, dst_port, 0, proto, 1};
    return flow_hash(&f, 0, 0);
}

/* The common frame in one pass: untagged Ethernet, IPv4 without options, not a fragment, TCP
 * or UDP, every header inside the first segment and every length consistent. Fills `out`
 * exactly as the general parser does (a test and the fuzz target hold them equal) and returns
 * 1; returns 0, having written nothing, for any other frame. */
HOT int parse_common(const uint8_t *data, uint32_t len, uint32_t pkt_len, bma_pkt_t *out)
{
    if (len < ETH_HLEN + 20 + 8 || pkt_len < len)
        return 0;
    const uint8_t *ip = data + ETH_HLEN;
    /* Type 0x0800 and version/IHL 0x45 in one compare of bytes 12..14. */
    if ((be32(data + 12) >> 8) != 0x080045)
        return 0;
    uint32_t total = be16(ip + 2);
    uint32_t ip_end = ETH_HLEN + total;
    uint8_t proto = ip[9];
    if (ip_end > pkt_len || (be16(ip + 6) & 0x3fff))
        return 0;
    const uint8_t *l4 = ip + 20;
    uint32_t off = ETH_HLEN + 20, hl;
    uint8_t tcp_flags = 0, hk = 0;
    uint16_t flags = BMA_PF_L4;
    if (proto == PROTO_UDP) {
        uint32_t ulen = be16(l4 + 4);
        if (ip_end < off + 8 || ulen < 8 || off + ulen > ip_end)
            return 0;
        hl = 8;
    } else if (proto == PROTO_TCP) {
        if (ip_end < off + 20 || len < off + 20)
            return 0;
        hl = (uint32_t)(l4[12] >> 4) * 4;
        if (hl < 20 || off + hl > ip_end)
            return 0;
        tcp_flags = l4[13];
    } else {
        return 0;
    }

    flow_t f = {0};
    f.ip = 1;
    f.proto = proto;
    f.src_lo = V4MAPPED | be32(ip + 12);
    f.dst_lo = V4MAPPED | be32(ip + 16);
    f.src_port = be16(l4);
    f.dst_port = be16(l4 + 2);
    if (proto == PROTO_UDP) {
        hk = udp_housekeeping(f.src_port, f.dst_port);
        if (f.src_port == 53)
            flags |= BMA_PF_DNS_RESPONSE;
    } else if (f.src_port == 53 && ip_end - off - hl > 2) {
        flags |= BMA_PF_DNS_RESPONSE; /* DNS over TCP, as the general parser marks it */
    }
    uint64_t dst_mac = be64(data) >> 16;
    uint64_t src_mac = be64(data + ETH_ALEN) >> 16;
    flags |= group_flags(data[0], dst_mac);
    if (len < pkt_len)
        flags |= BMA_PF_MULTISEG;
    f.flags = flags;

    memset(out, 0, sizeof(*out));
    out->src_mac = src_mac;
    out->dst_mac = dst_mac;
    out->src_ip_lo = f.src_lo;
    out->dst_ip_lo = f.dst_lo;
    out->flow_hash = flow_hash(&f, src_mac, dst_mac);
    out->pkt_len = pkt_len;
    out->ethertype = ETYPE_IPV4;
    out->l3_off = ETH_HLEN;
    out->l4_off = (uint16_t)off;
    out->l4_payload = (uint16_t)(ip_end - off - hl);
    out->ip_len = (uint16_t)total;
    out->src_port = f.src_port;
    out->dst_port = f.dst_port;
    out->flags = flags;
    out->l3 = BMA_L3_IPV4;
    out->ip_proto = proto;
    out->tcp_flags = tcp_flags;
    out->ttl = ip[8];
    out->housekeeping = hk;
    out->proto_class = proto == PROTO_TCP ? BMA_CLASS_TCP : BMA_CLASS_UDP;
    return 1;
}

void bma_parse(const uint8_t *data, uint32_t len, uint32_t pkt_len, bma_pkt_t *out)
{
    if (__builtin_expect(parse_common(data, len, pkt_len, out), 1))
        return;
    bma_parse_general(data, len, pkt_len, out);
}

void bma_parse_general(const uint8_t *data, uint32_t len, uint32_t pkt_len, bma_pkt_t *out)
{
    /* Constant-size clear: a few vector stores, no call. Fields below are stored once each. */
    memset(out, 0, sizeof(*out));
    flow_t f = {0};
    uint64_t dst_mac = 0, src_mac = 0;

    if (pkt_len < len) /* the contract says pkt_len >= len; be safe if a caller slips */
        pkt_len = len;
    out->pkt_len = pkt_len;
    if (len < pkt_len)
        f.flags = BMA_PF_MULTISEG;
    if (!have(ETH_HLEN, pkt_len, len, BMA_MAL_RUNT, out))
        goto done;

    /* Both 8-byte loads stay inside the 14-byte header. */
    dst_mac = be64(data) >> 16;
    src_mac = be64(data + ETH_ALEN) >> 16;
    out->dst_mac = dst_mac;
    out->src_mac = src_mac;
    f.flags |= group_flags(data[0], dst_mac);

    uint32_t off = 12; /* the current type field */
    uint16_t type = be16(data + off);
    if (__builtin_expect(is_vlan_tpid(type), 0)) {
        for (unsigned i = 0; is_vlan_tpid(type); i++) {
            if (i == VLAN_MAX) {
                out->malformed = BMA_MAL_VLAN_DEPTH;
                break;
            }
            /* TPID, TCI, then the next type field. */
            if (!have(off + 6, pkt_len, len, BMA_MAL_VLAN_TRUNCATED, out))
                break;
            out->vlan_tci[i] = be16(data + off + 2);
            out->vlan_count = (uint8_t)(i + 1);
            off += 4;
            type = be16(data + off);
        }
        if (is_vlan_tpid(type)) { /* stopped inside the tags */
            out->ethertype = type;
            goto done;
        }
    }
    out->ethertype = type;
    off += 2;
    out->l3_off = (uint16_t)off;

    switch (type) {
    case ETYPE_IPV4:
        out->l3 = BMA_L3_IPV4;
        parse_ipv4(data, len, pkt_len, off, &f, out);
        break;
    case ETYPE_IPV6:
        out->l3 = BMA_L3_IPV6;
        parse_ipv6(data, len, pkt_len, off, &f, out);
        break;
    case ETYPE_ARP:
        out->l3 = BMA_L3_ARP;
        f.hk = BMA_HK_ARP;
        parse_arp(data, len, pkt_len, off, &f, out);
        break;
    default:
        out->l3 = type >= ETYPE_MIN ? BMA_L3_OTHER : BMA_L3_NONE;
        /* 802.3 frames with a length field carry LLC: STP and the like. */
        if (type == ETYPE_EAPOL)
            f.hk = BMA_HK_EAPOL;
        else if (type == ETYPE_LLDP || type < ETYPE_MIN)
            f.hk = BMA_HK_L2;
        break;
    }

done:
    out->src_ip_hi = f.src_hi;
    out->src_ip_lo = f.src_lo;
    out->dst_ip_hi = f.dst_hi;
    out->dst_ip_lo = f.dst_lo;
    out->src_port = f.src_port;
    out->dst_port = f.dst_port;
    out->ip_proto = f.proto;
    out->flags = f.flags;
    out->housekeeping = f.hk;
    out->proto_class = proto_class(out->l3, f.proto);
    out->flow_hash = flow_hash(&f, src_mac, dst_mac);
}

const char *bma_housekeeping_name(unsigned hk)
{
    static const char *const names[BMA_HK_COUNT] = {
        [BMA_HK_NONE] = "none",   [BMA_HK_ARP] = "arp",     [BMA_HK_DHCP] = "dhcp",
        [BMA_HK_NDP] = "ndp",     [BMA_HK_ICMP] = "icmp",   [BMA_HK_GROUP] = "igmp-mld",
        [BMA_HK_EAPOL] = "eapol", [BMA_HK_L2] = "l2-control", [BMA_HK_DISCOVERY] = "discovery",
    };
    return hk < BMA_HK_COUNT ? names[hk] : "unknown";
}

const char *bma_malformed_name(unsigned reason)
{
    static const char *const names[BMA_MAL_COUNT] = {
        [BMA_MAL_NONE] = "none",
        [BMA_MAL_RUNT] = "runt",
        [BMA_MAL_VLAN_TRUNCATED] = "vlan-truncated",
        [BMA_MAL_VLAN_DEPTH] = "vlan-depth",
        [BMA_MAL_ARP_TRUNCATED] = "arp-truncated",
        [BMA_MAL_IPV4_TRUNCATED] = "ipv4-truncated",
        [BMA_MAL_IPV4_VERSION] = "ipv4-version",
        [BMA_MAL_IPV4_IHL] = "ipv4-ihl",
        [BMA_MAL_IPV4_OPTIONS] = "ipv4-options",
        [BMA_MAL_IPV4_TOTAL_SHORT] = "ipv4-total-short",
        [BMA_MAL_IPV4_TOTAL_LONG] = "ipv4-total-long",
        [BMA_MAL_IPV6_TRUNCATED] = "ipv6-truncated",
        [BMA_MAL_IPV6_VERSION] = "ipv6-version",
        [BMA_MAL_IPV6_PAYLOAD_LONG] = "ipv6-payload-long",
        [BMA_MAL_IPV6_EXT_TRUNCATED] = "ipv6-ext-truncated",
        [BMA_MAL_IPV6_EXT_DEPTH] = "ipv6-ext-depth",
        [BMA_MAL_TCP_TRUNCATED] = "tcp-truncated",
        [BMA_MAL_TCP_OFFSET] = "tcp-offset",
        [BMA_MAL_TCP_OFFSET_LONG] = "tcp-offset-long",
        [BMA_MAL_UDP_TRUNCATED] = "udp-truncated",
        [BMA_MAL_UDP_LENGTH] = "udp-length",
        [BMA_MAL_ICMP_TRUNCATED] = "icmp-truncated",
    };
    if (reason >= BMA_MAL_COUNT || names[reason] == NULL)
        return "unknown";
    return names[reason];
}
