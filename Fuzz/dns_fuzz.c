/* libFuzzer target: the DNS answer parser (Sources/CDPDK/bma_dns.c) on exact-size messages, and
 * the same bytes as a frame (bma_parse, then bma_dns_frame: UDP, or TCP with a length prefix).
 *
 * DNS responses toward a VM come from anywhere on the network. The input is the message; the
 * parser must stay inside it, write at most `cap` answers (the cap taken from the message's
 * length, so that every cap from 0 up is tried) and the question name's text only when it
 * gives answers, keep that text within BMA_DNS_NAME_MAX printable characters that hash back to
 * the answers' name, and give the same answers twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bma_dns.h"

/* The text as bma_dns_parse promises it: NUL at `len`, printable ASCII, no upper case. Returns
 * whether a byte was replaced ('?' present), when the text cannot hash back to the name. */
static int check_text(const bma_dns_name_t *t)
{
    if (t->len > BMA_DNS_NAME_MAX || t->text[t->len] != 0)
        abort();
    int replaced = 0;
    for (unsigned i = 0; i < t->len; i++) {
        char c = t->text[i];
        if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z') || c == '\\' || c == '"')
            abort();
        replaced |= c == '?';
    }
    return replaced;
}

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
    bma_dns_name_t name, again;
    memset(a, 0xA5, sizeof(a));
    memset(b, 0x5A, sizeof(b));
    memset(&name, 0xA5, sizeof(name));
    const unsigned n = bma_dns_parse(msg, (uint32_t)size, 7, a, cap, &name, 3);
    if (n > cap)
        abort();
    /* Nothing written past the answers it reports. */
    for (unsigned i = n; i < BMA_DNS_MAX_RECORDS + 2; i++) {
        const uint8_t *p = (const uint8_t *)&a[i];
        for (size_t k = 0; k < sizeof(a[i]); k++)
            if (p[k] != 0xA5)
                abort();
    }
    if (n == 0) {
        /* No answers: the name is left alone. */
        const uint8_t *p = (const uint8_t *)&name;
        for (size_t k = 0; k < sizeof(name); k++)
            if (p[k] != 0xA5)
                abort();
    } else {
        /* Past the NUL, nothing written either. */
        const uint8_t *p = (const uint8_t *)&name;
        for (size_t k = (size_t)name.len + 2; k < sizeof(name); k++)
            if (p[k] != 0xA5)
                abort();
        if (!check_text(&name) && name.len > 0 && bma_dns_name_hash(name.text) != a[0].name_hash)
            abort();
    }
    for (unsigned i = 0; i < n; i++)
        if (a[i].name_hash == 0 || a[i].pkt != 7 || a[i].name != 3 || a[i].name_hash != a[0].name_hash)
            abort();
    if (bma_dns_parse(msg, (uint32_t)size, 7, b, cap, &again, 3) != n)
        abort();
    for (unsigned i = 0; i < n; i++)
        if (a[i].addr_hi != b[i].addr_hi || a[i].addr_lo != b[i].addr_lo || a[i].name_hash != b[i].name_hash ||
            a[i].ttl != b[i].ttl)
            abort();
    if (n && (again.len != name.len || memcmp(again.text, name.text, name.len + 1u) != 0))
        abort();

    /* As a frame: only a frame the parser flags as a DNS response gives answers, at most `cap`,
     * with the packet and name indexes given and a text as above. */
    bma_pkt_t p;
    memset(&p, 0, sizeof(p));
    bma_parse(msg, (uint32_t)size, (uint32_t)size, &p);
    bma_dns_answer_t f[BMA_DNS_MAX_RECORDS + 2];
    bma_dns_name_t fname;
    memset(&fname, 0xA5, sizeof(fname));
    const unsigned fn = bma_dns_frame(msg, (uint32_t)size, &p, 2, f, cap, &fname, 1);
    if (fn > cap || (fn && !(p.flags & BMA_PF_DNS_RESPONSE)))
        abort();
    if (fn) {
        check_text(&fname);
        for (unsigned i = 0; i < fn; i++)
            if (f[i].pkt != 2 || f[i].name != 1 || f[i].name_hash == 0)
                abort();
    } else if (fname.len != 0xA5) {
        abort();
    }
    free(msg);
    return 0;
}
