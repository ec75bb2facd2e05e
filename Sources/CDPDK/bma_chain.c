/* Received mbuf chains are checked before anything reads them. A PMD may deliver a chain that
 * disagrees with itself (net_pcap truncates frames over 65,535 bytes to a 16-bit length while
 * pkt_len keeps the real one): reading it by pkt_len walks off the end of the chain. Such frames
 * are dropped and counted here, per port; they never reach the parser, the mirror or a TX queue.
 *
 * Counters: one row per lcore (cache aligned), one cell per port; single writer (the lcore that
 * polls the port), read by the main lcore with relaxed loads. */
#include <rte_config.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bma_chain.h"
#include "bma_chain_check.h"

struct chain_drops {
    uint64_t port[RTE_MAX_ETHPORTS];
} __rte_cache_aligned;

static struct chain_drops drops[RTE_MAX_LCORE];

/* Frees what can be freed safely: the whole chain when its list ends, else only the head. */
static void drop_chain(struct rte_mbuf *m)
{
    uint32_t n = bma_chain_freeable(m, RTE_MBUF_MAX_NB_SEGS);
    if (n == 0)
        n = 1; /* a loop or an endless list: the rest cannot be walked safely and is lost */
    for (uint32_t i = 0; i < n; i++) {
        struct rte_mbuf *next = m->next;
        m->next = NULL;
        m->nb_segs = 1;
        rte_pktmbuf_free_seg(m);
        m = next;
    }
}

uint16_t bma_rx_chains_filter(uint16_t port, struct rte_mbuf **m, uint16_t n)
{
    uint16_t kept = 0;
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *mb = m[i];
        /* The common case, one segment, in one test of the first two cache lines. */
        const int simple = mb->nb_segs == 1 && mb->next == NULL && mb->pkt_len == mb->data_len &&
                           (uint32_t)mb->data_off + mb->data_len <= mb->buf_len;
        if (likely(simple) || bma_chain_verdict(mb) == BMA_CHAIN_OK) {
            m[kept++] = mb;
            continue;
        }
        drop_chain(mb);
    }
    if (unlikely(kept < n)) {
        unsigned lcore = rte_lcore_id();
        if (lcore < RTE_MAX_LCORE && port < RTE_MAX_ETHPORTS)
            drops[lcore].port[port] += (uint64_t)(n - kept);
    }
    return kept;
}

uint64_t bma_rx_invalid_chains(uint16_t port)
{
    uint64_t sum = 0;
    if (port >= RTE_MAX_ETHPORTS)
        return 0;
    for (unsigned l = 0; l < RTE_MAX_LCORE; l++)
        sum += __atomic_load_n(&drops[l].port[port], __ATOMIC_RELAXED);
    return sum;
}
