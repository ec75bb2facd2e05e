import Testing
@testable import Analysis

/// Every way a datagram can be wrong gives its own error, never a trap or a wrong packet.
@Suite("Ingest: decode errors")
struct IngestErrorTests {
    typealias E = IngestEncap

    static func failure(_ body: () throws(MirrorDecodeError) -> MirroredPacket) -> MirrorDecodeError? {
        do { _ = try body(); return nil } catch { return error }
    }

    static let inner = E.innerFrame()
    static var geneve: [UInt8] { E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: inner), .geneve) }
    static var vxlan: [UInt8] { E.tunnelPayload(E.build(.init(kind: .vxlan), E.Meta(), inner: inner), .vxlan) }
    static var erspan: [UInt8] { E.tunnelPayload(E.build(.init(kind: .erspan2), E.Meta(), inner: inner), .erspan2) }

    static func geneveError(_ payload: [UInt8]) -> MirrorDecodeError? {
        failure { () throws(MirrorDecodeError) in try MirrorDecoder.decodeGeneve(udpPayload: payload, sensor: "s", receivedNs: 1) }
    }

    static func vxlanError(_ payload: [UInt8]) -> MirrorDecodeError? {
        failure { () throws(MirrorDecodeError) in try MirrorDecoder.decodeVXLAN(udpPayload: payload, sensor: "s", receivedNs: 1) }
    }

    static func erspanError(_ payload: [UInt8]) -> MirrorDecodeError? {
        failure { () throws(MirrorDecodeError) in try MirrorDecoder.decodeERSPAN(grePacket: payload, sensor: "s", receivedNs: 1) }
    }

    static func outerError(_ frame: [UInt8]) -> MirrorDecodeError? {
        failure { () throws(MirrorDecodeError) in try MirrorDecoder.decodeOuterFrame(frame, receivedNs: 1) }
    }

    // MARK: Geneve

    @Test("Geneve: versions 1 to 3", arguments: [UInt8(1), 2, 3])
    func geneveVersion(version: UInt8) {
        var payload = Self.geneve
        payload[0] |= version << 6
        #expect(Self.geneveError(payload) == .badVersion(layer: .geneve, value: version))
    }

    @Test("Geneve: protocol type other than Ethernet, and control messages")
    func geneveProtocolAndOAM() {
        var payload = Self.geneve
        payload[2] = 0x08
        payload[3] = 0x00
        #expect(Self.geneveError(payload) == .unknownProtocol(layer: .geneve, value: 0x0800))
        payload = Self.geneve
        payload[1] = 0x80
        #expect(Self.geneveError(payload) == .notMirrorTraffic(.geneveControl))
    }

    @Test("Geneve: options longer than the datagram")
    func geneveOptionsPastTheEnd() {
        var payload = Array(Self.geneve.prefix(36 + 14))
        payload[0] = 63  // 252 bytes of options
        #expect(Self.geneveError(payload) == .truncated(layer: .geneve, needed: 8 + 252, available: 50))
    }

    @Test("Geneve: an option whose length runs past the options")
    func geneveOptionOverrun() {
        var payload = Self.geneve
        payload[11] = 7  // BMA's option says 28 bytes of data; the options hold 24
        #expect(Self.geneveError(payload) == .badOption(optionClass: 0xFFF0, type: 0x42,
                                                        problem: .overrunsOptions(optionEnd: 8 + 4 + 28, optionsEnd: 36)))
        // Another option, equally broken.
        payload = Self.geneve
        payload[8] = 0x01
        payload[11] = 31
        #expect(Self.geneveError(payload) == .badOption(optionClass: 0x01F0, type: 0x42,
                                                        problem: .overrunsOptions(optionEnd: 8 + 4 + 124, optionsEnd: 36)))
    }

    @Test("Geneve: BMA's option with the wrong length", arguments: [0, 1, 5, 7, 31])
    func geneveWrongOptionLength(words: Int) {
        let base = Self.geneve
        let data = Array((Array(base[12..<36]) + [UInt8](repeating: 0, count: 124)).prefix(words * 4))
        let options: [UInt8] = [0xFF, 0xF0, 0x42, UInt8(words)] + data
        let payload = [UInt8(options.count / 4), 0] + Array(base[2..<8]) + options + Self.inner
        #expect(Self.geneveError(payload) == .badOption(optionClass: 0xFFF0, type: 0x42,
                                                        problem: .wrongLength(expected: 24, actual: words * 4)))
    }

    @Test("Geneve: BMA's option twice")
    func geneveDuplicateOption() {
        let base = Self.geneve
        let option = Array(base[8..<36])
        let payload = [UInt8(56 / 4), 0] + Array(base[2..<8]) + option + option + Self.inner
        #expect(Self.geneveError(payload) == .badOption(optionClass: 0xFFF0, type: 0x42, problem: .duplicate))
    }

    @Test("Geneve: metadata versions other than 1", arguments: [UInt8(0), 2, 255])
    func metadataVersion(version: UInt8) {
        var payload = Self.geneve
        payload[12] = version
        #expect(Self.geneveError(payload) == .badVersion(layer: .bmaMetadata, value: version))
    }

    @Test("Geneve: an original length that contradicts the frame")
    func metadataLength() {
        let count = Self.inner.count
        var payload = Self.geneve
        // Shorter than the frame.
        payload[24...27] = ArraySlice(E.be32(UInt32(count - 1)))
        #expect(Self.geneveError(payload) == .badLength(layer: .bmaMetadata, declared: count - 1, allowed: count...count))
        // Longer, without the truncated flag: the datagram was cut on the way.
        payload[24...27] = ArraySlice(E.be32(UInt32(count + 1)))
        #expect(Self.geneveError(payload) == .badLength(layer: .bmaMetadata, declared: count + 1, allowed: count...count))
        // With the flag it is a snaplen copy.
        payload[13] = 0x04
        #expect(Self.geneveError(payload) == nil)
    }

    // MARK: VXLAN and ERSPAN

    @Test("VXLAN: the I flag clear")
    func vxlanFlag() {
        var payload = Self.vxlan
        payload[0] = 0
        #expect(Self.vxlanError(payload) == .badFlags(layer: .vxlan, value: 0))
        payload[0] = 0xF7
        #expect(Self.vxlanError(payload) == .badFlags(layer: .vxlan, value: 0xF7))
    }

    @Test("ERSPAN: GRE versions, routing, protocols, ERSPAN versions")
    func erspanErrors() {
        var payload = Self.erspan
        payload[1] = 0x01
        #expect(Self.erspanError(payload) == .badVersion(layer: .gre, value: 1))
        payload = Self.erspan
        payload[0] = 0x50  // S + routing
        #expect(Self.erspanError(payload) == .badFlags(layer: .gre, value: 0x5000))
        payload = Self.erspan
        payload[2] = 0x22
        payload[3] = 0xEB  // ERSPAN type III
        #expect(Self.erspanError(payload) == .unknownProtocol(layer: .gre, value: 0x22EB))
        payload = Self.erspan
        payload[8] = 0x20  // ERSPAN version 2
        #expect(Self.erspanError(payload) == .badVersion(layer: .erspan, value: 2))
        payload = Self.erspan
        payload[0] = 0xB0  // checksum, key and sequence: 12 more bytes than present before ERSPAN
        #expect(Self.erspanError(Array(payload.prefix(14))) == .truncated(layer: .gre, needed: 16, available: 14))
    }

    @Test("Inner frames shorter than an Ethernet header")
    func shortInnerFrames() {
        for length in 0..<14 {
            #expect(Self.vxlanError(Array(Self.vxlan.prefix(8 + length))) == .truncated(layer: .innerFrame, needed: 14, available: length))
            #expect(Self.erspanError(Array(Self.erspan.prefix(16 + length))) == .truncated(layer: .innerFrame, needed: 14, available: length))
            #expect(Self.geneveError(Array(Self.geneve.prefix(36 + length))) == .truncated(layer: .innerFrame, needed: 14, available: length))
        }
    }

    // MARK: Outer frames

    @Test("Outer frames: not mirror traffic")
    func notMirrorTraffic() {
        let arp = FrameBuilder.ethernet(etherType: 0x0806, payload: [UInt8](repeating: 0, count: 28))
        #expect(Self.outerError(arp) == .notMirrorTraffic(.etherType(0x0806)))
        let tcp = FrameBuilder.tcpFrame(source: [10, 0, 0, 1], destination: [10, 0, 0, 2])
        #expect(Self.outerError(tcp) == .notMirrorTraffic(.ipProtocol(6)))
        let dns = FrameBuilder.udpFrame(source: [10, 0, 0, 1], destination: [10, 0, 0, 2])
        #expect(Self.outerError(dns) == .notMirrorTraffic(.udpPort(53)))
    }

    @Test("Outer frames: broken IPv4 and UDP headers")
    func brokenOuterHeaders() {
        let frame = E.build(.init(kind: .geneve), E.Meta(), inner: Self.inner)
        let ipLength = frame.count - 14
        var bad = frame
        bad[14] = 0x65
        #expect(Self.outerError(bad) == .badVersion(layer: .ipv4, value: 6))
        bad = frame
        bad[14] = 0x44
        #expect(Self.outerError(bad) == .badLength(layer: .ipv4, declared: 16, allowed: 20...60))
        bad = frame
        bad[14] = 0x4F
        #expect(Self.outerError(Array(bad.prefix(14 + 40))) == .truncated(layer: .ipv4, needed: 60, available: 40))
        bad = frame
        bad[16...17] = [0, 19]
        #expect(Self.outerError(bad) == .badLength(layer: .ipv4, declared: 19, allowed: 20...65535))
        bad = frame
        bad[20] = 0x20  // more fragments
        #expect(Self.outerError(bad) == .fragmented(layer: .ipv4))
        bad = frame
        bad[20...21] = [0x40, 0x01]  // DF with an offset
        #expect(Self.outerError(bad) == .fragmented(layer: .ipv4))
        bad = frame
        bad[38...39] = [0, 7]
        #expect(Self.outerError(bad) == .badLength(layer: .udp, declared: 7, allowed: 8...(ipLength - 20)))
        bad[38...39] = ArraySlice(E.be16(UInt16(ipLength - 20 + 1)))
        #expect(Self.outerError(bad) == .badLength(layer: .udp, declared: ipLength - 20 + 1, allowed: 8...(ipLength - 20)))
        // A tag with nothing after it.
        let tagged = Array(frame[0..<12]) + [0x81, 0x00, 0x00, 0x05]
        #expect(Self.outerError(tagged) == .truncated(layer: .vlan, needed: 18, available: 16))
    }

    @Test("Empty and garbage input")
    func garbage() {
        #expect(Self.geneveError([]) == .truncated(layer: .geneve, needed: 8, available: 0))
        #expect(Self.vxlanError([]) == .truncated(layer: .vxlan, needed: 8, available: 0))
        #expect(Self.erspanError([]) == .truncated(layer: .gre, needed: 4, available: 0))
        #expect(Self.outerError([]) == .truncated(layer: .ethernet, needed: 14, available: 0))
        let noise: [UInt8] = (0..<200).map { UInt8(($0 * 73 + 41) & 0xFF) }
        #expect(Self.geneveError(noise) != nil)
        #expect(Self.outerError(noise) != nil)
        #expect(Self.geneveError([UInt8](repeating: 0xFF, count: 300)) == .badVersion(layer: .geneve, value: 3))
        // VXLAN has no version or protocol field: with the I flag set, anything is a frame.
        #expect(Self.vxlanError([UInt8](repeating: 0xFF, count: 300)) == nil)
        #expect(Self.erspanError([UInt8](repeating: 0xFF, count: 300)) == .badVersion(layer: .gre, value: 7))
    }

    @Test("Errors describe themselves and name their kind")
    func descriptions() {
        let errors: [MirrorDecodeError] = [
            .truncated(layer: .geneve, needed: 8, available: 3), .badVersion(layer: .erspan, value: 2),
            .badLength(layer: .udp, declared: 7, allowed: 8...100), .badFlags(layer: .vxlan, value: 0),
            .unknownProtocol(layer: .gre, value: 0x22EB), .notMirrorTraffic(.udpPort(53)), .fragmented(layer: .ipv4),
            .badOption(optionClass: 0xFFF0, type: 0x42, problem: .wrongLength(expected: 24, actual: 20)),
            .unknownSensor(address: "198.51.100.9"), .unauthenticated(sensor: "hv1", problem: .missing),
            .unauthenticated(sensor: "hv1", problem: .unknownKey(3)), .unauthenticated(sensor: "hv1", problem: .badMAC(keyID: 1)),
            .unauthenticated(sensor: "hv1", problem: .replayed(stream: 2, sequence: 77)),
        ]
        #expect(Set(errors.map(\.kind)) == Set(MirrorDecodeError.Kind.allCases))
        #expect(errors.map(\.description) == [
            "geneve: truncated, needs 8 bytes, 3 available", "erspan: unsupported version 2",
            "udp: length 7 is inconsistent (expected 8...100)", "vxlan: unsupported flags 0x0000",
            "gre: unknown protocol 0x22eb", "not mirror traffic: UDP destination port 53 is not a mirror port",
            "ipv4: fragment (not reassembled)", "Geneve option class 0xfff0 type 0x42 carries 20 bytes of data, expected 24",
            "198.51.100.9 is not a configured sensor", "a copy from sensor hv1 carries no authentication option",
            "a copy from sensor hv1 names key 3, which it has no key for", "a copy from sensor hv1 has a MAC that key 1 did not make",
            "a copy from sensor hv1 repeats or is too old: stream 2 sequence 77",
        ])
    }
}
