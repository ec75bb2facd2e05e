/* Authenticated mirror metadata: a keyed MAC (SipHash-2-4) over what a Geneve copy says about a
 * packet, with a per-stream sequence number against replay. The layout is the wire contract
 * (Sources/BMAContract/MirrorAuthentication.swift says the same; BMAContractTests compare them).
 *
 * With authentication on, a Geneve copy carries a second option after BMA's metadata option:
 * class BMA_GENEVE_OPT_CLASS, type BMA_GENEVE_AUTH_OPT_TYPE, 5 words of data, big-endian:
 *
 *    0 key id (1, never 0)   1 stream (1: the worker's mirror TX queue)   2 reserved, 0 (2)
 *    4 sequence number (8: per stream, increasing; starts at the wall clock in ns)
 *   12 MAC (8: SipHash-2-4 output as a big-endian 64-bit number)
 *
 * The MAC covers, in this order (at most BMA_AUTH_MSG_MAX bytes):
 *   the Geneve VNI word (4: VNI and reserved byte)  | the metadata option's 24 data bytes
 *   | bytes 0-11 of the authentication data (key id, stream, reserved, sequence)
 *   | the copy's length in bytes (4, big-endian)   | its first min(length, BMA_AUTH_FRAME_BYTES) bytes.
 * The key is 16 bytes; k0 and k1 are its two halves read little-endian (as in the paper).
 */
#ifndef BMA_AUTH_H
#define BMA_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define BMA_GENEVE_AUTH_OPT_TYPE 0x43
#define BMA_GENEVE_AUTH_DATA_LEN 20
#define BMA_AUTH_FRAME_BYTES 64
#define BMA_AUTH_MSG_MAX (4 + 24 + 12 + 4 + BMA_AUTH_FRAME_BYTES)

/* SipHash-2-4 of m[0..len) under the key (k0, k1). */
uint64_t bma_siphash24(uint64_t k0, uint64_t k1, const uint8_t *m, size_t len);

/* Fills the authentication option of a Geneve copy whose headers are hdr[0..hlen) (built by
 * bma_encap_build with auth_key_id set) and whose first inner bytes are inner[0..inner_avail):
 * writes stream and sequence, then the MAC. copy_len is the whole copy's length. Returns 0, or
 * -1 when the header is not an authenticated Geneve header. Pure: no DPDK. */
int bma_auth_seal(uint8_t *hdr, uint32_t hlen, const uint8_t *inner, uint32_t inner_avail,
                  uint32_t copy_len, uint8_t stream, uint64_t seq, uint64_t k0, uint64_t k1);

#endif
