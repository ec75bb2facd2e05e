/// Read and rewrite access to the headers of one captured Ethernet frame.
///
/// The headers are located by the one frame parser (`FrameHeaders`, bmad's rules: at most two
/// 802.1Q / 802.1ad tags). Every accessor checks the captured length: a field that is not (fully)
/// captured reads as nil and is never written.
public struct EthernetFrame: Sendable, Equatable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public static let headerLength = 14
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeARP: UInt16 = 0x0806
    public static let etherTypeIPv6: UInt16 = 0x86DD

    public static let protocolICMP: UInt8 = 1
    public static let protocolTCP: UInt8 = 6
    public static let protocolUDP: UInt8 = 17

    // MARK: Ethernet

    public var destinationMAC: MACAddress? {
        bytes.count >= Self.headerLength ? MACAddress(bytes, at: 0) : nil
    }

    public var sourceMAC: MACAddress? {
        bytes.count >= Self.headerLength ? MACAddress(bytes, at: 6) : nil
    }

    /// Returns false (and changes nothing) when the frame is shorter than an Ethernet header.
    @discardableResult
    public mutating func setDestinationMAC(_ address: MACAddress) -> Bool {
        writeMAC(address, at: 0)
    }

    @discardableResult
    public mutating func setSourceMAC(_ address: MACAddress) -> Bool {
        writeMAC(address, at: 6)
    }

    /// What the frame parser finds in the frame as it is now.
    public var headers: FrameHeaders { FrameHeaders(frame: bytes) }

    /// VLAN identifiers of the tags, outermost first.
    public var vlanIDs: [UInt16] { headers.vlanIDs }

    /// EtherType of the payload, after any VLAN tags.
    public var etherType: UInt16? {
        let h = headers
        return h.l3Offset == 0 ? nil : h.etherType
    }

    /// Offset of the network-layer header, after any VLAN tags.
    public var payloadStart: Int? {
        let h = headers
        return h.l3Offset == 0 ? nil : Int(h.l3Offset)
    }

    // MARK: IPv4 and transport

    /// True when the frame carries a captured, well-formed IPv4 header.
    public var isIPv4: Bool { ipv4Header != nil }

    public var ipv4Source: IPv4Address? {
        ipv4Header.map { IPv4Address(bytes, at: $0.offset + 12) }
    }

    public var ipv4Destination: IPv4Address? {
        ipv4Header.map { IPv4Address(bytes, at: $0.offset + 16) }
    }

    /// The IPv4 protocol number (6 TCP, 17 UDP, 1 ICMP, ...).
    public var ipProtocol: UInt8? { ipv4Header?.protocolNumber }

    /// TCP or UDP source port, when the transport header is captured and not in a later fragment.
    public var sourcePort: UInt16? { ports?.source }

    public var destinationPort: UInt16? { ports?.destination }

    private var ports: (source: UInt16, destination: UInt16)? {
        let h = headers
        guard h.isIPv4, h.flags.contains(.transport), h.ipProtocol == Self.protocolTCP || h.ipProtocol == Self.protocolUDP
        else { return nil }
        return (h.sourcePort, h.destinationPort)
    }

    var ipv4Header: IPv4HeaderLocation? {
        let h = headers
        guard h.isIPv4, h.hasIP else { return nil }
        return IPv4HeaderLocation(in: bytes, at: Int(h.l3Offset), limit: bytes.count)
    }

    // MARK: Byte access

    func uint16(at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func setUInt16(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    private mutating func writeMAC(_ address: MACAddress, at offset: Int) -> Bool {
        guard bytes.count >= Self.headerLength else { return false }
        bytes.replaceSubrange(offset..<offset + 6, with: address.octets)
        return true
    }
}
