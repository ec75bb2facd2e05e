import BMAContract
import Control
import XCTest

final class PolicyCIDRTests: XCTestCase {
    func addr(_ text: String) -> (hi: UInt64, lo: UInt64) {
        let a = IPAddressText.parse(text)!
        return (a.hi, a.lo)
    }

    func contains(_ cidr: String, _ address: String) -> Bool {
        let a = addr(address)
        return CIDR(cidr)!.contains(addressHi: a.hi, lo: a.lo)
    }

    func testV4MappedRepresentation() {
        let a = addr("10.1.2.3")
        XCTAssertEqual(a.hi, 0)
        XCTAssertEqual(a.lo, 0x0000_ffff_0a01_0203)
        XCTAssertEqual(addr("::ffff:10.1.2.3").lo, a.lo)
        XCTAssertEqual(IPAddressText.format(hi: a.hi, lo: a.lo), "10.1.2.3")

        let c = CIDR("10.0.0.0/8")!
        XCTAssertEqual(c.hi, 0)
        XCTAssertEqual(c.lo, 0x0000_ffff_0a00_0000)
        XCTAssertEqual(c.prefixLength, 104)
        XCTAssertEqual(c.maskHi, ~0)
        XCTAssertEqual(c.maskLo, 0xffff_ffff_ff00_0000)
        XCTAssertTrue(c.isIPv4)
        XCTAssertEqual(CIDR(ipv4: 0x0a00_0000, prefixLength: 8), c)
        XCTAssertEqual(CIDR("0.0.0.0/0")!.prefixLength, 96)
        XCTAssertEqual(CIDR("0.0.0.0/0")!.lo, 0x0000_ffff_0000_0000)
    }

    func testV6Representation() {
        let a = addr("2001:db8:1:2:3:4:5:6")
        XCTAssertEqual(a.hi, 0x2001_0db8_0001_0002)
        XCTAssertEqual(a.lo, 0x0003_0004_0005_0006)
        XCTAssertEqual(IPAddressText.format(hi: a.hi, lo: a.lo), "2001:db8:1:2:3:4:5:6")
        XCTAssertEqual(IPAddressText.format(hi: 0, lo: 1), "::1")
        XCTAssertNil(IPAddressText.parse("fe80::1%eth0"))
        XCTAssertNil(IPAddressText.parse("1.2.3"))
        XCTAssertNil(IPAddressText.parse("1.2.3.256"))
        XCTAssertNil(IPAddressText.parse("2001:db8::1::2"))
        XCTAssertNil(IPAddressText.parse(""))
    }

    func testParseAndNormalise() {
        let cases: [(String, String)] = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("10.1.2.3", "10.1.2.3/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("192.168.1.255/31", "192.168.1.254/31"),
            ("2001:DB8:0:0::1/32", "2001:db8::/32"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("::/0", "::/0"),
            ("ff02::1/8", "ff00::/8"),
            ("2001:db8:aaaa:bbbb:cccc::/65", "2001:db8:aaaa:bbbb:8000::/65"),
            ("::ffff:10.1.2.3/104", "10.0.0.0/8"),
            ("::ffff:0:0/96", "0.0.0.0/0"),
            ("::ffff:0:0/95", "::fffe:0:0/95"),
        ]
        for (text, canonical) in cases {
            XCTAssertEqual(CIDR(text)?.description, canonical, text)
            XCTAssertEqual(CIDR(canonical), CIDR(text), text)
        }
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8/8", "/8", "2001:db8::/129", "10.0.0/8",
                    "hostname/8", "10.0.0.0/ 8", "", "10.0.0.0/1e1", "2001:db8::/0x10"] {
            XCTAssertNil(CIDR(bad), bad)
        }
        XCTAssertNil(CIDR(hi: 0, lo: 0, prefixLength: 129))
        XCTAssertNil(CIDR(ipv4: 0, prefixLength: 33))
        XCTAssertThrowsError(try CIDR.parse("10.0.0.0/33")) {
            XCTAssertEqual(($0 as? AddressTextError)?.message, "'10.0.0.0/33' is not a CIDR: the prefix length must be 0-32 for IPv4")
        }
    }

    func testIPv4Containment() {
        XCTAssertTrue(contains("10.0.0.0/8", "10.0.0.0"))
        XCTAssertTrue(contains("10.0.0.0/8", "10.255.255.255"))
        XCTAssertFalse(contains("10.0.0.0/8", "11.0.0.0"))
        XCTAssertFalse(contains("10.0.0.0/8", "9.255.255.255"))
        // /0: every IPv4 address, no IPv6 one
        XCTAssertTrue(contains("0.0.0.0/0", "0.0.0.0"))
        XCTAssertTrue(contains("0.0.0.0/0", "255.255.255.255"))
        XCTAssertFalse(contains("0.0.0.0/0", "::1"))
        XCTAssertFalse(contains("0.0.0.0/0", "2001:db8::1"))
        XCTAssertFalse(contains("0.0.0.0/0", "::fffe:1.2.3.4"))
        // /32: exactly one
        XCTAssertTrue(contains("192.0.2.7/32", "192.0.2.7"))
        XCTAssertFalse(contains("192.0.2.7/32", "192.0.2.6"))
        XCTAssertFalse(contains("192.0.2.7/32", "192.0.2.8"))
        // /31 and /1
        XCTAssertTrue(contains("192.0.2.6/31", "192.0.2.7"))
        XCTAssertFalse(contains("192.0.2.6/31", "192.0.2.8"))
        XCTAssertTrue(contains("128.0.0.0/1", "200.1.1.1"))
        XCTAssertFalse(contains("128.0.0.0/1", "127.255.255.255"))
    }

    func testIPv6Containment() {
        XCTAssertTrue(contains("2001:db8::/32", "2001:db8:ffff::1"))
        XCTAssertFalse(contains("2001:db8::/32", "2001:db9::1"))
        // /0: the whole space, v4-mapped IPv4 included
        XCTAssertTrue(contains("::/0", "::"))
        XCTAssertTrue(contains("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        XCTAssertTrue(contains("::/0", "10.0.0.1"))
        // /128: exactly one
        XCTAssertTrue(contains("2001:db8::1/128", "2001:db8::1"))
        XCTAssertFalse(contains("2001:db8::1/128", "2001:db8::2"))
        XCTAssertFalse(contains("2001:db8::1/128", "2001:db8:0:0:1::1"))
        // prefixes around the halves' boundary
        XCTAssertTrue(contains("2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff"))
        XCTAssertFalse(contains("2001:db8:1:2::/64", "2001:db8:1:3::"))
        XCTAssertTrue(contains("2001:db8:1:2::/63", "2001:db8:1:3::"))
        XCTAssertFalse(contains("2001:db8:1:2::/63", "2001:db8:1:4::"))
        XCTAssertTrue(contains("2001:db8:1:2:8000::/65", "2001:db8:1:2:ffff::"))
        XCTAssertFalse(contains("2001:db8:1:2:8000::/65", "2001:db8:1:2:7fff::"))
        // a v6 network around the v4-mapped block holds IPv4 packets
        XCTAssertTrue(contains("::ffff:0:0/96", "10.1.1.1"))
        XCTAssertTrue(contains("::/64", "10.1.1.1"))
    }
}
