import BMAContract

/// A 48-bit Ethernet address.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The six octets in the low 48 bits, first octet most significant.
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue & 0xFFFF_FFFF_FFFF
    }

    /// Reads six octets starting at `offset`; the caller checks the bounds.
    public init(_ bytes: [UInt8], at offset: Int) {
        var value: UInt64 = 0
        for i in 0..<6 { value = value << 8 | UInt64(bytes[offset + i]) }
        rawValue = value
    }

    /// Parses "aa:bb:cc:dd:ee:ff" (or with '-' separators), two hex digits per octet.
    public init?(_ text: String) {
        guard let value = MACText.parse(text) else { return nil }
        rawValue = value
    }

    public var octets: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) }
    }

    public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF_FFFF }
    /// Group bit of the first octet: broadcast and multicast destinations.
    public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }

    public var description: String {
        MACText.format(rawValue)
    }

    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.rawValue < b.rawValue }
}
