/* DNS answers seen on their way to a VM: which addresses stand for which names.
 *
 * No DPDK header here: the message parser works on plain bytes and is unit tested without EAL.
 * bma_dns_burst() applies it to the DNS responses of one received burst (one call per burst).
 */
#ifndef BMA_DNS_H
#define BMA_DNS_H

#include <stdint.h>

#include "bma_dpdk.h"
#include "bma_packet.h"

/* One answered address. Addresses as in bma_pkt_t (IPv4 v4-mapped). The name is the question's
 * (what the VM asked for), so an address reached through a CNAME chain still carries it. */
typedef struct bma_dns_answer {
    uint64_t addr_hi, addr_lo;
    uint64_t name_hash; /* bma_dns_name_hash of the question name, lower-cased; never 0 */
    uint32_t ttl;       /* seconds, as answered */
    uint16_t pkt;       /* index of the packet in its burst */
    uint16_t name;      /* index of the question name's text in the names written with it */
} bma_dns_answer_t;

_Static_assert(sizeof(bma_dns_answer_t) == 32, "bma_dns_answer_t layout changed");

/* The most characters of a name as text: 255 bytes on the wire less the length of the first
 * label and the root. */
#define BMA_DNS_NAME_MAX 253

/* A question name as text, for people (bmactl, baseline export, replay decisions): labels
 * lower-cased and joined by dots, no trailing dot; a byte that is not printable ASCII, or a dot,
 * backslash or quote inside a label, is written '?'. The root is the empty text. */
typedef struct bma_dns_name {
    uint8_t len; /* characters in text, at most BMA_DNS_NAME_MAX */
    char text[BMA_DNS_NAME_MAX + 2]; /* NUL-terminated */
} bma_dns_name_t;

_Static_assert(sizeof(bma_dns_name_t) == 256, "bma_dns_name_t layout changed");

/* The most answer records read from one message, and CNAME links followed. */
#define BMA_DNS_MAX_RECORDS 32
#define BMA_DNS_MAX_CNAMES 8

/* Parses one DNS response message (`len` bytes, without TCP's length prefix) and writes up to
 * `cap` A/AAAA answers that belong to the question name, directly or through CNAMEs found in
 * the message. Queries, errors, several questions and malformed messages give 0. Never reads
 * outside msg[0..len). Each answer's `pkt` is set to `pkt` and its `name` to `name_index`; when
 * at least one answer is written and `name` is not NULL, the question name's text is written to
 * *name (nothing is written there otherwise). */
unsigned bma_dns_parse(const uint8_t *msg, uint32_t len, uint16_t pkt, bma_dns_answer_t *out, unsigned cap,
                       bma_dns_name_t *name, uint16_t name_index);

/* The answers of the DNS response in one frame parsed into `p` (BMA_PF_DNS_RESPONSE): over UDP
 * the datagram; over TCP one whole message with its 2-byte length prefix at the start of the
 * segment (a message split over segments, or a segment holding only part of one, gives 0).
 * `data` holds the frame's first `len` bytes. The question name's text goes to *name. */
unsigned bma_dns_frame(const uint8_t *data, uint32_t len, const bma_pkt_t *p, uint16_t pkt, bma_dns_answer_t *out,
                       unsigned cap, bma_dns_name_t *name, uint16_t name_index);

/* The hash bma_dns_parse gives a name written as text ("www.example.com", case-insensitive,
 * a trailing dot optional), for tests and the control plane. 0 if the text is not a name. */
uint64_t bma_dns_name_hash(const char *text);

/* The answers in the DNS responses (BMA_PF_DNS_RESPONSE) among a burst's n parsed packets,
 * read from each frame's first segment; up to `cap`. `names` has room for `cap` names: each
 * message that gives answers writes its question name's text at the next one, and its answers'
 * `name` index it. One call per burst. */
unsigned bma_dns_burst(bma_mbuf_t **mbufs, const bma_pkt_t *pkts, uint16_t n, bma_dns_answer_t *out,
                       bma_dns_name_t *names, unsigned cap);

#endif
