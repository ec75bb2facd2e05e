import BMAContract
import Testing
@testable import Analysis

/// Authenticated metadata on the analyzer: only copies whose MAC verifies under one of their
/// sensor's keys, with a sequence number not seen before, are accepted.
@Suite("Ingest: authenticated metadata", .serialized, .timeLimit(.minutes(1)))
struct IngestAuthenticationTests {
    static let key1 = MirrorKey(id: 1, hex: "00112233445566778899aabbccddeeff")!
    static let key2 = MirrorKey(id: 2, hex: "ffeeddccbbaa99887766554433221100")!

    /// A Geneve UDP payload as bmad sends it with authentication (`key` nil: no authentication option).
    static func datagram(vm: UInt32 = 300, key: MirrorKey?, keyID: UInt8? = nil, stream: UInt8 = 0, sequence: UInt64,
                         frame: [UInt8] = IngestEncap.innerFrame(payloadBytes: 100), tamper: ((inout [UInt8]) -> Void)? = nil) -> [UInt8] {
        func be(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).reversed().map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) } }
        var metadata: [UInt8] = [1, 0x02] + be(5, 2) + be(0b1000, 4) + be(1500, 4) + be(UInt64(frame.count), 4)
        metadata += be(1_700_000_000_000_000_000 + sequence, 8)
        let vniWord = vm << 8
        var out: [UInt8] = [key == nil ? 7 : 13, 0, 0x65, 0x58] + be(UInt64(vniWord), 4)
        out += [0xFF, 0xF0, 0x42, 6] + metadata
        if let key {
            let id = keyID ?? key.id
            let signing = MirrorKey(id: id, k0: key.k0, k1: key.k1)
            let mac = MirrorAuthentication.mac(key: signing, vniWord: vniWord, metadata: metadata, stream: stream,
                                               sequence: sequence, frame: frame)
            out += [0xFF, 0xF0, 0x43, 5, id, stream, 0, 0] + be(sequence, 8) + be(mac, 8)
        }
        out += frame
        tamper?(&out)
        return out
    }

    static func decode(_ datagram: [UInt8], sensor: String = "hv1") throws -> MirroredPacket {
        try MirrorDecoder.decodeGeneve(udpPayload: datagram, sensor: sensor, receivedNs: 1)
    }

    static func problem(_ authenticator: MirrorAuthenticator, _ datagram: [UInt8], sensor: String = "hv1") throws -> MirrorDecodeError.Kind? {
        do throws(MirrorDecodeError) {
            try authenticator.verify(try MirrorDecoder.decodeGeneve(udpPayload: datagram, sensor: sensor, receivedNs: 1))
            return nil
        } catch {
            return error.kind
        }
    }

    @Test("A copy signed with the sensor's key is accepted; every covered byte changed is a bad MAC")
    func macCoversMetadataAndFrameStart() throws {
        let auth = try MirrorAuthenticator(keys: ["hv1": [Self.key1]])
        let good = Self.datagram(key: Self.key1, sequence: 1000)
        let packet = try Self.decode(good)
        #expect(packet.authentication?.keyID == 1 && packet.authentication?.sequence == 1000)
        #expect(try Self.problem(auth, good) == nil)
        // VNI (4..7), metadata data (12..35), key id/stream/sequence (40..51), MAC (52..59), frame start (60..123).
        var sequence: UInt64 = 2000
        for offset in Array(4..<8) + Array(12..<36) + Array(41..<60) + Array(60..<124) {
            sequence += 1
            let forged = Self.datagram(key: Self.key1, sequence: sequence) { $0[offset] ^= 0x01 }
            guard let decoded = try? Self.decode(forged) else { continue } // a change the decoder itself refuses
            #expect(throws: MirrorDecodeError.self, "byte \(offset): \(decoded.authentication.map { "\($0)" } ?? "-")") { try auth.verify(decoded) }
        }
        // Past the first 64 bytes of the frame, a change is not seen (documented).
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 9000) { $0[130] ^= 0x01 }) == nil)
        // The wrong key.
        #expect(try Self.problem(auth, Self.datagram(key: MirrorKey(id: 1, k0: 1, k1: 2), sequence: 9001)) == .authBadMAC)
    }

    @Test("Missing option, VXLAN and unknown key ids are refused for a sensor with keys; other sensors pass")
    func missingAndUnknown() throws {
        let auth = try MirrorAuthenticator(keys: ["hv1": [Self.key1]])
        #expect(try Self.problem(auth, Self.datagram(key: nil, sequence: 1)) == .authMissing)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, keyID: 9, sequence: 2)) == .authUnknownKey)
        let vxlan = try MirrorDecoder.decodeVXLAN(udpPayload: IngestEncap.tunnelPayload(
            IngestEncap.build(.init(kind: .vxlan), IngestEncap.Meta(), inner: IngestEncap.innerFrame()), .vxlan), sensor: "hv1", receivedNs: 1)
        #expect(throws: MirrorDecodeError.unauthenticated(sensor: "hv1", problem: .missing)) { try auth.verify(vxlan) }
        #expect(try Self.problem(auth, Self.datagram(key: nil, sequence: 1), sensor: "hv2") == nil, "hv2 has no keys")
        #expect(auth.requiresAuthentication("hv1") && !auth.requiresAuthentication("hv2"))
    }

    @Test("Replays are refused; reordering within the window is accepted once; streams are separate")
    func replayWindow() throws {
        let auth = try MirrorAuthenticator(keys: ["hv1": [Self.key1]])
        let first = Self.datagram(key: Self.key1, sequence: 5_000)
        #expect(try Self.problem(auth, first) == nil)
        #expect(try Self.problem(auth, first) == .authReplayed)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 5_010)) == nil)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 5_003)) == nil, "late, within the window")
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 5_003)) == .authReplayed)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 5_010 - 64)) == .authReplayed, "too old")
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 5_010 - 63)) == nil)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 1_000_000)) == nil, "a jump forward")
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 5_011)) == .authReplayed)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, stream: 1, sequence: 5_000)) == nil, "another worker")
        // A forged copy does not move the window.
        #expect(try Self.problem(auth, Self.datagram(key: Self.key2, keyID: 1, sequence: 2_000_000)) == .authBadMAC)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 1_000_001)) == nil)
    }

    @Test("Rotation: two keys are active at once; at most two per sensor")
    func rotation() throws {
        let auth = try MirrorAuthenticator(keys: ["hv1": [Self.key1, Self.key2]])
        #expect(try Self.problem(auth, Self.datagram(key: Self.key1, sequence: 10)) == nil)
        #expect(try Self.problem(auth, Self.datagram(key: Self.key2, sequence: 11)) == nil)
        #expect(throws: SensorRegistryError.self) { try MirrorAuthenticator(keys: ["hv1": [Self.key1, Self.key2, MirrorKey(id: 3, k0: 0, k1: 0)]]) }
        #expect(throws: SensorRegistryError.self) { try MirrorAuthenticator(keys: ["hv1": [Self.key1, Self.key1]]) }
    }

    @Test("Key files: SENSOR ID HEX lines, comments, clear errors")
    func keyFile() throws {
        let keys = try MirrorKeyFile.parse("""
            # current and next key of hv1
            hv1 1 00112233445566778899aabbccddeeff
            hv1 2 ffeeddccbbaa99887766554433221100   # from Monday

            hv2\t7\t000102030405060708090a0b0c0d0e0f
            """)
        #expect(keys["hv1"] == [Self.key1, Self.key2])
        #expect(keys["hv2"]?.first?.id == 7)
        for bad in ["hv1 1", "hv1 0 00112233445566778899aabbccddeeff", "hv1 1 00112233445566778899aabbccddeef", "h v1 1 00"] {
            #expect(throws: SensorRegistryError.self, "\(bad)") { try MirrorKeyFile.parse(bad) }
        }
    }

    @Test("The listener drops unauthenticated copies by reason and keeps the good ones")
    func listener() async throws {
        let box = IngestPacketBox()
        var configuration = MirrorListener.Configuration(genevePort: 0, vxlanPort: nil)
        configuration.authenticator = try MirrorAuthenticator(keys: [SensorRegistry.loopbackName: [Self.key1]])
        let listener = MirrorListener(configuration: configuration) { box.append($0) }
        try listener.start()
        defer { listener.stop() }
        let port = try #require(listener.binding?.genevePort)
        let sender = try IngestSender(udp: true)
        let good = (0..<10).map { Self.datagram(key: Self.key1, sequence: 100 + UInt64($0)) }
        for d in good { try sender.send(d, port: port) }
        try sender.send(good[3], port: port)                                          // replayed
        try sender.send(Self.datagram(key: nil, sequence: 1), port: port)             // missing
        try sender.send(Self.datagram(key: Self.key2, sequence: 500), port: port)     // unknown key 2
        try sender.send(Self.datagram(key: Self.key1, sequence: 501) { $0[70] ^= 1 }, port: port) // bad MAC
        #expect(await IngestWait.until { listener.statistics.received == 14 }, "\(listener.statistics)")
        #expect(listener.statistics.dropped == [.authReplayed: 1, .authMissing: 1, .authUnknownKey: 1, .authBadMAC: 1])
        #expect(box.all.map { $0.authentication?.sequence } == (100..<110).map { Optional($0) })
    }
}
