/* Mirror copies: copies of selected packets (whole, chained when larger than one mbuf, or cut
 * to a snaplen), encapsulated for a collector and sent on the worker's own TX queue of the
 * mirror port. Never blocks, never retries: a full queue or an empty pool drops the copy and
 * counts it. Production mbufs are only read. */
#ifndef BMA_MIRROR_H
#define BMA_MIRROR_H

#include <stdint.h>
#include "bma_dpdk.h"

enum {
    BMA_ENCAP_NONE = 0,    /* the original frame, for a directly attached capture NIC */
    BMA_ENCAP_VXLAN = 1,   /* UDP 4789, VNI = VM id */
    BMA_ENCAP_GENEVE = 2,  /* UDP 6081, VNI = VM id, plus the BMA metadata option */
    BMA_ENCAP_ERSPAN2 = 3, /* GRE 0x88be, ERSPAN type II, session id = VM id & 0x3ff */
};

/* Mirror metadata flags. */
enum {
    BMA_MF_PRETRIGGER = 1 << 0, /* sent because a later packet of the VM triggered */
    BMA_MF_STICKY = 1 << 1,     /* sent because its host or flow was flagged recently */
    BMA_MF_TRUNCATED = 1 << 2,  /* the copy is shorter than the original (snaplen) */
    BMA_MF_FORCED = 1 << 3,     /* a policy or an operator asked for it (always / force) */
};

/* The Geneve option carrying BMA metadata: class 0xFFF0 (experimental range), type 0x42. */
#define BMA_GENEVE_OPT_CLASS 0xFFF0
#define BMA_GENEVE_OPT_TYPE 0x42
#define BMA_GENEVE_OPT_VERSION 1

/* What the collector learns about one mirrored packet. */
typedef struct bma_mirror_meta {
    uint64_t ts_ns;       /* the packet's time (capture or TSC time) */
    uint32_t vm_id;       /* VNI / ERSPAN session */
    uint32_t reasons;     /* reason bits (Sources/Dataplane/Detection/Reason.swift) */
    uint32_t score_milli; /* score x 1000, saturated */
    uint32_t flow_hash;   /* picks the collector; symmetric */
    uint16_t policy_id;
    uint16_t flags;       /* BMA_MF_*; TRUNCATED is set by the mirror itself */
    uint16_t snaplen;     /* per-copy snaplen (a policy's); 0 = the encap's */
    uint8_t encap;        /* per-copy BMA_ENCAP_* (a policy's); BMA_ENCAP_DEFAULT = the encap's */
    uint8_t _pad;
} bma_mirror_meta_t;

#define BMA_ENCAP_DEFAULT 0xFF

_Static_assert(sizeof(bma_mirror_meta_t) == 32, "bma_mirror_meta_t layout changed");

#define BMA_MAX_COLLECTORS 8

/* Where and how copies go. Addresses are IPv4 in host order; MACs as in bma_pkt_t. */
typedef struct bma_encap {
    uint32_t kind;        /* BMA_ENCAP_* */
    uint32_t snaplen;     /* bytes of the original frame kept; 0 = whole frame */
    uint64_t src_mac;     /* the mirror port's MAC */
    uint64_t dst_mac;     /* next hop toward the collectors */
    uint32_t src_ip;
    uint32_t collectors[BMA_MAX_COLLECTORS];
    uint32_t n_collectors;
    uint16_t udp_dst_port;/* 0 = the encapsulation's standard port */
    uint8_t ttl;
    uint8_t dscp;
    uint16_t max_segs;    /* segments the mirror port sends in one frame; 0 = the shim's default */
    uint8_t auth_key_id;  /* Geneve: authenticate copies with this key id (bma_auth.h); 0 = off */
    uint64_t auth_k0;     /* the 16-byte key's halves, each read little-endian */
    uint64_t auth_k1;
    uint64_t auth_seq;    /* the next sequence number of this worker's copy of the encap; 0 = not
                             started (the first copy starts it at the wall clock in ns, so a
                             restarted bmad keeps counting upward) */
} bma_encap_t;

/* Drop counters of one worker's mirror path (single writer). */
typedef struct bma_mirror_stats {
    uint64_t sent;
    uint64_t sent_bytes;
    uint64_t nombuf;      /* mirror pool empty */
    uint64_t ringfull;    /* mirror TX queue full */
    uint64_t too_big;     /* the copy cannot be encapsulated (no collector, unknown kind) */
} bma_mirror_stats_t;

/* What a port can carry, read once at startup (bma_port_limits.c). */
typedef struct bma_port_limits {
    uint32_t mtu;           /* the port's MTU (IP packet, no Ethernet header) */
    uint32_t max_rx_pktlen; /* the largest frame it receives; UINT32_MAX when unbounded */
    uint32_t nb_seg_max;    /* segments one TX frame may have */
} bma_port_limits_t;

/* Fills `out` for `port`; returns 0, or -1 with bma_last_error() set. */
int bma_port_limits(uint16_t port, bma_port_limits_t *out);

/* Copies mbufs[i] for i < n (at most snaplen bytes each, from every segment), adds the
 * encapsulation with meta[i], and sends the copies on (port, queue). The originals are untouched
 * and stay owned by the caller. Returns how many copies were sent. */
/* With encap->auth_key_id set, Geneve copies are authenticated (bma_auth.h): the stream is
 * `queue`, and encap->auth_seq counts (each worker passes its own encap). */
uint16_t bma_mirror_send(uint16_t port, uint16_t queue, bma_mempool_t *pool,
                         bma_encap_t *encap, bma_mbuf_t *const *mbufs,
                         const bma_mirror_meta_t *meta, uint16_t n, bma_mirror_stats_t *stats);

/* Writes the encapsulation headers for a copy of `inner_len` bytes into out[0..cap); returns the
 * header length, or 0 when it cannot (cap too small, no collector, unknown kind, an outer IPv4
 * datagram over 65,535 bytes; and for BMA_ENCAP_NONE, whose header is empty). Pure: no DPDK, used by the mirror and by tests.
 * `orig_len` is the original frame length (for the metadata). */
uint32_t bma_encap_build(const bma_encap_t *encap, const bma_mirror_meta_t *meta,
                         uint32_t inner_len, uint32_t orig_len, uint8_t *out, uint32_t cap);

/* Length of the headers bma_encap_build writes for this encapsulation. */
uint32_t bma_encap_header_len(const bma_encap_t *encap);

/* The longest copy this encapsulation can carry (the outer IPv4 length is 16 bits); UINT32_MAX
 * for BMA_ENCAP_NONE. */
uint32_t bma_encap_max_inner(const bma_encap_t *encap);

#endif
