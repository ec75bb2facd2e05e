/// IPv6 addresses as text, in the canonical form of RFC 5952: lowercase hex, no leading zeros,
/// the longest run of two or more zero groups (the first one on a tie) written "::", and
/// IPv4-mapped addresses as "::ffff:192.0.2.1".
enum IPv6AddressText {
    static func format(_ octets: [UInt8]) -> String {
        guard octets.count == 16 else { return "" }
        let groups = (0..<8).map { UInt16(octets[2 * $0]) << 8 | UInt16(octets[2 * $0 + 1]) }
        if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xFFFF {
            return "::ffff:" + octets[12..<16].map(String.init).joined(separator: ".")
        }
        // The longest run of zero groups, at least two long.
        var best: Range<Int>?
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index >= 2 && end - index > (best?.count ?? 0) { best = index..<end }
            index = end
        }
        let text = { (range: Range<Int>) in groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard let best else { return text(0..<8) }
        return text(0..<best.lowerBound) + "::" + text(best.upperBound..<8)
    }
}
