import Control
import XCTest

final class ProtocolParamsTests: XCTestCase {
    let p = Params([
        "s": "text", "i": 42, "d": 2.5, "b": true, "n": .null, "vmName": "web1", "vmID": 101,
        "match": ["dst_cidr": "10.0.0.0/33", "vlan": 100], "list": [1, 2],
    ])

    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            guard let e = error as? ControlError else {
                XCTFail("not a ControlError: \(error)")
                return nil
            }
            XCTAssertEqual(e.code, .invalidParams)
            return e.message
        }
    }

    func testValues() throws {
        XCTAssertEqual(try p.string("s"), "text")
        XCTAssertEqual(try p.int("i", in: 1...100), 42)
        XCTAssertEqual(try p.double("d"), 2.5)
        XCTAssertEqual(try p.double("i"), 42)
        XCTAssertEqual(try p.bool("b"), true)
        XCTAssertNil(try p.optionalString("n"), "null counts as absent")
        XCTAssertNil(try p.optionalInt("absent"))
        XCTAssertNil(try p.optionalDouble("absent"))
        XCTAssertNil(try p.optionalBool("absent"))
        XCTAssertNil(try p.optionalVM("absent"))
        XCTAssertEqual(try p.vm("vmName"), .name("web1"))
        XCTAssertEqual(try p.vm("vmID"), .id(101))
        XCTAssertEqual(try Params(["vm": 7]).vm(), .id(7))
        XCTAssertEqual(try p.array("list"), [1, 2])
        XCTAssertEqual(try p.object("match").int("vlan"), 100)
        XCTAssertNoThrow(try Params(["a": 1]).rejectUnknown(allowing: ["a", "b"]))
    }

    func testErrorsNameTheParameter() {
        XCTAssertEqual(message { _ = try p.string("missing") }, "missing: is required (a string)")
        XCTAssertEqual(message { _ = try p.string("n") }, "n: is required (a string)")
        XCTAssertEqual(message { _ = try p.string("i") }, "i: must be a string, got a number")
        XCTAssertEqual(message { _ = try p.int("d") }, "d: must be an integer, got 2.5")
        XCTAssertEqual(message { _ = try p.int("s") }, "s: must be an integer, got a string")
        XCTAssertEqual(message { _ = try p.int("i", in: 1...10) }, "i: must be between 1 and 10, got 42")
        XCTAssertEqual(message { _ = try p.double("d", in: 0...1) }, "d: must be between 0 and 1, got 2.5")
        XCTAssertEqual(message { _ = try p.double("b") }, "b: must be a number, got a boolean")
        XCTAssertEqual(message { _ = try p.bool("s") }, "s: must be true or false, got a string")
        XCTAssertEqual(message { _ = try p.vm() }, "vm: is required (a VM name or id)")
        XCTAssertEqual(message { _ = try p.vm("d") }?.hasPrefix("d: a VM id must be an integer between 1 and 16777215"), true)
        XCTAssertEqual(message { _ = try Params(["vm": 0]).vm() }?.hasPrefix("vm: a VM id"), true)
        XCTAssertEqual(message { _ = try Params(["vm": ""]).vm() }, "vm: must be a VM name or id, got an empty string")
        XCTAssertEqual(message { _ = try Params(["vm": [1]]).vm() }, "vm: must be a VM name or id, got an array")
        XCTAssertEqual(message { _ = try p.object("match").int("dst_cidr") }, "match.dst_cidr: must be an integer, got a string")
        XCTAssertEqual(message { _ = try p.object("s") }, "s: must be an object, got a string")
        XCTAssertEqual(message { _ = try p.array("s") }, "s: must be an array, got a string")
        XCTAssertEqual(message { try Params(["a": 1, "zz": 2]).rejectUnknown(allowing: ["a"]) }, "zz: unknown parameter")
    }
}
