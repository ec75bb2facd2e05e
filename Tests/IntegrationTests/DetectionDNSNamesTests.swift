import Control
import ControlProtocol
import Foundation
import PacketCapture
import XCTest

/// DNS answers from the uplink name the VM's destinations: bmad reads them on their way to the
/// VM they are addressed to, over UDP and over TCP, and `vm.show` counts the names the VM holds
/// and shows its threshold.
final class DetectionDNSNamesTests: IntegrationTestCase {
    static let vmID = 7
    static let vmIP = "10.0.1.5"

    /// A DNS response from the resolver to the VM: `name` is `addresses` (A records), TTL 300.
    static func answer(to vm: MACAddress, name: String, addresses: [IPv4Address], id: UInt16) -> [UInt8] {
        let be16 = { (v: UInt16) -> [UInt8] in [UInt8(v >> 8), UInt8(v & 0xff)] }
        let msg = message(name: name, addresses: addresses, id: id)
        let resolver = DetectionFrames.ip("10.0.1.1")
        var frame = TestFrames.udp4(from: DetectionFrames.mac("02:aa:00:00:00:01"), to: vm, resolver, DetectionFrames.ip(vmIP),
                                    sourcePort: 53, destinationPort: 40_000, tag: "")
        // Replace the tag payload with the message (checksum zero: allowed for UDP over IPv4).
        frame = Array(frame.prefix(42)) + msg
        let udpLength = UInt16(8 + msg.count), ipLength = UInt16(28 + msg.count)
        frame.replaceSubrange(16..<18, with: be16(ipLength))
        frame.replaceSubrange(24..<26, with: [0, 0])
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) where i != 24 { sum += UInt32(frame[i]) << 8 | UInt32(frame[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        frame.replaceSubrange(24..<26, with: be16(~UInt16(sum)))
        frame.replaceSubrange(38..<40, with: be16(udpLength))
        frame.replaceSubrange(40..<42, with: [0, 0])
        return frame
    }

    /// A DNS response message: `name` is `addresses` (A records), TTL 300.
    static func message(name: String, addresses: [IPv4Address], id: UInt16) -> [UInt8] {
        let be16 = DetectionFrames.be16
        let wire: [UInt8] = name.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
        var msg: [UInt8] = be16(id) + be16(0x8180) + be16(1) + be16(UInt16(addresses.count)) + be16(0) + be16(0) + wire + be16(1) + be16(1)
        for a in addresses {
            msg += [0xc0, 12] + be16(1) + be16(1)
            msg += [0, 0, 1, 44] + be16(4) + a.octets
        }
        return msg
    }

    /// The same answer over TCP: one segment (PSH, ACK) from port 53 holding the message with
    /// its 2-byte length prefix.
    static func tcpAnswer(to vm: MACAddress, name: String, addresses: [IPv4Address], id: UInt16) -> [UInt8] {
        let be16 = DetectionFrames.be16, be32 = DetectionFrames.be32
        let msg = message(name: name, addresses: addresses, id: id)
        let resolver = DetectionFrames.ip("10.0.1.1"), me = DetectionFrames.ip(vmIP)
        var tcp = be16(53) + be16(40_001) + be32(1000) + be32(2000) + [0x50, 0x18] + be16(65535) + [0, 0, 0, 0]
            + be16(UInt16(msg.count)) + msg
        tcp.replaceSubrange(16..<18, with: be16(InternetChecksum.checksum(ofSum: DetectionFrames.transportSum(tcp, proto: 6, resolver, me))))
        return DetectionFrames.ethernet(DetectionFrames.mac("02:aa:00:00:00:01"), vm)
            + DetectionFrames.ipv4(resolver, me, proto: 6, payloadLength: tcp.count) + tcp
    }

    func testAnswersFromTheUplinkNameTheVMsDestinations() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        let scratch = try makeScratch()
        let vm = DetectionFrames.mac("02:00:00:00:01:07")
        let uplinkIn = scratch.file("uplink-in.pcap"), empty = scratch.file("empty.pcap")
        try PcapFiles.write([
            Self.answer(to: vm, name: "broker.example.com", addresses: [DetectionFrames.ip("47.89.226.20"), DetectionFrames.ip("47.89.226.21")], id: 1),
            Self.answer(to: vm, name: "cdn.example.net", addresses: [DetectionFrames.ip("203.0.113.8")], id: 2),
            // Not for this VM: its answer names nothing here.
            Self.answer(to: DetectionFrames.mac("02:00:00:00:01:99"), name: "other.example", addresses: [DetectionFrames.ip("198.51.100.1")], id: 3),
            // Over TCP, as a resolver answers a truncated (TC) response's retry.
            Self.tcpAnswer(to: vm, name: "big.example.org", addresses: [DetectionFrames.ip("192.0.2.77")], id: 4),
        ], to: uplinkIn)
        try PcapFiles.write([], to: empty)
        let bmad = try startBmad(BmadConfiguration(
            uplink: "net_pcap9,rx_pcap=\(uplinkIn),tx_pcap=\(scratch.file("uplink-out.pcap"))",
            vms: [.init(name: "vm1", id: Self.vmID, devargs: "net_pcap0,rx_pcap=\(empty),tx_pcap=\(scratch.file("vm1-out.pcap"))",
                        mac: vm.description)]), in: scratch)
        let socket = scratch.file("bmad.sock")
        try waitUntil("bmad's control socket", timeout: 20, context: { bmad.child.outputTail() }) {
            FileManager.default.fileExists(atPath: socket)
        }
        let client = try ControlClient(path: socket, timeout: 5)
        var shown: JSONValue = .null
        try waitUntil("vm.show counts 4 DNS names", timeout: 20, context: { "\(shown)\n" + bmad.child.outputTail() }) {
            shown = (try? client.call("vm.show", params: ["vm": "vm1"])) ?? .null
            return shown["dns_names"]?.intValue == 4
        }
        XCTAssertEqual(shown["threshold"]?.doubleValue, 1, "no scores yet: the default threshold")
        XCTAssertEqual(shown["mirror_share"]?.doubleValue, 0)
        XCTAssertNotNil(shown["habits_learned"]?.intValue)
        XCTAssertNotNil(shown["known_prefixes"]?.intValue)
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
    }
}
