/* Encapsulation headers for mirror copies: VXLAN, Geneve with the BMA metadata option, and
 * ERSPAN type II. Plain bytes only: no DPDK header, usable without EAL (unit tests, tools).
 *
 * Every outer frame is Ethernet + IPv4 (no options, DF set, id 0) toward one collector. The
 * collector is collectors[flow_hash % n_collectors]: the flow hash is symmetric, so both
 * directions of a flow reach the same analyzer node. The UDP source port is
 * 0xC000 | ((flow_hash ^ flow_hash >> 16) & 0x3FFF), in 49152..65535; the UDP checksum is 0.
 *
 * Layouts (offsets from the start of the outer frame):
 *
 *   VXLAN (50 bytes)   0 Ethernet | 14 IPv4 proto 17 | 34 UDP -> 4789 | 42 VXLAN
 *   Geneve (78 bytes)  0 Ethernet | 14 IPv4 proto 17 | 34 UDP -> 6081 | 42 Geneve base (8)
 *                      | 50 option header (4) | 54 option data (24)
 *   ERSPAN II (50)     0 Ethernet | 14 IPv4 proto 47 | 34 GRE with sequence (8) | 42 ERSPAN II (8)
 *
 * The BMA Geneve option (class BMA_GENEVE_OPT_CLASS, type BMA_GENEVE_OPT_TYPE, 6 words), data
 * big-endian:
 *
 *    0 version (1)   1 flags (1)   2 policy id (2)   4 reasons (4)   8 score x 1000 (4)
 *   12 original frame length (4)   16 timestamp, ns (8)
 *
 * With encap->auth_key_id set, a Geneve header is 102 bytes: the authentication option follows
 * (type BMA_GENEVE_AUTH_OPT_TYPE, 5 words; layout in bma_auth.h) with the key id written and the
 * stream, sequence and MAC left zero for bma_auth_seal, which needs the copied frame.
 *
 * flags is the low byte of meta->flags, with BMA_MF_TRUNCATED added whenever the copy is shorter
 * than the original (inner_len < orig_len); the ERSPAN T bit follows the same flag.
 *
 * The ERSPAN/GRE sequence number is the packet time in microseconds, low 32 bits. The signature
 * carries no counter and this file stays pure (no hidden state): the same packet at the same
 * time always gets the same bytes, so replaying a capture reproduces the mirror output. The
 * number follows the worker's packet times (it wraps after about 71 minutes); two copies in the
 * same microsecond share it. Wireshark displays it; Suricata and Zeek do not use it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bma_auth.h"
#include "bma_mirror.h"

/* The largest outer IPv4 datagram (its total length field is 16 bits). Whether the mirror path
 * carries it is the network's MTU: bmad checks the mirror port's at startup. */
#define BMA_ENCAP_MAX_IP 65535u

#define ETH_LEN 14u
#define IPV4_LEN 20u
#define UDP_LEN 8u
#define VXLAN_LEN 8u
#define GENEVE_BASE_LEN 8u
#define GENEVE_OPT_HDR_LEN 4u
#define GENEVE_OPT_DATA_LEN 24u
#define GRE_SEQ_LEN 8u
#define ERSPAN2_LEN 8u

#define OUTER_UDP_LEN (ETH_LEN + IPV4_LEN + UDP_LEN)
#define VXLAN_HDR_LEN (OUTER_UDP_LEN + VXLAN_LEN)
#define GENEVE_HDR_LEN (OUTER_UDP_LEN + GENEVE_BASE_LEN + GENEVE_OPT_HDR_LEN + GENEVE_OPT_DATA_LEN)
#define ERSPAN2_HDR_LEN (ETH_LEN + IPV4_LEN + GRE_SEQ_LEN + ERSPAN2_LEN)
#define GENEVE_AUTH_LEN (GENEVE_OPT_HDR_LEN + BMA_GENEVE_AUTH_DATA_LEN)

_Static_assert(VXLAN_HDR_LEN == 50, "VXLAN header length");
_Static_assert(GENEVE_HDR_LEN == 78, "Geneve header length");
_Static_assert(ERSPAN2_HDR_LEN == 50, "ERSPAN II header length");
_Static_assert(BMA_GENEVE_AUTH_DATA_LEN % 4 == 0, "the authentication option is whole words");
_Static_assert(GENEVE_OPT_DATA_LEN % 4 == 0 && GENEVE_OPT_DATA_LEN / 4 <= 31,
               "Geneve option data is a whole number of words, at most 31");

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_TEB 0x6558u    /* Transparent Ethernet Bridging */
#define ETHERTYPE_ERSPAN2 0x88BEu
#define IPPROTO_UDP_ 17u
#define IPPROTO_GRE_ 47u
#define PORT_VXLAN 4789u
#define PORT_GENEVE 6081u
#define IPV4_DF 0x4000u
#define DEFAULT_TTL 64u
#define GRE_FLAG_S 0x1000u
#define VXLAN_FLAG_I 0x08u
#define ERSPAN2_VERSION 1u

/* Big-endian stores: memcpy of a byte-swapped value compiles to one store each. */
static inline void put8(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; }

static inline void put16(uint8_t *p, uint32_t v)
{
    uint16_t x = __builtin_bswap16((uint16_t)v);
    memcpy(p, &x, sizeof(x));
}

static inline void put32(uint8_t *p, uint32_t v)
{
    uint32_t x = __builtin_bswap32(v);
    memcpy(p, &x, sizeof(x));
}

static inline void put64(uint8_t *p, uint64_t v)
{
    uint64_t x = __builtin_bswap64(v);
    memcpy(p, &x, sizeof(x));
}

/* Six bytes: the low 48 bits of v. */
static inline void put48(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 16));
    put16(p + 4, (uint32_t)v);
}

/* The IPv4 header checksum over 20 bytes whose checksum field is zero. The one's complement sum
 * does not depend on byte order (RFC 1071), so it adds the header as five native 32-bit words
 * and the result is stored as it comes out, without a swap. */
static void put_ipv4_checksum(uint8_t *h)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < IPV4_LEN; i += 4) {
        uint32_t w;
        memcpy(&w, h + i, sizeof(w));
        sum += w;
    }
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    uint32_t s32 = (uint32_t)sum;
    s32 = (s32 & 0xffffu) + (s32 >> 16);
    s32 = (s32 & 0xffffu) + (s32 >> 16);
    uint16_t c = (uint16_t)~s32;
    memcpy(h + 10, &c, sizeof(c));
}

/* An ephemeral source port from the flow hash (entropy for ECMP and RSS on the way to and at the
 * collector, as RFC 7348 and RFC 8926 suggest): 49152..65535. The high half of the hash is folded
 * in so that the port does not only repeat the low bits that chose the collector. */
static inline uint16_t entropy_port(uint32_t hash)
{
    return (uint16_t)(0xC000u | ((hash ^ (hash >> 16)) & 0x3FFFu));
}

uint32_t bma_encap_max_inner(const bma_encap_t *encap)
{
    const uint32_t hlen = bma_encap_header_len(encap);
    return hlen ? BMA_ENCAP_MAX_IP - (hlen - ETH_LEN) : UINT32_MAX;
}

uint32_t bma_encap_header_len(const bma_encap_t *encap)
{
    if (encap == NULL)
        return 0;
    switch (encap->kind) {
    case BMA_ENCAP_VXLAN: return VXLAN_HDR_LEN;
    case BMA_ENCAP_GENEVE: return GENEVE_HDR_LEN + (encap->auth_key_id ? GENEVE_AUTH_LEN : 0u);
    case BMA_ENCAP_ERSPAN2: return ERSPAN2_HDR_LEN;
    default: return 0; /* NONE, or an unknown kind */
    }
}

/* Ethernet + IPv4; returns a pointer to the byte after the IPv4 header. `ip_payload` is the
 * number of bytes after the IPv4 header (tunnel headers + copy). */
static uint8_t *put_eth_ipv4(uint8_t *out, const bma_encap_t *e, uint32_t dst_ip, uint8_t proto,
                             uint32_t ip_payload)
{
    put48(out, e->dst_mac);
    put48(out + 6, e->src_mac);
    put16(out + 12, ETHERTYPE_IPV4);

    uint8_t *ip = out + ETH_LEN;
    put8(ip, 0x45);                              /* version 4, IHL 5 */
    put8(ip + 1, (uint32_t)(e->dscp & 0x3f) << 2); /* DSCP, ECN 0 */
    put16(ip + 2, IPV4_LEN + ip_payload);
    put16(ip + 4, 0);                            /* id: DF set, never fragmented */
    put16(ip + 6, IPV4_DF);
    put8(ip + 8, e->ttl ? e->ttl : DEFAULT_TTL);
    put8(ip + 9, proto);
    put16(ip + 10, 0);
    put32(ip + 12, e->src_ip);
    put32(ip + 16, dst_ip);
    put_ipv4_checksum(ip);
    return ip + IPV4_LEN;
}

static uint8_t *put_udp(uint8_t *p, uint16_t src_port, uint16_t dst_port, uint32_t udp_len)
{
    put16(p, src_port);
    put16(p + 2, dst_port);
    put16(p + 4, udp_len);
    put16(p + 6, 0); /* no checksum: allowed for VXLAN and Geneve over IPv4 */
    return p + UDP_LEN;
}

uint32_t bma_encap_build(const bma_encap_t *encap, const bma_mirror_meta_t *meta,
                         uint32_t inner_len, uint32_t orig_len, uint8_t *out, uint32_t cap)
{
    if (encap == NULL || meta == NULL || out == NULL)
        return 0;
    const uint32_t hlen = bma_encap_header_len(encap);
    if (hlen == 0)
        return 0; /* NONE has no header; an unknown kind has none either */
    if (cap < hlen || inner_len > BMA_ENCAP_MAX_IP - (hlen - ETH_LEN))
        return 0;
    if (encap->n_collectors == 0)
        return 0;

    const uint32_t n_coll =
        encap->n_collectors < BMA_MAX_COLLECTORS ? encap->n_collectors : BMA_MAX_COLLECTORS;
    const uint32_t dst_ip = encap->collectors[meta->flow_hash % n_coll];
    /* The copy is shorter than the original whether or not the caller said so. */
    const uint32_t flags =
        (uint32_t)meta->flags | (inner_len < orig_len ? (uint32_t)BMA_MF_TRUNCATED : 0u);
    const uint32_t after_ip = hlen - ETH_LEN - IPV4_LEN + inner_len;

    switch (encap->kind) {
    case BMA_ENCAP_VXLAN: {
        uint8_t *p = put_eth_ipv4(out, encap, dst_ip, IPPROTO_UDP_, after_ip);
        uint16_t dport = encap->udp_dst_port ? encap->udp_dst_port : PORT_VXLAN;
        p = put_udp(p, entropy_port(meta->flow_hash), dport, after_ip);
        put32(p, (uint32_t)VXLAN_FLAG_I << 24);  /* flags I, reserved */
        put32(p + 4, (meta->vm_id & 0xffffffu) << 8); /* VNI, reserved */
        break;
    }
    case BMA_ENCAP_GENEVE: {
        uint8_t *p = put_eth_ipv4(out, encap, dst_ip, IPPROTO_UDP_, after_ip);
        uint16_t dport = encap->udp_dst_port ? encap->udp_dst_port : PORT_GENEVE;
        p = put_udp(p, entropy_port(meta->flow_hash), dport, after_ip);
        /* Base: version 0 | options length in words; O = 0, C = 0 (the option is not
         * critical: its type has the high bit clear); protocol; VNI; reserved. */
        const uint32_t auth = encap->auth_key_id ? GENEVE_AUTH_LEN : 0u;
        put8(p, (GENEVE_OPT_HDR_LEN + GENEVE_OPT_DATA_LEN + auth) / 4);
        put8(p + 1, 0);
        put16(p + 2, ETHERTYPE_TEB);
        put32(p + 4, (meta->vm_id & 0xffffffu) << 8);
        p += GENEVE_BASE_LEN;
        /* Option header: class, type, R = 0 | length in words (data only). */
        put16(p, BMA_GENEVE_OPT_CLASS);
        put8(p + 2, BMA_GENEVE_OPT_TYPE);
        put8(p + 3, GENEVE_OPT_DATA_LEN / 4);
        p += GENEVE_OPT_HDR_LEN;
        put8(p, BMA_GENEVE_OPT_VERSION);
        put8(p + 1, flags & 0xffu);
        put16(p + 2, meta->policy_id);
        put32(p + 4, meta->reasons);
        put32(p + 8, meta->score_milli);
        put32(p + 12, orig_len);
        put64(p + 16, meta->ts_ns);
        if (auth) {
            p += GENEVE_OPT_DATA_LEN;
            put16(p, BMA_GENEVE_OPT_CLASS);
            put8(p + 2, BMA_GENEVE_AUTH_OPT_TYPE);
            put8(p + 3, BMA_GENEVE_AUTH_DATA_LEN / 4);
            for (uint32_t i = 0; i < BMA_GENEVE_AUTH_DATA_LEN; i++)
                p[GENEVE_OPT_HDR_LEN + i] = 0;
            put8(p + GENEVE_OPT_HDR_LEN, encap->auth_key_id);
        }
        break;
    }
    case BMA_ENCAP_ERSPAN2: {
        uint8_t *p = put_eth_ipv4(out, encap, dst_ip, IPPROTO_GRE_, after_ip);
        /* GRE: S bit, version 0, protocol ERSPAN; sequence number (see the top of the file). */
        put16(p, GRE_FLAG_S);
        put16(p + 2, ETHERTYPE_ERSPAN2);
        put32(p + 4, (uint32_t)(meta->ts_ns / 1000u));
        p += GRE_SEQ_LEN;
        /* ERSPAN II: Ver 1 | VLAN 0; COS 0 | En 0 | T | session id; reserved | index 0.
         * VLAN 0 and En 0: a tag, when the frame has one, stays in the copied frame, and
         * decoders read it from there (a non-zero VLAN here would count it twice). */
        const uint32_t t = (flags & BMA_MF_TRUNCATED) ? 1u : 0u;
        put16(p, ERSPAN2_VERSION << 12);
        put16(p + 2, t << 10 | (meta->vm_id & 0x3ffu));
        put32(p + 4, 0);
        break;
    }
    default:
        return 0;
    }
    return hlen;
}
