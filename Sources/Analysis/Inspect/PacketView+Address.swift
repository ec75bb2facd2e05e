import BMAContract

extension PacketView {
    /// An IPv4 or IPv6 address, cheap to hash and compare (the modules key their tables on it).
    public enum Address: Hashable, Comparable, Sendable, CustomStringConvertible {
        case v4(IPv4Address)
        /// The 128 bits, first octet most significant in `high`.
        case v6(high: UInt64, low: UInt64)

        /// Reads 16 octets at `offset`; the caller checks the bounds.
        init(ipv6 bytes: [UInt8], at offset: Int) {
            var high: UInt64 = 0
            var low: UInt64 = 0
            for index in 0..<8 { high = high << 8 | UInt64(bytes[offset + index]) }
            for index in 8..<16 { low = low << 8 | UInt64(bytes[offset + index]) }
            self = .v6(high: high, low: low)
        }

        /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text ("2001:db8::1", "::ffff:192.0.2.1").
        public init?(_ text: String) {
            if let v4 = IPv4Address(text) {
                self = .v4(v4)
                return
            }
            guard let v6 = IPAddressText.parseIPv6(text) else { return nil }
            self = .v6(high: v6.hi, low: v6.lo)
        }

        public var isIPv4: Bool { if case .v4 = self { true } else { false } }

        /// The address in network order (4 or 16 octets).
        public var octets: [UInt8] {
            switch self {
            case let .v4(address):
                return address.octets
            case let .v6(high, low):
                return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
                    + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
            }
        }

        /// Multicast, broadcast (255.255.255.255 or a /24's .255 is not guessed) or unspecified:
        /// destinations that are not one host.
        public var isMulticastOrBroadcast: Bool {
            switch self {
            case let .v4(address):
                return address.rawValue >> 28 == 0xE || address.rawValue == 0xFFFF_FFFF
            case let .v6(high, _):
                return high >> 56 == 0xFF
            }
        }

        public var isUnspecified: Bool {
            switch self {
            case let .v4(address): address.rawValue == 0
            case let .v6(high, low): high == 0 && low == 0
            }
        }

        /// Dotted quad, or RFC 5952 text for IPv6 (lower case, the longest run of two or more
        /// zero groups shortened to "::", the first such run on a tie).
        public var description: String {
            switch self {
            case let .v4(address):
                return address.description
            case let .v6(high, low):
                return IPAddressText.formatIPv6(hi: high, lo: low, mappedAsIPv4: false)
            }
        }

        public static func < (a: Address, b: Address) -> Bool {
            switch (a, b) {
            case let (.v4(x), .v4(y)): x < y
            case (.v4, .v6): true
            case (.v6, .v4): false
            case let (.v6(xh, xl), .v6(yh, yl)): (xh, xl) < (yh, yl)
            }
        }
    }
}
