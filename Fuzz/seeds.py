#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets into Fuzz/corpus/<target>/.

parse: frames of every kind found in captures/ (one per ethertype, protocol and size class) and
       crafted edge cases (VLAN stacks, IPv6 extension chains, fragments, runts, a jumbo frame).
encap: one input per encapsulation for a jumbo copy, a truncated copy, a copy at the IPv4 limit.
dns:   DNS responses (UDP payloads from port 53) of the captures, and crafted ones: a CNAME
       chain, a compression loop, a pointer past the end; the CNAME answer as a whole frame over
       UDP and over TCP (the target reads its input as a frame too).
chain: mbuf chains: one segment, a jumbo frame in five segments, and net_pcap's 68,000-byte frame
       (two segments holding 2,464 bytes under a pkt_len of 68,000).
Run: python3 Fuzz/seeds.py  (deterministic: the same files every time)."""
import hashlib, os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fuzz", "corpus")


def write(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def pcap_frames(path):
    with open(path, "rb") as f:
        b = f.read()
    magic = struct.unpack("<I", b[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(b):
        _, _, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        yield b[off + 16:off + 16 + incl]
        off += 16 + incl


def frame_class(f):
    et = f[12:14] if len(f) >= 14 else b""
    proto = f[23] if et == b"\x08\x00" and len(f) > 23 else (f[20] if et == b"\x86\xdd" and len(f) > 20 else -1)
    return (et, proto, min(len(f) // 256, 6))


def eth(t, payload, src=b"\x02\x00\x00\x00\x01\x01", dst=b"\x02\x00\x00\x00\x00\xfe"):
    return dst + src + struct.pack(">H", t) + payload


def ipv4(proto, payload, total=None, ihl=5, frag=0):
    h = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, total if total is not None else 20 + len(payload), 1, frag, 64,
                    proto, 0, bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1]))
    return h + b"\x00" * (ihl * 4 - 20) + payload


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, off=5, flags=0x02):
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 0, off << 4, flags, 65535, 0, 0) + b"\x01" * (off * 4 - 20)


def ipv6(nh, payload, plen=None):
    return struct.pack(">IHBB", 0x60000000, plen if plen is not None else len(payload), nh, 64) + \
        bytes(range(16)) + bytes(range(16, 32)) + payload


def parse_seeds():
    seen = set()
    for name in sorted(os.listdir(os.path.join(ROOT, "captures"))):
        if not name.endswith(".pcap"):
            continue
        for f in pcap_frames(os.path.join(ROOT, "captures", name)):
            c = frame_class(f)
            if c not in seen:
                seen.add(c)
                write("parse", f)
    u = udp(40000, 53, b"x" * 30)
    write("parse", b"\x02" * 13)                                         # runt
    write("parse", eth(0x8100, b"\x00\x07" + b"\x08\x00" + ipv4(17, u)))   # one VLAN tag
    write("parse", eth(0x88A8, b"\x00\x07\x81\x00\x00\x08\x08\x00" + ipv4(17, u)))  # two tags
    write("parse", eth(0x8100, b"\x00\x07\x81\x00\x00\x08\x81\x00\x00\x09\x08\x00" + ipv4(17, u)))  # three
    write("parse", eth(0x0800, ipv4(6, tcp(40000, 80, off=15))))          # TCP options
    write("parse", eth(0x0800, ipv4(17, u, ihl=8)))                       # IPv4 options
    write("parse", eth(0x0800, ipv4(17, u, frag=0x2000)))                 # first fragment
    write("parse", eth(0x0800, ipv4(17, u[:8], frag=0x0010)))             # later fragment
    write("parse", eth(0x0800, ipv4(17, u, total=4000)))                  # total length too long
    write("parse", eth(0x0800, ipv4(1, b"\x08\x00\x00\x00\x00\x01\x00\x01")))  # ICMP echo
    hop = bytes([60, 0]) + b"\x00" * 6
    dst = bytes([44, 0]) + b"\x00" * 6
    frag = bytes([17, 0, 0, 1, 0, 0, 0, 1])
    write("parse", eth(0x86DD, ipv6(0, hop + dst + frag + u)))            # extension chain
    write("parse", eth(0x86DD, ipv6(58, b"\x80\x00\x00\x00\x00\x01\x00\x01")))  # ICMPv6
    write("parse", eth(0x0806, struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + b"\x02" * 6 + bytes([10, 0, 0, 2]) +
                       b"\x00" * 6 + bytes([10, 0, 0, 1])))              # ARP
    write("parse", eth(0x0800, ipv4(17, udp(40000, 5000, b"j" * (9000 - 42)))))  # jumbo


def encap_seed(kind, inner, orig, cap, ncoll=2):
    b = bytes([kind]) + b"\x02\x00\x00\x00\x00\x09" + b"\x02\x00\x00\x00\x00\x01" + bytes([192, 0, 2, 1])
    b += bytes([ncoll]) + b"".join(bytes([192, 0, 2, 10 + i]) for i in range(8))
    b += b"\x00\x00" + b"\x40\x00"
    b += struct.pack(">QIIIIHH", 1_700_000_000_000_000_000, 101, 0x12, 1500, 0xDEADBEEF, 3, 0)
    b += inner.to_bytes(3, "big") + orig.to_bytes(3, "big") + bytes([cap])
    return b


def encap_seeds():
    for kind in range(4):
        write("encap", encap_seed(kind, 9018, 9018, 128))
        write("encap", encap_seed(kind, 128, 9018, 128))
        write("encap", encap_seed(kind, 65535 - 64, 68000, 100))
        write("encap", encap_seed(kind, 60, 60, 40, ncoll=0))


def chain_seed(segs, nb_segs=None, pkt_len=None):
    """segs: (buf_len, data_off, data_len, next index or 8 for NULL)."""
    b = bytes([len(segs) - 1])
    for buf_len, off, dlen, nxt in segs:
        b += struct.pack(">HHHB", buf_len, off, dlen, nxt)
    if nb_segs is None:
        return b + b"\x00\x00\x00\x00"
    return b + bytes([0x80, nb_segs]) + pkt_len.to_bytes(3, "big")


def chain_seeds():
    write("chain", chain_seed([(2176, 128, 60, 8)]))
    write("chain", chain_seed([(2176, 128, 2048, 1), (2176, 0, 2176, 2), (2176, 0, 2176, 3), (2176, 0, 2176, 4),
                               (2176, 0, 428, 8)]))
    # net_pcap and a 68,000-byte frame: 16 bits of the length were copied, pkt_len kept it all.
    write("chain", chain_seed([(2176, 128, 2048, 1), (2176, 0, 416, 8)], nb_segs=2, pkt_len=68000))
    write("chain", chain_seed([(2176, 128, 2048, 1), (2176, 0, 416, 0)], nb_segs=2, pkt_len=2464))  # a loop
    write("chain", chain_seed([(2176, 2100, 200, 8)], nb_segs=1, pkt_len=200))  # past the buffer


def dns_seeds():
    seen = set()
    for name in sorted(os.listdir(os.path.join(ROOT, "captures"))):
        if not name.endswith(".pcap"):
            continue
        for f in pcap_frames(os.path.join(ROOT, "captures", name)):
            if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
                continue
            ihl = (f[14] & 15) * 4
            udp = f[14 + ihl:]
            if len(udp) < 8 or struct.unpack(">H", udp[:2])[0] != 53:
                continue
            msg = udp[8:]
            key = (len(msg) // 32, msg[3] & 15, msg[7])
            if key not in seen and len(seen) < 40:
                seen.add(key)
                write("dns", msg)
    q = b"\x03www\x07example\x03com\x00"
    head = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 2, 0, 0)
    cname = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, 6) + b"\x03cdn\xc0\x10"
    a = b"\xc0\x2d" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([93, 184, 216, 34])
    write("dns", head + q + struct.pack(">HH", 1, 1) + cname + a)               # CNAME chain
    write("dns", head + b"\xc0\x0c" + struct.pack(">HH", 1, 1))                 # pointer to itself
    write("dns", head + q + struct.pack(">HH", 1, 1) + b"\xc0\xff")             # pointer past the end
    # Whole frames (the target reads its input as a frame too): the CNAME answer over UDP, and
    # over TCP with its length prefix.
    msg = head + q + struct.pack(">HH", 1, 1) + cname + a
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    def ipv4(proto, payload):
        return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                           bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + payload
    write("dns", eth + ipv4(17, struct.pack(">HHHH", 53, 40000, 8 + len(msg), 0) + msg))
    tcp = struct.pack(">HHIIBBHHH", 53, 40000, 1, 1, 0x50, 0x18, 65535, 0, 0)
    write("dns", eth + ipv4(6, tcp + struct.pack(">H", len(msg)) + msg))


if __name__ == "__main__":
    dns_seeds()
    parse_seeds()
    encap_seeds()
    chain_seeds()
    for t in ("parse", "encap", "chain", "dns"):
        print(t, len(os.listdir(os.path.join(OUT, t))), "seeds")
