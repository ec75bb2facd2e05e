import PacketCapture

/// A decoded view of one mirrored Ethernet frame: link, network and transport headers, and the
/// first question of a DNS message, for the inspection modules.
///
/// Decoding is bounds-checked at every step and never traps: whatever the bytes, `init(frame:)`
/// returns a view. The headers come from the one frame parser (`FrameHeaders`, bmad's rules); a
/// layer that is absent, not captured or malformed is nil, and `malformed` names the first
/// problem found. Lengths that describe the packet on the wire
/// (`ipTotalLength`, `TCP.payloadLength`, ...) come from the headers, so they stay right when
/// bmad truncated the copy; the `captured*` fields say how much of it is actually present.
public struct PacketView: Sendable, Equatable {
    /// Why the frame is malformed: the one frame parser's reasons (bmad's names).
    public typealias Malformed = FrameHeaders.Malformed

    /// The transport layer, when it was decoded.
    public enum Transport: Sendable, Equatable {
        case tcp(TCP)
        case udp(UDP)
        case icmp(ICMP)
    }

    public var sourceMAC: MACAddress?
    public var destinationMAC: MACAddress?
    /// VLAN identifiers, outermost first.
    public var vlanIDs: [UInt16] = []
    /// EtherType after the VLAN tags (nil for a runt).
    public var etherType: UInt16?
    public var arp: ARP?
    public var ip: IP?
    public var transport: Transport?
    /// The DNS message carried by UDP or TCP port 53 (or 5353), when its header and first
    /// question decode.
    public var dns: DNS?
    /// The first problem the parser found; nil for a well-formed frame.
    public var malformed: Malformed?
    /// Bytes of the frame that were captured.
    public var capturedLength: Int
    /// What the frame parser found: offsets, the binary 5-tuple and bmad's flow hash.
    public var headers: FrameHeaders

    public var tcp: TCP? { if case let .tcp(value) = transport { value } else { nil } }
    public var udp: UDP? { if case let .udp(value) = transport { value } else { nil } }
    public var icmp: ICMP? { if case let .icmp(value) = transport { value } else { nil } }

    /// Source and destination ports (TCP or UDP), nil otherwise.
    public var ports: (source: UInt16, destination: UInt16)? {
        switch transport {
        case let .tcp(tcp): (tcp.sourcePort, tcp.destinationPort)
        case let .udp(udp): (udp.sourcePort, udp.destinationPort)
        default: nil
        }
    }

    /// The packet's 5-tuple as sent; nil without an IP header. ICMP types and codes stand in
    /// for the ports (type as source, code as destination), as Community ID does; other
    /// protocols, and fragments after the first, have ports 0.
    public var flowKey: FlowKey? {
        guard let ip else { return nil }
        let source: UInt16
        let destination: UInt16
        switch transport {
        case let .tcp(tcp): (source, destination) = (tcp.sourcePort, tcp.destinationPort)
        case let .udp(udp): (source, destination) = (udp.sourcePort, udp.destinationPort)
        case let .icmp(icmp): (source, destination) = (UInt16(icmp.type), UInt16(icmp.code))
        case nil: (source, destination) = (0, 0)
        }
        return FlowKey(srcIP: ip.source.description, dstIP: ip.destination.description, proto: ip.protocolNumber,
                       srcPort: source, dstPort: destination)
    }

    /// Decodes `frame`, an Ethernet frame that was `wireLength` bytes long on the wire (default:
    /// as long as captured; a truncated mirror copy gives its original length). Never traps.
    public init(frame: [UInt8], wireLength: Int? = nil) {
        self.init(frame: frame, headers: FrameHeaders(frame: frame, wireLength: wireLength))
    }

    /// The view of `frame` from headers already parsed from it.
    public init(frame: [UInt8], headers: FrameHeaders) {
        capturedLength = frame.count
        self.headers = headers
        Details(bytes: frame, headers: headers).fill(&self)
    }

    /// The view of a mirrored packet (its original length bounds the headers).
    public init(packet: MirroredPacket) {
        self.init(frame: packet.frame, wireLength: Int(packet.originalLength))
    }
}

extension PacketView {
    /// An IPv4 or IPv6 header, with IPv6 extension headers already walked.
    public struct IP: Sendable, Equatable {
        public var version: UInt8
        public var source: Address
        public var destination: Address
        /// The upper-layer protocol: IPv4's protocol field, or IPv6's last next-header.
        public var protocolNumber: UInt8
        /// TTL or hop limit.
        public var ttl: UInt8
        /// Length of the datagram on the wire (IPv4 total length, or IPv6 payload length + 40).
        public var totalLength: Int
        /// Bytes of IP header (IPv4 header with options, or IPv6 header and extension headers).
        public var headerLength: Int
        /// True for a fragment other than the first (no transport header in it).
        public var isLaterFragment: Bool
        /// True when more fragments follow (MF set) or this is a later fragment.
        public var isFragment: Bool
        /// DSCP and ECN (IPv4 TOS, IPv6 traffic class).
        public var trafficClass: UInt8
        /// Offset of the IP header in the frame.
        public var offset: Int

        /// Bytes after the IP header(s) on the wire.
        public var payloadLength: Int { max(0, totalLength - headerLength) }
    }

    public struct TCP: Sendable, Equatable {
        public struct Flags: OptionSet, Sendable, Hashable {
            public let rawValue: UInt16
            public init(rawValue: UInt16) { self.rawValue = rawValue }
            public static let fin = Flags(rawValue: 0x001)
            public static let syn = Flags(rawValue: 0x002)
            public static let rst = Flags(rawValue: 0x004)
            public static let psh = Flags(rawValue: 0x008)
            public static let ack = Flags(rawValue: 0x010)
            public static let urg = Flags(rawValue: 0x020)
            public static let ece = Flags(rawValue: 0x040)
            public static let cwr = Flags(rawValue: 0x080)

            /// "SA", "R", "FA", ... in the order tcpdump prints them.
            public var text: String {
                [(Flags.syn, "S"), (.fin, "F"), (.rst, "R"), (.psh, "P"), (.ack, "A"), (.urg, "U"), (.ece, "E"), (.cwr, "C")]
                    .filter { contains($0.0) }.map(\.1).joined()
            }
        }

        public var sourcePort: UInt16
        public var destinationPort: UInt16
        public var sequence: UInt32
        public var acknowledgement: UInt32
        public var flags: Flags
        /// The raw window field (not scaled: the scale is only in the SYN options).
        public var window: UInt16
        /// Header length from the data offset, options included.
        public var headerLength: Int
        /// Payload bytes on the wire (from the IP length).
        public var payloadLength: Int
        /// Payload bytes present in the frame.
        public var capturedPayloadLength: Int
        /// Offset of the payload in the frame.
        public var payloadOffset: Int

        public var isSYNOnly: Bool { flags.contains(.syn) && !flags.contains(.ack) }
        public var isSYNACK: Bool { flags.contains(.syn) && flags.contains(.ack) }
    }

    public struct UDP: Sendable, Equatable {
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        /// The UDP length field.
        public var length: Int
        /// Payload bytes on the wire.
        public var payloadLength: Int
        public var capturedPayloadLength: Int
        public var payloadOffset: Int
    }

    /// ICMP (IPv4) or ICMPv6.
    public struct ICMP: Sendable, Equatable {
        public var isV6: Bool
        public var type: UInt8
        public var code: UInt8
        /// Identifier and sequence number of an echo request or reply.
        public var echoIdentifier: UInt16?
        public var echoSequence: UInt16?
        /// For an error message (unreachable, time exceeded, ...): the flow of the datagram it
        /// quotes, as that datagram was sent.
        public var quoted: FlowKey?

        public var isEchoRequest: Bool { isV6 ? type == 128 : type == 8 }
        public var isEchoReply: Bool { isV6 ? type == 129 : type == 0 }
        /// Destination unreachable (ICMP 3, ICMPv6 1).
        public var isUnreachable: Bool { isV6 ? type == 1 : type == 3 }
    }

    /// An ARP message for IPv4 over Ethernet.
    public struct ARP: Sendable, Equatable {
        public var operation: UInt16
        public var senderMAC: MACAddress
        public var senderIP: IPv4Address
        public var targetMAC: MACAddress
        public var targetIP: IPv4Address

        public var isRequest: Bool { operation == 1 }
        public var isReply: Bool { operation == 2 }
    }
}
