import BMAContract
import Testing
@testable import Analysis

/// The encapsulations bmad writes (built as bma_encap.c builds them) decode to the packet that was
/// mirrored, with its metadata.
@Suite("Ingest: mirror decoder")
struct IngestDecoderTests {
    typealias E = IngestEncap

    @Test("Geneve: VNI, BMA metadata, timestamp and inner frame")
    func geneve() throws {
        let inner = E.innerFrame()
        var meta = E.Meta()
        meta.flags = 0x02 | 0x08
        meta.reasons = 0b101_0011
        meta.scoreMilli = 2750
        meta.policyID = 0xBEEF
        meta.tsNs = 0x0123_4567_89AB_CDEF
        let frame = E.build(.init(kind: .geneve), meta, inner: inner)
        let packet = try MirrorDecoder.decodeGeneve(udpPayload: E.tunnelPayload(frame, .geneve), sensor: "192.0.2.1", receivedNs: 99)
        let expectedMetadata = BMAMetadata(flags: [.sticky, .forced], policyID: 0xBEEF, reasons: .init(rawValue: 0b101_0011),
                                           scoreMilli: 2750, originalLength: UInt32(inner.count), timestampNs: 0x0123_4567_89AB_CDEF)
        #expect(packet == MirroredPacket(receivedNs: 99, timestampNs: 0x0123_4567_89AB_CDEF, sensor: "192.0.2.1", vmID: 300,
                                         encapsulation: .geneve, metadata: expectedMetadata, frame: inner,
                                         originalLength: UInt32(inner.count)))
        #expect(packet.metadata?.reasons.names == ["new-destination", "new-service", "rate-spike", "protocol-shift"])
        #expect(packet.metadata?.score == 2.75)
    }

    @Test("Geneve: a snaplen copy carries the truncated flag and the original length")
    func geneveTruncated() throws {
        let inner = E.innerFrame(payloadBytes: 1400)
        let frame = E.build(.init(kind: .geneve), E.Meta(), inner: Array(inner.prefix(96)), originalLength: inner.count)
        let packet = try MirrorDecoder.decodeGeneve(udpPayload: E.tunnelPayload(frame, .geneve), sensor: "s", receivedNs: 1)
        #expect(packet.frame == Array(inner.prefix(96)))
        #expect(packet.originalLength == UInt32(inner.count))
        #expect(packet.metadata?.flags == .truncated)
        #expect(packet.metadata?.originalLength == UInt32(inner.count))
    }

    @Test("Geneve: the VNI is 24 bits (bmad masks the VM id)", arguments: [UInt32(0), 1, 300, 0xFF_FFFF, 0x1FF_FFFF])
    func geneveVNI(vmID: UInt32) throws {
        var meta = E.Meta()
        meta.vmID = vmID
        let frame = E.build(.init(kind: .geneve), meta, inner: E.innerFrame())
        let packet = try MirrorDecoder.decodeGeneve(udpPayload: E.tunnelPayload(frame, .geneve), sensor: "s", receivedNs: 1)
        #expect(packet.vmID == vmID & 0xFF_FFFF)
    }

    @Test("Geneve: other options before and after BMA's are skipped, critical ones too")
    func geneveOtherOptions() throws {
        let inner = E.innerFrame()
        let base = E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: inner), .geneve)
        let reference = try MirrorDecoder.decodeGeneve(udpPayload: base, sensor: "s", receivedNs: 1)
        let bmaOption = Array(base[8..<36])
        let before: [UInt8] = [0x01, 0x02, 0x80, 2, 1, 2, 3, 4, 5, 6, 7, 8]  // critical, 8 bytes of data
        let empty: [UInt8] = [0x01, 0x03, 0x11, 0]  // no data
        let after: [UInt8] = [0xFF, 0xF0, 0x7F, 1, 9, 9, 9, 9]  // BMA's class, a type it does not use
        let options = before + bmaOption + empty + after
        var payload: [UInt8] = [UInt8(options.count / 4), 0x40] + Array(base[2..<8]) + options + inner
        var packet = try MirrorDecoder.decodeGeneve(udpPayload: payload, sensor: "s", receivedNs: 1)
        #expect(packet == reference)
        // Without BMA's option: no metadata, the receive time and the frame's length.
        payload = [UInt8((before.count + after.count) / 4), 0] + Array(base[2..<8]) + before + after + inner
        packet = try MirrorDecoder.decodeGeneve(udpPayload: payload, sensor: "s", receivedNs: 77)
        #expect(packet.metadata == nil)
        #expect(packet.timestampNs == 77)
        #expect(packet.originalLength == UInt32(inner.count))
        #expect(packet.frame == inner)
        #expect(packet.vmID == 300)
    }

    @Test("VXLAN: VNI and the whole frame, no metadata")
    func vxlan() throws {
        let inner = E.innerFrame(vlans: [12])
        var meta = E.Meta()
        meta.vmID = 0xABCDEF
        let frame = E.build(.init(kind: .vxlan), meta, inner: inner)
        let packet = try MirrorDecoder.decodeVXLAN(udpPayload: E.tunnelPayload(frame, .vxlan), sensor: "192.0.2.1", receivedNs: 5)
        #expect(packet == MirroredPacket(receivedNs: 5, timestampNs: 5, sensor: "192.0.2.1", vmID: 0xABCDEF, encapsulation: .vxlan,
                                         metadata: nil, frame: inner, originalLength: UInt32(inner.count)))
    }

    @Test("ERSPAN II: session id = VM id & 0x3ff, T bit, the frame")
    func erspan() throws {
        let inner = E.innerFrame()
        var meta = E.Meta()
        meta.vmID = 0x1234  // bmad keeps the low 10 bits
        let frame = E.build(.init(kind: .erspan2), meta, inner: inner)
        let packet = try MirrorDecoder.decodeERSPAN(grePacket: E.tunnelPayload(frame, .erspan2), sensor: "192.0.2.1", receivedNs: 8)
        #expect(packet == MirroredPacket(receivedNs: 8, timestampNs: 8, sensor: "192.0.2.1", vmID: 0x234, encapsulation: .erspan2,
                                         metadata: nil, frame: inner, originalLength: UInt32(inner.count)))
        // Truncated: the T bit is set; the original length is unknown, the frame's is used.
        let cut = E.build(.init(kind: .erspan2), meta, inner: Array(inner.prefix(60)), originalLength: inner.count)
        #expect(cut[44] & 0x04 != 0, "T bit")
        let truncated = try MirrorDecoder.decodeERSPAN(grePacket: E.tunnelPayload(cut, .erspan2), sensor: "s", receivedNs: 8)
        #expect(truncated.frame == Array(inner.prefix(60)))
        #expect(truncated.originalLength == 60)
        #expect(truncated.metadata == nil)
    }

    @Test("ERSPAN II: GRE checksum and key fields are skipped")
    func erspanOptionalGREFields() throws {
        let inner = E.innerFrame()
        let erspan: [UInt8] = E.be16(1 << 12) + E.be16(77) + E.be32(0)
        for (flags, extra) in [(UInt16(0x0000), [UInt8]()), (0x8000, [0xAB, 0xCD, 0, 0]), (0x2000, [1, 2, 3, 4]),
                               (0xB000, [0xAB, 0xCD, 0, 0, 1, 2, 3, 4, 0, 0, 0, 9])] {
            let gre = E.be16(flags) + E.be16(0x88BE) + extra + erspan + inner
            let packet = try MirrorDecoder.decodeERSPAN(grePacket: gre, sensor: "s", receivedNs: 1)
            #expect(packet.vmID == 77, "flags \(flags)")
            #expect(packet.frame == inner, "flags \(flags)")
        }
    }

    @Test("Outer frames: each encapsulation, with the outer source as the sensor", arguments: E.Kind.allCases)
    func outerFrame(kind: E.Kind) throws {
        let inner = E.innerFrame()
        var encap = E.Encap(kind: kind)
        encap.srcIP = [198, 18, 0, 44]
        let frame = E.build(encap, E.Meta(), inner: inner)
        let packet = try MirrorDecoder.decodeOuterFrame(frame, receivedNs: 1234)
        let direct = try E.decode(E.tunnelPayload(frame, kind), kind, sensor: "198.18.0.44", receivedNs: 1234)
        #expect(packet == direct)
        #expect(packet.sensor == "198.18.0.44")
        #expect(packet.frame == inner)
        // An ArraySlice and a non-contiguous collection decode the same.
        #expect(try MirrorDecoder.decodeOuterFrame(([0] + frame)[1...], receivedNs: 1234) == direct)
        #expect(try MirrorDecoder.decodeOuterFrame(frame.lazy.map { $0 }, receivedNs: 1234) == direct)
    }

    @Test("Outer frames: VLAN tags, Ethernet padding and a configured UDP port")
    func outerFrameVariants() throws {
        let inner = E.innerFrame()
        let frame = E.build(.init(kind: .geneve), E.Meta(), inner: inner)
        let reference = try MirrorDecoder.decodeOuterFrame(frame, receivedNs: 1)
        // Two tags (802.1ad outside, 802.1Q inside).
        let tagged = Array(frame[0..<12]) + [0x88, 0xA8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xC8] + Array(frame[12...])
        #expect(try MirrorDecoder.decodeOuterFrame(tagged, receivedNs: 1) == reference)
        // Bytes after the IP packet (padding, an FCS) are not part of the inner frame.
        #expect(try MirrorDecoder.decodeOuterFrame(frame + [0, 0, 0, 0], receivedNs: 1) == reference)
        // bmad's udp_dst_port.
        var encap = E.Encap(kind: .vxlan)
        encap.udpDstPort = 14789
        let vxlan = E.build(encap, E.Meta(), inner: inner)
        #expect(throws: MirrorDecodeError.notMirrorTraffic(.udpPort(14789))) { try MirrorDecoder.decodeOuterFrame(vxlan, receivedNs: 1) }
        #expect(try MirrorDecoder.decodeOuterFrame(vxlan, receivedNs: 1, vxlanPort: 14789).frame == inner)
    }

    @Test("Outer frames: a capture cut by a snaplen keeps the original length")
    func outerFrameCutByCapture() throws {
        let inner = E.innerFrame(payloadBytes: 200)
        for kind in E.Kind.allCases {
            let frame = E.build(.init(kind: kind), E.Meta(), inner: inner)
            let cut = Array(frame.prefix(E.headerLength[kind]! + 40))
            let packet = try MirrorDecoder.decodeOuterFrame(cut, receivedNs: 1)
            #expect(packet.frame == Array(inner.prefix(40)), "\(kind)")
            #expect(packet.originalLength == UInt32(inner.count), "\(kind)")
        }
    }

    @Test("Outer frames: IPv6 outside, with extension headers")
    func outerIPv6() throws {
        let inner = E.innerFrame()
        let geneve = E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: inner), .geneve)
        let udp = E.be16(50000) + E.be16(6081) + E.be16(UInt16(8 + geneve.count)) + E.be16(0) + geneve
        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
        // Hop-by-hop (8 bytes: PadN), then an atomic fragment header, then UDP.
        let hopByHop: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
        let fragment: [UInt8] = [17, 0, 0, 0, 0, 0, 0, 1]
        let payload = hopByHop + fragment + udp
        let ip: [UInt8] = [0x60, 0, 0, 0] + E.be16(UInt16(payload.count)) + [0, 64] + source + destination + payload
        let frame = FrameBuilder.ethernet(etherType: 0x86DD, payload: ip)
        let packet = try MirrorDecoder.decodeOuterFrame(frame, receivedNs: 3)
        #expect(packet.sensor == "2001:db8::1")
        #expect(packet.frame == inner)
        #expect(packet.vmID == 300)
        // A real fragment is not reassembled.
        var fragmented = frame
        fragmented[14 + 40 + 8 + 3] = 0x01  // M flag
        #expect(throws: MirrorDecodeError.fragmented(layer: .ipv6)) { try MirrorDecoder.decodeOuterFrame(fragmented, receivedNs: 3) }
    }

    @Test("IPv6 addresses as text follow RFC 5952")
    func ipv6Text() {
        func text(_ groups: [UInt16]) -> String {
            let address = IPAddressText.halves(groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })!
            return IPAddressText.formatIPv6(hi: address.hi, lo: address.lo)
        }
        #expect(text([0, 0, 0, 0, 0, 0, 0, 0]) == "::")
        #expect(text([0, 0, 0, 0, 0, 0, 0, 1]) == "::1")
        #expect(text([0x2001, 0xDB8, 0, 0, 1, 0, 0, 1]) == "2001:db8::1:0:0:1")
        #expect(text([0x2001, 0xDB8, 0, 1, 1, 1, 1, 1]) == "2001:db8:0:1:1:1:1:1")
        #expect(text([0x2001, 0, 0, 1, 0, 0, 0, 1]) == "2001:0:0:1::1")
        #expect(text([0xFE80, 0, 0, 0, 0x1FF, 0xFE23, 0x4567, 0x890A]) == "fe80::1ff:fe23:4567:890a")
        #expect(text([0, 0, 0, 0, 0, 0xFFFF, 0xC000, 0x0201]) == "::ffff:192.0.2.1")
        #expect(text([1, 0, 0, 0, 0, 0, 0, 0]) == "1::")
    }
}
