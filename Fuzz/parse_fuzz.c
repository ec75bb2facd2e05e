/* libFuzzer target: the frame parser (Sources/CDPDK/bma_parse.c) on exact-size buffers.
 *
 * The input is the frame. It is parsed whole, and again as a first segment cut short of the
 * frame (the first two input bytes pick the cut), the way a multi-segment mbuf reaches the
 * parser. AddressSanitizer catches any read outside the buffer; the checks below catch a
 * descriptor that contradicts the frame, and bma_parse must equal the general parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bma_packet.h"

static void check(const bma_pkt_t *p, uint32_t len, uint32_t pkt_len)
{
    if (p->malformed >= BMA_MAL_COUNT)
        abort();
    if (p->pkt_len != pkt_len)
        abort();
    if (p->l3 > BMA_L3_OTHER || p->vlan_count > 2)
        abort();
    if (p->l3_off > pkt_len || p->l4_off > pkt_len)
        abort();
    if (p->l4_off != 0 && p->l4_off < p->l3_off)
        abort();
    /* In a well-formed frame the payload lies inside the frame (a malformed one may claim an
     * IP length past the end: the descriptor then says what the header said). */
    if (p->malformed == BMA_MAL_NONE && p->l4_off != 0 && (uint32_t)p->l4_off + p->l4_payload > pkt_len)
        abort();
    /* A malformed frame names one reason; a runt has no layer 3. */
    if (p->malformed == BMA_MAL_RUNT && (pkt_len >= 14 && len >= 14))
        abort();
    /* The flow hash of a parsed 5-tuple is the one the control plane computes for it. */
    if ((p->flags & BMA_PF_L4) && !(p->flags & BMA_PF_FRAGMENT) && p->malformed == BMA_MAL_NONE &&
        (p->l3 == BMA_L3_IPV4 || p->l3 == BMA_L3_IPV6) &&
        (p->ip_proto == 6 || p->ip_proto == 17)) {
        uint32_t h = bma_flow_hash_tuple(p->src_ip_hi, p->src_ip_lo, p->dst_ip_hi, p->dst_ip_lo,
                                         p->ip_proto, p->src_port, p->dst_port);
        uint32_t r = bma_flow_hash_tuple(p->dst_ip_hi, p->dst_ip_lo, p->src_ip_hi, p->src_ip_lo,
                                         p->ip_proto, p->dst_port, p->src_port);
        if (h != p->flow_hash || r != h)
            abort();
    }
    if (bma_malformed_name(p->malformed) == NULL)
        abort();
    /* The protocol class follows from the L3 kind and the IP protocol alone. */
    uint8_t cls = BMA_CLASS_OTHER;
    if (p->l3 == BMA_L3_ARP)
        cls = BMA_CLASS_ARP;
    else if (p->l3 == BMA_L3_IPV4 || p->l3 == BMA_L3_IPV6)
        cls = p->ip_proto == 6 ? BMA_CLASS_TCP : p->ip_proto == 17 ? BMA_CLASS_UDP
            : (p->ip_proto == 1 || p->ip_proto == 58) ? BMA_CLASS_ICMP : BMA_CLASS_OTHER;
    if (p->proto_class != cls)
        abort();
}

/* bma_parse's shortcut for common frames must give exactly what the general parser gives. */
static void same_as_general(const uint8_t *frame, uint32_t len, uint32_t pkt_len, const bma_pkt_t *p)
{
    bma_pkt_t g;
    memset(&g, 0x3C, sizeof(g));
    bma_parse_general(frame, len, pkt_len, &g);
    if (memcmp(p, &g, sizeof(g)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535 + 14)
        return 0;
    /* Exactly `size` bytes: one byte past is a heap overflow. */
    uint8_t *frame = malloc(size ? size : 1);
    if (frame == NULL)
        return 0;
    memcpy(frame, data, size);
    bma_pkt_t p;
    memset(&p, 0xA5, sizeof(p));
    bma_parse(frame, (uint32_t)size, (uint32_t)size, &p);
    check(&p, (uint32_t)size, (uint32_t)size);
    same_as_general(frame, (uint32_t)size, (uint32_t)size, &p);

    if (size >= 2) {
        uint32_t cut = ((uint32_t)data[0] << 8 | data[1]) % (uint32_t)size;
        uint8_t *first = malloc(cut ? cut : 1);
        if (first != NULL) {
            memcpy(first, data, cut);
            bma_pkt_t q;
            memset(&q, 0x5A, sizeof(q));
            bma_parse(first, cut, (uint32_t)size, &q);
            check(&q, cut, (uint32_t)size);
            same_as_general(first, cut, (uint32_t)size, &q);
            free(first);
        }
    }
    free(frame);
    return 0;
}
