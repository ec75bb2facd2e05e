import Testing
@testable import Analysis

/// Random corruptions with a fixed seed: every decoder answers with a packet that keeps the
/// model's invariants or with an error, and never traps.
@Suite("Ingest: decoder fuzz")
struct IngestFuzzTests {
    typealias E = IngestEncap

    /// Valid inputs to start from: outer frames of every kind, snaplen copies, tagged frames.
    static func seeds() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for kind in E.Kind.allCases {
            let inner = E.innerFrame(payloadBytes: 60)
            seeds.append(E.build(.init(kind: kind), E.Meta(), inner: inner))
            seeds.append(E.build(.init(kind: kind), E.Meta(), inner: Array(inner.prefix(40)), originalLength: inner.count))
            var tagged = E.build(.init(kind: kind), E.Meta(), inner: E.innerFrame(vlans: [7], payloadBytes: 0))
            tagged.insert(contentsOf: [0x81, 0x00, 0x00, 0x2A], at: 12)
            seeds.append(tagged)
        }
        return seeds
    }

    static func mutate(_ bytes: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { break }
            let position = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0:  // flip a bit
                bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
            case 1:  // cut
                bytes.removeSubrange(position...)
            case 2:  // overwrite a run with garbage
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
                for index in position..<end { bytes[index] = UInt8.random(in: 0...255, using: &random) }
            case 3:  // insert garbage
                bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) },
                             at: position)
            case 4:  // an extreme value, as a corrupt length or flag byte would be
                bytes[position] = [0x00, 0xFF, 0x3F, 0x1F, 0x80, 0x7F].randomElement(using: &random)!
            case 5:  // an extreme 16-bit length
                let value: UInt16 = [0, 1, 7, 8, 0xFFFF, 0x8000].randomElement(using: &random)!
                bytes[position] = UInt8(value >> 8)
                if position + 1 < bytes.count { bytes[position + 1] = UInt8(value & 0xFF) }
            default:  // delete a run
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &random)))
            }
        }
        return bytes
    }

    static func check(_ result: Result<MirroredPacket, MirrorDecodeError>, _ counts: inout [String: Int]) {
        switch result {
        case .success(let packet):
            counts["ok", default: 0] += 1
            #expect(packet.frame.count >= MirrorDecoder.minimumInnerFrameLength)
            #expect(Int(packet.originalLength) >= packet.frame.count)
            #expect(packet.vmID <= (packet.encapsulation == .erspan2 ? 0x3FF : 0xFF_FFFF))
            #expect(packet.metadata == nil || packet.encapsulation == .geneve)
        case .failure(let error):
            counts[error.kind.rawValue, default: 0] += 1
            #expect(!error.description.isEmpty)
        }
    }

    @Test("100,000 mutated frames and datagrams, fixed seed")
    func fuzz() {
        var random = SeededGenerator(seed: 0x6E5E_7E00_0B_AA)
        let seeds = Self.seeds()
        var counts: [String: Int] = [:]
        for _ in 0..<100_000 {
            let seed = seeds.randomElement(using: &random)!
            let mutated = Self.mutate(seed, &random)
            // The whole frame, and the tunnel payload as a socket would deliver it.
            Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeOuterFrame(mutated, receivedNs: 1) }, &counts)
            let udp = mutated.dropFirst(E.udpPayloadOffset)
            let gre = mutated.dropFirst(E.grePacketOffset)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeGeneve(udpPayload: udp, sensor: "s", receivedNs: 1) }, &counts)
            case 1: Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeVXLAN(udpPayload: udp, sensor: "s", receivedNs: 1) }, &counts)
            case 2: Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeERSPAN(grePacket: gre, sensor: "s", receivedNs: 1) }, &counts)
            default: Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeRawIPv4GRE(mutated.dropFirst(14), receivedNs: 1) }, &counts)
            }
        }
        // The corpus reaches both outcomes and most error kinds.
        #expect(counts["ok", default: 0] > 10_000)
        for kind in ["truncated", "badVersion", "badLength", "unknownProtocol", "notMirrorTraffic", "badOption", "badFlags", "fragmented"] {
            #expect(counts[kind, default: 0] > 0, "\(kind) never seen: \(counts)")
        }
    }

    @Test("Random bytes of every length up to 128")
    func randomBytes() {
        var random = SeededGenerator(seed: 7)
        var counts: [String: Int] = [:]
        for length in 0...128 {
            for _ in 0..<50 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeOuterFrame(bytes, receivedNs: 1) }, &counts)
                Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeGeneve(udpPayload: bytes, sensor: "s", receivedNs: 1) }, &counts)
                Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeVXLAN(udpPayload: bytes, sensor: "s", receivedNs: 1) }, &counts)
                Self.check(Result { () throws(MirrorDecodeError) in try MirrorDecoder.decodeERSPAN(grePacket: bytes, sensor: "s", receivedNs: 1) }, &counts)
            }
        }
        #expect(counts.values.reduce(0, +) == 129 * 50 * 4)
    }
}
