/* Mirror copies: one copy per selected packet from the mirror pool, the frame bytes (every
 * segment, at most snaplen) after the encapsulation headers, one TX burst on the worker's own
 * queue of the mirror port. A copy larger than one mirror mbuf is a chain of them (jumbo and
 * multi-segment frames are mirrored whole). A copy is cut, and flagged truncated, only where the
 * encapsulation cannot say more (an IPv4 length is 16 bits) or the mirror port cannot send more
 * segments. The data path never waits for the mirror: an empty pool or a full queue drops that
 * copy and counts it (like lib/pdump's nombuf/ringfull). The originals are only read; their
 * chains were checked on receive (bma_chain.c).
 *
 * Counters (bma_mirror_stats_t, single writer: the calling worker):
 *   sent, sent_bytes  copies the queue took; bytes of the whole outer frames
 *   nombuf            copies that got no mbuf (for any of their segments)
 *   ringfull          copies the TX queue did not take
 *   too_big           copies that cannot be encapsulated at all (unknown kind, no collector)
 */
#include <rte_config.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_mempool.h>

#include <time.h>

#include "bma_auth.h"
#include "bma_dpdk.h"
#include "bma_mirror.h"

_Static_assert(sizeof(bma_mirror_stats_t) == 5 * sizeof(uint64_t), "bma_mirror_stats_t layout");

/* The most segments of one copy when the port does not say (a 64 KiB copy in 2 KiB mbufs). */
#define COPY_MAX_SEGS 40

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

/* Lays out a copy of `total` bytes over `c` (headroom kept when one mbuf holds it all, else
 * whole buffers) and chains `extra` more mbufs after it. */
static void shape_copy(struct rte_mbuf *c, uint32_t total, struct rte_mbuf **extra, uint32_t n_extra)
{
    if (n_extra == 0) {
        if ((uint32_t)c->data_off + total > c->buf_len)
            c->data_off = (uint16_t)(c->buf_len - total);
        c->data_len = (uint16_t)total;
    } else {
        c->data_off = 0;
        c->data_len = c->buf_len;
        uint32_t left = total - c->buf_len;
        struct rte_mbuf *prev = c;
        for (uint32_t k = 0; k < n_extra; k++) {
            struct rte_mbuf *s = extra[k];
            s->data_off = 0;
            s->data_len = (uint16_t)(left < s->buf_len ? left : s->buf_len);
            left -= s->data_len;
            prev->next = s;
            prev = s;
        }
    }
    c->pkt_len = total;
    c->nb_segs = (uint16_t)(1 + n_extra);
}

/* Copies `len` bytes of frame `m` into the chain `c`, after its first `skip` bytes. Returns -1
 * when either chain ends first (never, for chains checked on receive). */
static int copy_frame(const struct rte_mbuf *m, uint32_t len, struct rte_mbuf *c, uint32_t skip)
{
    const struct rte_mbuf *s = m;
    uint32_t soff = 0, doff = skip;
    struct rte_mbuf *d = c;
    while (len > 0) {
        while (s != NULL && soff == s->data_len) {
            s = s->next;
            soff = 0;
        }
        while (d != NULL && doff == d->data_len) {
            d = d->next;
            doff = 0;
        }
        if (unlikely(s == NULL || d == NULL))
            return -1;
        uint32_t n = (uint32_t)s->data_len - soff;
        if ((uint32_t)d->data_len - doff < n)
            n = (uint32_t)d->data_len - doff;
        if (len < n)
            n = len;
        rte_memcpy(rte_pktmbuf_mtod_offset(d, uint8_t *, doff),
                   rte_pktmbuf_mtod_offset(s, const uint8_t *, soff), n);
        soff += n;
        doff += n;
        len -= n;
    }
    return 0;
}

/* The first sequence number of a worker: the wall clock in ns, so that a restarted bmad does
 * not reuse numbers an analyzer has seen (a worker sends far fewer than 10^9 copies a second). */
static uint64_t first_sequence(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

uint16_t bma_mirror_send(uint16_t port, uint16_t queue, bma_mempool_t *pool,
                         bma_encap_t *encap, bma_mbuf_t *const *mbufs,
                         const bma_mirror_meta_t *meta, uint16_t n, bma_mirror_stats_t *stats)
{
    if (n == 0)
        return 0;

    struct rte_mempool *mp = (struct rte_mempool *)pool;
    struct rte_mbuf *const *orig = (struct rte_mbuf *const *)mbufs;
    uint64_t sent = 0, sent_bytes = 0, nombuf = 0, ringfull = 0, too_big = 0;
    const uint32_t room = rte_pktmbuf_data_room_size(mp);
    const uint32_t max_segs =
        encap->max_segs && encap->max_segs < COPY_MAX_SEGS ? encap->max_segs : COPY_MAX_SEGS;
    /* The port's encapsulation and the policy overrides a copy may carry. */
    bma_encap_t kinds[4];
    uint32_t kind_hlen[4], kind_max[4];
    for (uint32_t k = 0; k < 4; k++) {
        kinds[k] = *encap;
        kinds[k].kind = k;
        kind_hlen[k] = bma_encap_header_len(&kinds[k]);
        /* What the encapsulation can say and what the port can send, whichever is less. */
        uint32_t most = bma_encap_max_inner(&kinds[k]);
        const uint32_t fits = max_segs * room - kind_hlen[k];
        kind_max[k] = most < fits ? most : fits;
    }

    for (uint16_t base = 0; base < n; base += BMA_BURST) {
        const uint16_t cnt = (uint16_t)(n - base < BMA_BURST ? n - base : BMA_BURST);
        uint16_t which[BMA_BURST];   /* index in this chunk of each copy to make */
        uint32_t copy_len[BMA_BURST];
        uint8_t copy_kind[BMA_BURST];
        uint16_t want = 0;

        /* Which copies can be made, and how long each is. */
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
            uint32_t c = snaplen != 0 && snaplen < len ? snaplen : len;
            if (c > kind_max[kind])
                c = kind_max[kind]; /* truncated: the metadata says so */
            which[want] = i;
            copy_len[want] = c;
            copy_kind[want] = (uint8_t)kind;
            want++;
        }

        struct rte_mbuf *copies[BMA_BURST];
        const uint16_t got = alloc_copies(mp, copies, want);
        nombuf += (uint64_t)(want - got);
        for (uint16_t j = got; j < want; j++)
            copies[j] = NULL;

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

            /* A copy larger than one mbuf takes more from the pool. */
            struct rte_mbuf *extra[COPY_MAX_SEGS];
            uint32_t n_extra = total > c->buf_len ? (total - c->buf_len + room - 1) / room : 0;
            if (unlikely(n_extra > 0)) {
                if (n_extra >= COPY_MAX_SEGS || rte_pktmbuf_alloc_bulk(mp, extra, n_extra) != 0) {
                    nombuf++;
                    rte_pktmbuf_free(c);
                    continue;
                }
            }
            shape_copy(c, total, extra, n_extra);

            if (e->kind != BMA_ENCAP_NONE) {
                bma_mirror_meta_t md = meta[i];
                if (clen < m->pkt_len)
                    md.flags |= BMA_MF_TRUNCATED;
                /* The headers (at most 102 bytes) always fit the first mbuf. */
                if (bma_encap_build(e, &md, clen, m->pkt_len, rte_pktmbuf_mtod(c, uint8_t *), hlen) != hlen) {
                    too_big++;
                    rte_pktmbuf_free(c);
                    continue;
                }
            }
            if (unlikely(copy_frame(m, clen, c, hlen) != 0)) {
                too_big++; /* the original's chain is shorter than its pkt_len */
                rte_pktmbuf_free(c);
                continue;
            }
            if (e->kind == BMA_ENCAP_GENEVE && e->auth_key_id) {
                /* The headers and the frame's first bytes are in the first mbuf (it holds
                 * hlen + 64 bytes whenever the copy is that long). */
                if (unlikely(encap->auth_seq == 0))
                    encap->auth_seq = first_sequence();
                uint8_t *h = rte_pktmbuf_mtod(c, uint8_t *);
                bma_auth_seal(h, hlen, h + hlen, (uint32_t)c->data_len - hlen, clen, (uint8_t)queue,
                              encap->auth_seq++, e->auth_k0, e->auth_k1);
            }
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
