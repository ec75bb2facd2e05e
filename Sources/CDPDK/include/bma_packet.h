/* Parsed packet descriptor and the frame parser.
 *
 * This header includes no DPDK header: the parser works on plain bytes so that it can be unit
 * tested without EAL. The dataplane fills one descriptor per packet per burst (bma_rx_parse in bma_dpdk.h).
 */
#ifndef BMA_PACKET_H
#define BMA_PACKET_H

#include <stdint.h>

/* Layer 3 kinds. */
enum {
    BMA_L3_NONE = 0,  /* not parsed: runt or unknown ethertype */
    BMA_L3_IPV4 = 1,
    BMA_L3_IPV6 = 2,
    BMA_L3_ARP = 3,
    BMA_L3_OTHER = 4, /* a known-good Ethernet frame with another ethertype */
};

/* Why a frame is malformed. Malformed frames are still forwarded; the reason is counted. */
enum {
    BMA_MAL_NONE = 0,
    BMA_MAL_RUNT,              /* shorter than an Ethernet header */
    BMA_MAL_VLAN_TRUNCATED,    /* a VLAN tag cut by the end of the frame */
    BMA_MAL_VLAN_DEPTH,        /* three or more VLAN tags */
    BMA_MAL_ARP_TRUNCATED,     /* ARP shorter than its IPv4-over-Ethernet body */
    BMA_MAL_IPV4_TRUNCATED,    /* fewer than 20 bytes after the Ethernet header */
    BMA_MAL_IPV4_VERSION,      /* version field is not 4 */
    BMA_MAL_IPV4_IHL,          /* IHL below 5 */
    BMA_MAL_IPV4_OPTIONS,      /* IHL reaches past the frame */
    BMA_MAL_IPV4_TOTAL_SHORT,  /* total length below the header length */
    BMA_MAL_IPV4_TOTAL_LONG,   /* total length past the end of the frame */
    BMA_MAL_IPV6_TRUNCATED,    /* fewer than 40 bytes after the Ethernet header */
    BMA_MAL_IPV6_VERSION,      /* version field is not 6 */
    BMA_MAL_IPV6_PAYLOAD_LONG, /* payload length past the end of the frame */
    BMA_MAL_IPV6_EXT_TRUNCATED,/* an extension header cut by the end of the payload */
    BMA_MAL_IPV6_EXT_DEPTH,    /* more extension headers than the parser walks */
    BMA_MAL_TCP_TRUNCATED,     /* fewer than 20 bytes of TCP header */
    BMA_MAL_TCP_OFFSET,        /* data offset below 5 */
    BMA_MAL_TCP_OFFSET_LONG,   /* data offset past the end of the segment */
    BMA_MAL_UDP_TRUNCATED,     /* fewer than 8 bytes of UDP header */
    BMA_MAL_UDP_LENGTH,        /* UDP length below 8 or past the end of the datagram */
    BMA_MAL_ICMP_TRUNCATED,    /* fewer than 4 bytes of ICMP header */
    BMA_MAL_COUNT
};

/* Descriptor flags. */
enum {
    BMA_PF_BROADCAST = 1 << 0,    /* destination MAC ff:ff:ff:ff:ff:ff */
    BMA_PF_MULTICAST = 1 << 1,    /* group bit set in the destination MAC (broadcast too) */
    BMA_PF_FRAGMENT = 1 << 2,     /* an IPv4/IPv6 fragment (first or not) */
    BMA_PF_LATER_FRAGMENT = 1 << 3, /* not the first fragment: no L4 header in it */
    BMA_PF_L4 = 1 << 4,           /* ports (TCP/UDP) or type/code (ICMP) are valid */
    BMA_PF_TIMESTAMP = 1 << 5,    /* ts_ns came from the port (capture time), not the TSC */
    BMA_PF_IP_OPTIONS = 1 << 6,   /* IPv4 options or IPv6 extension headers present */
    BMA_PF_MULTISEG = 1 << 7,     /* the mbuf has more than one segment */
    BMA_PF_DNS_RESPONSE = 1 << 8, /* UDP or TCP (with payload) from port 53, not a fragment: bma_dns_burst reads it */
};

/* Housekeeping: the network's own upkeep, judged by rate and fan-out rather than novelty. */
enum {
    BMA_HK_NONE = 0,
    BMA_HK_ARP = 1,       /* ARP */
    BMA_HK_DHCP = 2,      /* DHCP (UDP 67/68), DHCPv6 (UDP 546/547) */
    BMA_HK_NDP = 3,       /* ICMPv6 router/neighbour solicitation and advertisement, redirect */
    BMA_HK_ICMP = 4,      /* ICMP/ICMPv6 echo, unreachable, time exceeded, packet too big */
    BMA_HK_GROUP = 5,     /* IGMP, MLD */
    BMA_HK_EAPOL = 6,     /* 802.1X */
    BMA_HK_L2 = 7,        /* LLDP, STP and other 802.3/LLC control frames */
    BMA_HK_DISCOVERY = 8, /* mDNS (5353), SSDP (1900), LLMNR (5355) */
    BMA_HK_COUNT
};

/* One parsed packet. Addresses are IPv6 in two big-endian halves; IPv4 is v4-mapped
 * (::ffff:a.b.c.d), so lo = 0x0000ffff_aabbccdd and hi = 0. MACs are 48-bit values with the
 * first byte on the wire in bits 47..40. Ports are host order. */
/* Protocol classes of the protocol mix (a VM's share of TCP, UDP, ...). */
enum {
    BMA_CLASS_TCP = 0,
    BMA_CLASS_UDP = 1,
    BMA_CLASS_ICMP = 2, /* ICMP and ICMPv6 */
    BMA_CLASS_ARP = 3,
    BMA_CLASS_OTHER = 4,
    BMA_CLASS_COUNT
};

typedef struct bma_pkt {
    uint64_t ts_ns;         /* capture time (port timestamp) or TSC time, nanoseconds */
    uint64_t src_mac;
    uint64_t dst_mac;
    uint64_t src_ip_hi, src_ip_lo;
    uint64_t dst_ip_hi, dst_ip_lo;
    uint32_t flow_hash;     /* symmetric: same for both directions of a flow */
    uint32_t pkt_len;       /* whole frame, every segment */
    uint16_t ethertype;     /* innermost, after VLAN tags */
    uint16_t vlan_tci[2];   /* outer first */
    uint16_t l3_off;        /* offset of the L3 header */
    uint16_t l4_off;        /* offset of the L4 header (0 when none) */
    uint16_t l4_payload;    /* bytes after the L4 header, bounded by the IP length */
    uint16_t ip_len;        /* IPv4 total length, or 40 + IPv6 payload length */
    uint16_t src_port;      /* TCP/UDP */
    uint16_t dst_port;
    uint16_t flags;         /* BMA_PF_* */
    uint16_t arp_op;        /* ARP opcode (1 request, 2 reply) */
    uint8_t vlan_count;
    uint8_t l3;             /* BMA_L3_* */
    uint8_t ip_proto;       /* IPv4 protocol or the IPv6 upper-layer next header */
    uint8_t tcp_flags;      /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ... */
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint8_t ttl;            /* IPv4 TTL or IPv6 hop limit */
    uint8_t malformed;      /* BMA_MAL_* */
    uint8_t housekeeping;   /* BMA_HK_* */
    uint8_t proto_class;    /* BMA_CLASS_*: the protocol mix's class, from l3 and ip_proto */
} bma_pkt_t;

_Static_assert(sizeof(bma_pkt_t) == 96, "bma_pkt_t layout changed");

/* The most IPv6 extension headers walked before the frame counts as malformed. */
#define BMA_IPV6_MAX_EXT 8

/* Parses one frame. `data`/`len` are the contiguous bytes (the first segment); `pkt_len` is
 * the whole frame (all segments, >= len); lengths in headers are checked against it. Never reads
 * outside data[0..len). Sets every field; ts_ns is left 0 for the caller. */
void bma_parse(const uint8_t *data, uint32_t len, uint32_t pkt_len, bma_pkt_t *out);

/* The general parser, every frame; bma_parse takes a shorter way for the common frame (untagged
 * IPv4 TCP/UDP without options or fragments) and gives the same result. For tests. */
void bma_parse_general(const uint8_t *data, uint32_t len, uint32_t pkt_len, bma_pkt_t *out);

/* The flow hash bma_parse gives an unfragmented IP packet with this 5-tuple (either direction),
 * for naming a flow from the control plane. Addresses as in bma_pkt_t. */
uint32_t bma_flow_hash_tuple(uint64_t src_hi, uint64_t src_lo, uint64_t dst_hi, uint64_t dst_lo,
                             uint8_t proto, uint16_t src_port, uint16_t dst_port);

/* The name of a malformed reason ("ipv4-ihl", ...), or "unknown". */
const char *bma_malformed_name(unsigned reason);

/* The name of a housekeeping class ("arp", "dhcp", ...), "none" for 0, or "unknown". */
const char *bma_housekeeping_name(unsigned hk);

#endif
