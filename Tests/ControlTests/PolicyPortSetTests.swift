import Control
import XCTest

final class PolicyPortSetTests: XCTestCase {
    func testParseNormaliseAndMerge() {
        let cases: [(String, String)] = [
            ("53", "53"),
            ("53,853", "53,853"),
            ("853,53", "53,853"),
            ("53, 853 , 1000-2000", "53,853,1000-2000"),
            ("1000-2000,1500-2500", "1000-2500"),
            ("1-5,6-9", "1-9"),
            ("1-5,7-9", "1-5,7-9"),
            ("80,80,80", "80"),
            ("0-65535", "0-65535"),
            ("0,65535", "0,65535"),
            ("100-100", "100"),
            ("5,4,3,2,1", "1-5"),
            ("1-65535,0", "0-65535"),
            ("10-20,15,12-18", "10-20"),
        ]
        for (text, canonical) in cases { XCTAssertEqual(PortSet(text)?.description, canonical, text) }
        XCTAssertEqual(PortSet("53,853,1000-2000")?.ranges, [53...53, 853...853, 1000...2000])
    }

    func testRejects() {
        for bad in ["", ",", "53,", ",53", "53,,80", "-", "1-", "-1", "1-2-3", "65536", "2000-1000", "x", "53a", "+53",
                    "0x35", "１２"] {
            XCTAssertNil(PortSet(bad), bad)
        }
        XCTAssertNil(PortSet([]))
    }

    func testAtMostSixteenRangesAfterMerging() {
        let sixteen = (0..<16).map { String($0 * 2) }.joined(separator: ",")
        XCTAssertEqual(PortSet(sixteen)?.ranges.count, 16)
        let seventeen = (0..<17).map { String($0 * 2) }.joined(separator: ",")
        XCTAssertNil(PortSet(seventeen))
        // many items that merge into few ranges are fine
        let adjacent = (0..<1000).map(String.init).joined(separator: ",")
        XCTAssertEqual(PortSet(adjacent)?.description, "0-999")
        XCTAssertThrowsError(try PortSet.parse(seventeen)) {
            XCTAssertTrue(($0 as? PolicyError)?.message.contains("17") ?? false, "\($0)")
        }
    }

    func testContains() {
        let s = PortSet("53,853,1000-2000")!
        for p: UInt16 in [53, 853, 1000, 1500, 2000] { XCTAssertTrue(s.contains(p), "\(p)") }
        for p: UInt16 in [0, 52, 54, 852, 854, 999, 2001, 65535] { XCTAssertFalse(s.contains(p), "\(p)") }
        let all = PortSet("0-65535")!
        XCTAssertTrue(all.contains(0))
        XCTAssertTrue(all.contains(65535))
        XCTAssertEqual(PortSet([0...10, 5...20, 30...30]), PortSet("0-20,30"))
    }
}
