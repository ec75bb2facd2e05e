/// What `match.protocol` selects: an IP protocol (IPv4 protocol or IPv6 upper-layer next
/// header, 0-255) or ARP, which has no IP protocol number. Named in JSON as `tcp`, `udp`, `icmp`,
/// `icmpv6`, `arp`, or given as a number 0-255.
public enum PolicyProtocol: Sendable, Hashable, CustomStringConvertible {
    case ip(UInt8)
    case arp

    public static let icmp = PolicyProtocol.ip(1)
    public static let tcp = PolicyProtocol.ip(6)
    public static let udp = PolicyProtocol.ip(17)
    public static let icmpv6 = PolicyProtocol.ip(58)

    static let names: [(String, PolicyProtocol)] = [
        ("tcp", .tcp), ("udp", .udp), ("icmp", .icmp), ("icmpv6", .icmpv6), ("arp", .arp),
    ]

    /// A name (case-insensitive) or a decimal number 0-255.
    public init?(_ text: String) {
        let t = text.lowercased()
        if let (_, p) = PolicyProtocol.names.first(where: { $0.0 == t }) {
            self = p
        } else if (1...3).contains(t.count), t.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt8(t) {
            self = .ip(n)
        } else {
            return nil
        }
    }

    /// The name when it has one, otherwise nil.
    public var name: String? { PolicyProtocol.names.first { $0.1 == self }?.0 }

    /// `tcp`, `arp`, or the number (`47`).
    public var description: String {
        if let name { return name }
        if case .ip(let n) = self { return String(n) }
        return "arp"
    }
}

extension PolicyProtocol: Codable {
    /// A name or a number.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(UInt8.self) {
            self = .ip(n)
        } else if let p = PolicyProtocol(try c.decode(String.self)) {
            self = p
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "use tcp, udp, icmp, icmpv6, arp or a number 0-255"))
        }
    }

    /// The name when it has one, otherwise the number.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let name {
            try c.encode(name)
        } else if case .ip(let n) = self {
            try c.encode(n)
        }
    }
}
