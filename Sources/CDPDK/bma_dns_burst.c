/* DNS answers of a received burst: the parser applied to the frames flagged as DNS responses. */
#include <rte_config.h>
#include <rte_mbuf.h>

#include "bma_dns.h"

unsigned bma_dns_burst(bma_mbuf_t **mbufs, const bma_pkt_t *pkts, uint16_t n, bma_dns_answer_t *out, unsigned cap)
{
    unsigned k = 0;
    for (uint16_t i = 0; i < n && k < cap; i++) {
        const bma_pkt_t *p = &pkts[i];
        if (!(p->flags & BMA_PF_DNS_RESPONSE))
            continue;
        const struct rte_mbuf *m = (const struct rte_mbuf *)mbufs[i];
        uint32_t off = (uint32_t)p->l4_off + 8;
        if (off >= m->data_len)
            continue; /* the message starts in a later segment: skipped */
        uint32_t len = m->data_len - off;
        if (len > p->l4_payload)
            len = p->l4_payload; /* Ethernet padding is not part of the message */
        k += bma_dns_parse(rte_pktmbuf_mtod_offset(m, const uint8_t *, off), len, i, out + k, cap - k);
    }
    return k;
}
