import BMAContract
import Control
import XCTest

final class PolicyMatcherTests: XCTestCase {
    /// The web1 DNS packet every row varies.
    static func dns(_ change: (inout PolicyPacket) -> Void = { _ in }) -> PolicyPacket {
        var p = PolicyPacket(vmID: 101, vmName: "web1", src: "10.0.0.5", dst: "192.0.2.53", vlan: 100,
                             protocol: .udp, srcPort: 40000, dstPort: 53, size: 90)!
        change(&p)
        return p
    }

    func testEachFieldOnATable() throws {
        let v6 = IPAddressText.parse("2001:db8::5")!
        let rows: [(String, PolicyMatch, PolicyPacket, Bool)] = [
            ("empty match, out packet", PolicyMatch(), Self.dns(), true),
            ("default direction is out", PolicyMatch(), Self.dns { $0.direction = .in }, false),
            ("in", PolicyMatch(direction: .in), Self.dns { $0.direction = .in }, true),
            ("in vs out", PolicyMatch(direction: .in), Self.dns(), false),
            ("both/out", PolicyMatch(direction: .both), Self.dns(), true),
            ("both/in", PolicyMatch(direction: .both), Self.dns { $0.direction = .in }, true),

            ("vm by name", PolicyMatch(vms: [.name("web1")]), Self.dns(), true),
            ("vm by id", PolicyMatch(vms: [.id(101)]), Self.dns(), true),
            ("vm in list", PolicyMatch(vms: [.name("db1"), .id(101)]), Self.dns(), true),
            ("other vm", PolicyMatch(vms: [.name("db1"), .id(102)]), Self.dns(), false),
            ("name is not an id", PolicyMatch(vms: [.name("101")]), Self.dns(), false),

            ("src cidr", PolicyMatch(srcCIDR: CIDR("10.0.0.0/8")), Self.dns(), true),
            ("src cidr miss", PolicyMatch(srcCIDR: CIDR("10.0.1.0/24")), Self.dns(), false),
            ("dst cidr /32", PolicyMatch(dstCIDR: CIDR("192.0.2.53/32")), Self.dns(), true),
            ("dst cidr is not src", PolicyMatch(dstCIDR: CIDR("10.0.0.0/8")), Self.dns(), false),
            ("v4 any vs v6 packet", PolicyMatch(srcCIDR: CIDR("0.0.0.0/0")),
             Self.dns { $0.srcHi = v6.hi; $0.srcLo = v6.lo }, false),
            ("v6 cidr", PolicyMatch(srcCIDR: CIDR("2001:db8::/32")), Self.dns { $0.srcHi = v6.hi; $0.srcLo = v6.lo }, true),
            ("::/0 holds v4", PolicyMatch(srcCIDR: CIDR("::/0")), Self.dns(), true),
            ("cidr needs addresses", PolicyMatch(srcCIDR: CIDR("::/0")), Self.dns { $0.protocol = nil }, false),
            ("arp has addresses", PolicyMatch(dstCIDR: CIDR("192.0.2.0/24")),
             Self.dns { $0.protocol = .arp; $0.srcPort = nil; $0.dstPort = nil }, true),

            ("vlan", PolicyMatch(vlan: 100), Self.dns(), true),
            ("other vlan", PolicyMatch(vlan: 101), Self.dns(), false),
            ("vlan 0 is untagged", PolicyMatch(vlan: 0), Self.dns { $0.vlan = 0 }, true),
            ("vlan 0 vs tagged", PolicyMatch(vlan: 0), Self.dns(), false),

            ("udp", PolicyMatch(protocol: .udp), Self.dns(), true),
            ("tcp vs udp", PolicyMatch(protocol: .tcp), Self.dns(), false),
            ("17 is udp", PolicyMatch(protocol: .ip(17)), Self.dns(), true),
            ("arp", PolicyMatch(protocol: .arp), Self.dns { $0.protocol = .arp }, true),
            ("arp vs ip", PolicyMatch(protocol: .arp), Self.dns(), false),
            ("proto vs non-ip", PolicyMatch(protocol: .ip(0)), Self.dns { $0.protocol = nil }, false),
            ("icmp vs icmpv6", PolicyMatch(protocol: .icmp), Self.dns { $0.protocol = .icmpv6 }, false),

            ("dst ports", PolicyMatch(dstPorts: PortSet("53,853")), Self.dns(), true),
            ("dst ports miss", PolicyMatch(dstPorts: PortSet("80,443")), Self.dns(), false),
            ("src ports range", PolicyMatch(srcPorts: PortSet("1024-65535")), Self.dns(), true),
            ("src ports low", PolicyMatch(srcPorts: PortSet("0-1023")), Self.dns(), false),
            ("ports need ports", PolicyMatch(dstPorts: PortSet("0-65535")), Self.dns { $0.dstPort = nil }, false),
            ("src vs dst port", PolicyMatch(srcPorts: PortSet("53")), Self.dns(), false),

            ("size in", PolicyMatch(sizeMin: 64, sizeMax: 1500), Self.dns(), true),
            ("size = min", PolicyMatch(sizeMin: 90), Self.dns(), true),
            ("size = max", PolicyMatch(sizeMax: 90), Self.dns(), true),
            ("size below", PolicyMatch(sizeMin: 91), Self.dns(), false),
            ("size above", PolicyMatch(sizeMax: 89), Self.dns(), false),

            ("all together", PolicyMatch(vms: [.name("web1")], srcCIDR: CIDR("10.0.0.0/8"), dstCIDR: CIDR("0.0.0.0/0"),
                                         vlan: 100, protocol: .udp, srcPorts: PortSet("1024-65535"),
                                         dstPorts: PortSet("53,853"), sizeMin: 0, sizeMax: 1500, direction: .out),
             Self.dns(), true),
            ("all but one", PolicyMatch(vms: [.name("web1")], srcCIDR: CIDR("10.0.0.0/8"), vlan: 100, protocol: .udp,
                                        dstPorts: PortSet("53,853"), sizeMax: 80),
             Self.dns(), false),
        ]
        for (label, match, packet, expected) in rows {
            XCTAssertEqual(match.matches(packet), expected, label)
        }
    }

    /// A small rule table decided for a set of packets: the policy that decides (or none).
    func testDecisionsOnATable() throws {
        let set = try PolicySet([
            Policy(id: 1, name: "never mirror backups", priority: 500,
                   match: PolicyMatch(dstCIDR: CIDR("10.9.0.0/16"), protocol: .tcp, dstPorts: PortSet("873")),
                   action: PolicyAction(mirror: .never)),
            Policy(id: 2, name: "all dns", priority: 100, match: PolicyMatch(protocol: .udp, dstPorts: PortSet("53,853"), direction: .both),
                   action: PolicyAction(mirror: .always, snaplen: 128)),
            Policy(id: 3, name: "db1 sensitive", priority: 100, match: PolicyMatch(vms: [.name("db1")]),
                   action: PolicyAction(sensitivity: 0.5)),
            Policy(id: 4, name: "big v6 out", priority: 0, match: PolicyMatch(srcCIDR: CIDR("2001:db8::/32"), sizeMin: 1000)),
            Policy(id: 5, name: "arp", priority: -10, match: PolicyMatch(protocol: .arp, direction: .both)),
        ])
        func pkt(_ vm: String, _ src: String, _ dst: String, _ proto: PolicyProtocol?, _ dport: UInt16? = nil,
                 size: Int = 100, dir: PolicyPacket.Direction = .out) -> PolicyPacket {
            PolicyPacket(vmID: vm == "db1" ? 2 : 1, vmName: vm, direction: dir, src: src, dst: dst, protocol: proto,
                         srcPort: dport == nil ? nil : 50000, dstPort: dport, size: size)!
        }
        let rows: [(PolicyPacket, UInt16?)] = [
            (pkt("web1", "10.0.0.5", "10.9.1.1", .tcp, 873), 1),
            (pkt("db1", "10.0.0.6", "10.9.1.1", .tcp, 873), 1),
            (pkt("web1", "10.0.0.5", "10.9.1.1", .tcp, 874), nil),
            (pkt("web1", "10.0.0.5", "8.8.8.8", .udp, 53), 2),
            (pkt("web1", "8.8.8.8", "10.0.0.5", .udp, 53, dir: .in), 2),
            (pkt("db1", "10.0.0.6", "8.8.8.8", .udp, 53), 2),  // priority tie with 3: lower id
            (pkt("db1", "10.0.0.6", "8.8.8.8", .tcp, 443), 3),
            (pkt("db1", "10.0.0.6", "8.8.8.8", .tcp, 443, dir: .in), nil),
            (pkt("web1", "2001:db8::5", "2001:db8:1::1", .tcp, 443, size: 1400), 4),
            (pkt("web1", "2001:db8::5", "2001:db8:1::1", .tcp, 443, size: 999), nil),
            (pkt("db1", "2001:db8::5", "2001:db8:1::1", .tcp, 443, size: 1400), 3),
            (pkt("web1", "10.0.0.5", "10.0.0.1", .arp), 5),
            (pkt("web1", "10.0.0.1", "10.0.0.5", .arp, dir: .in), 5),
            (pkt("web1", "10.0.0.5", "10.0.0.1", .icmp), nil),
        ]
        for (i, (packet, expected)) in rows.enumerated() {
            XCTAssertEqual(set.decide(packet: packet)?.id, expected, "row \(i)")
        }
    }
}
