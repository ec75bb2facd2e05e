import Control
import Foundation
import XCTest

final class ProtocolJSONValueTests: XCTestCase {
    func roundTrip(_ value: JSONValue, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = value.encodedBytes()
        XCTAssertFalse(bytes.contains(UInt8(ascii: "\n")), "newline inside \(value)", file: file, line: line)
        XCTAssertEqual(try JSONValue.parse(bytes), value, file: file, line: line)
    }

    func testRoundTrips() {
        let values: [JSONValue] = [
            .null, true, false, 0, 1, -1, 0.1, -2.5e-7, 1e300, 123456.789,
            9_007_199_254_740_992, -9_007_199_254_740_992, 9_007_199_254_740_991,
            "", "plain", "quote \" backslash \\ slash /", "line\nbreak\r\ttab\u{0}nul\u{1F}us",
            "unicode é ü 中文 😀 \u{2028}", [], [1, "a", .null, [true]], [:],
            ["b": 1, "a": ["x": [1, 2, 3]], "": .null, "ключ": "значение"],
        ]
        for v in values { roundTrip(v) }
        roundTrip(.array(values))
    }

    func testEncodingIsOneSortedLine() {
        let v: JSONValue = ["b": 1, "a": [true, .null], "c": ["z": "1\n2", "y": 2.5]]
        XCTAssertEqual(v.encodedString(), #"{"a":[true,null],"b":1,"c":{"y":2.5,"z":"1\n2"}}"#)
        XCTAssertEqual(v.encodedLine().last, UInt8(ascii: "\n"))
        XCTAssertEqual(v.encodedLine().filter { $0 == UInt8(ascii: "\n") }.count, 1)
        XCTAssertEqual(JSONValue.string("\u{1}\u{8}\u{C}").encodedString(), #""\u0001\b\f""#)
    }

    func testIntegersStayExact() throws {
        XCTAssertEqual(JSONValue(9_007_199_254_740_991).encodedString(), "9007199254740991")
        XCTAssertEqual(JSONValue(-9_007_199_254_740_992).encodedString(), "-9007199254740992")
        XCTAssertEqual(JSONValue.number(3).encodedString(), "3")
        XCTAssertEqual(JSONValue.number(-0.0).encodedString(), "0")
        XCTAssertEqual(try JSONValue.parse("9007199254740991").intValue, 9_007_199_254_740_991)
        XCTAssertEqual(try JSONValue.parse("4294967296").intValue, 4_294_967_296)
        XCTAssertEqual(try JSONValue.parse("1.0").intValue, 1)
        XCTAssertEqual(try JSONValue.parse("1e3").intValue, 1000)
        XCTAssertNil(try JSONValue.parse("1.5").intValue)
        XCTAssertNil(try JSONValue.parse("18014398509481984").intValue, "beyond 2^53 is not exact")
        XCTAssertEqual(try JSONValue.parse("0.1").doubleValue, 0.1)
        XCTAssertEqual(JSONValue.number(.infinity).encodedString(), "null")
        XCTAssertEqual(JSONValue.number(.nan).encodedString(), "null")
    }

    func testAccessors() throws {
        let v = try JSONValue.parse(#"{"s":"x","i":7,"d":2.5,"b":true,"a":[1,2],"o":{"k":null}}"#)
        XCTAssertEqual(v["s"]?.stringValue, "x")
        XCTAssertEqual(v["i"]?.intValue, 7)
        XCTAssertEqual(v["d"]?.doubleValue, 2.5)
        XCTAssertEqual(v["b"]?.boolValue, true)
        XCTAssertEqual(v["a"]?[1], 2)
        XCTAssertNil(v["a"]?[2])
        XCTAssertEqual(v["a"]?.arrayValue?.count, 2)
        XCTAssertEqual(v["o"]?.objectValue?.keys.sorted(), ["k"])
        XCTAssertEqual(v["o"]?["k"]?.isNull, true)
        XCTAssertNil(v["missing"])
        XCTAssertNil(v["s"]?.intValue)
        XCTAssertNil(v["i"]?.stringValue)
        XCTAssertNil(JSONValue.string("x")["k"])
        XCTAssertEqual(v["o"]?.typeName, "an object")
    }

    func testMalformedTextIsAnErrorNeverATrap() {
        var inputs: [[UInt8]] = [
            "", " ", "{", "}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{a:1}", "[1,]", "[1 2]", "01", "1.", "-", ".5",
            "1e", "+1", "tru", "nul", "NaN", "Infinity", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\uD800\"",
            "\"\\uDC00\"", "\"\\uD800\\u0041\"", "1e400", "-1e400", "{} x", "[] []", "'single'",
        ].map { Array($0.utf8) }
        inputs.append([0x22, 0x01, 0x22])  // raw control character in a string
        inputs.append([0x7B, 0x00, 0x7D])  // NUL
        inputs.append([0x22, 0xFF, 0x22])  // invalid UTF-8
        inputs.append([0x22, 0xC3, 0x22])  // truncated UTF-8 sequence
        inputs.append([0x22, 0xED, 0xA0, 0x80, 0x22])  // encoded surrogate
        inputs.append(Array(repeating: UInt8(ascii: "["), count: 100_000))
        inputs.append(Array(repeating: UInt8(ascii: "{"), count: 100_000))
        for input in inputs {
            XCTAssertThrowsError(try JSONValue.parse(input), "\(input.prefix(20))")
        }
        let deepOK = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertNoThrow(try JSONValue.parse(deepOK))
        let tooDeep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        XCTAssertThrowsError(try JSONValue.parse(tooDeep))
    }

    func testEscapesAndWhitespace() throws {
        XCTAssertEqual(try JSONValue.parse(#" "\u00e9\ud83d\ude00\/\n" "#), "é😀/\n")
        XCTAssertEqual(try JSONValue.parse("\t{ \"a\" :\r\n[ ] }\r"), ["a": []])
        XCTAssertEqual(try JSONValue.parse(#"{"a":1,"a":2}"#), ["a": 1], "the first duplicate wins (Foundation's JSONDecoder)")
        XCTAssertEqual(try JSONValue.parse(#""\u0000""#), .string("\u{0}"))
    }

    func testCodable() throws {
        struct Sample: Codable, Equatable {
            var name: String
            var count: Int
            var ratio: Double
            var tags: [String]
            var nested: [String: Bool]
        }
        let sample = Sample(name: "web1", count: 9_007_199_254_740_991, ratio: 0.25, tags: ["a"], nested: ["x": true])
        let value = try JSONValue(encoding: sample)
        XCTAssertEqual(value["count"]?.intValue, 9_007_199_254_740_991)
        XCTAssertEqual(value["nested"]?["x"], true)
        XCTAssertEqual(try value.decode(as: Sample.self), sample)

        let v: JSONValue = ["a": [1, 2.5, "s", true, .null, ["k": []]]]
        let data = try JSONEncoder().encode(v)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: data), v)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: Data("[true,1,0]".utf8)), [true, 1, 0])
    }

    /// Mutations of a valid document never trap; whatever still parses re-encodes to itself.
    func testMutatedDocumentsNeverTrap() throws {
        let seed = Array(#"{"id":1,"method":"policy.add","params":{"id":10,"name":"dns \u00e9","match":{"vms":["web1",102],"src_ports":"1024-65535","size_max":1500.5},"action":{"mirror":"always","rate_limit":{"packets_per_second":1e3}}}}"#.utf8)
        var rng = ProtocolTestRandom(seed: 42)
        let interesting: [UInt8] = [0x00, 0x0A, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x2D, 0x2E, 0x65, 0x30, 0x75, 0xC3, 0xFF, 0xED, 0x80]
        for _ in 0..<5000 {
            var doc = seed
            for _ in 0...(rng.next() % 4) {
                let i = Int(rng.next() % UInt64(doc.count))
                switch rng.next() % 3 {
                case 0: doc[i] = interesting[Int(rng.next() % UInt64(interesting.count))]
                case 1: doc.remove(at: i)
                default: doc.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                }
            }
            if let value = try? JSONValue.parse(doc) {
                XCTAssertEqual(try JSONValue.parse(value.encodedBytes()), value)
                XCTAssertFalse(value.encodedBytes().contains(0x0A))
            }
            _ = try? ControlRequest(line: doc)
        }
    }
}

/// A small deterministic random number generator for the mutation tests.
struct ProtocolTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
