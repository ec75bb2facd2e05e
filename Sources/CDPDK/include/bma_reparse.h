/* Parsing a held frame again, for explanations (replay --decisions): pre-trigger copies are
 * held as mbufs without their descriptors. Not for the packet path. */
#ifndef BMA_REPARSE_H
#define BMA_REPARSE_H

#include "bma_dpdk.h"
#include "bma_packet.h"

/* Parses the frame in `m` (its first segment) into `out`; a NULL mbuf gives an empty descriptor. */
void bma_mbuf_parse(const bma_mbuf_t *m, bma_pkt_t *out);

#endif
