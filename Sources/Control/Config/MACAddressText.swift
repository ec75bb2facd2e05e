/// Parses 48-bit MAC addresses into integers, first wire byte in bits 47..40 (as the dataplane keeps them).
public enum MACAddressText {
    public static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let dashed = text.split(separator: "-", omittingEmptySubsequences: false)
        let groups = parts.count == 6 ? parts : dashed
        guard groups.count == 6 else { return nil }
        var v: UInt64 = 0
        for g in groups {
            guard (1...2).contains(g.count), g.allSatisfy(\.isHexDigit), let b = UInt8(g, radix: 16) else { return nil }
            v = v << 8 | UInt64(b)
        }
        return v
    }
}
