/* Consistency of a received mbuf chain, as plain logic over the mbuf fields: no EAL, no mempool,
 * no function of the DPDK libraries (the fuzz target runs it on mbufs it builds itself). */
#ifndef BMA_CHAIN_CHECK_H
#define BMA_CHAIN_CHECK_H

#include <rte_config.h>
#include <rte_mbuf_core.h>
#include <stdint.h>

/* Why a chain cannot be read as the frame it claims to be. */
enum {
    BMA_CHAIN_OK = 0,
    BMA_CHAIN_SEGMENT_PAST_BUFFER, /* a segment's data runs past the end of its buffer */
    BMA_CHAIN_SHORT,               /* fewer segments than nb_segs */
    BMA_CHAIN_LONG,                /* more segments than nb_segs (or a loop) */
    BMA_CHAIN_LENGTH,              /* pkt_len is not the sum of the segments' data_len */
};

/* Checks the chain that starts at `m`: exactly nb_segs segments linked by `next`, each segment's
 * data inside its buffer, and pkt_len equal to the sum of the data lengths. Walks at most nb_segs
 * + 1 segments, so a loop ends the walk. Reads only these fields. */
int bma_chain_verdict(const struct rte_mbuf *m);

/* How many segments a free may walk: the length of the `next` list when it ends with NULL within
 * `cap` segments and has no loop, else 0 (then no segment may be freed by walking it). */
uint32_t bma_chain_freeable(const struct rte_mbuf *m, uint32_t cap);

/* The receive path (bma_chain.c): drops the frames of m[0..n) whose chain is not consistent,
 * counts them for `port`, keeps the others in order; returns how many were kept. */
uint16_t bma_rx_chains_filter(uint16_t port, struct rte_mbuf **m, uint16_t n);

#endif
