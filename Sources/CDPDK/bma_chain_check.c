/* Mbuf chain consistency (see bma_chain_check.h). Pure: the fuzz target links this file alone. */
#include "bma_chain_check.h"

int bma_chain_verdict(const struct rte_mbuf *m)
{
    const uint32_t want = m->nb_segs;
    uint64_t sum = 0;
    uint32_t segs = 0;
    const struct rte_mbuf *s = m;
    while (s != NULL) {
        if (segs == want)
            return BMA_CHAIN_LONG; /* a segment past nb_segs: a loop ends here too */
        if ((uint32_t)s->data_off + s->data_len > s->buf_len)
            return BMA_CHAIN_SEGMENT_PAST_BUFFER;
        sum += s->data_len;
        segs++;
        s = s->next;
    }
    if (segs < want)
        return BMA_CHAIN_SHORT;
    return sum == m->pkt_len ? BMA_CHAIN_OK : BMA_CHAIN_LENGTH;
}

uint32_t bma_chain_freeable(const struct rte_mbuf *m, uint32_t cap)
{
    /* Floyd's cycle walk, bounded by cap: a bad chain may loop, and freeing a segment twice
     * would corrupt the pool. */
    const struct rte_mbuf *slow = m, *fast = m;
    uint32_t n = 0;
    while (fast != NULL) {
        if (++n > cap)
            return 0;
        fast = fast->next;
        if (fast == NULL)
            break;
        if (++n > cap)
            return 0;
        fast = fast->next;
        slow = slow->next;
        if (fast == slow)
            return 0;
    }
    return n;
}
