/* Seals the authentication option of a Geneve copy (layout and MAC input: bma_auth.h). */
#include <string.h>

#include "bma_auth.h"
#include "bma_mirror.h"

/* Offsets in an authenticated Geneve header: Ethernet 14, IPv4 20, UDP 8, Geneve base 8, the
 * metadata option (4 + 24), then the authentication option (4 + 20). */
#define GENEVE_AT 42u
#define META_DATA_AT (GENEVE_AT + 8u + 4u)
#define AUTH_HDR_AT (META_DATA_AT + 24u)
#define AUTH_DATA_AT (AUTH_HDR_AT + 4u)
#define AUTH_HLEN (AUTH_DATA_AT + BMA_GENEVE_AUTH_DATA_LEN)

_Static_assert(AUTH_HLEN == 102, "authenticated Geneve header length");

int bma_auth_seal(uint8_t *hdr, uint32_t hlen, const uint8_t *inner, uint32_t inner_avail,
                  uint32_t copy_len, uint8_t stream, uint64_t seq, uint64_t k0, uint64_t k1)
{
    if (hdr == NULL || hlen != AUTH_HLEN || hdr[AUTH_HDR_AT + 2] != BMA_GENEVE_AUTH_OPT_TYPE)
        return -1;
    uint8_t *a = hdr + AUTH_DATA_AT;
    a[1] = stream;
    for (int i = 0; i < 8; i++)
        a[4 + i] = (uint8_t)(seq >> (56 - 8 * i));

    uint8_t msg[BMA_AUTH_MSG_MAX];
    uint32_t n = 0;
    memcpy(msg, hdr + GENEVE_AT + 4, 4);
    n += 4;
    memcpy(msg + n, hdr + META_DATA_AT, 24);
    n += 24;
    memcpy(msg + n, a, 12);
    n += 12;
    msg[n++] = (uint8_t)(copy_len >> 24);
    msg[n++] = (uint8_t)(copy_len >> 16);
    msg[n++] = (uint8_t)(copy_len >> 8);
    msg[n++] = (uint8_t)copy_len;
    uint32_t take = copy_len < BMA_AUTH_FRAME_BYTES ? copy_len : BMA_AUTH_FRAME_BYTES;
    if (take > inner_avail)
        return -1; /* the caller must hand the copy's first bytes */
    if (take)
        memcpy(msg + n, inner, take);
    n += take;

    const uint64_t mac = bma_siphash24(k0, k1, msg, n);
    for (int i = 0; i < 8; i++)
        a[12 + i] = (uint8_t)(mac >> (56 - 8 * i));
    return 0;
}
