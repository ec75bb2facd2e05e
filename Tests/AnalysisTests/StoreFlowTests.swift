import Foundation
import Testing
@testable import Analysis

@Suite("store flows: SHA-1, Community ID, frame 5-tuples")
struct StoreFlowTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test("SHA-1 known vectors (FIPS 180 examples and edge lengths)")
    func sha1Vectors() {
        let vectors: [(String, String)] = [
            ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
            ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
             "a49b2446a02c645bf419f995b67091253a04a259"),
            ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
        ]
        for (input, digest) in vectors {
            #expect(Self.hex(SHA1.hash(Array(input.utf8))) == digest, "\(input)")
        }
        #expect(Self.hex(SHA1.hash(repeatElement(UInt8(ascii: "a"), count: 1_000_000))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // Fed in pieces, around the 55/56/64-byte padding boundaries.
        for length in [55, 56, 63, 64, 65, 119, 120] {
            let input = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7) }
            var hasher = SHA1()
            hasher.update(input.prefix(length / 3))
            hasher.update(input.dropFirst(length / 3))
            #expect(hasher.finalize() == SHA1.hash(input))
        }
    }

    /// The spec's published example and its baseline (corelight/community-id-spec, baseline_deflt.json);
    /// ICMP rows give type and code as the ports.
    @Test("Community ID v1 vectors")
    func communityIDVectors() {
        let vectors: [(UInt8, String, String, UInt16, UInt16, String)] = [
            (6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
            (6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
            (17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
            (17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
            (6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
            (6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
            (132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
            (132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
            (46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="),  // RSVP: no ports
            (46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="),
            (1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),  // echo request
            (1, "192.168.0.1", "192.168.0.89", 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),  // echo reply
            (1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="),  // time exceeded: one-way
            (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
            (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
            (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck="),
            (58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="),
            (58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0="),
            (58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
            (58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
            (58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="),
            (58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00="),
        ]
        for (proto, source, destination, sourcePort, destinationPort, expected) in vectors {
            let key = FlowKey(srcIP: source, dstIP: destination, proto: proto, srcPort: sourcePort, dstPort: destinationPort)
            #expect(key.communityID == expected, "\(key)")
        }
        #expect(FlowKey(srcIP: "not an address", dstIP: "10.0.0.1", proto: 6, srcPort: 1, dstPort: 2).communityID == nil)
        #expect(FlowKey(srcIP: "::1", dstIP: "10.0.0.1", proto: 6, srcPort: 1, dstPort: 2).communityID == nil)
        // The spec's example from a frame.
        let frame = FrameBuilder.tcpFrame(source: [128, 232, 110, 120], destination: [66, 35, 250, 204], sourcePort: 34855, destinationPort: 80)
        #expect(FlowTuple(frame: frame)?.communityID == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
    }

    @Test("frame 5-tuples: IPv4, VLANs, fragments, IPv6 extension headers, ICMP, non-IP, truncated")
    func frameFlows() {
        let a: [UInt8] = [10, 0, 0, 5], b: [UInt8] = [203, 0, 113, 7]
        let tcp = FrameBuilder.tcpFrame(source: a, destination: b, sourcePort: 40000, destinationPort: 443, vlans: [100, 200])
        #expect(FlowTuple(frame: tcp)?.flowKey == FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 6, srcPort: 40000, dstPort: 443))
        let udp = FrameBuilder.udpFrame(source: a, destination: b, sourcePort: 5353, destinationPort: 53)
        #expect(FlowTuple(frame: udp)?.flowKey == FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 17, srcPort: 5353, dstPort: 53))
        // A later fragment has no ports.
        let fragment = FrameBuilder.ethernet(etherType: 0x0800, payload: FrameBuilder.ipv4(
            source: a, destination: b, protocolNumber: 17, payload: [1, 2, 3, 4, 5, 6, 7, 8], fragmentField: 0x0010))
        #expect(FlowTuple(frame: fragment)?.flowKey == FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 17, srcPort: 0, dstPort: 0))
        // ICMP: type and code.
        let echo = StorePackets.icmpEcho(vm: 1, timestampNs: 1, sequence: 1, reply: false).frame
        #expect(FlowTuple(frame: echo)?.flowKey == FlowKey(srcIP: "10.0.0.5", dstIP: "198.51.100.9", proto: 1, srcPort: 8, dstPort: 0))
        let reply = StorePackets.icmpEcho(vm: 1, timestampNs: 1, sequence: 1, reply: true).frame
        #expect(FlowTuple(frame: echo)?.communityID == FlowTuple(frame: reply)?.communityID)
        // IPv6 with hop-by-hop and destination options before TCP.
        let tcpSegment = FrameBuilder.be16(50000) + FrameBuilder.be16(22) + [UInt8](repeating: 0, count: 8) + [0x50] + [UInt8](repeating: 0, count: 7)
        let extensions: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0] + [6, 1] + [UInt8](repeating: 0, count: 14)
        let ipv6 = [0x60, 0, 0, 0] + FrameBuilder.be16(UInt16(extensions.count + tcpSegment.count)) + [0, 64]
            + StorePackets.host6A + StorePackets.host6B + extensions + tcpSegment
        let v6Frame = FrameBuilder.ethernet(vlans: [5], etherType: 0x86DD, payload: ipv6)
        #expect(FlowTuple(frame: v6Frame)?.flowKey == FlowKey(srcIP: "2001:db8::1", dstIP: "2001:db8::2", proto: 6, srcPort: 50000, dstPort: 22))
        #expect(FlowTuple(frame: v6Frame)?.source.octets == StorePackets.host6A)
        // Not IP, or cut before the IP header ends: no flow. Cut inside the ports: ports 0.
        #expect(FlowTuple(frame: StorePackets.arp(vm: 1, timestampNs: 1, sequence: 1).frame) == nil)
        #expect(FlowTuple(frame: Array(tcp.prefix(14 + 8 + 19))) == nil)
        #expect(FlowTuple(frame: []) == nil)
        #expect(FlowTuple(frame: Array(tcp.prefix(14 + 8 + 20 + 3)))?.flowKey.srcPort == 0)
        // Three VLAN tags are too many (bmad's parser skips two).
        let tagged = FrameBuilder.ethernet(vlans: [1, 2, 3, 4, 5], etherType: 0x0800, payload: [UInt8](repeating: 0x45, count: 40))
        #expect(FlowTuple(frame: tagged) == nil)
    }

    @Test("every prefix and random mutation of frames parses without crashing")
    func frameFlowRobustness() {
        var random = SeededGenerator(seed: 42)
        for packet in StorePackets.mixed(count: 40) {
            for length in 0...packet.frame.count { _ = FlowTuple(frame: Array(packet.frame.prefix(length))) }
            for _ in 0..<50 {
                var frame = packet.frame
                for _ in 0..<3 { frame[Int.random(in: 0..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
                _ = FlowTuple(frame: frame)?.communityID
            }
        }
    }

    @Test("alert timestamps parse (RFC 3339 forms) and segment stamps format")
    func times() {
        #expect(CaptureStoreTime.parse("2021-03-11T15:22:15.831389+0000") == 1_615_476_135_831_389_000)
        #expect(CaptureStoreTime.parse("2021-03-11T16:22:15.831389+01:00") == 1_615_476_135_831_389_000)
        #expect(CaptureStoreTime.parse("2021-03-11T15:22:15Z") == 1_615_476_135_000_000_000)
        #expect(CaptureStoreTime.parse("1970-01-01T00:00:00.000000001Z") == 1)
        #expect(CaptureStoreTime.parse("2024-02-29T00:00:00Z") == 1_709_164_800_000_000_000)
        for bad in ["", "2021-03-11", "2021-13-11T15:22:15Z", "2021-03-11T15:22:15+", "2021-03-11T15:22:15.Z", "1969-12-31T23:59:59Z"] {
            #expect(CaptureStoreTime.parse(bad) == nil, "\(bad)")
        }
        #expect(CaptureStoreTime.alertTimestamp(1_615_476_135_831_389_123) == "2021-03-11T15:22:15.831389+0000")
        #expect(CaptureStoreTime.segmentStamp(StorePackets.base) == "20231114-221320")
        #expect(CaptureStoreTime.segmentStamp(951_782_400_000_000_000) == "20000229-000000")
        #expect(CaptureStore.segmentName(StorePackets.base, sequence: 42) == "seg-20231114-221320-000042.pcapng")
        #expect(CaptureStore.sequence(of: "seg-20231114-221320-000042.pcapng") == 42)
        #expect(CaptureStore.sequence(of: "index.sqlite") == nil)
    }
}
