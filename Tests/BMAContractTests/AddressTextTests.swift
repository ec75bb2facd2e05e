import BMAContract
import Glibc
import Testing

@Suite("address text")
struct AddressTextTests {
    @Test("MAC addresses", arguments: [("f4:b8:5e:ff:2b:1b", "f4:b8:5e:ff:2b:1b"), ("F4-B8-5E-FF-2B-1B", "f4:b8:5e:ff:2b:1b"),
                                       ("00:00:00:00:00:00", "00:00:00:00:00:00")])
    func mac(text: String, printed: String) throws {
        #expect(MACText.format(try #require(MACText.parse(text))) == printed)
    }

    @Test("malformed MAC addresses", arguments: ["", "f4:b8:5e:ff:2b", "f4:b8:5e:ff:2b:1b:00", "f4:b8:5e:ff:2b:1", "g4:b8:5e:ff:2b:1b",
                                                 "f4b85eff2b1b", "f4:b8:5e:ff:2b:+1", "f4:b8:5e:ff:2b-1b"])
    func macBad(text: String) { #expect(MACText.parse(text) == nil) }

    @Test("IPv4 addresses", arguments: ["192.168.1.129", "0.0.0.0", "255.255.255.255"])
    func ipv4(text: String) throws {
        #expect(IPv4Text.format(try #require(IPv4Text.parse(text))) == text)
        #expect(IPv4Text.parse("1.2.3.4") == 0x0102_0304)
    }

    @Test("malformed IPv4 addresses", arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "+1.2.3.4", " 1.2.3.4",
                                                  "0001.2.3.4", "١.٢.٣.٤"])
    func ipv4Bad(text: String) { #expect(IPv4Text.parse(text) == nil) }

    @Test("IPv6 text follows RFC 5952", arguments: [
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1"), ("0:0:0:0:0:0:0:0", "::"), ("::1", "::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"), ("2001:DB8::A", "2001:db8::a"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"), ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"), ("1::", "1::"),
    ])
    func ipv6(text: String, printed: String) throws {
        let a = try #require(IPAddressText.parseIPv6(text))
        #expect(IPAddressText.formatIPv6(hi: a.hi, lo: a.lo) == printed)
    }

    @Test("malformed IPv6 text", arguments: ["", "1.2.3", "1::2::3", "12345::", ":::", "1:2:3:4:5:6:7:8:9", "g::1",
                                             "fe80::1%eth0", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "::1.2.3", "::ffff:1.2.3.256"])
    func ipv6Bad(text: String) { #expect(IPAddressText.parseIPv6(text) == nil) }

    @Test("IPv4 is v4-mapped in the 128-bit form and printed as a dotted quad")
    func mapped() throws {
        let a = try #require(IPAddressText.parse("10.1.2.3"))
        #expect(a.isIPv4 && a.hi == 0 && a.lo == 0x0000_ffff_0a01_0203)
        #expect(IPAddressText.format(hi: a.hi, lo: a.lo) == "10.1.2.3")
        #expect(IPAddressText.formatIPv6(hi: a.hi, lo: a.lo, mappedAsIPv4: false) == "::ffff:a01:203")
    }

    /// Random addresses with runs of zeros, against glibc's inet_pton and inet_ntop.
    @Test("IPv6 parse and format agree with glibc on 20,000 random addresses")
    func ipv6AgainstGlibc() throws {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            seed &+= 0x9e37_79b9_7f4a_7c15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        for _ in 0..<20_000 {
            var bytes = [UInt8](repeating: 0, count: 16)
            let zeroMask = next()
            for g in 0..<8 where zeroMask >> UInt64(g) & 1 == 0 {
                let r = next()
                bytes[2 * g] = UInt8(truncatingIfNeeded: r)
                bytes[2 * g + 1] = UInt8(truncatingIfNeeded: r >> 8)
            }
            let (hi, lo) = try #require(IPAddressText.halves(bytes))
            // glibc prints ::a.b.c.d for the deprecated IPv4-compatible form; skip those.
            if hi == 0 && lo >> 32 == 0 { continue }
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            #expect(inet_ntop(AF_INET6, &raw, &out, socklen_t(out.count)) != nil)
            let glibc = String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(IPAddressText.formatIPv6(hi: hi, lo: lo) == glibc)
            let parsed = try #require(IPAddressText.parseIPv6(glibc))
            #expect(parsed.hi == hi && parsed.lo == lo)
            // The uncompressed form too.
            let long = (0..<8).map { String(UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]), radix: 16) }.joined(separator: ":")
            let parsedLong = try #require(IPAddressText.parseIPv6(long))
            #expect(parsedLong.hi == hi && parsedLong.lo == lo)
        }
    }

    @Test("CIDR text", arguments: [("10.1.2.3/8", "10.0.0.0/8"), ("2001:db8::1/32", "2001:db8::/32"), ("10.0.0.1", "10.0.0.1/32"),
                                   ("::/0", "::/0")])
    func cidr(text: String, printed: String) throws {
        #expect(try #require(CIDR(text)).description == printed)
    }

    @Test("bad CIDR text says why")
    func cidrBad() {
        #expect(throws: AddressTextError("'10.0.0.0/33' is not a CIDR: the prefix length must be 0-32 for IPv4")) {
            try CIDR.parse("10.0.0.0/33")
        }
        #expect(CIDR("nope/8") == nil)
    }
}
