@testable import bmad
import BMAContract
import CDPDK
import Control
@testable import Dataplane
import XCTest

/// The compiled policy matcher (PolicyCompiler → PolicyRule → PolicySnapshot.decide) must pick
/// the same policy as the reference (PolicySet.decide over PolicyMatch.matches) for every rule
/// set and packet. Random rule sets and packets from a seeded generator, drawn from small pools
/// so that fields collide and match often.
final class PolicyAgreementTests: XCTestCase {
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }
        mutating func pick<T>(_ items: [T]) -> T { items[int(0...items.count - 1)] }
    }

    static let vms: [DataplaneSetup.VM] = [
        DataplaneSetup.VM(name: "web1", id: 101, devargs: "a"), DataplaneSetup.VM(name: "db1", id: 102, devargs: "b"),
        DataplaneSetup.VM(name: "cam", id: 7, devargs: "c"),
    ]
    /// Addresses of the packets and the networks: 10.0.{0,1}.{0..3} and 2001:db8::{0..3}, {1:0..3}.
    static func address(_ r: inout Random, ipv6: Bool) -> (hi: UInt64, lo: UInt64) {
        if ipv6 { return (0x2001_0db8_0000_0000, UInt64(r.int(0...1)) << 16 | UInt64(r.int(0...3))) }
        return IPAddressText.v4Mapped(0x0a00_0000 | UInt32(r.int(0...1)) << 8 | UInt32(r.int(0...3)))
    }
    static let protocols: [PolicyProtocol] = [.tcp, .udp, .icmp, .arp, .ip(47)]

    static func cidr(_ r: inout Random) -> CIDR {
        if r.chance(50) {
            let a = address(&r, ipv6: false)
            return CIDR(ipv4: UInt32(truncatingIfNeeded: a.lo), prefixLength: r.pick([0, 8, 16, 23, 24, 30, 31, 32]))!
        }
        let a = address(&r, ipv6: true)
        return CIDR(hi: a.hi, lo: a.lo, prefixLength: r.pick([0, 1, 32, 64, 96, 112, 126, 127, 128]))!
    }

    static func ports(_ r: inout Random) -> PortSet {
        let ranges = (0..<r.int(1...3)).map { _ -> ClosedRange<UInt16> in
            let lo = UInt16(r.int(0...40))
            return lo...(lo + UInt16(r.int(0...10)))
        }
        return PortSet(ranges)!
    }

    static func policy(id: UInt16, _ r: inout Random) -> Policy {
        var m = PolicyMatch()
        if r.chance(30) {
            m.vms = (0..<r.int(1...2)).map { _ in
                r.pick([VMReference.name("web1"), .id(102), .name("cam"), .id(7), .name("ghost"), .id(999)])
            }
        }
        if r.chance(30) { m.srcCIDR = cidr(&r) }
        if r.chance(30) { m.dstCIDR = cidr(&r) }
        if r.chance(15) { m.vlan = UInt16(r.int(0...2)) }
        if r.chance(40) { m.protocol = r.pick(protocols) }
        if r.chance(25) { m.srcPorts = ports(&r) }
        if r.chance(25) { m.dstPorts = ports(&r) }
        if r.chance(15) { m.sizeMin = r.int(60...900) }
        if r.chance(15) { m.sizeMax = r.int(max(100, m.sizeMin ?? 0)...1500) }
        m.direction = r.pick([.out, .out, .in, .both])
        return Policy(id: id, priority: r.int(-2...2), match: m,
                      action: PolicyAction(mirror: r.pick([.onAnomaly, .always, .never])))
    }

    /// A packet as the parser describes it, and the same facts for the reference.
    static func packet(_ r: inout Random) -> (bma_pkt_t, PolicyPacket, vm: Int, incoming: Bool) {
        let vm = r.int(0...vms.count - 1)
        let incoming = r.chance(30)
        var d = bma_pkt_t()
        var ref = PolicyPacket(vmID: vms[vm].id, vmName: vms[vm].name, direction: incoming ? .in : .out)
        d.pkt_len = UInt32(r.int(60...1600))
        ref.size = Int(d.pkt_len)
        if r.chance(40) {
            d.vlan_count = 1
            d.vlan_tci.0 = UInt16(r.int(0...2)) | UInt16(r.int(0...7)) << 13 // priority bits must not matter
            ref.vlan = d.vlan_tci.0 & 0x0fff
        }
        switch r.int(0...9) {
        case 0: // not IP nor ARP: no addresses, no ports
            d.l3 = UInt8(r.pick([BMA_L3_OTHER, BMA_L3_NONE]))
        case 1: // ARP: sender and target IPv4
            d.l3 = UInt8(BMA_L3_ARP)
            ref.protocol = .arp
            (d.src_ip_hi, d.src_ip_lo) = address(&r, ipv6: false)
            (d.dst_ip_hi, d.dst_ip_lo) = address(&r, ipv6: false)
        default:
            let v6 = r.chance(40)
            d.l3 = UInt8(v6 ? BMA_L3_IPV6 : BMA_L3_IPV4)
            (d.src_ip_hi, d.src_ip_lo) = address(&r, ipv6: v6)
            (d.dst_ip_hi, d.dst_ip_lo) = address(&r, ipv6: v6)
            let proto = r.pick([6, 17, 1, 58, 47] as [UInt8])
            d.ip_proto = proto
            ref.protocol = .ip(proto)
            if proto == 6 || proto == 17, !r.chance(10) { // a later fragment carries no ports
                d.flags |= UInt16(BMA_PF_L4)
                d.src_port = UInt16(r.int(0...50))
                d.dst_port = UInt16(r.int(0...50))
                ref.srcPort = d.src_port
                ref.dstPort = d.dst_port
            } else if proto == 1 || proto == 58 {
                d.flags |= UInt16(BMA_PF_L4) // type and code are valid; the ports stay 0
            }
        }
        ref.srcHi = d.src_ip_hi; ref.srcLo = d.src_ip_lo
        ref.dstHi = d.dst_ip_hi; ref.dstLo = d.dst_ip_lo
        return (d, ref, vm, incoming)
    }

    func testCompiledMatcherAgreesWithTheReferenceOnRandomRuleSetsAndPackets() throws {
        var r = Random(state: 0x5eed_0001)
        var cases = 0, matched = 0
        for round in 0..<400 {
            let policies = (0..<r.int(1...12)).map { Self.policy(id: UInt16($0 + 1), &r) }
            let set = try PolicySet(policies)
            let snapshot = PolicyTable.make(rules: PolicyCompiler.compile(set, vms: Self.vms), generation: 1)
            defer { PolicyTable.free(snapshot) }
            for _ in 0..<50 {
                var (d, ref, vm, incoming) = Self.packet(&r)
                let expected = set.decide(packet: ref)?.id
                let got = withUnsafePointer(to: &d) { snapshot.pointee.decide($0, vm: vm, incoming: incoming)?.pointee.id }
                cases += 1
                if expected != nil { matched += 1 }
                if got != expected {
                    XCTFail("round \(round): reference \(expected.map(String.init) ?? "none"), compiled \(got.map(String.init) ?? "none") for \(ref) under \(set.policies.map { String(decoding: $0.jsonData(), as: UTF8.self) })")
                    return
                }
            }
        }
        XCTAssertEqual(cases, 20_000)
        XCTAssertGreaterThan(matched, cases / 4, "the pools make policies match often enough to mean something")
    }
}
