/* libFuzzer target: authenticated Geneve headers (Sources/CDPDK/bma_auth.c with bma_encap.c and
 * bma_siphash.c). The input picks a key and key id, metadata, the copy's length, the bytes of the
 * copy at hand (an exact-size buffer), stream and sequence, and a header length. A header built
 * by bma_encap_build is sealed and its option must hold the stream, the sequence and a MAC equal
 * to SipHash-2-4 of the message assembled here from the contract (bma_auth.h); any other header
 * (random bytes of any length, exact-size) is refused or sealed without reading past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bma_auth.h"
#include "bma_mirror.h"

static uint64_t take(const uint8_t **d, size_t *n, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (*n ? **d : 0);
        if (*n) {
            (*d)++;
            (*n)--;
        }
    }
    return v;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bma_encap_t e;
    bma_mirror_meta_t m;
    memset(&e, 0, sizeof(e));
    memset(&m, 0, sizeof(m));
    e.kind = BMA_ENCAP_GENEVE;
    e.n_collectors = 1;
    e.collectors[0] = (uint32_t)take(&data, &size, 4);
    e.auth_key_id = (uint8_t)take(&data, &size, 1);
    e.auth_k0 = take(&data, &size, 8);
    e.auth_k1 = take(&data, &size, 8);
    m.vm_id = (uint32_t)take(&data, &size, 3);
    m.flags = (uint16_t)take(&data, &size, 1);
    m.reasons = (uint32_t)take(&data, &size, 4);
    m.score_milli = (uint32_t)take(&data, &size, 4);
    m.policy_id = (uint16_t)take(&data, &size, 2);
    m.ts_ns = take(&data, &size, 8);
    const uint8_t stream = (uint8_t)take(&data, &size, 1);
    const uint64_t seq = take(&data, &size, 8);
    const uint32_t copy_len = (uint32_t)take(&data, &size, 2);
    const uint32_t avail = (uint32_t)take(&data, &size, 1) % 80;
    const uint32_t junk_len = (uint32_t)take(&data, &size, 1);

    uint8_t *inner = malloc(avail ? avail : 1);
    for (uint32_t i = 0; i < avail; i++)
        inner[i] = (uint8_t)take(&data, &size, 1);

    /* A real header. */
    const uint32_t hlen = bma_encap_header_len(&e);
    uint8_t *h = malloc(hlen);
    if (copy_len > bma_encap_max_inner(&e)) {
        if (bma_encap_build(&e, &m, copy_len, copy_len, h, hlen) != 0)
            abort(); /* past what an IPv4 datagram can carry */
        memset(h, 0, hlen);
    } else if (bma_encap_build(&e, &m, copy_len, copy_len, h, hlen) != hlen) {
        abort();
    }
    const int r = bma_auth_seal(h, hlen, inner, avail, copy_len, stream, seq, e.auth_k0, e.auth_k1);
    const uint32_t need = copy_len < BMA_AUTH_FRAME_BYTES ? copy_len : BMA_AUTH_FRAME_BYTES;
    if (copy_len > bma_encap_max_inner(&e)) {
        if (r != -1)
            abort(); /* no header was built: nothing to seal */
    } else if (e.auth_key_id == 0) {
        if (hlen != 78 || r != -1)
            abort(); /* no option: refused */
    } else if (need > avail) {
        if (r != -1)
            abort(); /* fewer bytes at hand than the MAC covers */
    } else {
        if (hlen != 102 || r != 0 || h[82] != e.auth_key_id || h[83] != stream || h[84] || h[85] || be(h + 86, 8) != seq)
            abort();
        uint8_t msg[BMA_AUTH_MSG_MAX];
        size_t n = 0;
        memcpy(msg + n, h + 46, 4), n += 4;  /* VNI word */
        memcpy(msg + n, h + 54, 24), n += 24; /* metadata option data */
        memcpy(msg + n, h + 82, 12), n += 12; /* key id, stream, reserved, sequence */
        for (int i = 3; i >= 0; i--)
            msg[n++] = (uint8_t)(copy_len >> (8 * i));
        memcpy(msg + n, inner, need), n += need;
        if (be(h + 94, 8) != bma_siphash24(e.auth_k0, e.auth_k1, msg, n))
            abort();
    }
    free(h);

    /* Any bytes as a header, exact size. */
    uint8_t *j = malloc(junk_len ? junk_len : 1);
    for (uint32_t i = 0; i < junk_len; i++)
        j[i] = (uint8_t)take(&data, &size, 1);
    const int rj = bma_auth_seal(junk_len ? j : NULL, junk_len, inner, avail, copy_len, stream, seq, e.auth_k0, e.auth_k1);
    if (rj != 0 && rj != -1)
        abort();
    if (rj == 0 && (junk_len != 102 || j[80] != BMA_GENEVE_AUTH_OPT_TYPE))
        abort();
    free(j);
    free(inner);
    return 0;
}
