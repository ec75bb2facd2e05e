import CDPDK
import XCTest

/// The parser's housekeeping class and DNS-response flag: what the detector judges by rate and
/// fan-out instead of novelty, and which frames bma_dns_burst reads.
final class HousekeepingParseTests: XCTestCase {
    typealias F = Frame

    private func hk(_ frame: [UInt8]) -> String {
        String(cString: bma_housekeeping_name(UInt32(parse(frame).housekeeping)))
    }

    func testClasses() {
        let v4 = { (proto: UInt8, l4: [UInt8]) in F.ether(type: ethTypeIPv4, F.ipv4(proto: proto, l4)) }
        let v6 = { (next: UInt8, l4: [UInt8]) in F.ether(type: ethTypeIPv6, F.ipv6(next: next, l4)) }
        let cases: [(String, [UInt8], String)] = [
            ("arp request", F.ether(dst: 0xffff_ffff_ffff, type: ethTypeARP, F.arp(op: 1), padTo: 60), "arp"),
            ("arp in a vlan", F.ether(vlans: [(0x8100, 100)], type: ethTypeARP, F.arp(op: 2)), "arp"),
            ("dhcp discover", v4(17, F.udp(68, 67, payload: F.payload(240))), "dhcp"),
            ("dhcp answer", v4(17, F.udp(67, 68)), "dhcp"),
            ("dhcpv6", v6(17, F.udp(546, 547)), "dhcp"),
            ("ping", v4(1, F.icmp(type: 8, code: 0)), "icmp"),
            ("pong", v4(1, F.icmp(type: 0, code: 0)), "icmp"),
            ("port unreachable", v4(1, F.icmp(type: 3, code: 3)), "icmp"),
            ("time exceeded", v4(1, F.icmp(type: 11, code: 0)), "icmp"),
            ("icmp timestamp", v4(1, F.icmp(type: 13, code: 0)), "none"),
            ("icmp redirect", v4(1, F.icmp(type: 5, code: 1)), "none"),
            ("ping6", v6(58, F.icmp(type: 128, code: 0)), "icmp"),
            ("packet too big", v6(58, F.icmp(type: 2, code: 0)), "icmp"),
            ("neighbour solicitation", v6(58, F.icmp(type: 135, code: 0)), "ndp"),
            ("router advertisement", v6(58, F.icmp(type: 134, code: 0)), "ndp"),
            ("mld report", v6(58, F.icmp(type: 143, code: 0)), "igmp-mld"),
            ("igmp", v4(2, F.payload(8)), "igmp-mld"),
            ("eapol", F.ether(type: 0x888e, F.payload(20)), "eapol"),
            ("lldp", F.ether(dst: 0x0180_c200_000e, type: 0x88cc, F.payload(30)), "l2-control"),
            ("stp (802.3 llc)", F.ether(dst: 0x0180_c200_0000, type: 0x0026, [0x42, 0x42, 0x03] + F.payload(35)), "l2-control"),
            ("mdns", v4(17, F.udp(5353, 5353)), "discovery"),
            ("ssdp search", v4(17, F.udp(50000, 1900)), "discovery"),
            ("llmnr", v6(17, F.udp(50001, 5355)), "discovery"),
            ("dns query", v4(17, F.udp(40000, 53)), "none"),
            ("https", v4(6, F.tcp(40000, 443)), "none"),
            ("ntp", v4(17, F.udp(123, 123)), "none"),
            ("gre", v4(47, F.payload(12)), "none"),
            ("runt", [0x01, 0x02], "none"),
        ]
        for (name, frame, want) in cases {
            XCTAssertEqual(hk(frame), want, name)
        }
        XCTAssertEqual(String(cString: bma_housekeeping_name(200)), "unknown")
    }

    func testDNSResponseFlag() {
        let answer = F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, F.udp(53, 40000, payload: F.payload(30))))
        XCTAssertTrue(has(parse(answer), Int(BMA_PF_DNS_RESPONSE)))
        let query = F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, F.udp(40000, 53, payload: F.payload(30))))
        XCTAssertFalse(has(parse(query), Int(BMA_PF_DNS_RESPONSE)))
        // DNS over TCP: a segment from port 53 with data; a bare ACK is not a message.
        let tcp = F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(53, 40000)))
        XCTAssertFalse(has(parse(tcp), Int(BMA_PF_DNS_RESPONSE)))
        let tcpData = F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(53, 40000, flags: 0x18, payload: F.payload(30))))
        XCTAssertTrue(has(parse(tcpData), Int(BMA_PF_DNS_RESPONSE)))
        // A fragment's payload is not a whole message.
        let frag = F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, fragment: 0x2000, F.udp(53, 40000, length: 3000, payload: F.payload(16))))
        XCTAssertFalse(has(parse(frag), Int(BMA_PF_DNS_RESPONSE)))
    }

    func testDescriptorSizeIsUnchanged() {
        XCTAssertEqual(MemoryLayout<bma_pkt_t>.size, 96)
    }
}
