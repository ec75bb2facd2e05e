/* Mirror copies: one copy per selected packet from the mirror pool, the frame bytes (every
 * segment, at most snaplen) after the encapsulation headers, one TX burst on the worker's own
 * queue of the mirror port. The data path never waits for the mirror: an empty pool, a full
 * queue or a copy too large for one mbuf drops that copy and counts it (like lib/pdump's
 * nombuf/ringfull). The originals are only read.
 *
 * Counters (bma_mirror_stats_t, single writer: the calling worker):
 *   sent, sent_bytes  copies the queue took; bytes of the whole outer frames
 *   nombuf            copies that got no mbuf
 *   ringfull          copies the TX queue did not take
 *   too_big           copies whose headers + bytes do not fit one mbuf or the largest outer frame,
 *                     and copies that cannot be encapsulated at all (unknown kind, no collector)
 */
#include <rte_config.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_mempool.h>

#include "bma_dpdk.h"
#include "bma_mirror.h"

_Static_assert(sizeof(bma_mirror_stats_t) == 5 * sizeof(uint64_t), "bma_mirror_stats_t layout");

/* Allocates n mbufs: in bulk when the pool has them, else one by one until the pool runs dry.
 * Returns how many were allocated (the first ones of out). */
static uint16_t alloc_copies(struct rte_mempool *mp, struct rte_mbuf **out, uint16_t n)
{
    if (n == 0)
        return 0;
    if (rte_pktmbuf_alloc_bulk(mp, out, n) == 0)
        return n;
    uint16_t got = 0;
    while (got < n) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
        if (m == NULL)
            break; /* empty: the rest would fail too */
        out[got++] = m;
    }
    return got;
}

uint16_t bma_mirror_send(uint16_t port, uint16_t queue, bma_mempool_t *pool,
                         const bma_encap_t *encap, bma_mbuf_t *const *mbufs,
                         const bma_mirror_meta_t *meta, uint16_t n, bma_mirror_stats_t *stats)
{
    if (n == 0)
        return 0;

    struct rte_mempool *mp = (struct rte_mempool *)pool;
    struct rte_mbuf *const *orig = (struct rte_mbuf *const *)mbufs;
    uint64_t sent = 0, sent_bytes = 0, nombuf = 0, ringfull = 0, too_big = 0;
    const uint32_t room = rte_pktmbuf_data_room_size(mp);
    /* The port's encapsulation and the policy overrides a copy may carry. */
    bma_encap_t kinds[4];
    uint32_t kind_hlen[4];
    for (uint32_t k = 0; k < 4; k++) {
        kinds[k] = *encap;
        kinds[k].kind = k;
        kind_hlen[k] = bma_encap_header_len(&kinds[k]);
    }

    for (uint16_t base = 0; base < n; base += BMA_BURST) {
        const uint16_t cnt = (uint16_t)(n - base < BMA_BURST ? n - base : BMA_BURST);
        uint16_t which[BMA_BURST];   /* index in this chunk of each copy to make */
        uint32_t copy_len[BMA_BURST];
        uint8_t copy_kind[BMA_BURST];
        uint16_t want = 0;

        /* Which copies can be made and fit one mbuf. */
        for (uint16_t i = 0; i < cnt; i++) {
            const bma_mirror_meta_t *md = &meta[base + i];
            const uint32_t kind = md->encap < 4 ? md->encap : (encap->kind < 4 ? encap->kind : 0);
            const uint32_t hlen = kind_hlen[kind];
            if (kind != BMA_ENCAP_NONE && (hlen == 0 || encap->n_collectors == 0)) {
                too_big++; /* cannot be encapsulated: no collector */
                continue;
            }
            const uint32_t len = orig[base + i]->pkt_len;
            const uint32_t snaplen = md->snaplen ? md->snaplen : encap->snaplen;
            const uint32_t c = snaplen != 0 && snaplen < len ? snaplen : len;
            if (hlen + c > room) {
                too_big++;
                continue;
            }
            which[want] = i;
            copy_len[want] = c;
            copy_kind[want] = (uint8_t)kind;
            want++;
        }

        struct rte_mbuf *copies[BMA_BURST];
        const uint16_t got = alloc_copies(mp, copies, want);
        nombuf += (uint64_t)(want - got);

        struct rte_mbuf *tx[BMA_BURST];
        uint32_t tx_len[BMA_BURST];
        uint16_t ready = 0;

        for (uint16_t j = 0; j < got; j++) {
            const uint16_t i = (uint16_t)(base + which[j]);
            const struct rte_mbuf *m = orig[i];
            struct rte_mbuf *c = copies[j];
            const uint32_t clen = copy_len[j];
            const bma_encap_t *e = &kinds[copy_kind[j]];
            const uint32_t hlen = kind_hlen[copy_kind[j]];
            const uint32_t total = hlen + clen;

            /* Keep the default headroom unless the frame needs part of it. */
            if ((uint32_t)c->data_off + total > c->buf_len)
                c->data_off = (uint16_t)(c->buf_len - total);
            uint8_t *d = rte_pktmbuf_mtod(c, uint8_t *);

            if (e->kind != BMA_ENCAP_NONE) {
                bma_mirror_meta_t md = meta[i];
                if (clen < m->pkt_len)
                    md.flags |= BMA_MF_TRUNCATED;
                if (bma_encap_build(e, &md, clen, m->pkt_len, d, hlen) != hlen) {
                    too_big++; /* past the largest outer frame */
                    rte_pktmbuf_free(c);
                    continue;
                }
            }

            const void *src = rte_pktmbuf_read(m, 0, clen, d + hlen);
            if (unlikely(src == NULL)) {
                /* pkt_len disagrees with the segments: nothing sensible to send. */
                too_big++;
                rte_pktmbuf_free(c);
                continue;
            }
            if (src != d + hlen)
                rte_memcpy(d + hlen, src, clen);

            c->data_len = (uint16_t)total;
            c->pkt_len = total;
            tx[ready] = c;
            tx_len[ready] = total;
            ready++;
        }

        const uint16_t done = ready ? rte_eth_tx_burst(port, queue, tx, ready) : 0;
        for (uint16_t j = 0; j < done; j++)
            sent_bytes += tx_len[j];
        if (done < ready) {
            rte_pktmbuf_free_bulk(tx + done, ready - done);
            ringfull += (uint64_t)(ready - done);
        }
        sent += done;
    }


    if (stats != NULL) {
        stats->sent += sent;
        stats->sent_bytes += sent_bytes;
        stats->nombuf += nombuf;
        stats->ringfull += ringfull;
        stats->too_big += too_big;
    }
    return (uint16_t)sent;
}
