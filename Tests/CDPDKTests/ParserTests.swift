import CDPDK
import XCTest

// MARK: - Frame builder

/// Builds frames innermost layer first: `Frame.ether(type:, Frame.ipv4(proto:, Frame.udp(...)))`.
/// Checksums are left zero: the parser does not verify them.
enum Frame {
    static let macA: UInt64 = 0x02_11_22_33_44_55
    static let macB: UInt64 = 0x02_66_77_88_99_aa
    static let ip4A: UInt32 = 0x0a00_0001  // 10.0.0.1
    static let ip4B: UInt32 = 0xc0a8_0102  // 192.168.1.2
    static let ip6A: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]
    static let ip6B: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0xaa, 0xbb, 0, 0, 0, 0, 0, 0x02]

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
    static func mac(_ v: UInt64) -> [UInt8] { (0..<6).map { UInt8((v >> (40 - 8 * UInt64($0))) & 0xff) } }

    static func ether(
        dst: UInt64 = macB, src: UInt64 = macA, vlans: [(tpid: UInt16, tci: UInt16)] = [],
        type: UInt16, _ payload: [UInt8] = [], padTo: Int = 0
    ) -> [UInt8] {
        var b = mac(dst)
        b += mac(src)
        for v in vlans {
            b += be16(v.tpid)
            b += be16(v.tci)
        }
        b += be16(type)
        b += payload
        if b.count < padTo { b += [UInt8](repeating: 0, count: padTo - b.count) }
        return b
    }

    static func ipv4(
        src: UInt32 = ip4A, dst: UInt32 = ip4B, proto: UInt8, ttl: UInt8 = 64, options: [UInt8] = [],
        version: UInt8 = 4, ihl: UInt8? = nil, totalLength: UInt16? = nil, fragment: UInt16 = 0,
        _ payload: [UInt8]
    ) -> [UInt8] {
        precondition(options.count % 4 == 0)
        let hl = 20 + options.count
        var b: [UInt8] = [version << 4 | ((ihl ?? UInt8(hl / 4)) & 0x0f), 0]
        b += be16(totalLength ?? UInt16(hl + payload.count))
        b += be16(0x1234)
        b += be16(fragment)
        b += [ttl, proto, 0, 0]
        b += be32(src)
        b += be32(dst)
        b += options
        b += payload
        return b
    }

    static func ipv6(
        src: [UInt8] = ip6A, dst: [UInt8] = ip6B, next: UInt8, hopLimit: UInt8 = 64,
        payloadLength: UInt16? = nil, version: UInt8 = 6, _ payload: [UInt8]
    ) -> [UInt8] {
        var b: [UInt8] = [version << 4, 0, 0, 0]
        b += be16(payloadLength ?? UInt16(payload.count))
        b += [next, hopLimit]
        b += src
        b += dst
        b += payload
        return b
    }

    /// Hop-by-hop, routing or destination options: (units + 1) * 8 bytes.
    static func ext(next: UInt8, units: UInt8 = 0) -> [UInt8] {
        [next, units] + [UInt8](repeating: 0, count: (Int(units) + 1) * 8 - 2)
    }

    /// Authentication header: (lengthField + 2) * 4 bytes.
    static func ah(next: UInt8, lengthField: UInt8 = 4) -> [UInt8] {
        [next, lengthField] + [UInt8](repeating: 0, count: (Int(lengthField) + 2) * 4 - 2)
    }

    /// IPv6 fragment header; `offset` in 8-byte units.
    static func frag6(next: UInt8, offset: UInt16, more: Bool) -> [UInt8] {
        [next, 0] + be16(offset << 3 | (more ? 1 : 0)) + be32(0xdead_beef)
    }

    static func tcp(
        _ sp: UInt16, _ dp: UInt16, flags: UInt8 = 0x02, optionWords: Int = 0, dataOffset: UInt8? = nil,
        payload: [UInt8] = []
    ) -> [UInt8] {
        var b = be16(sp) + be16(dp)
        b += be32(1000) + be32(0)
        b += [(dataOffset ?? UInt8(5 + optionWords)) << 4, flags]
        b += be16(65535) + [0, 0, 0, 0]
        b += [UInt8](repeating: 1, count: optionWords * 4)
        b += payload
        return b
    }

    static func udp(_ sp: UInt16, _ dp: UInt16, length: UInt16? = nil, payload: [UInt8] = []) -> [UInt8] {
        be16(sp) + be16(dp) + be16(length ?? UInt16(8 + payload.count)) + [0, 0] + payload
    }

    static func icmp(type: UInt8, code: UInt8, _ rest: [UInt8] = [0, 1, 0, 1]) -> [UInt8] {
        [type, code, 0, 0] + rest
    }

    static func arp(
        op: UInt16, sha: UInt64 = macA, spa: UInt32 = ip4A, tha: UInt64 = 0, tpa: UInt32 = ip4B,
        ptype: UInt16 = 0x0800
    ) -> [UInt8] {
        var b = be16(1) + be16(ptype) + [6, 4] + be16(op)
        b += mac(sha) + be32(spa)
        b += mac(tha) + be32(tpa)
        return b
    }

    static func payload(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) } }
}

// MARK: - Parsing helpers

/// Parses `frame` from an allocation of exactly `len` bytes so that AddressSanitizer sees any
/// read past it. `pktLen` defaults to the whole frame.
func parse(_ frame: [UInt8], len: Int? = nil, pktLen: Int? = nil, into reused: bma_pkt_t? = nil) -> bma_pkt_t {
    let n = len ?? frame.count
    precondition(n <= frame.count)
    let buf = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 1)
    defer { buf.deallocate() }
    frame.withUnsafeBytes { src in
        if n > 0 { buf.copyMemory(from: src.baseAddress!, byteCount: n) }
    }
    var p = reused ?? bma_pkt_t()
    bma_parse(buf.assumingMemoryBound(to: UInt8.self), UInt32(n), UInt32(pktLen ?? frame.count), &p)
    return p
}

func reason(_ p: bma_pkt_t) -> String { String(cString: bma_malformed_name(UInt32(p.malformed))) }
func has(_ p: bma_pkt_t, _ flag: Int) -> Bool { Int(p.flags) & flag != 0 }
func v4mapped(_ a: UInt32) -> UInt64 { 0x0000_ffff_0000_0000 | UInt64(a) }
func hiLo(_ a: [UInt8]) -> (UInt64, UInt64) {
    let hi = a[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    let lo = a[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    return (hi, lo)
}

let ethTypeIPv4: UInt16 = 0x0800
let ethTypeIPv6: UInt16 = 0x86dd
let ethTypeARP: UInt16 = 0x0806

/// Deterministic generator for the fuzz tests.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

// MARK: - Tests

final class ParserTests: XCTestCase {
    // A set of valid frames covering every header combination.
    static func validFrames() -> [(name: String, bytes: [UInt8])] {
        typealias F = Frame
        return [
            ("ipv4-tcp", F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(40000, 443, payload: F.payload(10))))),
            ("ipv4-tcp-opts", F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(1, 2, optionWords: 3)))),
            ("ipv4-udp-pad", F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, F.udp(53, 5353)), padTo: 60)),
            ("ipv4-icmp", F.ether(type: ethTypeIPv4, F.ipv4(proto: 1, F.icmp(type: 8, code: 0)))),
            ("ipv4-options-udp", F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, options: [1, 1, 1, 0], F.udp(1, 2)))),
            ("ipv4-first-frag", F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, fragment: 0x2000,
                                                             F.udp(1, 2, length: 3000, payload: F.payload(16))))),
            ("ipv4-later-frag", F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, fragment: 0x00b9, F.payload(24)))),
            ("ipv4-gre", F.ether(type: ethTypeIPv4, F.ipv4(proto: 47, F.payload(12)))),
            ("vlan-ipv4-udp", F.ether(vlans: [(0x8100, 0x2064)], type: ethTypeIPv4, F.ipv4(proto: 17, F.udp(9, 10)))),
            ("qinq-ipv6-tcp", F.ether(vlans: [(0x88a8, 100), (0x8100, 200)], type: ethTypeIPv6,
                                      F.ipv6(next: 6, F.tcp(5, 6, flags: 0x18, payload: F.payload(3))))),
            ("ipv6-udp", F.ether(type: ethTypeIPv6, F.ipv6(next: 17, F.udp(1000, 2000, payload: F.payload(5))))),
            ("ipv6-icmp", F.ether(type: ethTypeIPv6, F.ipv6(next: 58, F.icmp(type: 128, code: 0)))),
            ("ipv6-ext-chain", F.ether(type: ethTypeIPv6, F.ipv6(next: 0, extChain(upper: 6) + F.tcp(7, 8)))),
            ("ipv6-first-frag", F.ether(type: ethTypeIPv6, F.ipv6(next: 44,
                F.frag6(next: 17, offset: 0, more: true) + F.udp(1, 2, length: 4000, payload: F.payload(8))))),
            ("ipv6-later-frag", F.ether(type: ethTypeIPv6, F.ipv6(next: 44,
                F.frag6(next: 17, offset: 100, more: true) + F.payload(16)))),
            ("ipv6-no-next", F.ether(type: ethTypeIPv6, F.ipv6(next: 0, F.ext(next: 59)))),
            ("arp-request", F.ether(dst: 0xffff_ffff_ffff, type: ethTypeARP, F.arp(op: 1), padTo: 60)),
            ("lldp", F.ether(dst: 0x0180_c200_000e, type: 0x88cc, F.payload(30))),
        ]
    }

    /// Hop-by-hop (16 bytes) -> routing -> destination options -> AH (24 bytes) -> `upper`.
    static func extChain(upper: UInt8) -> [UInt8] {
        Frame.ext(next: 43, units: 1) + Frame.ext(next: 60) + Frame.ext(next: 51) + Frame.ah(next: upper, lengthField: 4)
    }

    func testMalformedNames() {
        let expected: [(Int, String)] = [
            (BMA_MAL_NONE, "none"), (BMA_MAL_RUNT, "runt"), (BMA_MAL_VLAN_TRUNCATED, "vlan-truncated"),
            (BMA_MAL_VLAN_DEPTH, "vlan-depth"), (BMA_MAL_ARP_TRUNCATED, "arp-truncated"),
            (BMA_MAL_IPV4_TRUNCATED, "ipv4-truncated"), (BMA_MAL_IPV4_VERSION, "ipv4-version"),
            (BMA_MAL_IPV4_IHL, "ipv4-ihl"), (BMA_MAL_IPV4_OPTIONS, "ipv4-options"),
            (BMA_MAL_IPV4_TOTAL_SHORT, "ipv4-total-short"), (BMA_MAL_IPV4_TOTAL_LONG, "ipv4-total-long"),
            (BMA_MAL_IPV6_TRUNCATED, "ipv6-truncated"), (BMA_MAL_IPV6_VERSION, "ipv6-version"),
            (BMA_MAL_IPV6_PAYLOAD_LONG, "ipv6-payload-long"), (BMA_MAL_IPV6_EXT_TRUNCATED, "ipv6-ext-truncated"),
            (BMA_MAL_IPV6_EXT_DEPTH, "ipv6-ext-depth"), (BMA_MAL_TCP_TRUNCATED, "tcp-truncated"),
            (BMA_MAL_TCP_OFFSET, "tcp-offset"), (BMA_MAL_TCP_OFFSET_LONG, "tcp-offset-long"),
            (BMA_MAL_UDP_TRUNCATED, "udp-truncated"), (BMA_MAL_UDP_LENGTH, "udp-length"),
            (BMA_MAL_ICMP_TRUNCATED, "icmp-truncated"),
        ]
        XCTAssertEqual(expected.count, BMA_MAL_COUNT)
        for (code, name) in expected {
            XCTAssertEqual(String(cString: bma_malformed_name(UInt32(code))), name)
        }
        for code in [BMA_MAL_COUNT, 200, Int(UInt32.max)] {
            XCTAssertEqual(String(cString: bma_malformed_name(UInt32(code))), "unknown")
        }
    }

    func testRuntFrames() {
        let full = Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, Frame.udp(1, 2)))
        for n in 0..<14 {
            let p = parse(Array(full[0..<n]))
            XCTAssertEqual(reason(p), "runt", "length \(n)")
            XCTAssertEqual(Int(p.l3), BMA_L3_NONE)
            XCTAssertEqual(p.pkt_len, UInt32(n))
            XCTAssertEqual(p.l3_off, 0)
            XCTAssertNotEqual(p.flow_hash, 0)
        }
        // The Ethernet header continues in the next segment: not a runt, just unparsed.
        let p = parse(full, len: 10)
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.l3), BMA_L3_NONE)
        XCTAssertEqual(Int(p.flags), BMA_PF_MULTISEG)
        XCTAssertEqual(p.pkt_len, UInt32(full.count))
    }

    func testEthernetAddressesAndFlags() {
        var p = parse(Frame.ether(type: 0x88b5, Frame.payload(46)))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.dst_mac, Frame.macB)
        XCTAssertEqual(p.src_mac, Frame.macA)
        XCTAssertEqual(p.flags, 0)
        XCTAssertEqual(Int(p.l3), BMA_L3_OTHER)
        XCTAssertEqual(p.ethertype, 0x88b5)
        XCTAssertEqual(p.l3_off, 14)
        XCTAssertEqual(p.l4_off, 0)
        XCTAssertEqual(p.pkt_len, 60)

        p = parse(Frame.ether(dst: 0x0100_5e00_00fb, type: 0x88b5, Frame.payload(46)))
        XCTAssertEqual(p.dst_mac, 0x0100_5e00_00fb)
        XCTAssertEqual(Int(p.flags), BMA_PF_MULTICAST)

        p = parse(Frame.ether(dst: 0xffff_ffff_ffff, type: 0x88b5, Frame.payload(46)))
        XCTAssertEqual(Int(p.flags), BMA_PF_BROADCAST | BMA_PF_MULTICAST)

        // Exactly an Ethernet header and nothing else.
        p = parse(Frame.ether(type: 0x88b5))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.l3), BMA_L3_OTHER)

        // An 802.3 length field instead of an ethertype (LLC, e.g. STP).
        p = parse(Frame.ether(dst: 0x0180_c200_0000, type: 0x0026, Frame.payload(46)))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.l3), BMA_L3_NONE)
        XCTAssertEqual(p.ethertype, 0x0026)
    }

    func testVlanTags() {
        let inner = Frame.ipv4(proto: 17, Frame.udp(1000, 53, payload: Frame.payload(4)))
        for tpid: UInt16 in [0x8100, 0x88a8, 0x9100] {
            let p = parse(Frame.ether(vlans: [(tpid, 0xe00a)], type: ethTypeIPv4, inner))
            XCTAssertEqual(reason(p), "none")
            XCTAssertEqual(p.vlan_count, 1)
            XCTAssertEqual(p.vlan_tci.0, 0xe00a)
            XCTAssertEqual(p.vlan_tci.1, 0)
            XCTAssertEqual(p.ethertype, ethTypeIPv4)
            XCTAssertEqual(p.l3_off, 18)
            XCTAssertEqual(p.l4_off, 38)
            XCTAssertEqual(Int(p.l3), BMA_L3_IPV4)
            XCTAssertEqual(p.dst_port, 53)
        }
        let p = parse(Frame.ether(vlans: [(0x88a8, 0x0064), (0x8100, 0x30c8)], type: ethTypeIPv4, inner))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.vlan_count, 2)
        XCTAssertEqual(p.vlan_tci.0, 0x0064)
        XCTAssertEqual(p.vlan_tci.1, 0x30c8)
        XCTAssertEqual(p.l3_off, 22)
        XCTAssertEqual(p.l4_off, 42)
        XCTAssertEqual(p.src_port, 1000)
        XCTAssertEqual(p.ethertype, ethTypeIPv4)

        let q = parse(Frame.ether(vlans: [(0x9100, 7), (0x8100, 8)], type: 0x88cc, Frame.payload(30)))
        XCTAssertEqual(reason(q), "none")
        XCTAssertEqual(q.vlan_count, 2)
        XCTAssertEqual(Int(q.l3), BMA_L3_OTHER)
        XCTAssertEqual(q.ethertype, 0x88cc)
    }

    func testVlanDepth() {
        let p = parse(Frame.ether(vlans: [(0x88a8, 1), (0x8100, 2), (0x8100, 3)], type: ethTypeIPv4,
                                  Frame.ipv4(proto: 17, Frame.udp(1, 2))))
        XCTAssertEqual(reason(p), "vlan-depth")
        XCTAssertEqual(p.vlan_count, 2)
        XCTAssertEqual(p.vlan_tci.0, 1)
        XCTAssertEqual(p.vlan_tci.1, 2)
        XCTAssertEqual(Int(p.l3), BMA_L3_NONE)
        XCTAssertEqual(p.src_port, 0)
        XCTAssertNotEqual(p.flow_hash, 0)
        // Even with nothing after the third tag.
        let q = parse(Frame.ether(vlans: [(0x8100, 1), (0x8100, 2)], type: 0x9100))
        XCTAssertEqual(reason(q), "vlan-depth")
    }

    func testVlanTruncated() {
        // TPID with no TCI, TCI with no inner type, and the second tag cut.
        let tagged = Frame.ether(vlans: [(0x8100, 5), (0x8100, 6)], type: ethTypeIPv4, Frame.payload(20))
        for (n, tags) in [(14, 0), (15, 0), (16, 0), (17, 0), (18, 1), (20, 1), (21, 1)] {
            let p = parse(Array(tagged[0..<n]))
            XCTAssertEqual(reason(p), "vlan-truncated", "length \(n)")
            XCTAssertEqual(Int(p.vlan_count), tags, "length \(n)")
            XCTAssertEqual(Int(p.l3), BMA_L3_NONE)
        }
        // Both tags whole: the next layer reports the missing bytes.
        let p = parse(Array(tagged[0..<22]))
        XCTAssertEqual(reason(p), "ipv4-truncated")
        XCTAssertEqual(p.vlan_count, 2)
        XCTAssertEqual(Int(p.l3), BMA_L3_IPV4)
        XCTAssertEqual(p.l3_off, 22)
    }

    func testArp() {
        let request = Frame.ether(dst: 0xffff_ffff_ffff, type: ethTypeARP, Frame.arp(op: 1), padTo: 60)
        var p = parse(request)
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.l3), BMA_L3_ARP)
        XCTAssertEqual(p.arp_op, 1)
        XCTAssertEqual(p.src_ip_lo, v4mapped(Frame.ip4A))
        XCTAssertEqual(p.dst_ip_lo, v4mapped(Frame.ip4B))
        XCTAssertEqual(p.src_ip_hi, 0)
        XCTAssertEqual(p.dst_ip_hi, 0)
        XCTAssertEqual(p.l3_off, 14)
        XCTAssertEqual(p.l4_off, 0)
        XCTAssertEqual(p.ip_len, 0)
        XCTAssertEqual(Int(p.flags), BMA_PF_BROADCAST | BMA_PF_MULTICAST)

        let reply = Frame.ether(dst: Frame.macA, src: Frame.macB, type: ethTypeARP,
                                Frame.arp(op: 2, sha: Frame.macB, spa: Frame.ip4B, tha: Frame.macA, tpa: Frame.ip4A))
        p = parse(reply)
        XCTAssertEqual(p.arp_op, 2)
        XCTAssertEqual(p.src_ip_lo, v4mapped(Frame.ip4B))
        XCTAssertEqual(p.dst_ip_lo, v4mapped(Frame.ip4A))
        XCTAssertEqual(p.flags, 0)

        // ARP for another protocol: opcode only.
        p = parse(Frame.ether(type: ethTypeARP, Frame.arp(op: 1, ptype: 0x86dd)))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.arp_op, 1)
        XCTAssertEqual(p.src_ip_lo, 0)
        XCTAssertEqual(p.dst_ip_lo, 0)

        // VLAN-tagged ARP.
        p = parse(Frame.ether(vlans: [(0x8100, 3)], type: ethTypeARP, Frame.arp(op: 1)))
        XCTAssertEqual(Int(p.l3), BMA_L3_ARP)
        XCTAssertEqual(p.l3_off, 18)
        XCTAssertEqual(p.src_ip_lo, v4mapped(Frame.ip4A))
    }

    func testArpTruncated() {
        let frame = Frame.ether(type: ethTypeARP, Frame.arp(op: 1))
        for n in 14..<42 {
            let p = parse(Array(frame[0..<n]))
            XCTAssertEqual(reason(p), "arp-truncated", "length \(n)")
            XCTAssertEqual(Int(p.l3), BMA_L3_ARP)
            XCTAssertEqual(p.arp_op, 0)
        }
        XCTAssertEqual(reason(parse(frame)), "none")
    }

    func testIPv4Tcp() {
        let frame = Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, ttl: 17,
                                Frame.tcp(40000, 443, flags: 0x12, optionWords: 2, payload: Frame.payload(100))))
        let p = parse(frame)
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.l3), BMA_L3_IPV4)
        XCTAssertEqual(p.ethertype, ethTypeIPv4)
        XCTAssertEqual(p.src_ip_hi, 0)
        XCTAssertEqual(p.src_ip_lo, 0x0000_ffff_0a00_0001)
        XCTAssertEqual(p.dst_ip_hi, 0)
        XCTAssertEqual(p.dst_ip_lo, 0x0000_ffff_c0a8_0102)
        XCTAssertEqual(p.ip_proto, 6)
        XCTAssertEqual(p.ttl, 17)
        XCTAssertEqual(p.ip_len, 20 + 28 + 100)
        XCTAssertEqual(p.l3_off, 14)
        XCTAssertEqual(p.l4_off, 34)
        XCTAssertEqual(p.src_port, 40000)
        XCTAssertEqual(p.dst_port, 443)
        XCTAssertEqual(p.tcp_flags, 0x12)
        XCTAssertEqual(p.l4_payload, 100)
        XCTAssertEqual(Int(p.flags), BMA_PF_L4)
        XCTAssertEqual(Int(p.proto_class), BMA_CLASS_TCP)
        XCTAssertEqual(p.pkt_len, UInt32(frame.count))
        XCTAssertEqual(p.icmp_type, 0)
        XCTAssertEqual(p.vlan_count, 0)
        XCTAssertEqual(p.arp_op, 0)
        XCTAssertEqual(p.ts_ns, 0)
    }

    func testIPv4UdpAndIcmp() {
        var p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, Frame.udp(5353, 53, payload: Frame.payload(30)))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_proto, 17)
        XCTAssertEqual(p.src_port, 5353)
        XCTAssertEqual(p.dst_port, 53)
        XCTAssertEqual(p.l4_off, 34)
        XCTAssertEqual(p.l4_payload, 30)
        XCTAssertEqual(p.ip_len, 58)
        XCTAssertEqual(p.tcp_flags, 0)
        XCTAssertEqual(Int(p.flags), BMA_PF_L4)
        XCTAssertEqual(Int(p.proto_class), BMA_CLASS_UDP)

        // A UDP length shorter than the IP payload is accepted; the payload counts to the IP end.
        p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, Frame.udp(1, 2, length: 10, payload: Frame.payload(6)))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.l4_payload, 6)

        p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 1, Frame.icmp(type: 3, code: 13, Frame.payload(32)))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_proto, 1)
        XCTAssertEqual(p.icmp_type, 3)
        XCTAssertEqual(p.icmp_code, 13)
        XCTAssertEqual(p.src_port, 0)
        XCTAssertEqual(p.dst_port, 0)
        XCTAssertEqual(p.l4_off, 34)
        XCTAssertEqual(p.l4_payload, 32)
        XCTAssertEqual(Int(p.flags), BMA_PF_L4)
        XCTAssertEqual(Int(p.proto_class), BMA_CLASS_ICMP)

        // ICMPv6's number inside IPv4 is just another protocol.
        p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 58, Frame.icmp(type: 128, code: 0))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertFalse(has(p, BMA_PF_L4))
        XCTAssertEqual(p.icmp_type, 0)
        XCTAssertEqual(p.l4_off, 34)
        XCTAssertEqual(p.l4_payload, 8)

        // Other protocols: offset known, no L4 fields.
        p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 47, Frame.payload(12))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_proto, 47)
        XCTAssertEqual(p.l4_off, 34)
        XCTAssertEqual(p.l4_payload, 12)
        XCTAssertEqual(p.flags, 0)
        XCTAssertEqual(Int(p.proto_class), BMA_CLASS_OTHER)
    }

    func testIPv4Options() {
        let p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, options: [0x94, 0x04, 0, 0, 1, 1, 1, 0],
                                                                Frame.tcp(22, 50000, flags: 0x10))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.flags), BMA_PF_L4 | BMA_PF_IP_OPTIONS)
        XCTAssertEqual(p.l4_off, 42)
        XCTAssertEqual(p.ip_len, 48)
        XCTAssertEqual(p.src_port, 22)
        XCTAssertEqual(p.tcp_flags, 0x10)
        XCTAssertEqual(p.l4_payload, 0)

        // The largest header: IHL 15.
        let q = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, options: [UInt8](repeating: 1, count: 40),
                                                                Frame.udp(1, 2))))
        XCTAssertEqual(reason(q), "none")
        XCTAssertEqual(q.l4_off, 74)
        XCTAssertEqual(q.dst_port, 2)
    }

    func testIPv4Padding() {
        // 42 bytes of TCP/IP in a 60-byte minimum frame (plus a 4-byte trailer some NICs keep).
        for pad in [60, 64] {
            let frame = Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, Frame.tcp(1, 2, flags: 0x10, payload: [9, 9])),
                                    padTo: pad)
            let p = parse(frame)
            XCTAssertEqual(reason(p), "none")
            XCTAssertEqual(p.ip_len, 42)
            XCTAssertEqual(p.l4_payload, 2)
            XCTAssertEqual(p.pkt_len, UInt32(pad))
        }
        // UDP in a padded frame: its length is checked against the IP length, not the frame.
        let p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, Frame.udp(1, 2)), padTo: 60))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_len, 28)
        XCTAssertEqual(p.l4_payload, 0)
        // A header-only IPv4 packet with padding.
        let q = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 255, []), padTo: 60))
        XCTAssertEqual(reason(q), "none")
        XCTAssertEqual(q.ip_len, 20)
        XCTAssertEqual(q.l4_payload, 0)
    }

    func testIPv4Malformed() {
        let udp = Frame.udp(1, 2, payload: Frame.payload(8))
        func check(_ frame: [UInt8], _ expected: String, line: UInt = #line) {
            let p = parse(frame)
            XCTAssertEqual(reason(p), expected, line: line)
            XCTAssertEqual(Int(p.l3), BMA_L3_IPV4, line: line)
            XCTAssertEqual(p.l3_off, 14, line: line)
            XCTAssertFalse(has(p, BMA_PF_L4), line: line)
            XCTAssertEqual(p.src_ip_lo, 0, "addresses only once the header is valid", line: line)
            XCTAssertNotEqual(p.flow_hash, 0, line: line)
        }
        let good = Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, udp))
        for n in 14..<34 { check(Array(good[0..<n]), "ipv4-truncated") }
        check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, version: 6, udp)), "ipv4-version")
        check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, version: 0, udp)), "ipv4-version")
        for ihl: UInt8 in 0..<5 { check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, ihl: ihl, udp)), "ipv4-ihl") }
        // IHL 15 needs 60 bytes; only 36 follow the Ethernet header.
        check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, ihl: 15, totalLength: 60, udp)), "ipv4-options")
        check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, ihl: 6, totalLength: 24, [])), "ipv4-options")
        check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, totalLength: 19, udp)), "ipv4-total-short")
        check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, totalLength: 0, udp)), "ipv4-total-short")
        check(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, options: [1, 1, 1, 0], totalLength: 20, udp)),
              "ipv4-total-short")
        // A frame cut short (a capture's snaplen): counted, yet the headers present still describe
        // the packet: addresses, ports, and the true IP length.
        for total: UInt16 in [37, 0xffff] {
            let cut = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, totalLength: total, udp)))
            XCTAssertEqual(reason(cut), "ipv4-total-long")
            XCTAssertTrue(has(cut, BMA_PF_L4))
            XCTAssertEqual(cut.src_port, 1)
            XCTAssertEqual(cut.dst_port, 2)
            XCTAssertEqual(cut.ip_len, total)
            XCTAssertNotEqual(cut.src_ip_lo, 0)
        }
        // Cut inside the UDP header: addresses kept, no ports, the first reason stands.
        let cutHeader = parse(Array(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, udp))[0..<38]))
        XCTAssertEqual(reason(cutHeader), "ipv4-total-long")
        XCTAssertFalse(has(cutHeader, BMA_PF_L4))
        XCTAssertNotEqual(cutHeader.dst_ip_lo, 0)
        // Exactly at the end of the frame is fine.
        XCTAssertEqual(reason(parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, totalLength: 36, udp)))), "none")
    }

    func testIPv4Fragments() {
        // First fragment: MF set, offset 0. The UDP length covers the whole datagram.
        var p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, fragment: 0x2000,
                                                               Frame.udp(4000, 4001, length: 2000, payload: Frame.payload(40)))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.flags), BMA_PF_FRAGMENT | BMA_PF_L4)
        XCTAssertEqual(p.src_port, 4000)
        XCTAssertEqual(p.l4_payload, 40)
        let firstHash = p.flow_hash

        // Middle and last fragments: no L4 header, protocol still known.
        for field: UInt16 in [0x2000 | 185, 370, 0x1fff] {
            p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, fragment: field, Frame.payload(40))))
            XCTAssertEqual(reason(p), "none")
            XCTAssertEqual(Int(p.flags), BMA_PF_FRAGMENT | BMA_PF_LATER_FRAGMENT)
            XCTAssertEqual(p.ip_proto, 17)
            XCTAssertEqual(p.l4_off, 0)
            XCTAssertEqual(p.l4_payload, 0)
            XCTAssertEqual(p.src_port, 0)
            XCTAssertEqual(p.src_ip_lo, v4mapped(Frame.ip4A))
            XCTAssertEqual(p.ip_len, 60)
            XCTAssertEqual(p.flow_hash, firstHash, "fragments of one datagram share a hash")
        }
        // A later fragment's bytes are not parsed even if they look like a broken TCP header.
        p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, fragment: 10, [0, 0, 0])))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.flags), BMA_PF_FRAGMENT | BMA_PF_LATER_FRAGMENT)

        // DF alone is not a fragment.
        p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, fragment: 0x4000, Frame.tcp(1, 2))))
        XCTAssertEqual(Int(p.flags), BMA_PF_L4)
    }

    func testTcpMalformed() {
        func ip(_ tcp: [UInt8], totalLength: UInt16? = nil, padTo: Int = 0) -> [UInt8] {
            Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, totalLength: totalLength, tcp), padTo: padTo)
        }
        let tcp = Frame.tcp(1, 2)
        for n in 0..<20 {
            let p = parse(ip(Array(tcp[0..<n])))
            XCTAssertEqual(reason(p), "tcp-truncated", "\(n) bytes")
            XCTAssertEqual(p.l4_off, 34)
            XCTAssertEqual(p.ip_proto, 6)
            XCTAssertEqual(p.src_ip_lo, v4mapped(Frame.ip4A), "IP fields stay")
            XCTAssertFalse(has(p, BMA_PF_L4))
        }
        // Bytes present in the frame but outside the IP length do not count.
        XCTAssertEqual(reason(parse(ip(tcp, totalLength: 30))), "tcp-truncated")
        for off: UInt8 in 0..<5 {
            XCTAssertEqual(reason(parse(ip(Frame.tcp(1, 2, dataOffset: off)))), "tcp-offset")
        }
        XCTAssertEqual(reason(parse(ip(Frame.tcp(1, 2, dataOffset: 6)))), "tcp-offset-long")
        XCTAssertEqual(reason(parse(ip(Frame.tcp(1, 2, dataOffset: 15, payload: Frame.payload(36))))),
                       "tcp-offset-long")
        XCTAssertEqual(reason(parse(ip(Frame.tcp(1, 2, dataOffset: 15, payload: Frame.payload(40))))), "none")
        // Padding does not make room for a TCP header the IP length excludes.
        XCTAssertEqual(reason(parse(ip(Frame.tcp(1, 2, dataOffset: 6), totalLength: 40, padTo: 80))),
                       "tcp-offset-long")
        // The same checks under IPv6.
        let v6 = Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 6, Frame.tcp(1, 2, dataOffset: 3)))
        XCTAssertEqual(reason(parse(v6)), "tcp-offset")
        let v6short = Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 6, Array(tcp[0..<19])))
        XCTAssertEqual(reason(parse(v6short)), "tcp-truncated")
    }

    func testUdpMalformed() {
        func ip(_ udp: [UInt8]) -> [UInt8] { Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 17, udp)) }
        let udp = Frame.udp(1, 2)
        for n in 0..<8 {
            XCTAssertEqual(reason(parse(ip(Array(udp[0..<n])))), "udp-truncated", "\(n) bytes")
        }
        for length: UInt16 in [0, 7] {
            XCTAssertEqual(reason(parse(ip(Frame.udp(1, 2, length: length)))), "udp-length")
        }
        XCTAssertEqual(reason(parse(ip(Frame.udp(1, 2, length: 13, payload: Frame.payload(4))))), "udp-length")
        XCTAssertEqual(reason(parse(ip(Frame.udp(1, 2, length: 12, payload: Frame.payload(4))))), "none")
        let p = parse(ip(Frame.udp(1, 2, length: 7)))
        XCTAssertFalse(has(p, BMA_PF_L4))
        XCTAssertEqual(p.src_port, 0)
        let v6 = Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 17, Frame.udp(1, 2, length: 100)))
        XCTAssertEqual(reason(parse(v6)), "udp-length")
        let v6short = Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 17, [0, 1, 0, 2]))
        XCTAssertEqual(reason(parse(v6short)), "udp-truncated")
    }

    func testIcmpTruncated() {
        for n in 0..<4 {
            let v4 = Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 1, Array(Frame.icmp(type: 8, code: 0)[0..<n])),
                                 padTo: 60)
            XCTAssertEqual(reason(parse(v4)), "icmp-truncated", "\(n) bytes")
            let v6 = Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 58, Array(Frame.icmp(type: 128, code: 0)[0..<n])))
            XCTAssertEqual(reason(parse(v6)), "icmp-truncated", "\(n) bytes")
        }
        let p = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 1, [11, 0, 0, 0])))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.icmp_type, 11)
        XCTAssertEqual(p.l4_payload, 0)
    }

    func testIPv6() {
        let (ahi, alo) = hiLo(Frame.ip6A)
        let (bhi, blo) = hiLo(Frame.ip6B)
        var p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 6, hopLimit: 255,
                                  Frame.tcp(443, 51000, flags: 0x11, optionWords: 1, payload: Frame.payload(7)))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.l3), BMA_L3_IPV6)
        XCTAssertEqual(p.ethertype, ethTypeIPv6)
        XCTAssertEqual(p.src_ip_hi, ahi)
        XCTAssertEqual(p.src_ip_lo, alo)
        XCTAssertEqual(p.dst_ip_hi, bhi)
        XCTAssertEqual(p.dst_ip_lo, blo)
        XCTAssertEqual(p.src_ip_hi, 0x2001_0db8_0000_0000)
        XCTAssertEqual(p.dst_ip_lo, 0xaabb_0000_0000_0002)
        XCTAssertEqual(p.ttl, 255)
        XCTAssertEqual(p.ip_proto, 6)
        XCTAssertEqual(p.ip_len, 40 + 24 + 7)
        XCTAssertEqual(p.l3_off, 14)
        XCTAssertEqual(p.l4_off, 54)
        XCTAssertEqual(p.src_port, 443)
        XCTAssertEqual(p.dst_port, 51000)
        XCTAssertEqual(p.tcp_flags, 0x11)
        XCTAssertEqual(p.l4_payload, 7)
        XCTAssertEqual(Int(p.flags), BMA_PF_L4)

        p = parse(Frame.ether(dst: 0x3333_0000_0001, type: ethTypeIPv6,
                              Frame.ipv6(next: 58, Frame.icmp(type: 135, code: 0, Frame.payload(20)))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_proto, 58)
        XCTAssertEqual(p.icmp_type, 135)
        XCTAssertEqual(p.l4_payload, 20)
        XCTAssertEqual(Int(p.flags), BMA_PF_L4 | BMA_PF_MULTICAST)

        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 17, Frame.udp(546, 547, payload: Frame.payload(3))),
                              padTo: 80))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_len, 51)
        XCTAssertEqual(p.l4_payload, 3)
        XCTAssertEqual(p.dst_port, 547)

        // ICMPv4's number inside IPv6 is just another protocol.
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 1, Frame.icmp(type: 8, code: 0))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.flags, 0)
        XCTAssertEqual(p.l4_off, 54)
    }

    func testIPv6Malformed() {
        let good = Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 17, Frame.udp(1, 2)))
        for n in 14..<54 {
            let p = parse(Array(good[0..<n]))
            XCTAssertEqual(reason(p), "ipv6-truncated", "length \(n)")
            XCTAssertEqual(Int(p.l3), BMA_L3_IPV6)
        }
        for version: UInt8 in [4, 0, 15] {
            let p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 17, version: version, Frame.udp(1, 2))))
            XCTAssertEqual(reason(p), "ipv6-version")
            XCTAssertEqual(p.src_ip_hi, 0)
        }
        for plen: UInt16 in [9, 100, 0xffff] {
            let p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 17, payloadLength: plen, Frame.udp(1, 2))))
            XCTAssertEqual(reason(p), "ipv6-payload-long")
        }
        // Payload length 0 with bytes after it: padding, nothing upper-layer to read.
        let p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 17, payloadLength: 0, Frame.udp(1, 2))))
        XCTAssertEqual(reason(p), "udp-truncated")
        XCTAssertEqual(p.ip_len, 40)
    }

    func testIPv6ExtensionChain() {
        let chain = Self.extChain(upper: 6)
        XCTAssertEqual(chain.count, 56)
        let frame = Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 0, chain + Frame.tcp(7, 8, flags: 0x04, payload: [1])))
        var p = parse(frame)
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.flags), BMA_PF_L4 | BMA_PF_IP_OPTIONS)
        XCTAssertEqual(p.ip_proto, 6)
        XCTAssertEqual(p.l4_off, 54 + 56)
        XCTAssertEqual(p.src_port, 7)
        XCTAssertEqual(p.tcp_flags, 0x04)
        XCTAssertEqual(p.l4_payload, 1)
        XCTAssertEqual(p.ip_len, UInt16(40 + 56 + 21))

        // No next header ends the walk: no upper layer.
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 60, Frame.ext(next: 59) + Frame.payload(5))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_proto, 59)
        XCTAssertEqual(p.l4_off, 0)
        XCTAssertEqual(Int(p.flags), BMA_PF_IP_OPTIONS)
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 59, [])))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ip_proto, 59)
        XCTAssertEqual(p.flags, 0)

        // ESP is the upper layer as far as the parser goes.
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 43, Frame.ext(next: 50) + Frame.payload(16))))
        XCTAssertEqual(p.ip_proto, 50)
        XCTAssertEqual(p.l4_off, 62)
        XCTAssertEqual(p.l4_payload, 16)
    }

    func testIPv6ExtensionDepth() {
        func chain(_ n: Int) -> [UInt8] {
            var b: [UInt8] = []
            for i in 0..<n { b += Frame.ext(next: i == n - 1 ? 17 : 60) }
            return Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: n == 0 ? 17 : 60, b + Frame.udp(1, 2)))
        }
        for n in 0...Int(BMA_IPV6_MAX_EXT) {
            let p = parse(chain(n))
            XCTAssertEqual(reason(p), "none", "\(n) headers")
            XCTAssertEqual(p.dst_port, 2)
            XCTAssertEqual(Int(p.l4_off), 54 + 8 * n)
        }
        for n in [Int(BMA_IPV6_MAX_EXT) + 1, 20] {
            let p = parse(chain(n))
            XCTAssertEqual(reason(p), "ipv6-ext-depth", "\(n) headers")
            XCTAssertFalse(has(p, BMA_PF_L4))
            XCTAssertTrue(has(p, BMA_PF_IP_OPTIONS))
        }
    }

    func testIPv6ExtensionTruncated() {
        // Cut inside the fixed 8 bytes of a header.
        let full = Frame.ipv6(next: 0, Frame.ext(next: 17) + Frame.udp(1, 2))
        for n in 40..<48 {
            let p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 0, Array(full[40..<n]))))
            XCTAssertEqual(reason(p), "ipv6-ext-truncated", "\(n - 40) bytes")
        }
        // The length field reaches past the payload.
        var p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 43, [17, 3] + [UInt8](repeating: 0, count: 14))))
        XCTAssertEqual(reason(p), "ipv6-ext-truncated")
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 51, [17, 4] + [UInt8](repeating: 0, count: 18))))
        XCTAssertEqual(reason(p), "ipv6-ext-truncated")
        // Past the payload length although the frame (padding) has the bytes.
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 60, payloadLength: 8,
                              Frame.ext(next: 60) + Frame.ext(next: 17) + Frame.udp(1, 2))))
        XCTAssertEqual(reason(p), "ipv6-ext-truncated")
        XCTAssertEqual(p.src_ip_hi, 0x2001_0db8_0000_0000, "the fixed header was valid")
        XCTAssertEqual(p.ip_proto, 0)
        // Second header of a chain cut.
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 0, Frame.ext(next: 43) + [17, 0, 0])))
        XCTAssertEqual(reason(p), "ipv6-ext-truncated")
        // A fragment header cut.
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 44, Array(Frame.frag6(next: 17, offset: 0, more: true)[0..<6]))))
        XCTAssertEqual(reason(p), "ipv6-ext-truncated")
    }

    func testIPv6Fragments() {
        var p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 44, Frame.frag6(next: 17, offset: 0, more: true)
                                  + Frame.udp(7000, 7001, length: 3000, payload: Frame.payload(24)))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.flags), BMA_PF_FRAGMENT | BMA_PF_IP_OPTIONS | BMA_PF_L4)
        XCTAssertEqual(p.ip_proto, 17)
        XCTAssertEqual(p.l4_off, 62)
        XCTAssertEqual(p.src_port, 7000)
        XCTAssertEqual(p.l4_payload, 24)
        let firstHash = p.flow_hash

        for more in [true, false] {
            p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 0, Frame.ext(next: 44)
                                  + Frame.frag6(next: 17, offset: 185, more: more) + Frame.payload(40))))
            XCTAssertEqual(reason(p), "none")
            XCTAssertEqual(Int(p.flags), BMA_PF_FRAGMENT | BMA_PF_LATER_FRAGMENT | BMA_PF_IP_OPTIONS)
            XCTAssertEqual(p.ip_proto, 17)
            XCTAssertEqual(p.l4_off, 0)
            XCTAssertEqual(p.src_port, 0)
            XCTAssertEqual(p.ip_len, 40 + 56)
            XCTAssertEqual(p.flow_hash, firstHash, "fragments of one datagram share a hash")
        }
        // An atomic fragment (offset 0, no more) is a whole packet.
        p = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 44, Frame.frag6(next: 6, offset: 0, more: false)
                              + Frame.tcp(1, 2))))
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(Int(p.flags), BMA_PF_IP_OPTIONS | BMA_PF_L4)
    }

    func testMultiSegment() {
        // Any split of a valid frame is not malformed; what was parsed agrees with the whole.
        for (name, frame) in Self.validFrames() {
            let whole = parse(frame)
            XCTAssertEqual(reason(whole), "none", name)
            for n in 0..<frame.count {
                let p = parse(frame, len: n)
                XCTAssertEqual(reason(p), "none", "\(name) split at \(n)")
                XCTAssertEqual(p.pkt_len, UInt32(frame.count))
                XCTAssertTrue(has(p, BMA_PF_MULTISEG), name)
                if n >= 14 { XCTAssertEqual(p.src_mac, whole.src_mac, name) }
                if p.l3 != 0 { XCTAssertEqual(p.l3, whole.l3, name) }
                if p.src_ip_lo != 0 {
                    XCTAssertEqual(p.src_ip_lo, whole.src_ip_lo, name)
                    XCTAssertEqual(p.dst_ip_hi, whole.dst_ip_hi, name)
                }
                if has(p, BMA_PF_L4) {
                    XCTAssertEqual(p.src_port, whole.src_port, name)
                    XCTAssertEqual(p.dst_port, whole.dst_port, name)
                    XCTAssertEqual(p.l4_payload, whole.l4_payload, name)
                    XCTAssertEqual(p.icmp_type, whole.icmp_type, name)
                }
            }
        }
        // Where each layer stops when it lies in the next segment.
        let frame = Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, Frame.tcp(1, 2)))
        var p = parse(frame, len: 30)
        XCTAssertEqual(Int(p.l3), BMA_L3_IPV4)
        XCTAssertEqual(p.src_ip_lo, 0)
        p = parse(frame, len: 40)
        XCTAssertEqual(p.src_ip_lo, v4mapped(Frame.ip4A))
        XCTAssertEqual(p.l4_off, 34)
        XCTAssertFalse(has(p, BMA_PF_L4))
        p = parse(frame, len: 54)
        XCTAssertTrue(has(p, BMA_PF_L4))
        // Lengths are still checked against the whole frame.
        let long = Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, totalLength: 100, Frame.tcp(1, 2)))
        XCTAssertEqual(reason(parse(long, len: 20)), "none")
        XCTAssertEqual(reason(parse(long, len: 40)), "ipv4-total-long")
        XCTAssertEqual(reason(parse(long, len: 40, pktLen: 120)), "none")
        // A caller passing pkt_len < len gets len.
        p = parse(frame, pktLen: 10)
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.pkt_len, UInt32(frame.count))
        XCTAssertFalse(has(p, BMA_PF_MULTISEG))
    }

    func testDescriptorReuse() {
        var dirty = bma_pkt_t()
        withUnsafeMutableBytes(of: &dirty) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0xa5) }
        var p = parse(Frame.ether(type: 0x88b5, Frame.payload(46)), into: dirty)
        XCTAssertEqual(reason(p), "none")
        XCTAssertEqual(p.ts_ns, 0)
        XCTAssertEqual(p.src_ip_hi, 0)
        XCTAssertEqual(p.src_ip_lo, 0)
        XCTAssertEqual(p.dst_ip_lo, 0)
        XCTAssertEqual(p.flags, 0)
        XCTAssertEqual(p.vlan_count, 0)
        XCTAssertEqual(p.vlan_tci.0, 0)
        XCTAssertEqual(p.vlan_tci.1, 0)
        XCTAssertEqual(p.l4_off, 0)
        XCTAssertEqual(p.l4_payload, 0)
        XCTAssertEqual(p.ip_len, 0)
        XCTAssertEqual(p.src_port, 0)
        XCTAssertEqual(p.dst_port, 0)
        XCTAssertEqual(p.arp_op, 0)
        XCTAssertEqual(p.ip_proto, 0)
        XCTAssertEqual(p.tcp_flags, 0)
        XCTAssertEqual(p.icmp_type, 0)
        XCTAssertEqual(p.icmp_code, 0)
        XCTAssertEqual(p.ttl, 0)

        let tcp = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, Frame.tcp(1, 2, flags: 0xff))))
        p = parse([0, 1, 2], into: tcp)
        XCTAssertEqual(reason(p), "runt")
        XCTAssertEqual(p.src_port, 0)
        XCTAssertEqual(p.tcp_flags, 0)
        XCTAssertEqual(p.l3, 0)
        XCTAssertEqual(p.src_mac, 0)
        XCTAssertEqual(p.pkt_len, 3)
    }

    func testFlowHashSymmetry() {
        typealias F = Frame
        let pairs: [([UInt8], [UInt8])] = [
            (F.ether(type: ethTypeIPv4, F.ipv4(src: F.ip4A, dst: F.ip4B, proto: 6, F.tcp(40000, 80))),
             F.ether(dst: F.macA, src: F.macB, type: ethTypeIPv4, F.ipv4(src: F.ip4B, dst: F.ip4A, proto: 6, F.tcp(80, 40000)))),
            (F.ether(type: ethTypeIPv4, F.ipv4(src: F.ip4A, dst: F.ip4B, proto: 17, F.udp(53, 53))),
             F.ether(type: ethTypeIPv4, F.ipv4(src: F.ip4B, dst: F.ip4A, proto: 17, F.udp(53, 53)))),
            (F.ether(type: ethTypeIPv4, F.ipv4(src: F.ip4A, dst: F.ip4B, proto: 1, F.icmp(type: 8, code: 0))),
             F.ether(type: ethTypeIPv4, F.ipv4(src: F.ip4B, dst: F.ip4A, proto: 1, F.icmp(type: 0, code: 0)))),
            (F.ether(type: ethTypeIPv6, F.ipv6(src: F.ip6A, dst: F.ip6B, next: 17, F.udp(1000, 2000))),
             F.ether(vlans: [(0x8100, 9)], type: ethTypeIPv6, F.ipv6(src: F.ip6B, dst: F.ip6A, next: 17, F.udp(2000, 1000)))),
            (F.ether(type: ethTypeIPv6, F.ipv6(src: F.ip6A, dst: F.ip6B, next: 0, F.ext(next: 6) + F.tcp(5, 6))),
             F.ether(type: ethTypeIPv6, F.ipv6(src: F.ip6B, dst: F.ip6A, next: 6, F.tcp(6, 5)))),
            // Same address both ways, ports swapped.
            (F.ether(type: ethTypeIPv4, F.ipv4(src: F.ip4A, dst: F.ip4A, proto: 6, F.tcp(1, 2))),
             F.ether(type: ethTypeIPv4, F.ipv4(src: F.ip4A, dst: F.ip4A, proto: 6, F.tcp(2, 1)))),
            // Non-IP: the MAC pair.
            (F.ether(dst: F.macB, src: F.macA, type: 0x88b5, F.payload(46)),
             F.ether(dst: F.macA, src: F.macB, type: 0x88b5, F.payload(46))),
            (F.ether(dst: F.macB, src: F.macA, type: ethTypeARP, F.arp(op: 1)),
             F.ether(dst: F.macA, src: F.macB, type: ethTypeARP, F.arp(op: 2, spa: F.ip4B, tpa: F.ip4A))),
        ]
        for (i, (a, b)) in pairs.enumerated() {
            let pa = parse(a), pb = parse(b)
            XCTAssertEqual(reason(pa), "none", "pair \(i)")
            XCTAssertEqual(reason(pb), "none", "pair \(i)")
            XCTAssertNotEqual(pa.flow_hash, 0, "pair \(i)")
            XCTAssertEqual(pa.flow_hash, pb.flow_hash, "pair \(i)")
        }
        // Protocol and ports matter.
        let tcp = parse(pairs[0].0).flow_hash
        XCTAssertNotEqual(tcp, parse(F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, F.udp(40000, 80)))).flow_hash)
        XCTAssertNotEqual(tcp, parse(F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(40001, 80)))).flow_hash)
        XCTAssertNotEqual(tcp, parse(F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(80, 40000)))).flow_hash)
    }

    func testFlowHashDistinct() {
        var rng = SplitMix(state: 42)
        var random = Set<UInt32>(), ports = Set<UInt32>(), v6 = Set<UInt32>(), hosts = Set<UInt32>()
        let n = 20_000
        for i in 0..<n {
            let r = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(
                src: UInt32(truncatingIfNeeded: rng.next()), dst: UInt32(truncatingIfNeeded: rng.next()), proto: 6,
                Frame.tcp(UInt16(truncatingIfNeeded: rng.next()), UInt16(truncatingIfNeeded: rng.next())))))
            random.insert(r.flow_hash)
            // One client, one server, consecutive source ports: the common case that weak hashes fold.
            let s = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 6, Frame.tcp(UInt16(1024 + i), 443))))
            ports.insert(s.flow_hash)
            // Consecutive hosts in one IPv6 prefix talking to one server port.
            var src = Frame.ip6A
            src[14] = UInt8(i >> 8)
            src[15] = UInt8(i & 0xff)
            let t = parse(Frame.ether(type: ethTypeIPv6, Frame.ipv6(src: src, next: 17, Frame.udp(5000, 53))))
            v6.insert(t.flow_hash)
            // Consecutive IPv4 hosts, same ports.
            let u = parse(Frame.ether(type: ethTypeIPv4, Frame.ipv4(src: 0x0a00_0000 + UInt32(i), proto: 17, Frame.udp(5000, 53))))
            hosts.insert(u.flow_hash)
            XCTAssertTrue(r.flow_hash != 0 && s.flow_hash != 0 && t.flow_hash != 0 && u.flow_hash != 0)
        }
        // A good 32-bit hash collides about n^2 / 2^33 times (0.05 here).
        for (name, set) in [("random", random), ("ports", ports), ("v6 hosts", v6), ("v4 hosts", hosts)] {
            XCTAssertGreaterThanOrEqual(set.count, n - 5, name)
        }
        // Low bits spread too (collector choice takes hash % k).
        var buckets = [Int](repeating: 0, count: 16)
        for h in ports { buckets[Int(h & 15)] += 1 }
        for b in buckets { XCTAssertLessThan(abs(b - n / 16), n / 40, "bucket spread \(buckets)") }
    }

    func testEveryPrefixOfValidFrames() {
        let allowed: [UInt16: Set<String>] = [
            ethTypeIPv4: ["runt", "vlan-truncated", "ipv4-truncated", "ipv4-options", "ipv4-total-long"],
            ethTypeIPv6: ["runt", "vlan-truncated", "ipv6-truncated", "ipv6-payload-long"],
            ethTypeARP: ["runt", "vlan-truncated", "arp-truncated"],
            0x88cc: ["runt", "vlan-truncated"],
        ]
        for (name, frame) in Self.validFrames() {
            let whole = parse(frame)
            XCTAssertEqual(reason(whole), "none", name)
            let expected = allowed[whole.ethertype]!
            for n in 0...frame.count {
                let p = parse(Array(frame[0..<n]))
                XCTAssertEqual(p.pkt_len, UInt32(n))
                XCTAssertLessThan(Int(p.malformed), BMA_MAL_COUNT)
                if n < 14 {
                    XCTAssertEqual(reason(p), "runt", "\(name) length \(n)")
                } else if n == frame.count {
                    XCTAssertEqual(reason(p), "none")
                } else if reason(p) != "none" {
                    XCTAssertTrue(expected.contains(reason(p)), "\(name) length \(n): \(reason(p))")
                } else {
                    // Only padding or a non-IP payload can be cut without notice.
                    let ipEnd = Int(whole.l3_off) + Int(whole.ip_len)
                    let arpEnd = Int(whole.l3_off) + 28
                    switch Int(whole.l3) {
                    case BMA_L3_IPV4, BMA_L3_IPV6: XCTAssertGreaterThanOrEqual(n, ipEnd, "\(name) length \(n)")
                    case BMA_L3_ARP: XCTAssertGreaterThanOrEqual(n, arpEnd, "\(name) length \(n)")
                    default: XCTAssertEqual(Int(p.l3), BMA_L3_OTHER, "\(name) length \(n)")
                    }
                }
            }
        }
    }

    func testFuzz() {
        var rng = SplitMix(state: 0x5eed_b4a0_0000_0001)
        // Valid frames plus a few at the parser's limits, so mutations reach the deep reasons.
        var deep: [UInt8] = []
        for i in 0..<Int(BMA_IPV6_MAX_EXT) { deep += Frame.ext(next: i == Int(BMA_IPV6_MAX_EXT) - 1 ? 17 : 60) }
        let corpus = Self.validFrames().map(\.bytes) + [
            Frame.ether(type: ethTypeIPv6, Frame.ipv6(next: 60, deep + Frame.udp(1, 2))),
            Frame.ether(vlans: [(0x88a8, 1), (0x8100, 2)], type: 0x8100, Frame.payload(30)),
            Frame.ether(type: ethTypeIPv4, Frame.ipv4(proto: 1, Frame.icmp(type: 8, code: 0, [])), padTo: 60),
        ]
        let interesting: [UInt8] = [0x00, 0x01, 0x05, 0x06, 0x11, 0x2c, 0x3a, 0x3b, 0x3c, 0x45, 0x4f, 0x60,
                                    0x81, 0x86, 0x88, 0x91, 0xa8, 0xdd, 0xf0, 0xff]
        var seen = [Int](repeating: 0, count: BMA_MAL_COUNT)
        var violations: [String] = []
        for iteration in 0..<200_000 {
            var frame: [UInt8]
            if rng.below(10) == 0 {
                frame = (0..<rng.below(128)).map { _ in rng.byte() }
            } else {
                frame = corpus[rng.below(corpus.count)]
                for _ in 0..<(1 + rng.below(4)) {
                    guard !frame.isEmpty else { break }
                    let at = rng.below(frame.count)
                    switch rng.below(5) {
                    case 0: frame[at] = rng.byte()
                    case 1: frame[at] = interesting[rng.below(interesting.count)]
                    case 2: frame[at] ^= UInt8(1) << UInt8(rng.below(8))
                    case 3: frame.removeLast(min(frame.count, rng.below(24)))
                    default: frame += (0..<rng.below(24)).map { _ in rng.byte() }
                    }
                }
            }
            let len = rng.below(4) == 0 ? rng.below(frame.count + 1) : frame.count
            let pktLen = rng.below(4) == 0 ? frame.count + rng.below(64) : frame.count
            let p = parse(frame, len: len, pktLen: pktLen)
            guard Int(p.malformed) < BMA_MAL_COUNT else {
                violations.append("\(iteration): reason \(p.malformed)")
                continue
            }
            seen[Int(p.malformed)] += 1
            var bad: [String] = []
            if p.vlan_count > 2 { bad.append("vlan_count") }
            if p.l3 > 4 { bad.append("l3") }
            if p.flow_hash == 0 { bad.append("hash 0") }
            if p.pkt_len != UInt32(max(pktLen, len)) { bad.append("pkt_len") }
            if has(p, BMA_PF_L4) && (p.l4_off == 0 || Int(p.l4_off) + 4 > len) { bad.append("l4_off") }
            if has(p, BMA_PF_LATER_FRAGMENT) && (has(p, BMA_PF_L4) || !has(p, BMA_PF_FRAGMENT)) { bad.append("frag") }
            if p.l4_off != 0 && p.l4_off < p.l3_off { bad.append("offsets") }
            if Int(p.l3_off) + Int(p.ip_len) > max(pktLen, len) && p.malformed == 0 { bad.append("ip_len") }
            // The shortcut for common frames gives exactly what the general parser gives.
            var g = bma_pkt_t()
            frame.withUnsafeBufferPointer { b in bma_parse_general(b.baseAddress, UInt32(len), UInt32(pktLen), &g) }
            if withUnsafeBytes(of: p, { a in withUnsafeBytes(of: g) { b in !a.elementsEqual(b) } }) { bad.append("general") }
            if !bad.isEmpty && violations.count < 20 {
                violations.append("\(iteration): \(bad) frame \(frame) len \(len) pkt_len \(pktLen)")
            }
        }
        XCTAssertEqual(violations, [])
        // The mutations reach most reasons.
        let reached = seen.enumerated().filter { $0.element > 0 }.count
        XCTAssertGreaterThanOrEqual(reached, BMA_MAL_COUNT - 2, "reasons seen: \(seen)")
    }
}
