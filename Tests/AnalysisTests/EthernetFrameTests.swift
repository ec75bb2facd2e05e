import Testing
@testable import PacketCapture

/// Runs a mutating call outside `#expect`, which cannot mutate its operands.
private func mutate<Result>(_ frame: inout EthernetFrame, _ body: (inout EthernetFrame) -> Result) -> Result {
    body(&frame)
}

@Suite("Ethernet frame")
struct EthernetFrameTests {
    static let client: [UInt8] = [172, 31, 15, 102]
    static let server: [UInt8] = [198, 124, 152, 15]
    static let victim = IPv4Address(192, 168, 1, 129)
    static let attacker = IPv4Address(172, 31, 15, 102)

    static func assertChecksumsValid(_ frame: [UInt8], _ comment: Comment? = nil) {
        #expect(ChecksumVerifier.ipHeaderValid(frame) == true, comment)
        if let transport = ChecksumVerifier.transportValid(frame) { #expect(transport, comment) }
        if let icmp = ChecksumVerifier.icmpValid(frame) { #expect(icmp, comment) }
    }

    @Test("reads MACs, addresses, protocol and ports of a TCP frame")
    func readTCP() {
        let frame = EthernetFrame(FrameBuilder.tcpFrame(source: Self.client, destination: Self.server, sourcePort: 61000, destinationPort: 80))
        #expect(frame.sourceMAC == MACAddress(FrameBuilder.macA, at: 0))
        #expect(frame.destinationMAC == MACAddress(FrameBuilder.macB, at: 0))
        #expect(frame.etherType == 0x0800)
        #expect(frame.vlanIDs.isEmpty)
        #expect(frame.isIPv4)
        #expect(frame.ipv4Source == Self.attacker)
        #expect(frame.ipv4Destination == IPv4Address(198, 124, 152, 15))
        #expect(frame.ipProtocol == 6)
        #expect(frame.sourcePort == 61000)
        #expect(frame.destinationPort == 80)
    }

    @Test("VLAN tags are skipped, single and stacked", arguments: [[UInt16(100)], [200, 300]])
    func vlan(tags: [UInt16]) {
        var frame = EthernetFrame(FrameBuilder.tcpFrame(source: Self.client, destination: Self.server, vlans: tags))
        #expect(frame.vlanIDs == tags)
        #expect(frame.etherType == 0x0800)
        #expect(frame.payloadStart == 14 + 4 * tags.count)
        #expect(frame.ipv4Source == Self.attacker)
        #expect(frame.destinationPort == 443)
        #expect(mutate(&frame) { $0.setIPv4Source(Self.victim) })
        #expect(frame.ipv4Source == Self.victim)
        Self.assertChecksumsValid(frame.bytes)
    }

    @Test("rewriting the TCP source or destination keeps every checksum valid")
    func rewriteTCP() {
        var frame = EthernetFrame(FrameBuilder.tcpFrame(source: Self.client, destination: Self.server, payload: Array(0..<33)))
        Self.assertChecksumsValid(frame.bytes, "the builder makes valid frames")
        #expect(mutate(&frame) { $0.setIPv4Source(Self.victim) })
        Self.assertChecksumsValid(frame.bytes)
        #expect(mutate(&frame) { $0.setIPv4Destination(IPv4Address(8, 8, 4, 4)) })
        Self.assertChecksumsValid(frame.bytes)
        #expect(frame.ipv4Source == Self.victim)
        #expect(frame.ipv4Destination == IPv4Address(8, 8, 4, 4))
        #expect(frame.sourcePort == 40000)
    }

    @Test("rewriting a UDP address keeps its checksum valid, and a zero checksum stays zero")
    func rewriteUDP() {
        var frame = EthernetFrame(FrameBuilder.udpFrame(source: Self.client, destination: Self.server))
        frame.setIPv4Source(Self.victim)
        Self.assertChecksumsValid(frame.bytes)
        #expect(ChecksumVerifier.transportValid(frame.bytes) == true)

        var unchecked = EthernetFrame(FrameBuilder.udpFrame(source: Self.client, destination: Self.server, withChecksum: false))
        unchecked.setIPv4Source(Self.victim)
        #expect(unchecked.bytes[14 + 20 + 6] == 0 && unchecked.bytes[14 + 20 + 7] == 0)
        #expect(ChecksumVerifier.ipHeaderValid(unchecked.bytes) == true)
    }

    @Test("a UDP checksum that computes to zero is stored as 0xffff")
    func udpZeroResult() {
        var random = SeededGenerator(seed: 768)
        for _ in 0..<5_000 {
            var frame = EthernetFrame(FrameBuilder.udpFrame(source: Self.client, destination: Self.server, payload: [0x12, 0x34]))
            frame.setIPv4Source(IPv4Address(rawValue: UInt32.random(in: 0...UInt32.max, using: &random)))
            #expect(frame.bytes[40] != 0 || frame.bytes[41] != 0)
            #expect(ChecksumVerifier.transportValid(frame.bytes) == true)
        }
        // From source 0.0.0.0 with checksum C, the source C.0 makes the sum all ones: checksum zero.
        var frame = EthernetFrame(FrameBuilder.udpFrame(source: [0, 0, 0, 0], destination: Self.server, payload: [0x12, 0x34]))
        let checksum = UInt16(frame.bytes[40]) << 8 | UInt16(frame.bytes[41])
        frame.setIPv4Source(IPv4Address(rawValue: UInt32(checksum) << 16))
        #expect(frame.bytes[40] == 0xFF && frame.bytes[41] == 0xFF)
        #expect(ChecksumVerifier.transportValid(frame.bytes) == true)
    }

    @Test("truncated captures: the header checksum is fixed, uncaptured fields are left alone")
    func truncatedCapture() {
        let full = FrameBuilder.tcpFrame(source: Self.client, destination: Self.server, payload: Array(0..<100))
        // Cut inside the TCP header, before its checksum at byte 14 + 20 + 16.
        var cut = EthernetFrame(Array(full.prefix(14 + 20 + 10)))
        #expect(mutate(&cut) { $0.setIPv4Source(Self.victim) })
        #expect(ChecksumVerifier.ipHeaderValid(cut.bytes) == true)
        // Ports need the whole TCP header captured (bmad's parser rule).
        #expect(cut.sourcePort == nil && cut.ipv4Source == Self.victim)
        // Cut after the TCP checksum but before the payload: incremental update still applies.
        var rewritten = EthernetFrame(full)
        rewritten.setIPv4Source(Self.victim)
        var partial = EthernetFrame(Array(full.prefix(14 + 20 + 20)))
        partial.setIPv4Source(Self.victim)
        #expect(partial.bytes == Array(rewritten.bytes.prefix(14 + 20 + 20)))
        // Cut inside the IPv4 header: not IPv4 any more, nothing written.
        var tiny = EthernetFrame(Array(full.prefix(14 + 12)))
        #expect(!tiny.isIPv4)
        #expect(!mutate(&tiny) { $0.setIPv4Source(Self.victim) })
        #expect(tiny.bytes == Array(full.prefix(14 + 12)))
    }

    @Test("later fragments have no ports and keep their payload")
    func fragments() {
        let payload = Array(repeating: UInt8(0x55), count: 24)
        let ip = FrameBuilder.ipv4(source: Self.client, destination: Self.server, protocolNumber: 17, payload: payload, fragmentField: 0x0003)
        var frame = EthernetFrame(FrameBuilder.ethernet(etherType: 0x0800, payload: ip))
        #expect(frame.sourcePort == nil)
        #expect(mutate(&frame) { $0.setIPv4Source(Self.victim) })
        #expect(ChecksumVerifier.ipHeaderValid(frame.bytes) == true)
        #expect(Array(frame.bytes.suffix(24)) == payload)
    }

    @Test("IPv4 options are honoured")
    func options() {
        let segment = FrameBuilder.tcp(source: Self.client, destination: Self.server, sourcePort: 1, destinationPort: 2)
        let ip = FrameBuilder.ipv4(source: Self.client, destination: Self.server, protocolNumber: 6, payload: segment, options: [1, 1, 1, 0])
        var frame = EthernetFrame(FrameBuilder.ethernet(etherType: 0x0800, payload: ip))
        #expect(frame.sourcePort == 1 && frame.destinationPort == 2)
        frame.setIPv4Source(Self.victim)
        Self.assertChecksumsValid(frame.bytes)
    }

    @Test("non-IPv4 frames change only by MAC rewrite")
    func nonIPv4() {
        let arp = FrameBuilder.ethernet(etherType: 0x0806, payload: [0, 1, 8, 0, 6, 4, 0, 1] + FrameBuilder.macA + Self.client + [0, 0, 0, 0, 0, 0] + Self.server)
        var frame = EthernetFrame(arp)
        #expect(!frame.isIPv4)
        #expect(frame.ipv4Source == nil && frame.ipProtocol == nil && frame.sourcePort == nil)
        #expect(!mutate(&frame) { $0.setIPv4Source(Self.victim) })
        #expect(mutate(&frame) { $0.replaceIPv4Address(Self.attacker, with: Self.victim) } == 0)
        #expect(frame.bytes == arp)
        let mac = MACAddress("f4:b8:5e:ff:2b:1b")!
        #expect(mutate(&frame) { $0.setSourceMAC(mac) })
        #expect(mutate(&frame) { $0.setDestinationMAC(mac) })
        #expect(frame.sourceMAC == mac && frame.destinationMAC == mac)
        #expect(frame.bytes[12...] == arp[12...])

        var runt = EthernetFrame([1, 2, 3])
        #expect(!mutate(&runt) { $0.setSourceMAC(mac) })
        #expect(runt.sourceMAC == nil && runt.etherType == nil)
        #expect(runt.bytes == [1, 2, 3])
    }

    @Test("replaceIPv4Address rewrites the ICMP-quoted header and keeps every checksum valid")
    func icmpQuote() {
        // The attacker sent UDP to the server, which answers with port unreachable.
        let original = FrameBuilder.ipv4(source: Self.client, destination: Self.server, protocolNumber: 17,
                                         payload: FrameBuilder.udp(source: Self.client, destination: Self.server, sourcePort: 999, destinationPort: 53, payload: [7, 7, 7]))
        let icmp = FrameBuilder.icmpUnreachable(quoting: original)
        let reply = FrameBuilder.ethernet(etherType: 0x0800, payload: FrameBuilder.ipv4(source: Self.server, destination: Self.client, protocolNumber: 1, payload: icmp))
        #expect(ChecksumVerifier.icmpValid(reply) == true)

        var frame = EthernetFrame(reply)
        #expect(mutate(&frame) { $0.replaceIPv4Address(Self.attacker, with: Self.victim) } == 2)
        #expect(frame.ipv4Destination == Self.victim)
        Self.assertChecksumsValid(frame.bytes)
        #expect(ChecksumVerifier.icmpValid(frame.bytes) == true)
        // The quoted datagram, taken on its own, is consistent too.
        let quoted = Array(frame.bytes[(14 + 20 + 8)...])
        #expect(IPv4Address(quoted, at: 12) == Self.victim)
        #expect(ChecksumVerifier.ipHeaderValid([UInt8](repeating: 0, count: 12) + [0x08, 0x00] + quoted) == true)
        #expect(ChecksumVerifier.transportValid([UInt8](repeating: 0, count: 12) + [0x08, 0x00] + quoted) == true)
    }

    @Test("replaceIPv4Address leaves other addresses alone")
    func replaceOnlyMatches() {
        let bytes = FrameBuilder.tcpFrame(source: Self.client, destination: Self.server)
        var frame = EthernetFrame(bytes)
        #expect(mutate(&frame) { $0.replaceIPv4Address(IPv4Address(1, 1, 1, 1), with: Self.victim) } == 0)
        #expect(frame.bytes == bytes)
        #expect(mutate(&frame) { $0.replaceIPv4Address(Self.attacker, with: Self.attacker) } == 0)
        #expect(mutate(&frame) { $0.replaceIPv4Address(Self.attacker, with: Self.victim) } == 1)
        #expect(frame.ipv4Source == Self.victim && frame.ipv4Destination == IPv4Address(198, 124, 152, 15))
    }

    @Test("Ethernet padding is not mistaken for data")
    func padding() {
        // A 54-byte TCP SYN padded to the 60-byte minimum.
        var bytes = FrameBuilder.tcpFrame(source: Self.client, destination: Self.server)
        bytes += [0, 0, 0, 0, 0, 0]
        var frame = EthernetFrame(bytes)
        frame.setIPv4Source(Self.victim)
        Self.assertChecksumsValid(frame.bytes)
        #expect(frame.bytes.suffix(6) == [0, 0, 0, 0, 0, 0])
    }
}
