import XCTest

@testable import Dataplane

/// Reason codes: one bit each, with the documented kebab-case names.
final class ReasonTests: XCTestCase {
    private let documented: [(Reason, String)] = [
        (.newDestination, "new-destination"), (.newService, "new-service"), (.fanOut, "fan-out"),
        (.portScan, "port-scan"), (.rateSpike, "rate-spike"), (.sizeOutlier, "size-outlier"),
        (.protocolShift, "protocol-shift"),
    ]

    func testNamesAreTheDocumentedOnes() {
        XCTAssertEqual(Reason.all.count, documented.count)
        for (r, name) in documented {
            XCTAssertEqual(r.names, [name])
            XCTAssertTrue(Reason.all.contains { $0.0 == r && $0.1 == name }, name)
        }
        for (_, name) in Reason.all {
            XCTAssertNotNil(name.wholeMatch(of: /[a-z]+(-[a-z]+)*/), "\(name) is kebab-case")
        }
    }

    func testNamedRoundTrips() {
        for (r, name) in Reason.all {
            XCTAssertEqual(Reason.named(name), r)
            XCTAssertEqual(Reason.named(name)?.names, [name])
        }
        XCTAssertNil(Reason.named("rate_spike"))
        XCTAssertNil(Reason.named("Fan-Out"))
        XCTAssertNil(Reason.named(""))
    }

    func testOneDistinctBitEach() {
        var union: UInt32 = 0
        for (r, name) in Reason.all {
            XCTAssertEqual(r.rawValue.nonzeroBitCount, 1, name)
            XCTAssertEqual(union & r.rawValue, 0, "\(name) shares a bit")
            union |= r.rawValue
        }
    }

    func testNamesOfASetFollowTheDocumentedOrder() {
        let r: Reason = [.protocolShift, .newDestination, .portScan]
        XCTAssertEqual(r.names, ["new-destination", "port-scan", "protocol-shift"])
        XCTAssertEqual(Reason().names, [])
        let every = Reason.all.reduce(Reason()) { $0.union($1.0) }
        XCTAssertEqual(every.names, documented.map(\.1))
        // Unknown bits have no name.
        XCTAssertEqual(Reason(rawValue: 1 << 31).names, [])
        XCTAssertEqual(Reason(rawValue: 1 << 31 | Reason.fanOut.rawValue).names, ["fan-out"])
    }
}
