import Glibc

/// IP address text in the dataplane's representation: 128 bits as two big-endian halves
/// (`hi` holds bytes 0-7, `lo` bytes 8-15), IPv4 v4-mapped (::ffff:a.b.c.d, so hi = 0 and
/// lo = 0x0000ffff_aabbccdd).
public enum AddressText {
    /// The v4-mapped prefix ::ffff:0:0/96 as it appears in `lo`.
    public static let v4MappedLo: UInt64 = 0x0000_ffff_0000_0000

    /// The v4-mapped form of a host-order IPv4 address.
    public static func v4Mapped(_ ipv4: UInt32) -> (hi: UInt64, lo: UInt64) {
        (0, v4MappedLo | UInt64(ipv4))
    }

    /// True for ::ffff:a.b.c.d.
    public static func isV4Mapped(hi: UInt64, lo: UInt64) -> Bool {
        hi == 0 && lo >> 32 == 0xffff
    }

    /// Parses `10.1.2.3` (dotted quad) or any IPv6 text form (`2001:db8::1`, `::ffff:10.1.2.3`).
    /// IPv4 comes back v4-mapped; `isIPv4` says which syntax was used.
    public static func parse(_ text: String) -> (hi: UInt64, lo: UInt64, isIPv4: Bool)? {
        if let v4 = IPv4.parse(text) {
            let (hi, lo) = v4Mapped(v4)
            return (hi, lo, true)
        }
        guard text.contains(":"), !text.contains("%") else { return nil }
        var raw = in6_addr()
        let ok = withUnsafeMutableBytes(of: &raw) { inet_pton(AF_INET6, text, $0.baseAddress) }
        guard ok == 1 else { return nil }
        return withUnsafeBytes(of: &raw) { b in
            var hi: UInt64 = 0, lo: UInt64 = 0
            for i in 0..<8 { hi = hi << 8 | UInt64(b[i]) }
            for i in 8..<16 { lo = lo << 8 | UInt64(b[i]) }
            return (hi, lo, false)
        }
    }

    /// `10.1.2.3` for a v4-mapped address, otherwise the RFC 5952 IPv6 text (`2001:db8::1`).
    public static func format(hi: UInt64, lo: UInt64) -> String {
        if isV4Mapped(hi: hi, lo: lo) { return IPv4.format(UInt32(truncatingIfNeeded: lo)) }
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { b in
            for i in 0..<8 { b[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i))) }
            for i in 0..<8 { b[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i))) }
        }
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok = withUnsafeBytes(of: &raw) { inet_ntop(AF_INET6, $0.baseAddress, &out, socklen_t(out.count)) }
        guard ok != nil else { return String(format: "%016llx%016llx", hi, lo) }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
