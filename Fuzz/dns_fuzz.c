/* libFuzzer target: the DNS answer parser (Sources/CDPDK/bma_dns.c) on exact-size messages.
 *
 * DNS responses toward a VM come from anywhere on the network. The input is the message; the
 * parser must stay inside it, write at most `cap` answers (the cap taken from the message's
 * length, so that every cap from 0 up is tried), and give the same answers twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bma_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535)
        return 0;
    uint8_t *msg = malloc(size ? size : 1);
    if (msg == NULL)
        return 0;
    memcpy(msg, data, size);
    const unsigned cap = (unsigned)(size % (BMA_DNS_MAX_RECORDS + 2));
    bma_dns_answer_t a[BMA_DNS_MAX_RECORDS + 2], b[BMA_DNS_MAX_RECORDS + 2];
    memset(a, 0xA5, sizeof(a));
    memset(b, 0x5A, sizeof(b));
    const unsigned n = bma_dns_parse(msg, (uint32_t)size, 7, a, cap);
    if (n > cap)
        abort();
    /* Nothing written past the answers it reports. */
    for (unsigned i = n; i < BMA_DNS_MAX_RECORDS + 2; i++) {
        const uint8_t *p = (const uint8_t *)&a[i];
        for (size_t k = 0; k < sizeof(a[i]); k++)
            if (p[k] != 0xA5)
                abort();
    }
    for (unsigned i = 0; i < n; i++)
        if (a[i].name_hash == 0 || a[i].pkt != 7)
            abort();
    if (bma_dns_parse(msg, (uint32_t)size, 7, b, cap) != n)
        abort();
    for (unsigned i = 0; i < n; i++)
        if (a[i].addr_hi != b[i].addr_hi || a[i].addr_lo != b[i].addr_lo || a[i].name_hash != b[i].name_hash ||
            a[i].ttl != b[i].ttl)
            abort();
    free(msg);
    return 0;
}
