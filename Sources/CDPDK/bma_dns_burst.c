/* DNS answers of a received burst: the parser applied to the frames flagged as DNS responses. */
#include <rte_config.h>
#include <rte_mbuf.h>

#include "bma_dns.h"

unsigned bma_dns_burst(bma_mbuf_t **mbufs, const bma_pkt_t *pkts, uint16_t n, bma_dns_answer_t *out,
                       bma_dns_name_t *names, unsigned cap)
{
    unsigned k = 0, named = 0;
    for (uint16_t i = 0; i < n && k < cap; i++) {
        const bma_pkt_t *p = &pkts[i];
        if (!(p->flags & BMA_PF_DNS_RESPONSE))
            continue;
        const struct rte_mbuf *m = (const struct rte_mbuf *)mbufs[i];
        /* Each message that gives answers takes one name, so there are never more names than
         * answers and `cap` bounds both. */
        unsigned got = bma_dns_frame(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, p, i, out + k, cap - k,
                                     names + named, (uint16_t)named);
        if (got) {
            k += got;
            named++;
        }
    }
    return k;
}
