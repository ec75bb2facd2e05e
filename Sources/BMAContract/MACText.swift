/// 48-bit MAC addresses as text: six groups of two hex digits separated by ':' or '-'.
/// As a number the first wire byte is in bits 47..40 (as the dataplane keeps them).
public enum MACText {
    public static func parse(_ text: String) -> UInt64? {
        let separator: Character = text.contains("-") ? "-" : ":"
        let groups = text.split(separator: separator, omittingEmptySubsequences: false)
        guard groups.count == 6 else { return nil }
        var value: UInt64 = 0
        for group in groups {
            guard group.utf8.count == 2, group.utf8.allSatisfy(IPAddressText.isHexDigit),
                  let byte = UInt8(group, radix: 16) else { return nil }
            value = value << 8 | UInt64(byte)
        }
        return value
    }

    /// `02:00:00:00:00:01`: lowercase, two digits per byte.
    public static func format(_ mac: UInt64) -> String {
        (0..<6).map { i in
            let byte = UInt8(truncatingIfNeeded: mac >> (40 - 8 * UInt64(i)))
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined(separator: ":")
    }
}
