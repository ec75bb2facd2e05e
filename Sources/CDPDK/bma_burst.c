/* The per-burst calls: receive and parse, send, free, reference. */
#include <rte_config.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include <string.h>

#include "bma_dpdk.h"
#include "bma_internal.h"
#include "bma_chain_check.h"

_Static_assert(BMA_BURST <= 64, "burst arrays are sized for 64");

/* How far ahead to prefetch frame data while parsing. */
#define PREFETCH_AHEAD 4

uint16_t bma_rx_parse(uint16_t port, uint16_t queue, bma_mbuf_t **mbufs, bma_pkt_t *pkts,
                      uint16_t max, uint64_t now_ns, int capture_time)
{
    struct rte_mbuf **m = (struct rte_mbuf **)mbufs;
    uint16_t n = bma_rx_chains_filter(port, m, rte_eth_rx_burst(port, queue, m, max));
    const int ts_off = capture_time ? bma_ts_offset : -1;
    const uint64_t ts_flag = bma_ts_flag;

    for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
        rte_prefetch0(rte_pktmbuf_mtod(m[i], void *));
    for (uint16_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            rte_prefetch0(rte_pktmbuf_mtod(m[i + PREFETCH_AHEAD], void *));
        struct rte_mbuf *mb = m[i];
        bma_pkt_t *p = &pkts[i];
        bma_parse(rte_pktmbuf_mtod(mb, const uint8_t *), mb->data_len, mb->pkt_len, p);
        if (ts_off >= 0 && (mb->ol_flags & ts_flag)) {
            /* net_pcap stores the capture time in microseconds. */
            p->ts_ns = *RTE_MBUF_DYNFIELD(mb, ts_off, rte_mbuf_timestamp_t *) * 1000ULL;
            p->flags |= BMA_PF_TIMESTAMP;
        } else {
            p->ts_ns = now_ns;
        }
        if (mb->nb_segs > 1)
            p->flags |= BMA_PF_MULTISEG;
    }
    return n;
}

uint16_t bma_tx(uint16_t port, uint16_t queue, bma_mbuf_t **mbufs, uint16_t n)
{
    struct rte_mbuf **m = (struct rte_mbuf **)mbufs;
    uint16_t sent = n ? rte_eth_tx_burst(port, queue, m, n) : 0;
    if (sent < n)
        rte_pktmbuf_free_bulk(m + sent, n - sent);
    return sent;
}

void bma_mbufs_free(bma_mbuf_t **mbufs, uint16_t n)
{
    if (n)
        rte_pktmbuf_free_bulk((struct rte_mbuf **)mbufs, n);
}

void bma_mbufs_ref(bma_mbuf_t **mbufs, uint16_t n, uint16_t extra)
{
    struct rte_mbuf **m = (struct rte_mbuf **)mbufs;
    for (uint16_t i = 0; i < n; i++)
        for (struct rte_mbuf *s = m[i]; s != NULL; s = s->next)
            rte_mbuf_refcnt_update(s, (int16_t)extra);
}

