import BMAContract
import Control
import Foundation
import XCTest

final class PolicyDecodingTests: XCTestCase {
    /// The example of docs/control-protocol.md, "Policies".
    static let contractExample = """
    {
      "id": 10, "name": "dns of web1", "priority": 100,
      "match": {
        "vms": ["web1", 102], "src_cidr": "10.0.0.0/8", "dst_cidr": "0.0.0.0/0", "vlan": 100,
        "protocol": "udp", "src_ports": "1024-65535", "dst_ports": "53,853", "size_min": 0,
        "size_max": 1500, "direction": "out"
      },
      "action": {
        "mirror": "always", "sensitivity": 2.0, "snaplen": 128,
        "rate_limit": {"packets_per_second": 1000, "bytes_per_second": 1000000},
        "sticky_seconds": 30, "pre_trigger_packets": 8, "encapsulation": "geneve"
      }
    }
    """

    func testContractExampleParsesEveryField() throws {
        let p = try Policy(jsonData: Data(Self.contractExample.utf8))
        XCTAssertEqual(p.id, 10)
        XCTAssertEqual(p.name, "dns of web1")
        XCTAssertEqual(p.priority, 100)
        XCTAssertEqual(p.match.vms, [.name("web1"), .id(102)])
        XCTAssertEqual(p.match.srcCIDR, CIDR("10.0.0.0/8"))
        XCTAssertEqual(p.match.dstCIDR?.description, "0.0.0.0/0")
        XCTAssertEqual(p.match.vlan, 100)
        XCTAssertEqual(p.match.protocol, .udp)
        XCTAssertEqual(p.match.srcPorts?.ranges, [1024...65535])
        XCTAssertEqual(p.match.dstPorts?.ranges, [53...53, 853...853])
        XCTAssertEqual(p.match.sizeMin, 0)
        XCTAssertEqual(p.match.sizeMax, 1500)
        XCTAssertEqual(p.match.direction, .out)
        XCTAssertEqual(p.action.mirror, .always)
        XCTAssertEqual(p.action.sensitivity, 2.0)
        XCTAssertEqual(p.action.snaplen, 128)
        XCTAssertEqual(p.action.rateLimit, .init(packetsPerSecond: 1000, bytesPerSecond: 1_000_000))
        XCTAssertEqual(p.action.stickySeconds, 30)
        XCTAssertEqual(p.action.preTriggerPackets, 8)
        XCTAssertEqual(p.action.encapsulation, "geneve")
    }

    func testDefaults() throws {
        let p = try Policy(json: ["id": 1])
        XCTAssertEqual(p, Policy(id: 1))
        XCTAssertNil(p.name)
        XCTAssertEqual(p.priority, 0)
        XCTAssertEqual(p.match, PolicyMatch())
        XCTAssertEqual(p.match.direction, .out)
        XCTAssertEqual(p.action.mirror, .onAnomaly)
        XCTAssertNil(p.action.sensitivity)
        // null counts as absent
        XCTAssertEqual(try Policy(json: ["id": 1, "name": .null, "match": ["vlan": .null]]), Policy(id: 1))
    }

    func match(_ m: JSONValue) throws -> PolicyMatch { try Policy(json: ["id": 1, "match": m]).match }

    func action(_ a: JSONValue) throws -> PolicyAction { try Policy(json: ["id": 1, "action": a]).action }

    func testFieldVariants() throws {

        for (text, proto) in [("tcp", PolicyProtocol.tcp), ("UDP", .udp), ("icmp", .icmp), ("icmpv6", .icmpv6),
                              ("arp", .arp), ("47", .ip(47))] {
            XCTAssertEqual(try match(["protocol": .string(text)]).protocol, proto, text)
        }
        XCTAssertEqual(try match(["protocol": 0]).protocol, .ip(0))
        XCTAssertEqual(try match(["protocol": 255]).protocol, .ip(255))
        XCTAssertEqual(try match(["protocol": 6]).protocol, .tcp)
        XCTAssertEqual(try match(["direction": "in"]).direction, .in)
        XCTAssertEqual(try match(["direction": "both"]).direction, .both)
        XCTAssertEqual(try match(["dst_ports": 53]).dstPorts?.description, "53")
        XCTAssertEqual(try match(["dst_ports": [853, "1000-2000", 53]]).dstPorts?.description, "53,853,1000-2000")
        XCTAssertEqual(try match(["vms": [7]]).vms, [.id(7)])
        XCTAssertEqual(try match(["src_cidr": "2001:DB8::1/32"]).srcCIDR?.description, "2001:db8::/32")
        XCTAssertEqual(try match(["vlan": 0]).vlan, 0)
        XCTAssertEqual(try match(["vlan": 4095]).vlan, 4095)
        XCTAssertEqual(try match(["size_min": 100, "size_max": 100]).sizeMax, 100)

        XCTAssertEqual(try action(["mirror": "on-anomaly"]).mirror, .onAnomaly)
        XCTAssertEqual(try action(["mirror": "never"]).mirror, .never)
        XCTAssertEqual(try action(["snaplen": 0]).snaplen, 0)
        XCTAssertEqual(try action(["snaplen": 64]).snaplen, 64)
        XCTAssertEqual(try action(["snaplen": 65535]).snaplen, 65535)
        XCTAssertEqual(try action(["sensitivity": 0]).sensitivity, 0)
        XCTAssertEqual(try action(["sensitivity": 100]).sensitivity, 100)
        XCTAssertEqual(try action(["rate_limit": ["packets_per_second": 0]]).rateLimit, .init(packetsPerSecond: 0))
        XCTAssertEqual(try action(["rate_limit": ["bytes_per_second": 1.5]]).rateLimit, .init(bytesPerSecond: 1.5))
        XCTAssertEqual(try action(["sticky_seconds": 86400]).stickySeconds, 86400)
        XCTAssertEqual(try action(["sticky_seconds": 0.5]).stickySeconds, 0.5)
        XCTAssertEqual(try action(["pre_trigger_packets": 64]).preTriggerPackets, 64)
        for e in ["none", "vxlan", "geneve", "erspan2"] { XCTAssertEqual(try action(["encapsulation": .string(e)]).encapsulation, e) }

        XCTAssertEqual(try Policy(json: ["id": 65535, "priority": -1000]).priority, -1000)
        XCTAssertEqual(try Policy(json: ["id": 1, "priority": 1000]).priority, 1000)
        XCTAssertEqual(try Policy(json: ["id": 10.0]).id, 10, "an integral JSON number is a whole number")
    }

    func testIdOptionalOnlyWhenAsked() throws {
        XCTAssertEqual(try Policy(json: ["priority": 5], idRequired: false).id, Policy.unassignedID)
        XCTAssertThrowsError(try Policy(json: ["priority": 5])) { XCTAssertEqual(($0 as? PolicyError)?.field, "id") }
        // an explicit 0 is never "absent"
        XCTAssertThrowsError(try Policy(json: ["id": 0], idRequired: false)) { XCTAssertEqual(($0 as? PolicyError)?.field, "id") }
    }

    /// Booleans are not numbers.
    func testBooleansAreNotNumbers() throws {
        XCTAssertThrowsError(try Policy(json: ["id": true])) { XCTAssertEqual(($0 as? PolicyError)?.field, "id") }
        XCTAssertThrowsError(try Policy(json: ["id": 1, "match": ["vlan": false]])) {
            XCTAssertEqual(($0 as? PolicyError)?.field, "match.vlan")
        }
        let p = try Policy(json: ["id": 7, "priority": -3, "match": ["vlan": 12, "vms": ["a", 3]],
                                  "action": ["sensitivity": 1.5, "snaplen": 64]])
        XCTAssertEqual(p, Policy(id: 7, priority: -3, match: PolicyMatch(vms: [.name("a"), .id(3)], vlan: 12),
                                 action: PolicyAction(sensitivity: 1.5, snaplen: 64)))
    }

    /// Every validation error names the field.
    func testErrorsNameTheField() {
        let cases: [(String, String)] = [
            (#"{"match": {}}"#, "id"),
            (#"{"id": 0}"#, "id"),
            (#"{"id": 65536}"#, "id"),
            (#"{"id": -1}"#, "id"),
            (#"{"id": 1.5}"#, "id"),
            (#"{"id": "10"}"#, "id"),
            (#"{"id": true}"#, "id"),
            (#"{"id": 1, "name": ""}"#, "name"),
            (#"{"id": 1, "name": 5}"#, "name"),
            (#"{"id": 1, "name": "a\nb"}"#, "name"),
            (#"{"id": 1, "name": "\#(String(repeating: "x", count: 129))"}"#, "name"),
            (#"{"id": 1, "priority": 1001}"#, "priority"),
            (#"{"id": 1, "priority": -1001}"#, "priority"),
            (#"{"id": 1, "bogus": 1}"#, "bogus"),
            (#"{"id": 1, "match": []}"#, "match"),
            (#"{"id": 1, "match": {"bogus": 1}}"#, "match.bogus"),
            (#"{"id": 1, "match": {"vms": []}}"#, "match.vms"),
            (#"{"id": 1, "match": {"vms": "web1"}}"#, "match.vms"),
            (#"{"id": 1, "match": {"vms": ["web1", "bad name"]}}"#, "match.vms[1]"),
            (#"{"id": 1, "match": {"vms": ["web1", 0]}}"#, "match.vms[1]"),
            (#"{"id": 1, "match": {"vms": [16777216]}}"#, "match.vms[0]"),
            (#"{"id": 1, "match": {"vms": [true]}}"#, "match.vms[0]"),
            (#"{"id": 1, "match": {"src_cidr": "10.0.0.0/33"}}"#, "match.src_cidr"),
            (#"{"id": 1, "match": {"dst_cidr": "10.0.0.0/33"}}"#, "match.dst_cidr"),
            (#"{"id": 1, "match": {"dst_cidr": "2001:db8::/129"}}"#, "match.dst_cidr"),
            (#"{"id": 1, "match": {"dst_cidr": "10.0.0/8"}}"#, "match.dst_cidr"),
            (#"{"id": 1, "match": {"dst_cidr": 10}}"#, "match.dst_cidr"),
            (#"{"id": 1, "match": {"vlan": 4096}}"#, "match.vlan"),
            (#"{"id": 1, "match": {"vlan": -1}}"#, "match.vlan"),
            (#"{"id": 1, "match": {"protocol": "gre"}}"#, "match.protocol"),
            (#"{"id": 1, "match": {"protocol": 256}}"#, "match.protocol"),
            (#"{"id": 1, "match": {"protocol": true}}"#, "match.protocol"),
            (#"{"id": 1, "match": {"src_ports": "70000"}}"#, "match.src_ports"),
            (#"{"id": 1, "match": {"dst_ports": "2000-1000"}}"#, "match.dst_ports"),
            (#"{"id": 1, "match": {"dst_ports": "53,,80"}}"#, "match.dst_ports"),
            (#"{"id": 1, "match": {"dst_ports": ""}}"#, "match.dst_ports"),
            (#"{"id": 1, "match": {"dst_ports": []}}"#, "match.dst_ports"),
            (#"{"id": 1, "match": {"dst_ports": [53, "x"]}}"#, "match.dst_ports[1]"),
            (#"{"id": 1, "match": {"dst_ports": [53, 65536]}}"#, "match.dst_ports[1]"),
            (#"{"id": 1, "match": {"dst_ports": "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33"}}"#, "match.dst_ports"),
            (#"{"id": 1, "match": {"size_min": -1}}"#, "match.size_min"),
            (#"{"id": 1, "match": {"size_max": 65536}}"#, "match.size_max"),
            (#"{"id": 1, "match": {"size_min": 200, "size_max": 100}}"#, "match.size_max"),
            (#"{"id": 1, "match": {"direction": "up"}}"#, "match.direction"),
            (#"{"id": 1, "action": 1}"#, "action"),
            (#"{"id": 1, "action": {"mirror": "sometimes"}}"#, "action.mirror"),
            (#"{"id": 1, "action": {"mirror": "on_anomaly"}}"#, "action.mirror"),
            (#"{"id": 1, "action": {"sensitivity": -0.1}}"#, "action.sensitivity"),
            (#"{"id": 1, "action": {"sensitivity": 100.5}}"#, "action.sensitivity"),
            (#"{"id": 1, "action": {"sensitivity": "high"}}"#, "action.sensitivity"),
            (#"{"id": 1, "action": {"snaplen": 63}}"#, "action.snaplen"),
            (#"{"id": 1, "action": {"snaplen": 1}}"#, "action.snaplen"),
            (#"{"id": 1, "action": {"snaplen": 65536}}"#, "action.snaplen"),
            (#"{"id": 1, "action": {"rate_limit": 5}}"#, "action.rate_limit"),
            (#"{"id": 1, "action": {"rate_limit": {}}}"#, "action.rate_limit"),
            (#"{"id": 1, "action": {"rate_limit": {"packets_per_second": -1}}}"#, "action.rate_limit.packets_per_second"),
            (#"{"id": 1, "action": {"rate_limit": {"bytes_per_second": -1}}}"#, "action.rate_limit.bytes_per_second"),
            (#"{"id": 1, "action": {"rate_limit": {"pps": 1}}}"#, "action.rate_limit.pps"),
            (#"{"id": 1, "action": {"sticky_seconds": 86401}}"#, "action.sticky_seconds"),
            (#"{"id": 1, "action": {"sticky_seconds": -1}}"#, "action.sticky_seconds"),
            (#"{"id": 1, "action": {"pre_trigger_packets": 65}}"#, "action.pre_trigger_packets"),
            (#"{"id": 1, "action": {"pre_trigger_packets": 2.5}}"#, "action.pre_trigger_packets"),
            (#"{"id": 1, "action": {"encapsulation": "gre"}}"#, "action.encapsulation"),
            (#"{"id": 1, "action": {"bogus": 1}}"#, "action.bogus"),
            (#"[1, 2]"#, ""),
            (#"{"id": 1"#, ""),
        ]
        for (json, field) in cases {
            XCTAssertThrowsError(try Policy(jsonData: Data(json.utf8)), json) { error in
                guard let e = error as? PolicyError else { return XCTFail("\(json): \(error)") }
                XCTAssertEqual(e.field, field, "\(json): \(e)")
                XCTAssertEqual(e.kind, .invalidParams, json)
                XCTAssertFalse(e.message.isEmpty, json)
            }
            // Decodable agrees (for valid JSON; broken JSON is the decoder's own DecodingError)
            guard (try? JSONSerialization.jsonObject(with: Data(json.utf8))) != nil else { continue }
            XCTAssertThrowsError(try JSONDecoder().decode(Policy.self, from: Data(json.utf8)), json) { error in
                XCTAssertEqual((error as? PolicyError)?.field, field, "JSONDecoder, \(json): \(error)")
            }
        }
    }

    func testMessagesReadWell() {
        func message(_ json: String) -> String {
            do {
                _ = try Policy(jsonData: Data(json.utf8))
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertTrue(message(#"{"id": 1, "match": {"dst_cidr": "10.0.0.0/33"}}"#)
            .hasPrefix("match.dst_cidr: '10.0.0.0/33' is not a CIDR"))
        XCTAssertEqual(message(#"{"id": 70000}"#), "id: 70000 is out of range (1 to 65535)")
        XCTAssertEqual(message(#"{"id": 1, "action": {"mirror": "sometimes"}}"#),
                       "action.mirror: 'sometimes': use on-anomaly, always or never")
        XCTAssertEqual(message(#"{"id": 1, "action": {"sensitivity": 101}}"#), "action.sensitivity: 101 is out of range (0 to 100)")
        XCTAssertTrue(message(#"{"id": 1, "match": {"dst_prots": "53"}}"#).hasPrefix("match.dst_prots: unknown field"))
    }

    func testSwiftBuiltPoliciesAreValidatedToo() {
        let bad: [(Policy, String)] = [
            (Policy(id: 1, priority: 2000), "priority"),
            (Policy(id: 1, match: PolicyMatch(vlan: 5000)), "match.vlan"),
            (Policy(id: 1, match: PolicyMatch(vms: [])), "match.vms"),
            (Policy(id: 1, match: PolicyMatch(vms: [.id(0)])), "match.vms[0]"),
            (Policy(id: 1, match: PolicyMatch(sizeMin: 10, sizeMax: 5)), "match.size_max"),
            (Policy(id: 1, action: PolicyAction(sensitivity: .nan)), "action.sensitivity"),
            (Policy(id: 1, action: PolicyAction(snaplen: 10)), "action.snaplen"),
            (Policy(id: 1, action: PolicyAction(rateLimit: .init(packetsPerSecond: .infinity))), "action.rate_limit.packets_per_second"),
            (Policy(id: 1, action: PolicyAction(encapsulation: "gre")), "action.encapsulation"),
            (Policy(), "id"),
        ]
        for (p, field) in bad {
            XCTAssertThrowsError(try p.validate(), "\(p)") { XCTAssertEqual(($0 as? PolicyError)?.field, field) }
        }
        XCTAssertNoThrow(try Policy().validate(idRequired: false))
    }
}
