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
            guard let groups = Self.parseIPv6(text) else { return nil }
            var high: UInt64 = 0
            var low: UInt64 = 0
            for index in 0..<4 { high = high << 16 | UInt64(groups[index]) }
            for index in 4..<8 { low = low << 16 | UInt64(groups[index]) }
            self = .v6(high: high, low: low)
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
                let groups = (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
                    + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
                return Self.format(groups)
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

        static func format(_ groups: [UInt16]) -> String {
            // The longest run of zero groups, at least two long.
            var bestStart = -1
            var bestLength = 0
            var index = 0
            while index < groups.count {
                guard groups[index] == 0 else { index += 1; continue }
                var end = index
                while end < groups.count && groups[end] == 0 { end += 1 }
                if end - index > bestLength && end - index >= 2 { (bestStart, bestLength) = (index, end - index) }
                index = end
            }
            let hex = groups.map { String($0, radix: 16) }
            guard bestStart >= 0 else { return hex.joined(separator: ":") }
            let head = hex[..<bestStart].joined(separator: ":")
            let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
            return head + "::" + tail
        }

        static func parseIPv6(_ text: String) -> [UInt16]? {
            guard text.count <= 45, text.contains(":") else { return nil }
            var body = Substring(text)
            var trailing: [UInt16] = []
            // An embedded IPv4 address in the last 32 bits.
            if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
                guard let v4 = IPv4Address(String(body[body.index(after: lastColon)...])) else { return nil }
                trailing = [UInt16(v4.rawValue >> 16), UInt16(truncatingIfNeeded: v4.rawValue)]
                body = body[...lastColon]
                if body.hasSuffix("::") { /* keep "::" */ } else { body = body.dropLast() }
            }
            func groups(_ part: Substring) -> [UInt16]? {
                if part.isEmpty { return [] }
                var values: [UInt16] = []
                for piece in part.split(separator: ":", omittingEmptySubsequences: false) {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    values.append(value)
                }
                return values
            }
            let halves = body.components(separatedBy: "::")
            let needed = 8 - trailing.count
            switch halves.count {
            case 1:
                guard let all = groups(Substring(halves[0])), all.count == needed else { return nil }
                return all + trailing
            case 2:
                guard let head = groups(Substring(halves[0])), let tail = groups(Substring(halves[1])),
                      head.count + tail.count < needed else { return nil }
                return head + Array(repeating: 0, count: needed - head.count - tail.count) + tail + trailing
            default:
                return nil
            }
        }
    }
}
