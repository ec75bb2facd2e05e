/* DNS response parser: which addresses the answers give for the question name.
 *
 * Untrusted input: every read is checked against `len`, names follow at most a few compression
 * pointers and only backwards, names and record counts are bounded. Anything odd ends the parse
 * with what was found so far (a malformed message gives nothing, never a crash).
 */
#include <stdint.h>
#include <string.h>

#include "bma_dns.h"

#define HDR 12
#define TYPE_A 1
#define TYPE_CNAME 5
#define TYPE_AAAA 28
#define CLASS_IN 1
#define TCP 6
#define MAX_JUMPS 16
#define MAX_NAME 255

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static inline uint64_t hash_byte(uint64_t h, uint8_t b)
{
    if (b >= 'A' && b <= 'Z')
        b = (uint8_t)(b + 32);
    return (h ^ b) * FNV_PRIME;
}

/* A hash is never 0: 0 means "no name" to the dataplane. */
static inline uint64_t finish(uint64_t h)
{
    return h ? h : 1;
}

/* A label byte as text: lower-cased; what would not read as one character of one label ('?'). */
static inline char text_byte(uint8_t b)
{
    if (b >= 'A' && b <= 'Z')
        return (char)(b + 32);
    if (b <= 0x20 || b >= 0x7f || b == '.' || b == '\\' || b == '"')
        return '?';
    return (char)b;
}

/* Reads the name at `off`: its hash (labels as length + lower-cased bytes) and where the record
 * continues after it (after the first pointer, if any); with `text`, the name as text (at most
 * BMA_DNS_NAME_MAX characters, which the 255-byte bound on the wire guarantees). Returns 0 for a
 * malformed name. */
static int read_name(const uint8_t *msg, uint32_t len, uint32_t off, uint64_t *hash, uint32_t *next,
                     bma_dns_name_t *text)
{
    uint64_t h = FNV_OFFSET;
    uint32_t total = 0, jumps = 0, after = 0, chars = 0;
    uint32_t limit = off; /* a pointer must point before the label that holds it */
    for (;;) {
        if (off >= len)
            return 0;
        uint8_t l = msg[off];
        if ((l & 0xc0) == 0xc0) {
            if (off + 2 > len || ++jumps > MAX_JUMPS)
                return 0;
            uint32_t to = (uint32_t)(l & 0x3f) << 8 | msg[off + 1];
            if (!after)
                after = off + 2;
            if (to >= limit || to < HDR)
                return 0;
            off = limit = to;
            continue;
        }
        if (l & 0xc0) /* 0x40 and 0x80: extended and reserved label types */
            return 0;
        total += (uint32_t)l + 1;
        if (total > MAX_NAME || off + 1 + l > len)
            return 0;
        h = hash_byte(h, l);
        if (l == 0)
            break;
        for (uint32_t i = 0; i < l; i++)
            h = hash_byte(h, msg[off + 1 + i]);
        if (text) {
            /* total <= 255 counts every label with its length byte and leaves one for the root:
             * the dots and characters written so far are total - 2 <= BMA_DNS_NAME_MAX. */
            if (chars)
                text->text[chars++] = '.';
            for (uint32_t i = 0; i < l; i++)
                text->text[chars++] = text_byte(msg[off + 1 + i]);
        }
        off += 1 + l;
    }
    if (text) {
        text->text[chars] = 0;
        text->len = (uint8_t)chars;
    }
    *hash = finish(h);
    *next = after ? after : off + 1;
    return 1;
}

unsigned bma_dns_parse(const uint8_t *msg, uint32_t len, uint16_t pkt, bma_dns_answer_t *out, unsigned cap,
                       bma_dns_name_t *name, uint16_t name_index)
{
    if (msg == NULL || len < HDR || cap == 0)
        return 0;
    uint16_t flags = rd16(msg + 2);
    /* A response (QR), a standard query (opcode 0), no error. */
    if (!(flags & 0x8000) || (flags & 0x7800) || (flags & 0x000f))
        return 0;
    if (rd16(msg + 4) != 1)
        return 0;
    unsigned ancount = rd16(msg + 6);
    if (ancount > BMA_DNS_MAX_RECORDS)
        ancount = BMA_DNS_MAX_RECORDS;

    uint64_t qname;
    uint32_t off;
    bma_dns_name_t qtext; /* copied to *name only when the message gives answers */
    if (!read_name(msg, len, HDR, &qname, &off, &qtext) || off + 4 > len)
        return 0;
    uint16_t qtype = rd16(msg + off);
    if (rd16(msg + off + 2) != CLASS_IN || (qtype != TYPE_A && qtype != TYPE_AAAA))
        return 0;
    off += 4;

    /* One pass over the answers: CNAME links and address records, by owner hash. Chains are
     * resolved afterwards, so their order in the message does not matter. */
    uint64_t link_from[BMA_DNS_MAX_CNAMES], link_to[BMA_DNS_MAX_CNAMES];
    unsigned links = 0;
    struct {
        uint64_t owner, hi, lo;
        uint32_t ttl;
    } addr[BMA_DNS_MAX_RECORDS];
    unsigned addrs = 0;
    for (unsigned i = 0; i < ancount; i++) {
        uint64_t owner;
        if (!read_name(msg, len, off, &owner, &off, NULL) || off + 10 > len)
            break;
        uint16_t type = rd16(msg + off), cls = rd16(msg + off + 2);
        uint32_t ttl = rd32(msg + off + 4);
        uint32_t rdlen = rd16(msg + off + 8);
        uint32_t rdata = off + 10;
        if (rdata + rdlen > len)
            break;
        off = rdata + rdlen;
        if (cls != CLASS_IN)
            continue;
        if (ttl & 0x80000000u) /* RFC 2181: a TTL with the top bit set is 0 */
            ttl = 0;
        if (type == TYPE_CNAME) {
            uint64_t target;
            uint32_t end;
            if (links < BMA_DNS_MAX_CNAMES && read_name(msg, len, rdata, &target, &end, NULL) && end <= off) {
                link_from[links] = owner;
                link_to[links] = target;
                links++;
            }
        } else if (type == TYPE_A && rdlen == 4) {
            addr[addrs].owner = owner;
            addr[addrs].hi = 0;
            addr[addrs].lo = 0x0000ffff00000000ULL | rd32(msg + rdata);
            addr[addrs].ttl = ttl;
            addrs++;
        } else if (type == TYPE_AAAA && rdlen == 16) {
            addr[addrs].owner = owner;
            addr[addrs].hi = rd64(msg + rdata);
            addr[addrs].lo = rd64(msg + rdata + 8);
            addr[addrs].ttl = ttl;
            addrs++;
        }
    }

    /* The names that stand for the question: itself and what CNAMEs lead to from it. */
    uint64_t alias[BMA_DNS_MAX_CNAMES + 1];
    unsigned aliases = 0;
    alias[aliases++] = qname;
    for (unsigned grew = 1; grew;) {
        grew = 0;
        for (unsigned l = 0; l < links; l++) {
            int from = 0, to = 0;
            for (unsigned a = 0; a < aliases; a++) {
                from |= alias[a] == link_from[l];
                to |= alias[a] == link_to[l];
            }
            if (from && !to && aliases < BMA_DNS_MAX_CNAMES + 1) {
                alias[aliases++] = link_to[l];
                grew = 1;
            }
        }
    }

    unsigned n = 0;
    for (unsigned i = 0; i < addrs && n < cap; i++) {
        int mine = 0;
        for (unsigned a = 0; a < aliases; a++)
            mine |= alias[a] == addr[i].owner;
        if (!mine)
            continue;
        out[n].addr_hi = addr[i].hi;
        out[n].addr_lo = addr[i].lo;
        out[n].name_hash = qname;
        out[n].ttl = addr[i].ttl;
        out[n].pkt = pkt;
        out[n].name = name_index;
        n++;
    }
    if (n && name)
        memcpy(name, &qtext, (size_t)qtext.len + 2); /* len, the characters and their NUL */
    return n;
}

unsigned bma_dns_frame(const uint8_t *data, uint32_t len, const bma_pkt_t *p, uint16_t pkt, bma_dns_answer_t *out,
                       unsigned cap, bma_dns_name_t *name, uint16_t name_index)
{
    if (!(p->flags & BMA_PF_DNS_RESPONSE) || p->l4_off == 0)
        return 0;
    uint32_t off = p->l4_off;
    if (p->ip_proto == TCP) {
        if (off + 13 >= len)
            return 0;
        off += (uint32_t)(data[off + 12] >> 4) * 4;
    } else {
        off += 8;
    }
    if (off >= len)
        return 0; /* the message starts in a later segment: skipped */
    uint32_t avail = len - off;
    if (avail > p->l4_payload)
        avail = p->l4_payload; /* Ethernet padding is not part of the message */
    if (p->ip_proto == TCP) {
        /* One whole message with its length prefix (RFC 1035 4.2.2) at the segment's start. */
        if (avail < 2 || (uint32_t)rd16(data + off) + 2 > avail)
            return 0;
        avail = rd16(data + off);
        off += 2;
    }
    return bma_dns_parse(data + off, avail, pkt, out, cap, name, name_index);
}

uint64_t bma_dns_name_hash(const char *text)
{
    if (text == NULL || *text == 0)
        return 0;
    uint64_t h = FNV_OFFSET;
    size_t total = 0;
    const char *p = text;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63)
            return 0;
        total += l + 1;
        if (total + 1 > MAX_NAME)
            return 0;
        h = hash_byte(h, (uint8_t)l);
        for (size_t i = 0; i < l; i++)
            h = hash_byte(h, (uint8_t)p[i]);
        p += l;
        if (*p == '.')
            p++; /* a trailing dot (the root) is the same name */
    }
    return finish(hash_byte(h, 0));
}
