/// IP addresses as text, in the 128-bit form the dataplane and the policies use: two big-endian
/// halves (`hi` holds bytes 0-7, `lo` bytes 8-15), IPv4 v4-mapped (::ffff:a.b.c.d, so hi = 0
/// and lo = 0x0000ffff_aabbccdd).
public enum IPAddressText {
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

    /// Parses `10.1.2.3` (dotted quad) or IPv6 text (`2001:db8::1`, `::ffff:10.1.2.3`; no zone).
    /// IPv4 comes back v4-mapped; `isIPv4` says which syntax was used.
    public static func parse(_ text: String) -> (hi: UInt64, lo: UInt64, isIPv4: Bool)? {
        if let v4 = IPv4Text.parse(text) {
            let (hi, lo) = v4Mapped(v4)
            return (hi, lo, true)
        }
        guard let v6 = parseIPv6(text) else { return nil }
        return (v6.hi, v6.lo, false)
    }

    /// `10.1.2.3` for a v4-mapped address, otherwise the IPv6 text of `formatIPv6`.
    public static func format(hi: UInt64, lo: UInt64) -> String {
        if isV4Mapped(hi: hi, lo: lo) { return IPv4Text.format(UInt32(truncatingIfNeeded: lo)) }
        return formatIPv6(hi: hi, lo: lo)
    }

    /// RFC 4291 text: eight groups of 1-4 hex digits, one "::" for a run of zero groups, and
    /// optionally a dotted quad for the last 32 bits.
    public static func parseIPv6(_ text: String) -> (hi: UInt64, lo: UInt64)? {
        guard text.utf8.count <= 45, text.contains(":") else { return nil }
        var body = Substring(text)
        var trailing: [UInt16] = []
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard let v4 = IPv4Text.parse(body[body.index(after: lastColon)...]) else { return nil }
            trailing = [UInt16(v4 >> 16), UInt16(truncatingIfNeeded: v4)]
            body = body[...lastColon]
            if !body.hasSuffix("::") { body = body.dropLast() }
        }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var values: [UInt16] = []
            for piece in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(piece.utf8.count), piece.utf8.allSatisfy(isHexDigit),
                      let value = UInt16(piece, radix: 16) else { return nil }
                values.append(value)
            }
            return values
        }
        let needed = 8 - trailing.count
        var all: [UInt16]
        if let gap = body.firstRange(of: "::") {
            guard let head = groups(body[..<gap.lowerBound]), let tail = groups(body[gap.upperBound...]),
                  head.count + tail.count < needed else { return nil }
            all = head + Array(repeating: 0, count: needed - head.count - tail.count) + tail
        } else {
            guard let only = groups(body), only.count == needed else { return nil }
            all = only
        }
        all += trailing
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        return (hi, lo)
    }

    /// RFC 5952 text: lowercase hex without leading zeros, the longest run of two or more zero
    /// groups (the first on a tie) written "::". v4-mapped addresses end in a dotted quad
    /// (`::ffff:192.0.2.1`) unless `mappedAsIPv4` is false.
    public static func formatIPv6(hi: UInt64, lo: UInt64, mappedAsIPv4: Bool = true) -> String {
        if mappedAsIPv4 && isV4Mapped(hi: hi, lo: lo) {
            return "::ffff:" + IPv4Text.format(UInt32(truncatingIfNeeded: lo))
        }
        let groups = (0..<4).map { UInt16(truncatingIfNeeded: hi >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: lo >> (48 - 16 * UInt64($0))) }
        var best = 0..<0
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index >= 2 && end - index > best.count { best = index..<end }
            index = end
        }
        let text = { (range: Range<Int>) in groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard !best.isEmpty else { return text(0..<8) }
        return text(0..<best.lowerBound) + "::" + text(best.upperBound..<8)
    }

    /// The 128 bits from 16 bytes in network order (nil unless exactly 16).
    public static func halves<C: Collection<UInt8>>(_ bytes: C) -> (hi: UInt64, lo: UInt64)? {
        guard bytes.count == 16 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
        }
        return (hi, lo)
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
    }
}
