import BMAContract
import Control
import Foundation
import XCTest

final class PolicyCodingTests: XCTestCase {
    static let full = Policy(
        id: 10, name: "dns of web1", priority: 100,
        match: PolicyMatch(vms: [.name("web1"), .id(102)], srcCIDR: CIDR("10.0.0.0/8"), dstCIDR: CIDR("2001:db8::/32"),
                           vlan: 100, protocol: .udp, srcPorts: PortSet("1024-65535"), dstPorts: PortSet("53,853"),
                           sizeMin: 0, sizeMax: 1500, direction: .both),
        action: PolicyAction(mirror: .always, sensitivity: 2.5, snaplen: 128,
                             rateLimit: .init(packetsPerSecond: 1000, bytesPerSecond: 1_000_000),
                             stickySeconds: 30, preTriggerPackets: 8, encapsulation: "geneve"))

    func testEncodingUsesContractNames() throws {
        let o = try XCTUnwrap(Self.full.json.objectValue)
        XCTAssertEqual(Set(o.keys), ["id", "name", "priority", "match", "action"])
        let m = try XCTUnwrap(o["match"]?.objectValue)
        XCTAssertEqual(Set(m.keys), ["vms", "src_cidr", "dst_cidr", "vlan", "protocol", "src_ports", "dst_ports",
                                     "size_min", "size_max", "direction"])
        XCTAssertEqual(m["src_cidr"], "10.0.0.0/8")
        XCTAssertEqual(m["protocol"], "udp")
        XCTAssertEqual(m["dst_ports"], "53,853")
        XCTAssertEqual(m["direction"], "both")
        let a = try XCTUnwrap(o["action"]?.objectValue)
        XCTAssertEqual(Set(a.keys), ["mirror", "sensitivity", "snaplen", "rate_limit", "sticky_seconds",
                                     "pre_trigger_packets", "encapsulation"])
        XCTAssertEqual(a["mirror"], "always")
        XCTAssertEqual(a["rate_limit"]?["packets_per_second"], 1000)

        let minimal = try XCTUnwrap(Policy(id: 3).json.objectValue)
        XCTAssertEqual(Set(minimal.keys), ["id", "priority", "match", "action"])
        XCTAssertEqual(minimal["match"], ["direction": "out"])
        XCTAssertEqual(minimal["action"], ["mirror": "on-anomaly"])
        XCTAssertEqual(Policy(id: 1, match: PolicyMatch(protocol: .ip(47))).json["match"]?["protocol"], 47)
    }

    func testRoundTrips() throws {
        let policies = [Self.full, Policy(id: 1), Policy(id: 2, match: PolicyMatch(protocol: .arp, direction: .in)),
                        Policy(id: 3, match: PolicyMatch(srcCIDR: CIDR("::/0"), protocol: .ip(200)),
                               action: PolicyAction(mirror: .never, rateLimit: .init(bytesPerSecond: 0.25)))]
        for p in policies {
            XCTAssertEqual(try Policy(jsonData: p.jsonData()), p)
            XCTAssertEqual(try Policy(json: p.json), p)
            XCTAssertEqual(try JSONDecoder().decode(Policy.self, from: JSONEncoder().encode(p)), p)
        }
        // an unassigned id is left out
        XCTAssertNil(Policy(priority: 3).json["id"])
    }

    func testDecodableThrowsPolicyErrorWithTheCodingPath() throws {
        struct Replace: Decodable { var policies: [Policy] }
        let json = #"{"policies": [{"id": 1}, {"id": 2, "match": {"vlan": 9999}}]}"#
        XCTAssertThrowsError(try JSONDecoder().decode(Replace.self, from: Data(json.utf8))) { error in
            XCTAssertEqual((error as? PolicyError)?.field, "policies[1].match.vlan", "\(error)")
        }
        let ok = try JSONDecoder().decode(Replace.self, from: Data(#"{"policies": [{"id": 1}, {"id": 2}]}"#.utf8))
        XCTAssertEqual(ok.policies.map(\.id), [1, 2])

        let d = JSONDecoder()
        XCTAssertThrowsError(try d.decode(Policy.self, from: Data(#"{"priority": 1}"#.utf8)))
        d.userInfo[.policyIDOptional] = true
        XCTAssertEqual(try d.decode(Policy.self, from: Data(#"{"priority": 1}"#.utf8)).id, Policy.unassignedID)
    }

    func testListNamesTheIndex() throws {
        XCTAssertEqual(try Policy.list(json: [["id": 1], ["id": 2]]).map(\.id), [1, 2])
        XCTAssertThrowsError(try Policy.list(json: [["id": 1], ["priority": 2]])) {
            XCTAssertEqual(($0 as? PolicyError)?.field, "policies[1].id")
        }
        XCTAssertThrowsError(try Policy.list(json: ["id": 1])) { XCTAssertEqual(($0 as? PolicyError)?.field, "policies") }
        XCTAssertThrowsError(try Policy.list(json: [["id": 1, "match": ["when": "now"]]])) {
            XCTAssertEqual(($0 as? PolicyError)?.field, "policies[0].match.when")
        }
    }
}
