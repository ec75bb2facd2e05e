import CDPDK
import XCTest

@testable import Dataplane

/// What a packet's service, protocol class and size are, from parsed frames.
final class ServiceKeyTests: XCTestCase {
    private let ipv4 = UInt64(BMA_L3_IPV4) << 32

    private func withPacket<R>(_ frame: [UInt8], _ body: (UnsafePointer<bma_pkt_t>) -> R) -> R {
        var p = TestFrame.parse(frame)
        return withUnsafePointer(to: &p) { body($0) }
    }

    func testTCPServiceSide() {
        let web = Hosts.web
        // The VM opens a connection: the destination port.
        XCTAssertEqual(serviceKey(forFrame: TestFrame.tcp(dst: web, srcPort: 40_000, dstPort: 8_443, flags: 0x02)),
                       ipv4 | 6 << 16 | 8_443)
        // The VM answers one: the source port, even when it is the higher one.
        XCTAssertEqual(serviceKey(forFrame: TestFrame.tcp(dst: web, srcPort: 8_443, dstPort: 80, flags: 0x12)),
                       ipv4 | 6 << 16 | 8_443)
        // Otherwise the lower port.
        XCTAssertEqual(serviceKey(forFrame: TestFrame.tcp(dst: web, srcPort: 40_000, dstPort: 443)), ipv4 | 6 << 16 | 443)
        XCTAssertEqual(serviceKey(forFrame: TestFrame.tcp(dst: web, srcPort: 443, dstPort: 40_000)), ipv4 | 6 << 16 | 443)
    }

    func testUDPICMPAndARP() {
        XCTAssertEqual(serviceKey(forFrame: TestFrame.udp(dst: Hosts.dns, srcPort: 50_000, dstPort: 53)),
                       ipv4 | 17 << 16 | 53)
        XCTAssertEqual(serviceKey(forFrame: TestFrame.icmp(dst: Hosts.gateway, type: 8)), ipv4 | 1 << 16 | 8)
        XCTAssertEqual(serviceKey(forFrame: TestFrame.icmp(dst: Hosts.gateway, type: 0)), ipv4 | 1 << 16 | 0)
        XCTAssertEqual(serviceKey(forFrame: TestFrame.arp(target: Hosts.gateway)), UInt64(BMA_L3_ARP) << 32 | 0x0806)
    }

    func testProtocolClassAndSize() {
        XCTAssertEqual(withPacket(TestFrame.tcp(dst: Hosts.web, dstPort: 443)) { protocolClass($0) }, 0)
        XCTAssertEqual(withPacket(TestFrame.udp(dst: Hosts.dns, dstPort: 53)) { protocolClass($0) }, 1)
        XCTAssertEqual(withPacket(TestFrame.icmp(dst: Hosts.gateway)) { protocolClass($0) }, 2)
        XCTAssertEqual(withPacket(TestFrame.arp(target: Hosts.gateway)) { protocolClass($0) }, 3)
        XCTAssertEqual(protocolClassNames, ["tcp", "udp", "icmp", "arp", "other"])
        // The IP length, not the padded frame length.
        XCTAssertEqual(withPacket(TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 74)) { packetSize($0) }, 60)
        XCTAssertEqual(withPacket(TestFrame.tcp(dst: Hosts.web, dstPort: 443)) { packetSize($0) }, 40)
        // ARP has no IP length: the frame length (padded to 60).
        XCTAssertEqual(withPacket(TestFrame.arp(target: Hosts.gateway)) { packetSize($0) }, 60)
    }
}
