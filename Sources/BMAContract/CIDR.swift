/// An IPv4 or IPv6 network, normalised: host bits are cleared and the prefix is kept in the
/// dataplane's 128-bit space, so an IPv4 /n is the v4-mapped ::ffff:a.b.c.d/(96+n). A network
/// inside ::ffff:0:0/96 with a prefix of 96 or more is IPv4 however it was written.
///
/// Note that an IPv6 network covering ::ffff:0:0/96 (`::/0`, `::/64`, ...) contains IPv4 packets
/// too: `::/0` is every address; `0.0.0.0/0` is every IPv4 address.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network address, upper half (bytes 0-7, big-endian).
    public let hi: UInt64
    /// The network address, lower half (bytes 8-15, big-endian).
    public let lo: UInt64
    /// 0-128, counted in the 128-bit space (IPv4 /8 is 104).
    public let prefixLength: Int

    /// A network from an address in the dataplane's representation; host bits are cleared.
    /// nil when `prefixLength` is not 0-128.
    public init?(hi: UInt64, lo: UInt64, prefixLength: Int) {
        guard (0...128).contains(prefixLength) else { return nil }
        self.prefixLength = prefixLength
        let (mh, ml) = CIDR.mask(prefixLength)
        self.hi = hi & mh
        self.lo = lo & ml
    }

    /// An IPv4 network from a host-order address and a 0-32 prefix.
    public init?(ipv4: UInt32, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        let (hi, lo) = IPAddressText.v4Mapped(ipv4)
        self.init(hi: hi, lo: lo, prefixLength: 96 + prefixLength)
    }

    /// `10.0.0.0/8`, `2001:db8::/32`; a bare address is a single host (/32 or /128).
    public init?(_ text: String) {
        guard let c = try? CIDR.parse(text) else { return nil }
        self = c
    }

    /// Like `init?(_:)` but says what is wrong.
    public static func parse(_ text: String) throws(AddressTextError) -> CIDR {
        func bad(_ why: String) -> AddressTextError { AddressTextError("'\(text)' is not a CIDR: \(why)") }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = String(parts[0])
        guard let a = IPAddressText.parse(addressText) else {
            throw bad("'\(addressText)' is not an IPv4 or IPv6 address")
        }
        let maxPrefix = a.isIPv4 ? 32 : 128
        var prefix = maxPrefix
        if parts.count == 2 {
            let p = parts[1]
            guard (1...3).contains(p.count), p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p), n <= maxPrefix else {
                throw bad("the prefix length must be 0-\(maxPrefix) for \(a.isIPv4 ? "IPv4" : "IPv6")")
            }
            prefix = n
        }
        return CIDR(hi: a.hi, lo: a.lo, prefixLength: a.isIPv4 ? 96 + prefix : prefix)!
    }

    /// The two halves of the network mask.
    public var maskHi: UInt64 { CIDR.mask(prefixLength).hi }
    public var maskLo: UInt64 { CIDR.mask(prefixLength).lo }

    /// True when this is an IPv4 network (inside ::ffff:0:0/96).
    public var isIPv4: Bool { prefixLength >= 96 && IPAddressText.isV4Mapped(hi: hi, lo: lo) }

    /// Does the network hold this address (dataplane representation)?
    @inlinable
    public func contains(addressHi: UInt64, lo addressLo: UInt64) -> Bool {
        let (mh, ml) = CIDR.mask(prefixLength)
        return addressHi & mh == hi && addressLo & ml == lo
    }

    /// `10.0.0.0/8`, `2001:db8::/32`.
    public var description: String {
        if isIPv4 { return "\(IPAddressText.format(hi: hi, lo: lo))/\(prefixLength - 96)" }
        return "\(IPAddressText.format(hi: hi, lo: lo))/\(prefixLength)"
    }

    @inlinable
    static func mask(_ prefix: Int) -> (hi: UInt64, lo: UInt64) {
        let hi: UInt64 = prefix <= 0 ? 0 : prefix >= 64 ? ~0 : ~0 << UInt64(64 - prefix)
        let lo: UInt64 = prefix <= 64 ? 0 : prefix >= 128 ? ~0 : ~0 << UInt64(128 - prefix)
        return (hi, lo)
    }
}

extension CIDR: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try CIDR.parse(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
