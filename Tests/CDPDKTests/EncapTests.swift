import CDPDK
import XCTest

// MARK: - Fixture

/// Sample encapsulations, metadata and an inner frame, and big-endian readers for the checks.
/// Shared with EncapDecodeTests.
enum EncapFixture {
    static let srcMAC: UInt64 = 0x02_00_00_00_00_01
    static let dstMAC: UInt64 = 0x02_aa_bb_cc_dd_ee
    static let srcIP: UInt32 = 0x0a01_0001  // 10.1.0.1
    static let collectors: [UInt32] = [0x0a02_0001, 0x0a02_0002, 0x0a02_0003]  // 10.2.0.1..3

    static let kinds: [(name: String, kind: UInt32)] = [
        ("vxlan", UInt32(BMA_ENCAP_VXLAN)), ("geneve", UInt32(BMA_ENCAP_GENEVE)),
        ("erspan2", UInt32(BMA_ENCAP_ERSPAN2)),
    ]

    static func encap(
        _ kind: UInt32, collectors: [UInt32] = collectors, ttl: UInt8 = 0, dscp: UInt8 = 0,
        udpPort: UInt16 = 0, snaplen: UInt32 = 0
    ) -> bma_encap_t {
        var e = bma_encap_t()
        e.kind = kind
        e.snaplen = snaplen
        e.src_mac = srcMAC
        e.dst_mac = dstMAC
        e.src_ip = srcIP
        withUnsafeMutableBytes(of: &e.collectors) { raw in
            let c = raw.bindMemory(to: UInt32.self)
            for (i, a) in collectors.prefix(Int(BMA_MAX_COLLECTORS)).enumerated() { c[i] = a }
        }
        e.n_collectors = UInt32(collectors.count)
        e.udp_dst_port = udpPort
        e.ttl = ttl
        e.dscp = dscp
        return e
    }

    static func meta(
        vm: UInt32 = 0x0012_3456, hash: UInt32 = 0x9e37_79b9, flags: UInt16 = 0,
        ts: UInt64 = 1_700_000_000_123_456_789
    ) -> bma_mirror_meta_t {
        var m = bma_mirror_meta_t()
        m.ts_ns = ts
        m.vm_id = vm
        m.reasons = 0x8000_0005
        m.score_milli = 4_250
        m.flow_hash = hash
        m.policy_id = 0x0102
        m.flags = flags
        return m
    }

    /// Calls bma_encap_build into a buffer of `cap` bytes prefilled with 0xEE. Returns the length
    /// it reported and the whole buffer.
    static func build(
        _ e: bma_encap_t, _ m: bma_mirror_meta_t, inner: Int, orig: Int? = nil, cap: Int = 128
    ) -> (len: Int, bytes: [UInt8]) {
        var e = e
        var m = m
        var out = [UInt8](repeating: 0xEE, count: cap)
        let n = out.withUnsafeMutableBufferPointer { buf in
            bma_encap_build(&e, &m, UInt32(inner), UInt32(orig ?? inner), buf.baseAddress, UInt32(cap))
        }
        return (Int(n), out)
    }

    static func headerLen(_ e: bma_encap_t) -> Int {
        var e = e
        return Int(bma_encap_header_len(&e))
    }

    static func be16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
    static func be32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(be16(b, o)) << 16 | UInt32(be16(b, o + 2))
    }
    static func be48(_ b: [UInt8], _ o: Int) -> UInt64 {
        UInt64(be16(b, o)) << 32 | UInt64(be32(b, o + 2))
    }
    static func be64(_ b: [UInt8], _ o: Int) -> UInt64 {
        UInt64(be32(b, o)) << 32 | UInt64(be32(b, o + 4))
    }

    static func put16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func put32(_ v: UInt32) -> [UInt8] { put16(UInt16(v >> 16)) + put16(UInt16(v & 0xffff)) }
    static func mac(_ v: UInt64) -> [UInt8] { (0..<6).map { UInt8((v >> (40 - 8 * UInt64($0))) & 0xff) } }

    /// RFC 1071 sum of 16-bit words, folded, not complemented.
    static func onesSum(_ b: ArraySlice<UInt8>) -> UInt16 {
        var s: UInt32 = 0
        var i = b.startIndex
        while i + 1 < b.endIndex {
            s += UInt32(b[i]) << 8 | UInt32(b[i + 1])
            i += 2
        }
        if i < b.endIndex { s += UInt32(b[i]) << 8 }
        while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
        return UInt16(s)
    }

    /// The source port the encapsulation derives from the flow hash (see bma_encap.c).
    static func entropyPort(_ hash: UInt32) -> UInt16 {
        UInt16(0xC000 | ((hash ^ (hash >> 16)) & 0x3FFF))
    }

    /// A TCP SYN from 10.0.0.5:40000 to 192.168.7.9:443 with valid IPv4 and TCP checksums.
    static func tcpSyn(srcPort: UInt16 = 40000, dstPort: UInt16 = 443) -> [UInt8] {
        let sip: UInt32 = 0x0a00_0005
        let dip: UInt32 = 0xc0a8_0709
        var tcp = put16(srcPort) + put16(dstPort) + put32(0x1234_5678) + put32(0)
        tcp += [0x60, 0x02] + put16(64240) + [0, 0] + [0, 0]  // data offset 6, SYN
        tcp += [0x02, 0x04, 0x05, 0xb4]  // MSS 1460
        let pseudo = put32(sip) + put32(dip) + [0, 6] + put16(UInt16(tcp.count))
        let tsum = ~onesSum(ArraySlice(pseudo + tcp))
        tcp[16] = UInt8(tsum >> 8)
        tcp[17] = UInt8(tsum & 0xff)
        var ip: [UInt8] = [0x45, 0] + put16(UInt16(20 + tcp.count)) + put16(0x0101) + put16(0x4000)
        ip += [64, 6, 0, 0] + put32(sip) + put32(dip)
        let isum = ~onesSum(ArraySlice(ip))
        ip[10] = UInt8(isum >> 8)
        ip[11] = UInt8(isum & 0xff)
        return mac(0x52_54_00_12_34_56) + mac(0x52_54_00_ab_cd_ef) + put16(0x0800) + ip + tcp
    }
}

// MARK: - Tests

final class EncapTests: XCTestCase {
    typealias F = EncapFixture

    let vxlan = UInt32(BMA_ENCAP_VXLAN)
    let geneve = UInt32(BMA_ENCAP_GENEVE)
    let erspan = UInt32(BMA_ENCAP_ERSPAN2)

    /// Checks the outer Ethernet and IPv4 headers common to every kind.
    func checkOuter(
        _ h: [UInt8], proto: UInt8, ipPayload: Int, dstIP: UInt32, ttl: UInt8 = 64, dscp: UInt8 = 0,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(F.be48(h, 0), F.dstMAC, "dst MAC", file: file, line: line)
        XCTAssertEqual(F.be48(h, 6), F.srcMAC, "src MAC", file: file, line: line)
        XCTAssertEqual(F.be16(h, 12), 0x0800, "ethertype", file: file, line: line)
        XCTAssertEqual(h[14], 0x45, "version/IHL", file: file, line: line)
        XCTAssertEqual(h[15], dscp << 2, "DSCP/ECN", file: file, line: line)
        XCTAssertEqual(Int(F.be16(h, 16)), 20 + ipPayload, "IPv4 total length", file: file, line: line)
        XCTAssertEqual(F.be16(h, 18), 0, "IPv4 id", file: file, line: line)
        XCTAssertEqual(F.be16(h, 20), 0x4000, "DF, no fragment offset", file: file, line: line)
        XCTAssertEqual(h[22], ttl, "TTL", file: file, line: line)
        XCTAssertEqual(h[23], proto, "protocol", file: file, line: line)
        XCTAssertEqual(F.be32(h, 26), F.srcIP, "src IP", file: file, line: line)
        XCTAssertEqual(F.be32(h, 30), dstIP, "dst IP", file: file, line: line)
        // The checksum verifies (sum of the header is 0xffff) and equals a recomputation.
        XCTAssertEqual(F.onesSum(h[14..<34]), 0xffff, "IPv4 checksum verifies", file: file, line: line)
        var zeroed = Array(h[14..<34])
        zeroed[10] = 0
        zeroed[11] = 0
        XCTAssertEqual(F.be16(h, 24), ~F.onesSum(zeroed[...]), "IPv4 checksum", file: file, line: line)
    }

    func testHeaderLengths() {
        XCTAssertEqual(F.headerLen(F.encap(UInt32(BMA_ENCAP_NONE))), 0)
        XCTAssertEqual(F.headerLen(F.encap(vxlan)), 14 + 20 + 8 + 8)
        XCTAssertEqual(F.headerLen(F.encap(geneve)), 14 + 20 + 8 + 8 + 4 + 24)
        XCTAssertEqual(F.headerLen(F.encap(erspan)), 14 + 20 + 8 + 8)
        XCTAssertEqual(F.headerLen(F.encap(99)), 0)
        XCTAssertEqual(F.headerLen(F.encap(vxlan)), 50)
        XCTAssertEqual(F.headerLen(F.encap(geneve)), 78)
        XCTAssertEqual(F.headerLen(F.encap(erspan)), 50)
    }

    func testHeaderLenAgreesWithBuildAndNothingPastIt() {
        for (name, kind) in F.kinds {
            let e = F.encap(kind)
            let hlen = F.headerLen(e)
            let (n, b) = F.build(e, F.meta(), inner: 60, cap: 200)
            XCTAssertEqual(n, hlen, name)
            XCTAssertTrue(b[hlen...].allSatisfy { $0 == 0xEE }, "\(name): wrote past the header")
        }
    }

    func testVXLAN() {
        let inner = 74
        let m = F.meta()
        let (n, h) = F.build(F.encap(vxlan), m, inner: inner)
        XCTAssertEqual(n, 50)
        checkOuter(h, proto: 17, ipPayload: 8 + 8 + inner, dstIP: F.collectors[Int(m.flow_hash % 3)])
        // UDP
        XCTAssertEqual(F.be16(h, 34), F.entropyPort(m.flow_hash), "src port")
        XCTAssertEqual(F.be16(h, 36), 4789, "dst port")
        XCTAssertEqual(Int(F.be16(h, 38)), 8 + 8 + inner, "UDP length")
        XCTAssertEqual(F.be16(h, 40), 0, "UDP checksum")
        // VXLAN: flags I, reserved, VNI, reserved
        XCTAssertEqual(Array(h[42..<46]), [0x08, 0, 0, 0])
        XCTAssertEqual(Array(h[46..<50]), [0x12, 0x34, 0x56, 0x00])
    }

    func testVXLANVNIKeepsLow24Bits() {
        let (n, h) = F.build(F.encap(vxlan), F.meta(vm: 0xAB12_3456), inner: 60)
        XCTAssertEqual(n, 50)
        XCTAssertEqual(Array(h[46..<50]), [0x12, 0x34, 0x56, 0x00])
    }

    func testGeneve() {
        let inner = 66
        let m = F.meta(flags: UInt16(BMA_MF_STICKY | BMA_MF_FORCED))
        let (n, h) = F.build(F.encap(geneve), m, inner: inner, orig: inner)
        XCTAssertEqual(n, 78)
        checkOuter(h, proto: 17, ipPayload: 8 + 36 + inner, dstIP: F.collectors[Int(m.flow_hash % 3)])
        XCTAssertEqual(F.be16(h, 34), F.entropyPort(m.flow_hash), "src port")
        XCTAssertEqual(F.be16(h, 36), 6081, "dst port")
        XCTAssertEqual(Int(F.be16(h, 38)), 8 + 36 + inner, "UDP length")
        XCTAssertEqual(F.be16(h, 40), 0, "UDP checksum")
        // Base header
        XCTAssertEqual(h[42] >> 6, 0, "version")
        XCTAssertEqual(Int(h[42] & 0x3f), 7, "options length, words (4 + 24 bytes)")
        XCTAssertEqual(h[43], 0, "O and C clear")
        XCTAssertEqual(F.be16(h, 44), 0x6558, "protocol type")
        XCTAssertEqual(Array(h[46..<50]), [0x12, 0x34, 0x56, 0x00], "VNI, reserved")
        // Option header
        XCTAssertEqual(F.be16(h, 50), UInt16(BMA_GENEVE_OPT_CLASS))
        XCTAssertEqual(h[52], UInt8(BMA_GENEVE_OPT_TYPE))
        XCTAssertEqual(h[52] & 0x80, 0, "not critical")
        XCTAssertEqual(h[53] >> 5, 0, "reserved bits")
        XCTAssertEqual(h[53] & 0x1f, 6, "option data length, words")
        // Option data
        XCTAssertEqual(h[54], UInt8(BMA_GENEVE_OPT_VERSION))
        XCTAssertEqual(h[55], UInt8(BMA_MF_STICKY | BMA_MF_FORCED), "flags")
        XCTAssertEqual(F.be16(h, 56), 0x0102, "policy id")
        XCTAssertEqual(F.be32(h, 58), 0x8000_0005, "reasons")
        XCTAssertEqual(F.be32(h, 62), 4_250, "score")
        XCTAssertEqual(Int(F.be32(h, 66)), inner, "original length")
        XCTAssertEqual(F.be64(h, 70), 1_700_000_000_123_456_789, "timestamp")
    }

    func testGeneveTruncatedCopy() {
        // Flag set by the caller, and inferred when the copy is shorter than the original.
        let flagged = F.build(F.encap(geneve), F.meta(flags: UInt16(BMA_MF_TRUNCATED)), inner: 128, orig: 1514)
        let inferred = F.build(F.encap(geneve), F.meta(flags: UInt16(BMA_MF_PRETRIGGER)), inner: 128, orig: 1514)
        XCTAssertEqual(flagged.bytes[55], UInt8(BMA_MF_TRUNCATED))
        XCTAssertEqual(inferred.bytes[55], UInt8(BMA_MF_PRETRIGGER | BMA_MF_TRUNCATED))
        XCTAssertEqual(F.be32(inferred.bytes, 66), 1514, "original length")
        XCTAssertEqual(Int(F.be16(inferred.bytes, 16)), 20 + 8 + 36 + 128, "IPv4 length uses the copy")
    }

    func testERSPAN2() {
        let inner = 80
        let m = F.meta(vm: 0x0000_0765)  // session id 0x365
        let (n, h) = F.build(F.encap(erspan), m, inner: inner)
        XCTAssertEqual(n, 50)
        checkOuter(h, proto: 47, ipPayload: 8 + 8 + inner, dstIP: F.collectors[Int(m.flow_hash % 3)])
        // GRE with sequence number
        XCTAssertEqual(F.be16(h, 34), 0x1000, "GRE flags: S only, version 0")
        XCTAssertEqual(F.be16(h, 36), 0x88BE, "GRE protocol")
        XCTAssertEqual(F.be32(h, 38), UInt32(truncatingIfNeeded: m.ts_ns / 1000), "sequence = time in µs")
        // ERSPAN type II
        XCTAssertEqual(h[42] >> 4, 1, "version 1 (type II)")
        XCTAssertEqual(F.be16(h, 42) & 0x0fff, 0, "VLAN")
        let w = F.be16(h, 44)
        XCTAssertEqual(w >> 13, 0, "COS")
        XCTAssertEqual((w >> 11) & 3, 0, "En")
        XCTAssertEqual((w >> 10) & 1, 0, "T")
        XCTAssertEqual(w & 0x3ff, 0x365, "session id")
        XCTAssertEqual(F.be32(h, 46), 0, "reserved, index")
    }

    func testERSPAN2TruncatedBit() {
        let flagged = F.build(F.encap(erspan), F.meta(vm: 7, flags: UInt16(BMA_MF_TRUNCATED)), inner: 96, orig: 96)
        let inferred = F.build(F.encap(erspan), F.meta(vm: 7), inner: 96, orig: 1500)
        for h in [flagged.bytes, inferred.bytes] {
            XCTAssertEqual((F.be16(h, 44) >> 10) & 1, 1, "T")
            XCTAssertEqual(F.be16(h, 44) & 0x3ff, 7, "session id")
            XCTAssertEqual(Int(F.be16(h, 16)), 20 + 16 + 96)
        }
    }

    func testERSPAN2SequenceFollowsTime() {
        let a = F.build(F.encap(erspan), F.meta(ts: 5_000_999), inner: 60).bytes
        let b = F.build(F.encap(erspan), F.meta(ts: 7_000_000), inner: 60).bytes
        let wrap = F.build(F.encap(erspan), F.meta(ts: (UInt64(1) << 32 | 9) * 1000), inner: 60).bytes
        XCTAssertEqual(F.be32(a, 38), 5_000)
        XCTAssertEqual(F.be32(b, 38), 7_000)
        XCTAssertEqual(F.be32(wrap, 38), 9)
    }

    func testCollectorChosenByFlowHash() {
        let four: [UInt32] = [0x0a09_0001, 0x0a09_0002, 0x0a09_0003, 0x0a09_0004]
        for (name, kind) in F.kinds {
            for hash: UInt32 in [0, 1, 2, 3, 4, 5, 7, 0xffff_ffff, 0x8000_0001, 0x1234_5679] {
                let h = F.build(F.encap(kind, collectors: four), F.meta(hash: hash), inner: 60).bytes
                XCTAssertEqual(F.be32(h, 30), four[Int(hash % 4)], "\(name) hash \(hash)")
                XCTAssertEqual(F.onesSum(h[14..<34]), 0xffff, "\(name) checksum, hash \(hash)")
            }
            let one = F.build(F.encap(kind, collectors: [0xc0a8_6401]), F.meta(hash: 0xdead_beef), inner: 60).bytes
            XCTAssertEqual(F.be32(one, 30), 0xc0a8_6401, name)
        }
    }

    func testSourcePortFromFlowHash() {
        var seen = Set<UInt16>()
        for i in 0..<2000 {
            let hash = UInt32(truncatingIfNeeded: i &* 0x9e37_79b1)
            let h = F.build(F.encap(vxlan), F.meta(hash: hash), inner: 60).bytes
            let port = F.be16(h, 34)
            XCTAssertGreaterThanOrEqual(port, 49152)
            XCTAssertEqual(port, F.entropyPort(hash))
            seen.insert(port)
        }
        XCTAssertGreaterThan(seen.count, 1500, "ports spread")
        // Same flow hash, same port (the hash is symmetric, so both directions agree).
        let a = F.build(F.encap(geneve), F.meta(hash: 42), inner: 60).bytes
        let b = F.build(F.encap(geneve), F.meta(vm: 9, hash: 42), inner: 900).bytes
        XCTAssertEqual(F.be16(a, 34), F.be16(b, 34))
    }

    func testTTLAndDSCPAndPortOverride() {
        for (name, kind) in F.kinds {
            let e = F.encap(kind, ttl: 9, dscp: 46, udpPort: 14789)
            let (n, h) = F.build(e, F.meta(), inner: 100)
            XCTAssertEqual(n, F.headerLen(e), name)
            let proto: UInt8 = kind == erspan ? 47 : 17
            checkOuter(h, proto: proto, ipPayload: n - 34 + 100, dstIP: F.collectors[Int(F.meta().flow_hash % 3)],
                       ttl: 9, dscp: 46)
            if kind != erspan { XCTAssertEqual(F.be16(h, 36), 14789, name) }
        }
        // DSCP keeps 6 bits, ECN stays 0.
        let h = F.build(F.encap(vxlan, dscp: 0xff), F.meta(), inner: 60).bytes
        XCTAssertEqual(h[15], 0xfc)
    }

    func testCapTooSmall() {
        for (name, kind) in F.kinds {
            let e = F.encap(kind)
            let hlen = F.headerLen(e)
            let short = F.build(e, F.meta(), inner: 60, cap: hlen - 1)
            XCTAssertEqual(short.len, 0, name)
            XCTAssertTrue(short.bytes.allSatisfy { $0 == 0xEE }, "\(name): wrote into a short buffer")
            XCTAssertEqual(F.build(e, F.meta(), inner: 60, cap: hlen).len, hlen, name)
            XCTAssertEqual(F.build(e, F.meta(), inner: 60, cap: 0).len, 0, name)
        }
    }

    func testOuterFrameLimitIsTheIPv4Length() {
        for (name, kind) in F.kinds {
            let e = F.encap(kind)
            let hlen = F.headerLen(e)
            // A jumbo frame of 9,018 bytes is carried whole.
            let (j, jh) = F.build(e, F.meta(), inner: 9018)
            XCTAssertEqual(j, hlen, name)
            XCTAssertEqual(Int(F.be16(jh, 16)), hlen - 14 + 9018, "\(name): IPv4 length of a jumbo copy")
            // Up to what an IPv4 length can say, and not one byte more.
            let largest = 65535 - (hlen - 14)
            XCTAssertEqual(Int(withUnsafePointer(to: e) { bma_encap_max_inner($0) }), largest, name)
            let (n, h) = F.build(e, F.meta(), inner: largest)
            XCTAssertEqual(n, hlen, name)
            XCTAssertEqual(Int(F.be16(h, 16)), 65535, "\(name): IPv4 length of the largest copy")
            XCTAssertEqual(F.build(e, F.meta(), inner: largest + 1).len, 0, name)
            XCTAssertEqual(F.build(e, F.meta(), inner: Int(UInt32.max)).len, 0, name)
        }
    }

    func testNothingToBuild() {
        // NONE has no header; no collector or an unknown kind cannot be built.
        XCTAssertEqual(F.build(F.encap(UInt32(BMA_ENCAP_NONE)), F.meta(), inner: 60).len, 0)
        XCTAssertEqual(F.build(F.encap(99), F.meta(), inner: 60).len, 0)
        for (name, kind) in F.kinds {
            XCTAssertEqual(F.build(F.encap(kind, collectors: []), F.meta(), inner: 60).len, 0, name)
        }
    }

    func testMoreCollectorsThanTheArrayHoldsIsClamped() {
        var e = F.encap(vxlan, collectors: (1...8).map { 0x0a0a_0000 + UInt32($0) })
        e.n_collectors = 1000
        for hash: UInt32 in [0, 7, 8, 15, 999] {
            let h = F.build(e, F.meta(hash: hash), inner: 60).bytes
            XCTAssertEqual(F.be32(h, 30), 0x0a0a_0000 + hash % 8 + 1)
        }
    }
}
