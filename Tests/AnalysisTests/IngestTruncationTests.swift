import Testing
@testable import Analysis

/// Every prefix of a valid datagram or frame: an error while a header (or the inner Ethernet
/// header) is incomplete; after that, what can be told from the bytes.
@Suite("Ingest: truncation at every length")
struct IngestTruncationTests {
    typealias E = IngestEncap

    static func outcome(_ body: () throws(MirrorDecodeError) -> MirroredPacket) -> Result<MirroredPacket, MirrorDecodeError> {
        Result { () throws(MirrorDecodeError) in try body() }
    }

    @Test("Tunnel payloads cut at every length", arguments: E.Kind.allCases)
    func tunnelPrefixes(kind: E.Kind) throws {
        let inner = E.innerFrame()
        let payload = E.tunnelPayload(E.build(.init(kind: kind), E.Meta(), inner: inner), kind)
        let tunnelHeader = payload.count - inner.count
        let full = try E.decode(payload, kind)
        for length in 0..<payload.count {
            let result = Self.outcome { () throws(MirrorDecodeError) in try E.decode(Array(payload.prefix(length)), kind) }
            switch result {
            case .failure(let error) where length < tunnelHeader + 14:
                #expect(error.kind == .truncated, "\(kind) cut at \(length): \(error)")
            case .failure(let error):
                // Only Geneve can tell: its metadata says how long the frame is, and the
                // truncated flag is clear.
                #expect(kind == .geneve, "\(kind) cut at \(length): \(error)")
                #expect(error == .badLength(layer: .bmaMetadata, declared: inner.count,
                                            allowed: (length - tunnelHeader)...(length - tunnelHeader)))
            case .success(let packet):
                #expect(kind != .geneve && length >= tunnelHeader + 14, "\(kind) cut at \(length) decoded")
                var expected = full
                expected.frame = Array(inner.prefix(length - tunnelHeader))
                expected.originalLength = UInt32(expected.frame.count)
                #expect(packet == expected, "\(kind) cut at \(length)")
            }
        }
    }

    @Test("A Geneve snaplen copy cut further decodes (the flag says the frame is short)")
    func geneveTruncatedCopyPrefixes() throws {
        let inner = E.innerFrame(payloadBytes: 100)
        let payload = E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: Array(inner.prefix(80)),
                                              originalLength: inner.count), .geneve)
        for length in (36 + 14)...payload.count {
            let packet = try MirrorDecoder.decodeGeneve(udpPayload: payload.prefix(length), sensor: "s", receivedNs: 1)
            #expect(packet.frame == Array(inner.prefix(length - 36)))
            #expect(packet.originalLength == UInt32(inner.count))
        }
    }

    @Test("Outer frames cut at every length (a capture's snaplen)", arguments: E.Kind.allCases)
    func outerPrefixes(kind: E.Kind) throws {
        let inner = E.innerFrame()
        for vlans in [[UInt16](), [100, 200]] {
            var frame = E.build(.init(kind: kind), E.Meta(), inner: inner)
            for vlan in vlans.reversed() { frame.insert(contentsOf: [0x81, 0x00] + E.be16(vlan), at: 12) }
            let header = E.headerLength[kind]! + 4 * vlans.count
            let full = try MirrorDecoder.decodeOuterFrame(frame, receivedNs: 1)
            #expect(full.frame == inner)
            for length in 0..<frame.count {
                switch Self.outcome({ () throws(MirrorDecodeError) in try MirrorDecoder.decodeOuterFrame(frame.prefix(length), receivedNs: 1) }) {
                case .failure(let error):
                    #expect(length < header + 14, "\(kind) cut at \(length): \(error)")
                    #expect(error.kind == .truncated, "\(kind) cut at \(length): \(error)")
                case .success(let packet):
                    #expect(length >= header + 14, "\(kind) cut at \(length) decoded")
                    // The IP length tells how much is missing: the original length is known.
                    var expected = full
                    expected.frame = Array(inner.prefix(length - header))
                    #expect(packet == expected, "\(kind) cut at \(length)")
                }
            }
        }
    }
}
