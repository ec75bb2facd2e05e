/* Received mbuf chains that disagree with themselves are dropped before parsing (bma_chain.c). */
#ifndef BMA_CHAIN_H
#define BMA_CHAIN_H

#include <stdint.h>

/* Frames received on `port` and dropped because their mbuf chain was inconsistent (pkt_len not
 * the sum of the segments, nb_segs not the chain's length, a segment past its buffer), by every
 * lcore. Relaxed reads: safe while the workers run. */
uint64_t bma_rx_invalid_chains(uint16_t port);

#endif
