/* libFuzzer target: the mirror encapsulation encoder (Sources/CDPDK/bma_encap.c) and a decoder
 * of what it writes. The input picks the encapsulation, the metadata, the authentication key id
 * (0: off), the copy and original lengths and the room given (an exact-size buffer); every
 * header written must decode back to what was asked, with a valid IPv4 checksum and lengths
 * that add up, and an authenticated Geneve header must carry the key id in a zeroed option
 * for bma_auth_seal to fill. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bma_auth.h"
#include "bma_mirror.h"

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

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }
static uint64_t be48(const uint8_t *p) { return (uint64_t)be16(p) << 32 | be32(p + 2); }

static void check_ipv4(const uint8_t *ip, uint32_t proto, uint32_t total, uint32_t dst)
{
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += be16(ip + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    if (sum != 0xffff)
        abort(); /* checksum */
    if (ip[0] != 0x45 || ip[9] != proto || be16(ip + 2) != total || be32(ip + 16) != dst)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bma_encap_t e;
    bma_mirror_meta_t m;
    memset(&e, 0, sizeof(e));
    memset(&m, 0, sizeof(m));
    e.kind = take(&data, &size, 1) % 6; /* 4 and 5: unknown kinds */
    e.src_mac = (uint64_t)take(&data, &size, 2) << 32 | take(&data, &size, 4);
    e.dst_mac = (uint64_t)take(&data, &size, 2) << 32 | take(&data, &size, 4);
    e.src_ip = take(&data, &size, 4);
    e.n_collectors = take(&data, &size, 1) % 12; /* past BMA_MAX_COLLECTORS too */
    for (int i = 0; i < BMA_MAX_COLLECTORS; i++)
        e.collectors[i] = take(&data, &size, 4);
    e.udp_dst_port = (uint16_t)take(&data, &size, 2);
    e.ttl = (uint8_t)take(&data, &size, 1);
    e.dscp = (uint8_t)take(&data, &size, 1);
    m.ts_ns = (uint64_t)take(&data, &size, 4) << 32 | take(&data, &size, 4);
    m.vm_id = take(&data, &size, 4);
    m.reasons = take(&data, &size, 4);
    m.score_milli = take(&data, &size, 4);
    m.flow_hash = take(&data, &size, 4);
    m.policy_id = (uint16_t)take(&data, &size, 2);
    m.flags = (uint16_t)take(&data, &size, 2);
    e.auth_key_id = (uint8_t)take(&data, &size, 1);
    const uint32_t inner = take(&data, &size, 3);
    const uint32_t orig = take(&data, &size, 3);
    const uint32_t cap = take(&data, &size, 1);

    uint8_t *out = malloc(cap ? cap : 1);
    if (out == NULL)
        return 0;
    const uint32_t hlen = bma_encap_build(&e, &m, inner, orig, out, cap);
    const uint32_t want = bma_encap_header_len(&e);
    /* The longest copy the mirror asks for is one the encoder accepts, and one byte more is not. */
    const uint32_t most = bma_encap_max_inner(&e);
    if (want != 0 && e.n_collectors != 0) {
        uint8_t room[128];
        if (bma_encap_build(&e, &m, most, most, room, sizeof(room)) != want ||
            bma_encap_build(&e, &m, most + 1, most + 1, room, sizeof(room)) != 0)
            abort();
    } else if (want == 0 && most != UINT32_MAX) {
        abort();
    }
    if (hlen != 0) {
        if (hlen != want || hlen > cap || e.n_collectors == 0)
            abort();
        const uint32_t n = e.n_collectors < BMA_MAX_COLLECTORS ? e.n_collectors : BMA_MAX_COLLECTORS;
        const uint32_t dst = e.collectors[m.flow_hash % n];
        const uint32_t ip_total = hlen - 14 + inner;
        if (ip_total > 65535)
            abort(); /* an IPv4 length cannot say more */
        if (be48(out) != (e.dst_mac & 0xffffffffffffULL) || be48(out + 6) != (e.src_mac & 0xffffffffffffULL) ||
            be16(out + 12) != 0x0800)
            abort();
        const int truncated = inner < orig;
        const uint8_t *l4 = out + 34;
        switch (e.kind) {
        case BMA_ENCAP_VXLAN:
        case BMA_ENCAP_GENEVE:
            check_ipv4(out + 14, 17, ip_total, dst);
            if (be16(l4 + 4) != ip_total - 20 || be16(l4) < 0xC000)
                abort();
            if (be16(l4 + 2) != (e.udp_dst_port ? e.udp_dst_port : (e.kind == BMA_ENCAP_VXLAN ? 4789u : 6081u)))
                abort();
            if (be32(l4 + 12) >> 8 != (m.vm_id & 0xffffff))
                abort();
            if (e.kind == BMA_ENCAP_GENEVE) {
                const uint8_t *opt = l4 + 16;
                const uint32_t auth_words = e.auth_key_id ? (4 + BMA_GENEVE_AUTH_DATA_LEN) / 4 : 0;
                if (be16(l4 + 10) != 0x6558 || (l4[8] & 0x3f) != 7 + auth_words || be16(opt) != BMA_GENEVE_OPT_CLASS ||
                    opt[2] != BMA_GENEVE_OPT_TYPE || (opt[3] & 0x1f) != 6)
                    abort();
                const uint8_t *d = opt + 4;
                if (d[0] != BMA_GENEVE_OPT_VERSION || be16(d + 2) != m.policy_id || be32(d + 4) != m.reasons ||
                    be32(d + 8) != m.score_milli || be32(d + 12) != orig ||
                    ((uint64_t)be32(d + 16) << 32 | be32(d + 20)) != m.ts_ns)
                    abort();
                if (((d[1] & BMA_MF_TRUNCATED) != 0) != (truncated || (m.flags & BMA_MF_TRUNCATED)))
                    abort();
                if (e.auth_key_id) {
                    const uint8_t *a = opt + 4 + 24;
                    if (be16(a) != BMA_GENEVE_OPT_CLASS || a[2] != BMA_GENEVE_AUTH_OPT_TYPE ||
                        (a[3] & 0x1f) != BMA_GENEVE_AUTH_DATA_LEN / 4 || a[4] != e.auth_key_id)
                        abort();
                    for (unsigned i = 1; i < BMA_GENEVE_AUTH_DATA_LEN; i++)
                        if (a[4 + i] != 0)
                            abort(); /* stream, sequence and MAC are bma_auth_seal's */
                }
            }
            break;
        case BMA_ENCAP_ERSPAN2:
            check_ipv4(out + 14, 47, ip_total, dst);
            if (be16(l4) != 0x1000 || be16(l4 + 2) != 0x88BE)
                abort();
            if ((be16(l4 + 8) >> 12) != 1 || (be16(l4 + 10) & 0x3ff) != (m.vm_id & 0x3ff))
                abort();
            if (((be16(l4 + 10) >> 10) & 1) != (uint32_t)(truncated || (m.flags & BMA_MF_TRUNCATED)))
                abort();
            break;
        default:
            abort(); /* no header for NONE or unknown kinds */
        }
    } else if (want != 0 && cap >= want && e.n_collectors != 0 && want - 14 + inner <= 65535) {
        abort(); /* refused although it could be built */
    }
    free(out);
    return 0;
}
