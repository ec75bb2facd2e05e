/// The headers of one Ethernet frame, as the one Swift frame parser finds them.
///
/// This is the Swift twin of bmad's C descriptor (`bma_pkt_t`, Sources/CDPDK/bma_parse.c): the
/// same fields, limits and malformed reasons, so the analyzer, the capture tools and the dataplane
/// agree on what a frame is (a differential test holds the two to it). The analyzer builds one per
/// packet and hands it to storage, the index and the inspection modules alike.
///
/// Addresses are IPv6 in two big-endian halves; IPv4 is v4-mapped (`::ffff:a.b.c.d`, so
/// `sourceLow == 0x0000ffff_aabbccdd`, `sourceHigh == 0`). MACs are 48-bit values, the first octet
/// on the wire most significant. Offsets are from the start of the frame.
public struct FrameHeaders: Sendable, Equatable {
    /// The network layer found after the Ethernet header and its VLAN tags.
    public enum Layer3: UInt8, Sendable {
        /// Not parsed: a runt, an 802.3 length field, or the parse stopped inside the VLAN tags.
        case none = 0
        case ipv4 = 1
        case ipv6 = 2
        case arp = 3
        /// Another EtherType.
        case other = 4
    }

    /// Why a frame is malformed (the first reason found), numbered and named as in bma_packet.h.
    public enum Malformed: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case none = 0
        case runt, vlanTruncated, vlanDepth, arpTruncated
        case ipv4Truncated, ipv4Version, ipv4HeaderLength, ipv4Options, ipv4TotalShort, ipv4TotalLong
        case ipv6Truncated, ipv6Version, ipv6PayloadLong, ipv6ExtensionTruncated, ipv6ExtensionDepth
        case tcpTruncated, tcpOffset, tcpOffsetLong, udpTruncated, udpLength, icmpTruncated

        /// The name bmad uses in its counters ("ipv4-ihl", ...).
        public var description: String {
            switch self {
            case .none: "none"
            case .runt: "runt"
            case .vlanTruncated: "vlan-truncated"
            case .vlanDepth: "vlan-depth"
            case .arpTruncated: "arp-truncated"
            case .ipv4Truncated: "ipv4-truncated"
            case .ipv4Version: "ipv4-version"
            case .ipv4HeaderLength: "ipv4-ihl"
            case .ipv4Options: "ipv4-options"
            case .ipv4TotalShort: "ipv4-total-short"
            case .ipv4TotalLong: "ipv4-total-long"
            case .ipv6Truncated: "ipv6-truncated"
            case .ipv6Version: "ipv6-version"
            case .ipv6PayloadLong: "ipv6-payload-long"
            case .ipv6ExtensionTruncated: "ipv6-ext-truncated"
            case .ipv6ExtensionDepth: "ipv6-ext-depth"
            case .tcpTruncated: "tcp-truncated"
            case .tcpOffset: "tcp-offset"
            case .tcpOffsetLong: "tcp-offset-long"
            case .udpTruncated: "udp-truncated"
            case .udpLength: "udp-length"
            case .icmpTruncated: "icmp-truncated"
            }
        }
    }

    /// The descriptor flags (`BMA_PF_*`).
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let broadcast = Flags(rawValue: 1 << 0)
        /// The group bit of the destination MAC (broadcast too).
        public static let multicast = Flags(rawValue: 1 << 1)
        /// An IPv4 or IPv6 fragment, first or not.
        public static let fragment = Flags(rawValue: 1 << 2)
        /// Not the first fragment: no transport header in it.
        public static let laterFragment = Flags(rawValue: 1 << 3)
        /// Ports (TCP, UDP) or type and code (ICMP) are valid.
        public static let transport = Flags(rawValue: 1 << 4)
        /// IPv4 options or IPv6 extension headers present.
        public static let ipOptions = Flags(rawValue: 1 << 6)
        /// Fewer bytes captured than the frame had on the wire.
        public static let partial = Flags(rawValue: 1 << 7)
        /// UDP from port 53, or a TCP segment from port 53 with data; not a fragment.
        public static let dnsResponse = Flags(rawValue: 1 << 8)
    }

    /// Housekeeping: the network's own upkeep (`BMA_HK_*`), named as bmad names it.
    public enum Housekeeping: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case none = 0, arp, dhcp, ndp, icmp, group, eapol, l2, discovery

        public var description: String {
            switch self {
            case .none: "none"
            case .arp: "arp"
            case .dhcp: "dhcp"
            case .ndp: "ndp"
            case .icmp: "icmp"
            case .group: "igmp-mld"
            case .eapol: "eapol"
            case .l2: "l2-control"
            case .discovery: "discovery"
            }
        }
    }

    /// The most VLAN tags skipped; a third is `vlanDepth`.
    public static let maximumVLANTags = 2
    /// The most IPv6 extension headers walked; more is `ipv6ExtensionDepth`.
    public static let maximumIPv6Extensions = 8

    public var sourceMAC: UInt64 = 0
    public var destinationMAC: UInt64 = 0
    public var sourceHigh: UInt64 = 0
    public var sourceLow: UInt64 = 0
    public var destinationHigh: UInt64 = 0
    public var destinationLow: UInt64 = 0
    /// Symmetric: the same for both directions of a flow (bmad's flow hash).
    public var flowHash: UInt32 = 0
    /// The frame's length on the wire (>= the bytes captured).
    public var wireLength: UInt32 = 0
    /// The innermost EtherType, after the VLAN tags.
    public var etherType: UInt16 = 0
    /// VLAN TCIs (priority, DEI and id), outer first; `vlanCount` of them are valid.
    public var outerVLAN: UInt16 = 0
    public var innerVLAN: UInt16 = 0
    public var l3Offset: UInt16 = 0
    /// The transport header's offset; 0 when none was reached.
    public var l4Offset: UInt16 = 0
    /// Bytes after the transport header, as the IP length gives them.
    public var l4Payload: UInt16 = 0
    /// IPv4 total length, or 40 + the IPv6 payload length; 0 when no IP header was read.
    public var ipLength: UInt16 = 0
    /// TCP and UDP ports (ICMP type and code are in `icmpType` and `icmpCode`).
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var flags: Flags = []
    public var arpOperation: UInt16 = 0
    public var vlanCount: UInt8 = 0
    public var l3: Layer3 = .none
    /// IPv4's protocol or IPv6's last next header.
    public var ipProtocol: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    /// IPv4 TTL or IPv6 hop limit.
    public var ttl: UInt8 = 0
    public var malformed: Malformed = .none
    public var housekeeping: Housekeeping = .none

    // Beyond bmad's descriptor: what the analyzer's modules read besides.

    /// Bytes of the frame that were captured.
    public var capturedLength: Int = 0
    /// IPv4 header with options, or IPv6 header and the extension headers walked.
    public var ipHeaderLength: UInt16 = 0
    /// IPv4 TOS or IPv6 traffic class.
    public var trafficClass: UInt8 = 0

    public init() {}

    /// True when an IPv4 or IPv6 header was read (addresses, protocol and length are valid).
    @inlinable public var hasIP: Bool { ipLength != 0 }
    @inlinable public var isIPv4: Bool { l3 == .ipv4 }
    /// The first VLAN ids (12 bits), outer first.
    public var vlanIDs: [UInt16] {
        [outerVLAN & 0x0FFF, innerVLAN & 0x0FFF].prefix(Int(vlanCount)).map { $0 }
    }

    /// An IPv4 address of the tuple from its v4-mapped form.
    @inlinable public static func ipv4(_ low: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: low) }
}
