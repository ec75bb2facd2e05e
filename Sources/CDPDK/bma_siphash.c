/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), written from
 * the paper's description: four 64-bit words of state from the key and four constants; each
 * 8-byte little-endian message word is XORed into v3, mixed by two SipRounds and XORed into v0;
 * the last word holds the remaining bytes and the length mod 256 in its top byte; finalisation
 * XORs 0xff into v2, runs four SipRounds and returns v0 ^ v1 ^ v2 ^ v3. */
#include "bma_auth.h"

static inline uint64_t rotl(uint64_t x, unsigned b) { return x << b | x >> (64 - b); }

static inline uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                                   \
    do {                                                                                           \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                                  \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                                     \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                                     \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                                  \
    } while (0)

uint64_t bma_siphash24(uint64_t k0, uint64_t k1, const uint8_t *m, size_t len)
{
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    const size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        const uint64_t w = load_le(m + i, 8);
        v3 ^= w;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= w;
    }
    const uint64_t last = load_le(m + whole, len - whole) | (uint64_t)(len & 0xff) << 56;
    v3 ^= last;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    for (int r = 0; r < 4; r++)
        SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}
