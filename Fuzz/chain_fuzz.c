/* libFuzzer target: the received-mbuf chain check (Sources/CDPDK/bma_chain_check.c) on chains
 * built from the input: up to 8 segments, each with its own exact-size buffer, any data_off,
 * data_len and buf_len, `next` pointing anywhere (loops included), any nb_segs and pkt_len.
 *
 * The verdict must match a reference computed here, and a chain judged consistent must be
 * readable for pkt_len bytes the way rte_pktmbuf_read walks it, without AddressSanitizer
 * reporting anything. bma_chain_freeable must never count a segment twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bma_chain_check.h"

#define MAX_SEGS 8

static uint32_t take(const uint8_t **d, size_t *n, unsigned bytes)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (*n ? **d : 0);
        if (*n) {
            (*d)++;
            (*n)--;
        }
    }
    return v;
}

/* What the verdict must be, by a different route: the list of segments first. */
static int reference(struct rte_mbuf *segs, int nseg, struct rte_mbuf *head)
{
    int order[MAX_SEGS + 1];
    int len = 0;
    int seen[MAX_SEGS] = {0};
    struct rte_mbuf *s = head;
    int loop = 0;
    while (s != NULL && len <= MAX_SEGS) {
        int i = (int)(s - segs);
        if (seen[i]) {
            loop = 1;
            break;
        }
        seen[i] = 1;
        order[len++] = i;
        s = s->next;
    }
    const int want = head->nb_segs;
    /* Walking nb_segs segments: the first problem met decides, in walk order. */
    uint64_t sum = 0;
    for (int k = 0; k < len && k < want; k++) {
        struct rte_mbuf *g = &segs[order[k]];
        if ((uint32_t)g->data_off + g->data_len > g->buf_len)
            return BMA_CHAIN_SEGMENT_PAST_BUFFER;
        sum += g->data_len;
    }
    if (loop || len > want) {
        /* a segment exists after nb_segs of them (with a loop, always when nb_segs is reached) */
        if (len > want || loop)
            return BMA_CHAIN_LONG;
    }
    if (len < want)
        return BMA_CHAIN_SHORT;
    (void)nseg;
    return sum == head->pkt_len ? BMA_CHAIN_OK : BMA_CHAIN_LENGTH;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rte_mbuf segs[MAX_SEGS];
    uint8_t *bufs[MAX_SEGS];
    memset(segs, 0, sizeof(segs));
    const int n = 1 + (int)(take(&data, &size, 1) % MAX_SEGS);
    for (int i = 0; i < n; i++) {
        const uint32_t buf_len = take(&data, &size, 2) % 4096;
        bufs[i] = malloc(buf_len ? buf_len : 1);
        segs[i].buf_addr = bufs[i];
        segs[i].buf_len = (uint16_t)buf_len;
        segs[i].data_off = (uint16_t)(take(&data, &size, 2) % 4200);
        segs[i].data_len = (uint16_t)(take(&data, &size, 2) % 4200);
        const uint32_t next = take(&data, &size, 1) % (MAX_SEGS + 1);
        segs[i].next = next < (uint32_t)n ? &segs[next] : NULL;
    }
    struct rte_mbuf *head = &segs[0];
    const uint32_t mode = take(&data, &size, 1);
    head->nb_segs = (uint16_t)(mode & 0x80 ? take(&data, &size, 1) % (MAX_SEGS + 2) : 0);
    head->pkt_len = take(&data, &size, 3);
    if (!(mode & 0x80)) {
        /* Mostly consistent chains: nb_segs and pkt_len from the list, maybe off by a little. */
        uint16_t c = 0;
        uint32_t sum = 0;
        for (struct rte_mbuf *s = head; s != NULL && c <= MAX_SEGS; s = s->next, c++)
            sum += s->data_len;
        head->nb_segs = c;
        head->pkt_len = sum + (mode & 0x40 ? (mode & 0x3) : 0) - (mode & 0x20 ? (mode & 0xc) >> 2 : 0);
    }

    const int v = bma_chain_verdict(head);
    if (v != reference(segs, n, head))
        abort();
    if (v == BMA_CHAIN_OK) {
        /* Read the whole frame as rte_pktmbuf_read does: by data_len, then next. */
        uint8_t *copy = malloc(head->pkt_len ? head->pkt_len : 1);
        uint32_t off = 0;
        for (struct rte_mbuf *s = head; off < head->pkt_len; s = s->next) {
            if (s == NULL)
                abort(); /* walked off the chain */
            memcpy(copy + off, (uint8_t *)s->buf_addr + s->data_off, s->data_len);
            off += s->data_len;
        }
        free(copy);
    }
    /* Freeable segments are distinct and end with NULL. */
    const uint32_t cap = 1 + (mode & 0x1f) % 10; /* below, at and above the chain's length */
    const uint32_t f = bma_chain_freeable(head, cap);
    if (f > cap)
        abort();
    if (f != 0) {
        int seen[MAX_SEGS] = {0};
        struct rte_mbuf *s = head;
        for (uint32_t k = 0; k < f; k++, s = s->next) {
            if (s == NULL || seen[s - segs]++)
                abort();
        }
        if (s != NULL)
            abort();
    }
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    return 0;
}
