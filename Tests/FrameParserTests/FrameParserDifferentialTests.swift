import CDPDK
import Foundation
import PacketCapture
import Testing

/// The Swift frame parser (`FrameHeaders`) and bmad's C parser (`bma_parse`) must find the same
/// headers, addresses, ports, flags, hash and malformed reason in every frame: real captures
/// (whole, and cut as a snaplen would cut them), random and mutated frames, and the fuzz corpus.
@Suite("Frame parser: Swift and C agree")
struct FrameParserDifferentialTests {
    @Test("the real captures, whole and truncated")
    func realCaptures() throws {
        let files = try Corpus.captureFiles()
        try #require(!files.isEmpty, "no captures in \(Corpus.capturesDirectory)")
        var generator = SplitMix(seed: 1)
        var frames = 0
        for file in files {
            var reader = try PcapReader(path: file)
            while let record = try reader.next() {
                let data = record.data
                let wire = max(Int(record.originalLength), data.count)
                try Differential.check(data, wireLength: wire)
                // A mirror copy cut to a snaplen: the original length bounds the headers.
                let cut = Int.random(in: 0...data.count, using: &generator)
                try Differential.check(Array(data.prefix(cut)), wireLength: wire)
                frames += 1
            }
        }
        #expect(frames > 10_000)
    }

    @Test("random frames built layer by layer, then mutated")
    func randomFrames() throws {
        var generator = SplitMix(seed: 42)
        for _ in 0..<60_000 {
            var frame = RandomFrame.make(using: &generator)
            try Differential.check(frame, wireLength: frame.count)
            // Flip a few bytes in the headers, cut, or claim a longer wire length.
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !frame.isEmpty {
                let index = Int.random(in: 0..<min(frame.count, 96), using: &generator)
                frame[index] = UInt8.random(in: 0...255, using: &generator)
            }
            try Differential.check(frame, wireLength: frame.count)
            let cut = Int.random(in: 0...frame.count, using: &generator)
            try Differential.check(Array(frame.prefix(cut)), wireLength: frame.count + Int.random(in: 0...64, using: &generator))
        }
    }

    @Test("random bytes of every short length")
    func randomBytes() throws {
        var generator = SplitMix(seed: 7)
        for length in 0..<128 {
            for _ in 0..<200 {
                let frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                try Differential.check(frame, wireLength: length)
                try Differential.check(frame, wireLength: length + Int.random(in: 1...2000, using: &generator))
            }
        }
    }

    @Test("the fuzz corpus, when there is one")
    func fuzzCorpus() throws {
        for file in Corpus.fuzzFiles() {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            try Differential.check(Array(data), wireLength: data.count)
        }
    }

    @Test("malformed reasons and housekeeping classes have bmad's numbers and names")
    func names() {
        for reason in FrameHeaders.Malformed.allCases {
            #expect(reason.description == String(cString: bma_malformed_name(UInt32(reason.rawValue))))
        }
        #expect(FrameHeaders.Malformed.allCases.count == Int(BMA_MAL_COUNT))
        for kind in FrameHeaders.Housekeeping.allCases {
            #expect(kind.description == String(cString: bma_housekeeping_name(UInt32(kind.rawValue))))
        }
        #expect(FrameHeaders.Housekeeping.allCases.count == Int(BMA_HK_COUNT))
    }
}

enum Differential {
    struct Mismatch: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses with both and throws on the first field that differs.
    static func check(_ frame: [UInt8], wireLength: Int) throws {
        let swift = FrameHeaders(frame: frame, wireLength: wireLength)
        var c = bma_pkt_t()
        frame.withUnsafeBufferPointer { bma_parse($0.baseAddress, UInt32($0.count), UInt32(wireLength), &c) }
        let fields: [(String, UInt64, UInt64)] = [
            ("src_mac", swift.sourceMAC, c.src_mac), ("dst_mac", swift.destinationMAC, c.dst_mac),
            ("src_ip_hi", swift.sourceHigh, c.src_ip_hi), ("src_ip_lo", swift.sourceLow, c.src_ip_lo),
            ("dst_ip_hi", swift.destinationHigh, c.dst_ip_hi), ("dst_ip_lo", swift.destinationLow, c.dst_ip_lo),
            ("flow_hash", UInt64(swift.flowHash), UInt64(c.flow_hash)), ("pkt_len", UInt64(swift.wireLength), UInt64(c.pkt_len)),
            ("ethertype", UInt64(swift.etherType), UInt64(c.ethertype)),
            ("vlan_tci[0]", UInt64(swift.outerVLAN), UInt64(c.vlan_tci.0)), ("vlan_tci[1]", UInt64(swift.innerVLAN), UInt64(c.vlan_tci.1)),
            ("l3_off", UInt64(swift.l3Offset), UInt64(c.l3_off)), ("l4_off", UInt64(swift.l4Offset), UInt64(c.l4_off)),
            ("l4_payload", UInt64(swift.l4Payload), UInt64(c.l4_payload)), ("ip_len", UInt64(swift.ipLength), UInt64(c.ip_len)),
            ("src_port", UInt64(swift.sourcePort), UInt64(c.src_port)), ("dst_port", UInt64(swift.destinationPort), UInt64(c.dst_port)),
            ("flags", UInt64(swift.flags.rawValue), UInt64(c.flags)), ("arp_op", UInt64(swift.arpOperation), UInt64(c.arp_op)),
            ("vlan_count", UInt64(swift.vlanCount), UInt64(c.vlan_count)), ("l3", UInt64(swift.l3.rawValue), UInt64(c.l3)),
            ("ip_proto", UInt64(swift.ipProtocol), UInt64(c.ip_proto)), ("tcp_flags", UInt64(swift.tcpFlags), UInt64(c.tcp_flags)),
            ("icmp_type", UInt64(swift.icmpType), UInt64(c.icmp_type)), ("icmp_code", UInt64(swift.icmpCode), UInt64(c.icmp_code)),
            ("ttl", UInt64(swift.ttl), UInt64(c.ttl)), ("malformed", UInt64(swift.malformed.rawValue), UInt64(c.malformed)),
            ("housekeeping", UInt64(swift.housekeeping.rawValue), UInt64(c.housekeeping)),
        ]
        for (name, mine, theirs) in fields where mine != theirs {
            let hex = frame.prefix(96).map { String(format: "%02x", $0) }.joined()
            throw Mismatch(description: "\(name): Swift \(mine), C \(theirs); \(frame.count) of \(wireLength) bytes: \(hex)")
        }
    }
}

/// Frames that reach every branch of the parsers: 0-3 VLAN tags, IPv4 with options and
/// fragments, IPv6 with extension headers, ARP, TCP/UDP/ICMP/other, lengths right and wrong.
enum RandomFrame {
    static func make(using g: inout SplitMix) -> [UInt8] {
        var frame: [UInt8] = (0..<12).map { _ in UInt8.random(in: 0...255, using: &g) }
        if Bool.random(using: &g) { frame.replaceSubrange(0..<6, with: [UInt8](repeating: 0xFF, count: 6)) }
        for _ in 0..<pick([0, 0, 0, 1, 1, 2, 3], &g) {
            frame += be16(pick([0x8100, 0x88A8, 0x9100], &g)) + be16(UInt16.random(in: 0...0xFFFF, using: &g))
        }
        switch Int.random(in: 0..<11, using: &g) {
        case 0..<4: frame += be16(0x0800) + ipv4(&g)
        case 4..<7: frame += be16(0x86DD) + ipv6(&g)
        case 7: frame += be16(0x0806) + arp(&g)
        case 8: frame += be16(UInt16.random(in: 0...0x05FF, using: &g)) + bytes(Int.random(in: 0...40, using: &g), &g)
        case 9: frame += be16(pick([0x888E, 0x88CC], &g)) + bytes(Int.random(in: 0...40, using: &g), &g)
        default: frame += be16(UInt16.random(in: 0x0600...0xFFFF, using: &g)) + bytes(Int.random(in: 0...40, using: &g), &g)
        }
        if Int.random(in: 0..<4, using: &g) == 0 { frame += [UInt8](repeating: 0, count: Int.random(in: 0...30, using: &g)) }
        return frame
    }

    static func ipv4(_ g: inout SplitMix) -> [UInt8] {
        let proto = pick([6, 6, 17, 17, 1, 58, 2, 47, 59, UInt8.random(in: 0...255, using: &g)], &g)
        let options = 4 * pick([0, 0, 0, 1, 10], &g)
        let transport = self.transport(proto, &g)
        let ihl = Int.random(in: 0..<8, using: &g) == 0 ? UInt8.random(in: 0...15, using: &g) : UInt8(5 + options / 4)
        let lengthRight = 20 + options + transport.count
        let total = Int.random(in: 0..<6, using: &g) == 0 ? Int.random(in: 0...lengthRight + 40, using: &g) : lengthRight
        let fragment: UInt16 = pick([0, 0, 0, 0x4000, 0x2000, 0x0010, 0x2010], &g)
        var header: [UInt8] = [(pick([4, 4, 4, 4, 6], &g) << 4) | (ihl & 0x0F), UInt8.random(in: 0...255, using: &g)]
        header += be16(UInt16(clamping: total)) + be16(0) + be16(fragment) + [64, proto] + be16(0)
        header += bytes(8, &g) + bytes(options, &g)
        return header + transport
    }

    static func ipv6(_ g: inout SplitMix) -> [UInt8] {
        var extensions: [UInt8] = []
        var next: UInt8 = pick([6, 17, 58, 1, 59, 132], &g)
        let transport = self.transport(next, &g)
        for _ in 0..<pick([0, 0, 1, 2, 9], &g) {
            let type: UInt8 = pick([0, 43, 44, 51, 60], &g)
            var header: [UInt8]
            switch type {
            case 44: header = [next, 0] + be16(pick([0, 0, 1, 8, 9] as [UInt16], &g)) + bytes(4, &g)
            case 51: header = [next, 1] + bytes(10, &g)
            default: header = [next, pick([0, 0, 1] as [UInt8], &g)] + bytes(6, &g); if header[1] == 1 { header += bytes(8, &g) }
            }
            extensions = header + extensions
            next = type
        }
        let payload = extensions + transport
        let length = Int.random(in: 0..<6, using: &g) == 0 ? Int.random(in: 0...payload.count + 40, using: &g) : payload.count
        var header: [UInt8] = [pick([0x60, 0x60, 0x60, 0x40] as [UInt8], &g), 0, 0, 0] + be16(UInt16(length)) + [next, 64]
        header += bytes(32, &g)
        return header + payload
    }

    static func transport(_ proto: UInt8, _ g: inout SplitMix) -> [UInt8] {
        let payload = bytes(pick([0, 0, 5, 40], &g), &g)
        switch proto {
        case 6:
            let offset = Int.random(in: 0..<8, using: &g) == 0 ? UInt8.random(in: 0...15, using: &g) : pick([5, 5, 6, 15], &g)
            return bytes(12, &g) + [offset << 4, UInt8.random(in: 0...255, using: &g)] + bytes(6, &g)
                + bytes(max(0, Int(offset) * 4 - 20) % 44, &g) + payload
        case 17:
            let right = 8 + payload.count
            let length = Int.random(in: 0..<6, using: &g) == 0 ? Int.random(in: 0...right + 20, using: &g) : right
            let ports = [UInt16](arrayLiteral: 53, 67, 68, 546, 547, 5353, 1900, 5355, UInt16.random(in: 0...0xFFFF, using: &g))
            return be16(pick(ports, &g)) + be16(pick(ports, &g)) + be16(UInt16(length)) + be16(0) + payload
        case 1, 58:
            let types: [UInt8] = [0, 3, 8, 11, 1, 2, 128, 129, 130, 133, 137, 143, UInt8.random(in: 0...255, using: &g)]
            return [pick(types, &g)] + bytes(pick([1, 3, 7], &g), &g) + payload
        default:
            return payload
        }
    }

    static func arp(_ g: inout SplitMix) -> [UInt8] {
        let body = be16(1) + be16(pick([0x0800, 0x86DD], &g)) + [pick([6, 8], &g), pick([4, 16], &g)]
            + be16(pick([1, 2], &g)) + bytes(20, &g)
        return Array(body.prefix(pick([28, 28, 28, 27, 10], &g)))
    }

    static func bytes(_ count: Int, _ g: inout SplitMix) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    static func pick<T>(_ choices: [T], _ g: inout SplitMix) -> T { choices[Int.random(in: 0..<choices.count, using: &g)] }
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }
}

/// Where the inputs are: $BMA_PCAPS (else `<root>/captures`), and any `corpus*` directory
/// under `<root>/Fuzz`.
enum Corpus {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var capturesDirectory: String {
        let configured = ProcessInfo.processInfo.environment["BMA_PCAPS"] ?? ""
        return configured.isEmpty ? root.appendingPathComponent("captures").path : configured
    }

    static func captureFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: capturesDirectory).filter { $0.hasSuffix(".pcap") }.sorted()
            .map { (capturesDirectory as NSString).appendingPathComponent($0) }
    }

    static func fuzzFiles() -> [String] {
        let fuzz = root.appendingPathComponent("Fuzz").path
        guard let walker = FileManager.default.enumerator(atPath: fuzz) else { return [] }
        return walker.compactMap { $0 as? String }.filter { path in
            path.split(separator: "/").dropLast().contains { $0.hasPrefix("corpus") }
        }.map { (fuzz as NSString).appendingPathComponent($0) }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }
}

/// SplitMix64: deterministic, so a failure repeats exactly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
