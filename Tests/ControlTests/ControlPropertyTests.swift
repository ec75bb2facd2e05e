import Control
import Foundation
import XCTest

/// Seeded property tests (thousands of cases each, no EAL): whatever a client or an operator
/// hands the control plane, the request decoder, the policy validator and the configuration
/// loader answer with a value that round-trips or with a typed error, and never trap.
final class ControlPropertyTests: XCTestCase {
    /// SplitMix64: the same cases on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let words = ["", "policy.add", "stats", "udp", "tcp", "10.0.0.0/8", "10.0.0.0/33", "1-70000", "53,853",
                        "always", "never", "on-anomaly", "geneve", "web1", "in", "out", "\u{0}", "é", "\\", "\"", "-1"]
    static let numbers: [Double] = [0, 1, -1, 0.5, 65535, 65536, 4_294_967_296, -9e18, 1e300, 9_007_199_254_740_993]

    static func value(_ r: inout Seeded, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 2 ? 4 : 6), using: &r) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &r))
        case 2: return .number(numbers.randomElement(using: &r)!)
        case 3: return .string(words.randomElement(using: &r)!)
        case 4: return .array((0..<Int.random(in: 0...3, using: &r)).map { _ in value(&r, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &r) { o[words.randomElement(using: &r)!] = value(&r, depth: depth + 1) }
            return .object(o)
        }
    }

    static func mutate(_ bytes: [UInt8], _ r: inout Seeded) -> [UInt8] {
        var b = bytes
        for _ in 0..<Int.random(in: 1...3, using: &r) where !b.isEmpty {
            let at = Int.random(in: 0..<b.count, using: &r)
            switch Int.random(in: 0..<4, using: &r) {
            case 0: b[at] ^= 1 << UInt8.random(in: 0...7, using: &r)
            case 1: b.removeSubrange(at...)
            case 2: b.insert(UInt8.random(in: 0...255, using: &r), at: at)
            default: b[at] = Array("{}[]\",:0-e.\\".utf8).randomElement(using: &r)!
            }
        }
        return b
    }

    func testRequestDecoderRoundTripsValidRequestsAndRejectsTheRestWithAnswerableErrors() throws {
        var r = Seeded(state: 0xC0_47_20_1)
        var accepted = 0, rejected = 0
        for i in 0..<10_000 {
            var params: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &r) { params[Self.words.randomElement(using: &r)!] = Self.value(&r) }
            let method = Self.words.filter { !$0.isEmpty }.randomElement(using: &r)!
            let id: JSONValue? = [nil, .number(Double(i)), .string("r\(i)")].randomElement(using: &r)!
            let request = ControlRequest(id: id, method: method, params: params)
            // A valid request decodes to itself.
            XCTAssertEqual(try ControlRequest(line: request.encodedLine()), request)
            // Anything else: a request that re-encodes to itself, or an error that can be answered.
            let line = i % 3 == 0 ? Self.value(&r).encodedLine() : Self.mutate(request.encodedLine(), &r)
            do {
                let decoded = try ControlRequest(line: line)
                XCTAssertEqual(try ControlRequest(line: decoded.encodedLine()), decoded)
                accepted += 1
            } catch {
                let response = try ControlResponse(line: error.response.encodedLine())
                XCTAssertEqual(response.id, error.id)
                XCTAssertTrue([.parseError, .invalidRequest].contains(error.error.code))
                if case .some(let id) = error.id {
                    XCTAssertTrue(id.stringValue != nil || id.doubleValue != nil, "rejection id \(id)")
                }
                rejected += 1
            }
        }
        XCTAssertGreaterThan(accepted, 300)
        XCTAssertGreaterThan(rejected, 1_000)
    }

    static var policy: [String: Any] { [
        "id": 10, "name": "dns of web1", "priority": 100,
        "match": ["vms": ["web1", 102], "src_cidr": "10.0.0.0/8", "dst_cidr": "0.0.0.0/0", "vlan": 100,
                  "protocol": "udp", "src_ports": "1024-65535", "dst_ports": "53,853", "size_min": 0,
                  "size_max": 1500, "direction": "out"] as [String: Any],
        "action": ["mirror": "always", "sensitivity": 2.0, "snaplen": 128,
                   "rate_limit": ["packets_per_second": 1000, "bytes_per_second": 1000000] as [String: Any],
                   "sticky_seconds": 30, "pre_trigger_packets": 8, "encapsulation": "geneve"] as [String: Any],
    ] }

    static func anyValue(_ r: inout Seeded) -> Any {
        switch Int.random(in: 0..<7, using: &r) {
        case 0: return NSNull()
        case 1: return Bool.random(using: &r)
        case 2: return numbers.randomElement(using: &r)!
        case 3: return Int.random(in: -2...70_000, using: &r)
        case 4: return words.randomElement(using: &r)!
        case 5: return [words.randomElement(using: &r)!, Int.random(in: 0...5, using: &r)] as [Any]
        default: return [words.randomElement(using: &r)!: Int.random(in: 0...5, using: &r)] as [String: Any]
        }
    }

    func testPolicyValidatorAcceptsOnlyPoliciesThatRoundTripAndNamesTheFieldOfEveryRejection() {
        var r = Seeded(state: 0x90_11C7)
        var accepted = 0, rejected = 0
        let sections = ["", "match", "action"]
        for _ in 0..<5_000 {
            var p = Self.policy
            for _ in 0..<Int.random(in: 1...3, using: &r) {
                let section = sections.randomElement(using: &r)!
                var target = section.isEmpty ? p : (p[section] as? [String: Any] ?? [:])
                let key = (Bool.random(using: &r) ? target.keys.sorted().randomElement(using: &r) : nil) ?? Self.words.randomElement(using: &r)!
                if Int.random(in: 0..<4, using: &r) == 0 { target[key] = nil } else { target[key] = Self.anyValue(&r) }
                if section.isEmpty { p = target } else { p[section] = target }
            }
            guard let data = try? JSONSerialization.data(withJSONObject: p) else { continue }
            do throws(PolicyError) {
                let policy = try Policy(jsonData: data)
                XCTAssertEqual(try Policy(jsonData: policy.jsonData()), policy, "\(p)")
                accepted += 1
            } catch {
                XCTAssertFalse(error.description.isEmpty)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(accepted, 200)
        XCTAssertGreaterThan(rejected, 1_000)
    }

    func testConfigLoaderGivesAConfigurationOrAFieldErrorForMutatedExamples() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/bmad.example.yaml")
        let example = try String(contentsOf: url, encoding: .utf8)
        XCTAssertNoThrow(try ConfigLoader.parse(example))
        let lines = example.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let tokens = ["", "0", "-1", "65536", "1e99", "yes", "~", "[]", "{}", "'x'", "\"", "a: b: c", "- 1", "&a", "*a",
                      "!!binary AAAA", "0x10", "02:00:00:00:00:zz", "999.1.1.1", "net_null0"]
        var r = Seeded(state: 0xC0_4F16)
        var loaded = 0, refused = 0
        for _ in 0..<3_000 {
            var l = lines
            for _ in 0..<Int.random(in: 1...3, using: &r) {
                let at = Int.random(in: 0..<l.count, using: &r)
                switch Int.random(in: 0..<5, using: &r) {
                case 0: l.remove(at: at)
                case 1: l.insert(l[at], at: at)
                case 2:
                    // Replace a value (what follows the first ': ').
                    if let colon = l[at].range(of: ": ") {
                        l[at] = String(l[at][..<colon.upperBound]) + tokens.randomElement(using: &r)!
                    }
                case 3: l[at] = String(repeating: " ", count: Int.random(in: 0...6, using: &r)) + l[at].trimmingCharacters(in: .whitespaces)
                default: l[at] = String(l[at].prefix(Int.random(in: 0...max(0, l[at].count), using: &r)))
                }
                if l.isEmpty { break }
            }
            do {
                _ = try ConfigLoader.parse(l.joined(separator: "\n"), requirePorts: Bool.random(using: &r))
                loaded += 1
            } catch {
                XCTAssertFalse(error.description.isEmpty)
                refused += 1
            }
        }
        XCTAssertGreaterThan(loaded, 100)
        XCTAssertGreaterThan(refused, 300)
    }
}
