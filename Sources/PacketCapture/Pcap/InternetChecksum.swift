/// The ones' complement checksum of IPv4, ICMP, TCP and UDP (RFC 1071), and its incremental
/// update (RFC 1624), which lets a field change without the whole packet being captured.
public enum InternetChecksum {
    /// Folded ones' complement sum of `bytes[range]` read as big-endian 16-bit words; an odd
    /// trailing byte is padded with zero. `initial` continues an earlier sum.
    public static func sum(_ bytes: [UInt8], _ range: Range<Int>, initial: UInt16 = 0) -> UInt16 {
        var total = UInt64(initial)
        var index = range.lowerBound
        while index + 1 < range.upperBound {
            total += UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < range.upperBound { total += UInt64(bytes[index]) << 8 }
        return fold(total)
    }

    /// The checksum to store over data whose folded sum (checksum field zeroed) is `sum`.
    public static func checksum(ofSum sum: UInt16) -> UInt16 { ~sum }

    /// RFC 1624 eqn. 3: the checksum after data whose sum was `oldSum` now sums to `newSum`.
    public static func adjusted(_ checksum: UInt16, oldSum: UInt16, newSum: UInt16) -> UInt16 {
        ~fold(UInt64(~checksum) + UInt64(~oldSum) + UInt64(newSum))
    }

    /// Folds the carries of a wide ones' complement sum into 16 bits.
    static func fold(_ value: UInt64) -> UInt16 {
        var total = value
        while total > 0xFFFF { total = (total & 0xFFFF) + (total >> 16) }
        return UInt16(total)
    }
}
