import Foundation
import Testing
@testable import Analysis

@Suite("inspect: packet view")
struct InspectPacketViewTests {
    typealias F = InspectFrames

    @Test("TCP over a VLAN: flags, sequence, acknowledgement, window, payload")
    func tcpVLAN() throws {
        let frame = F.tcp("10.0.0.5", 51_000, "203.0.113.7", 443, flags: TCPFlag.psh | TCPFlag.ack, seq: 0xFFFF_FFF0,
                          ack: 77, window: 512, payload: Array(repeating: 0x41, count: 10), vlans: [100])
        let view = PacketView(frame: frame)
        #expect(view.malformed == nil)
        #expect(view.vlanIDs == [100])
        #expect(view.etherType == 0x0800)
        let ip = try #require(view.ip)
        #expect(ip.version == 4 && ip.protocolNumber == 6 && ip.ttl == 64)
        #expect(ip.source.description == "10.0.0.5" && ip.destination.description == "203.0.113.7")
        let tcp = try #require(view.tcp)
        #expect(tcp.sourcePort == 51_000 && tcp.destinationPort == 443)
        #expect(tcp.sequence == 0xFFFF_FFF0 && tcp.acknowledgement == 77 && tcp.window == 512)
        #expect(tcp.flags == [.psh, .ack] && tcp.flags.text == "PA")
        #expect(tcp.payloadLength == 10 && tcp.capturedPayloadLength == 10 && tcp.headerLength == 20)
        #expect(view.flowKey == FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 6, srcPort: 51_000, dstPort: 443))
    }

    @Test("a truncated copy keeps the lengths of the packet on the wire")
    func truncated() throws {
        let frame = F.tcp("10.0.0.5", 51_000, "203.0.113.7", 443, flags: TCPFlag.ack, payload: [1, 2, 3, 4], missing: 1_400)
        // Cut on the wire's side, the frame would be malformed; as a copy of a longer frame it is not.
        #expect(PacketView(frame: frame).malformed == .ipv4TotalLong)
        let view = PacketView(frame: frame, wireLength: frame.count + 1_400)
        #expect(view.malformed == nil)
        #expect(view.ip?.totalLength == 20 + 20 + 1_404)
        #expect(view.tcp?.payloadLength == 1_404)
        #expect(view.tcp?.capturedPayloadLength == 4)
    }

    @Test("UDP, ICMP echo and an ICMP error quoting the datagram it refuses")
    func udpAndICMP() throws {
        let udp = PacketView(frame: F.udp("192.0.2.1", 5_000, "192.0.2.2", 6_000, payload: [9, 9, 9]))
        #expect(udp.udp?.payloadLength == 3 && udp.udp?.sourcePort == 5_000 && udp.udp?.destinationPort == 6_000)
        #expect(udp.flowKey?.proto == 17)

        let echo = PacketView(frame: F.icmpEcho("192.0.2.1", "192.0.2.9", id: 0x4228, seq: 3))
        let icmp = try #require(echo.icmp)
        #expect(icmp.isEchoRequest && icmp.echoIdentifier == 0x4228 && icmp.echoSequence == 3)
        #expect(echo.flowKey == FlowKey(srcIP: "192.0.2.1", dstIP: "192.0.2.9", proto: 1, srcPort: 8, dstPort: 0))

        // Port unreachable from 192.0.2.2 quoting 192.0.2.1:5000 -> 192.0.2.2:6000.
        let quotedDatagram = Array(F.udp("192.0.2.1", 5_000, "192.0.2.2", 6_000, payload: [1])[14...])
        let message: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + quotedDatagram
        let (type, packet) = F.ipPacket(source: F.ip("192.0.2.2"), destination: F.ip("192.0.2.1"), proto: 1, payload: message)
        let error = PacketView(frame: F.ethernet(etherType: type, payload: packet))
        #expect(error.icmp?.isUnreachable == true)
        #expect(error.icmp?.quoted == FlowKey(srcIP: "192.0.2.1", dstIP: "192.0.2.2", proto: 17, srcPort: 5_000, dstPort: 6_000))
    }

    @Test("IPv6 with extension headers; a later fragment has no transport header")
    func ipv6() throws {
        let datagram = F.be16(5_353) + F.be16(53) + F.be16(11) + [0, 0] + [7, 7, 7]
        // Hop-by-hop (8 bytes) then fragment (offset 0, M set) then UDP.
        let hopByHop: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
        let fragment: [UInt8] = [17, 0, 0, 1, 0, 0, 0, 9]
        let payload = hopByHop + fragment + datagram
        let header: [UInt8] = [0x60, 0, 0, 0] + F.be16(UInt16(payload.count)) + [0, 64] + F.ip("2001:db8::1") + F.ip("2001:db8::2")
        let view = PacketView(frame: F.ethernet(etherType: 0x86DD, payload: header + payload))
        #expect(view.malformed == nil)
        let ip = try #require(view.ip)
        #expect(ip.version == 6 && ip.protocolNumber == 17 && ip.headerLength == 56 && ip.isFragment && !ip.isLaterFragment)
        #expect(view.udp?.sourcePort == 5_353 && view.udp?.payloadLength == 3)
        #expect(view.flowKey?.srcIP == "2001:db8::1")

        let later: [UInt8] = [17, 0, 0x00, 0x18, 0, 0, 0, 9]  // offset 3 (x 8 bytes)
        let laterPayload = later + [1, 2, 3, 4, 5, 6, 7, 8]
        let laterHeader: [UInt8] = [0x60, 0, 0, 0] + F.be16(UInt16(laterPayload.count)) + [44, 64] + F.ip("2001:db8::1") + F.ip("2001:db8::2")
        let laterView = PacketView(frame: F.ethernet(etherType: 0x86DD, payload: laterHeader + laterPayload))
        #expect(laterView.ip?.isLaterFragment == true)
        #expect(laterView.transport == nil)
        #expect(laterView.flowKey?.dstPort == 0)
    }

    @Test("ARP requests")
    func arp() throws {
        let view = PacketView(frame: F.arpRequest(sender: "192.168.1.247", target: "192.168.1.20"))
        let arp = try #require(view.arp)
        #expect(arp.isRequest && arp.senderIP.description == "192.168.1.247" && arp.targetIP.description == "192.168.1.20")
        #expect(view.ip == nil && view.flowKey == nil)
    }

    @Test("malformed headers are named, not trusted", arguments: [
        ([UInt8](repeating: 0, count: 10), PacketView.Malformed.runt),
        (F.ethernet(etherType: 0x0800, payload: [0x45, 0, 0, 20]), .ipv4Truncated),
        (F.ethernet(etherType: 0x0800, payload: [0x55] + [UInt8](repeating: 0, count: 19)), .ipv4Version),
        (F.ethernet(etherType: 0x0800, payload: [0x44] + [UInt8](repeating: 0, count: 19)), .ipv4HeaderLength),
        (F.ethernet(etherType: 0x0800, payload: [0x45, 0, 0, 10] + [UInt8](repeating: 0, count: 16)), .ipv4TotalShort),
        (F.ethernet(vlans: [1, 2, 3], etherType: 0x0800, payload: []), .vlanDepth),
    ])
    func malformed(frame: [UInt8], reason: PacketView.Malformed) {
        #expect(PacketView(frame: frame).malformed == reason)
    }

    @Test("a TCP data offset past the datagram is malformed")
    func badOffset() {
        var frame = F.tcp("10.0.0.1", 1, "10.0.0.2", 2, flags: TCPFlag.syn)
        frame[14 + 20 + 12] = 0xF0  // 60-byte header in a 20-byte segment
        let view = PacketView(frame: frame)
        #expect(view.malformed == .tcpOffsetLong && view.tcp == nil && view.ip != nil)
    }

    // MARK: DNS

    @Test("a DNS query's name, type and counts")
    func dnsQuery() throws {
        let view = PacketView(frame: F.dnsQueryFrame(name: "VS-cam.u011.immedia-semi.com", type: 16))
        let dns = try #require(view.dns)
        #expect(!dns.isResponse && dns.questionCount == 1 && dns.answerCount == 0 && dns.id == 0x1234)
        let question = try #require(dns.question)
        #expect(question.name == "VS-cam.u011.immedia-semi.com" && question.type == 16 && question.qclass == 1)
        #expect(question.labels.count == 4)
    }

    @Test("compression pointers are followed backwards only, and bounded")
    func dnsCompression() throws {
        // A response: the question is "a.example.com"; then an answer whose name points to it.
        var message: [UInt8] = F.be16(7) + F.be16(0x8180) + F.be16(1) + F.be16(1) + F.be16(0) + F.be16(0)
        message += [1, 0x61, 7] + Array("example".utf8) + [3] + Array("com".utf8) + [0] + F.be16(1) + F.be16(1)
        let header = 12
        let forward = PacketView.DNS.readName(message + [0xC0, UInt8(header)], message: 0, at: message.count, end: message.count + 2)
        #expect(forward.map { PacketView.DNS.presentation($0.0) } == "a.example.com")
        #expect(forward?.1 == message.count + 2)

        // "www" + pointer to "example.com" inside the question.
        let nested = message + [3] + Array("www".utf8) + [0xC0, UInt8(header + 2)]
        let name = PacketView.DNS.readName(nested, message: 0, at: message.count, end: nested.count)
        #expect(name.map { PacketView.DNS.presentation($0.0) } == "www.example.com")

        // A pointer to itself, a pointer forwards, and a pointer out of the message.
        let selfLoop = message + [0xC0, UInt8(message.count)]
        #expect(PacketView.DNS.readName(selfLoop, message: 0, at: message.count, end: selfLoop.count) == nil)
        let ahead = message + [0xC0, UInt8(message.count + 2), 0]
        #expect(PacketView.DNS.readName(ahead, message: 0, at: message.count, end: ahead.count) == nil)
        let outside = message + [0xFF, 0xFF]
        #expect(PacketView.DNS.readName(outside, message: 0, at: message.count, end: outside.count) == nil)

        // A chain of 40 pointers each pointing one step back: more jumps than allowed.
        var chain = message
        let first = chain.count
        chain += [0]
        for index in 0..<40 { chain += [0xC0, UInt8(first + index * 2 - (index == 0 ? 0 : 1))] }
        #expect(PacketView.DNS.readName(chain, message: 0, at: chain.count - 2, end: chain.count) == nil)
    }

    @Test("names longer than 255 octets and labels past the end are refused")
    func dnsLimits() {
        var long: [UInt8] = []
        for _ in 0..<5 { long += [63] + [UInt8](repeating: 0x61, count: 63) }
        long += [0]
        #expect(PacketView.DNS.readName(long, message: 0, at: 0, end: long.count) == nil)
        let short: [UInt8] = [10, 0x61, 0x62]
        #expect(PacketView.DNS.readName(short, message: 0, at: 0, end: short.count) == nil)
        let extended: [UInt8] = [0x41, 0]
        #expect(PacketView.DNS.readName(extended, message: 0, at: 0, end: extended.count) == nil)
    }

    @Test("a query whose question does not decode keeps its header")
    func dnsBadQuestion() throws {
        let payload: [UInt8] = F.be16(1) + F.be16(0x0100) + F.be16(1) + F.be16(0) + F.be16(0) + F.be16(0) + [0xC0, 0x0C]
        let view = PacketView(frame: F.udp("10.0.0.1", 999, "10.0.0.2", 53, payload: payload))
        let dns = try #require(view.dns)
        #expect(dns.question == nil && dns.questionMalformed)
    }

    @Test("binary labels print escaped")
    func dnsPresentation() {
        #expect(PacketView.DNS.presentation([[0x61, 0x2E, 0x5C, 0x00, 0xFF], Array("sea".utf8)]) == "a\\.\\\\\\000\\255.sea")
        #expect(PacketView.DNS.presentation([]) == ".")
    }

    @Test("DNS over TCP: the length prefix is skipped")
    func dnsOverTCP() throws {
        let message = F.dnsQuery(labels: F.labels("x.example.org"), type: 255)
        let frame = F.tcp("10.0.0.1", 40_000, "10.0.0.2", 53, flags: TCPFlag.psh | TCPFlag.ack,
                          payload: F.be16(UInt16(message.count)) + message)
        let question = try #require(PacketView(frame: frame).dns?.question)
        #expect(question.name == "x.example.org" && question.type == 255)
    }

    // MARK: Addresses, times, flow ids

    @Test("IPv6 addresses print as RFC 5952 says", arguments: [
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1"), ("2001:0db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
        ("0:0:0:0:0:0:0:0", "::"), ("::1", "::1"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("fe80:0:0:0:0:0:0:0", "fe80::"), ("2001:db8:1:1:1:1:1:1", "2001:db8:1:1:1:1:1:1"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"), ("2001:DB8::A", "2001:db8::a"), ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
    ])
    func ipv6Text(input: String, printed: String) throws {
        #expect(try #require(PacketView.Address(input)).description == printed)
    }

    @Test("bad address text is refused", arguments: ["", "1.2.3", "1::2::3", "12345::", ":::", "1:2:3:4:5:6:7:8:9", "g::1"])
    func badAddress(text: String) {
        #expect(PacketView.Address(text) == nil)
    }

    @Test("timestamps are RFC 3339 with microseconds and +0000")
    func timestamps() {
        #expect(AlertBuilder.timestamp(nanoseconds: 1_615_216_935_831_389_000) == "2021-03-08T15:22:15.831389+0000")
        #expect(AlertBuilder.timestamp(nanoseconds: 0) == "1970-01-01T00:00:00.000000+0000")
        #expect(AlertBuilder.timestamp(nanoseconds: 951_782_400_000_000_999) == "2000-02-29T00:00:00.000000+0000")
        #expect(AlertBuilder.timestamp(nanoseconds: 4_102_444_799_999_999_000) == "2099-12-31T23:59:59.999999+0000")
        // Against Foundation, on a spread of times.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<500 {
            let seconds = UInt64.random(in: 0..<4_000_000_000, using: &generator)
            let text = AlertBuilder.timestamp(nanoseconds: seconds * 1_000_000_000)
            #expect(text.hasPrefix(formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))))
        }
    }

    @Test("flow ids: the same both ways, per VM, stable, JSON-safe")
    func flowIDs() {
        let key = FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 6, srcPort: 51_000, dstPort: 443)
        let id = AlertBuilder.flowID(key, vmID: 7)
        #expect(id == AlertBuilder.flowID(key.reversed, vmID: 7))
        #expect(id != AlertBuilder.flowID(key, vmID: 8))
        #expect(id != AlertBuilder.flowID(FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 6, srcPort: 51_001, dstPort: 443), vmID: 7))
        #expect(id < 1 << 53)
        // Stable across processes and releases: a recorded value.
        #expect(id == 3_387_877_874_972_038)
        let ping = FlowKey(srcIP: "10.0.0.5", dstIP: "10.0.0.6", proto: 1, srcPort: 8, dstPort: 0)
        let pong = FlowKey(srcIP: "10.0.0.6", dstIP: "10.0.0.5", proto: 1, srcPort: 0, dstPort: 0)
        #expect(AlertBuilder.flowID(ping, vmID: 1) == AlertBuilder.flowID(pong, vmID: 1))
    }

    // MARK: Real captures and garbage

    @Test("every frame of the real captures decodes", RealCaptures.required, arguments: RealCaptures.all)
    func realCaptures(name: String) throws {
        let records = try RealCaptures.read(name).records
        var ip = 0
        for record in records {
            let view = PacketView(frame: record.data, wireLength: Int(record.originalLength))
            #expect(view.malformed == nil, "record \(record.timestampNanoseconds)")
            if view.ip != nil { ip += 1 }
        }
        #expect(ip > 0)
    }

    @Test("the iodine capture's queries decode with their raw labels", RealCaptures.required)
    func iodineQueries() throws {
        let records = try RealCaptures.read(RealCaptures.iodine).records
        let questions = records.compactMap { PacketView(frame: $0.data).dns }.filter { !$0.isResponse }.compactMap(\.question)
        #expect(questions.count == 222)
        #expect(questions.allSatisfy { $0.type == 10 && $0.name.hasSuffix(".pirate.sea") })
        #expect(questions.contains { $0.labels.contains { $0.contains { $0 >= 0x80 } } })
    }

    @Test("random bytes never crash the decoder")
    func fuzzRandom() {
        var generator = SeededGenerator(seed: 0xB0A)
        for round in 0..<60_000 {
            let length = Int.random(in: 0..<(round % 10 == 0 ? 1_600 : 120), using: &generator)
            var frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Steer many of them into the interesting paths.
            if length >= 14 {
                let types: [UInt16] = [0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8]
                let type = types[round % types.count]
                frame[12] = UInt8(type >> 8)
                frame[13] = UInt8(type & 0xFF)
                if length > 24, type == 0x0800 { frame[14] = 0x45; frame[23] = [6, 17, 1][round % 3] }
            }
            let view = PacketView(frame: frame)
            _ = view.flowKey
            _ = view.dns?.question?.name
        }
    }

    @Test("mutated real frames never crash the decoder", RealCaptures.required)
    func fuzzMutations() throws {
        let sources = try [RealCaptures.iodine, RealCaptures.masscan, RealCaptures.nmap, RealCaptures.icmpScan]
            .flatMap { try RealCaptures.read($0).records.prefix(200).map(\.data) }
        var generator = SeededGenerator(seed: 77)
        for round in 0..<40_000 {
            var frame = sources[round % sources.count]
            switch round % 3 {
            case 0:
                for _ in 0..<Int.random(in: 1...8, using: &generator) where !frame.isEmpty {
                    frame[Int.random(in: 0..<frame.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            case 1:
                frame = Array(frame.prefix(Int.random(in: 0...frame.count, using: &generator)))
            default:
                if frame.count > 20 {
                    let index = Int.random(in: 14..<frame.count, using: &generator)
                    frame[index] = [0x00, 0xFF, 0xC0, 0x3F][round % 4]
                }
            }
            let view = PacketView(frame: frame)
            _ = view.flowKey
            _ = view.dns?.question?.name
        }
    }
}
