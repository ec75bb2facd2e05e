/// The one Swift frame parser: bytes in, `FrameHeaders` out, following bmad's C parser
/// (Sources/CDPDK/bma_parse.c) rule for rule.
///
/// Every read is checked against the captured bytes; every length found in a header is checked
/// against the frame's length on the wire (`wireLength`, the original length of a truncated
/// mirror copy) or against the IP length that bounds it. A header that lies inside the frame but
/// beyond the captured bytes ends the parse without a malformed reason: the frame is fine, only
/// its copy is short. No allocation; never traps.
extension FrameHeaders {
    /// Parses `frame`; `wireLength` defaults to the captured length (a whole frame).
    public init(frame: [UInt8], wireLength: Int? = nil) {
        self = frame.withUnsafeBytes { FrameHeaders(bytes: $0, wireLength: wireLength ?? $0.count) }
    }

    /// Parses the captured bytes of a frame that was `wireLength` bytes long on the wire.
    public init(bytes: UnsafeRawBufferPointer, wireLength: Int) {
        self.init()
        var parser = FrameParser(bytes: bytes, wireLength: wireLength)
        parser.parse(into: &self)
    }
}

@usableFromInline
struct FrameParser {
    let base: UnsafeRawPointer?
    /// Bytes captured (C: len) and on the wire (C: pkt_len), in UInt32 like the C parser.
    let len: UInt32
    var pktLen: UInt32

    static let ethernetHeaderLength: UInt32 = 14
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeARP: UInt16 = 0x0806
    static let etherTypeIPv6: UInt16 = 0x86DD
    /// Below: an 802.3 length field, not an EtherType.
    static let etherTypeMinimum: UInt16 = 0x0600
    static let protocolICMP: UInt8 = 1
    static let protocolTCP: UInt8 = 6
    static let protocolUDP: UInt8 = 17
    static let protocolICMPv6: UInt8 = 58
    static let protocolNone: UInt8 = 59
    static let v4Mapped: UInt64 = 0x0000_FFFF_0000_0000

    init(bytes: UnsafeRawBufferPointer, wireLength: Int) {
        base = bytes.baseAddress
        len = UInt32(clamping: bytes.count)
        pktLen = UInt32(clamping: max(wireLength, bytes.count))
    }

    // Loads: callers have checked the offsets against `len`.
    @inline(__always) func u8(_ offset: UInt32) -> UInt8 { base.unsafelyUnwrapped.load(fromByteOffset: Int(offset), as: UInt8.self) }
    @inline(__always) func u16(_ offset: UInt32) -> UInt16 {
        UInt16(bigEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: Int(offset), as: UInt16.self))
    }
    @inline(__always) func u32(_ offset: UInt32) -> UInt32 {
        UInt32(bigEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: Int(offset), as: UInt32.self))
    }
    @inline(__always) func u64(_ offset: UInt32) -> UInt64 {
        UInt64(bigEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: Int(offset), as: UInt64.self))
    }

    /// Whether bytes [0, need) can be read. When they cannot, records `why` if they are missing
    /// from the frame itself (need > limit), and nothing if only the capture is short.
    @inline(__always)
    func have(_ need: UInt32, _ limit: UInt32, _ why: FrameHeaders.Malformed, _ out: inout FrameHeaders) -> Bool {
        if need > limit {
            out.malformed = why
            return false
        }
        return need <= len
    }

    static func isVLAN(_ type: UInt16) -> Bool { type == 0x8100 || type == 0x88A8 || type == 0x9100 }

    /// Hop-by-hop 0, routing 43, fragment 44, authentication 51, destination options 60.
    static func isIPv6Extension(_ next: UInt8) -> Bool {
        next < 64 && (UInt64(1) << 0 | 1 << 43 | 1 << 44 | 1 << 51 | 1 << 60) >> UInt64(next) & 1 != 0
    }

    /// Fields that the flow hash reads back, kept out of `out` until the end (as in C).
    struct Flow {
        var sourceHigh: UInt64 = 0, sourceLow: UInt64 = 0, destinationHigh: UInt64 = 0, destinationLow: UInt64 = 0
        var sourcePort: UInt16 = 0, destinationPort: UInt16 = 0
        var flags: FrameHeaders.Flags = []
        var proto: UInt8 = 0
        var isIP = false
        var housekeeping: FrameHeaders.Housekeeping = .none
    }

    /// Housekeeping by UDP port (either side: requests and answers).
    static func udpHousekeeping(_ source: UInt16, _ destination: UInt16) -> FrameHeaders.Housekeeping {
        func either(_ ports: UInt16...) -> Bool { ports.contains(source) || ports.contains(destination) }
        if either(67, 68, 546, 547) { return .dhcp }
        if either(5353, 1900, 5355) { return .discovery }
        return .none
    }

    /// Housekeeping by ICMP (v4 or v6) type; other types (redirects, timestamps, ...) are not.
    static func icmpHousekeeping(v6: Bool, type: UInt8) -> FrameHeaders.Housekeeping {
        if !v6 { return type == 0 || type == 8 || type == 3 || type == 11 ? .icmp : .none }
        switch type {
        case 1...3, 128, 129: return .icmp  // unreachable, packet too big, time exceeded, echo
        case 133...137: return .ndp
        case 130, 131, 132, 143: return .group  // MLD
        default: return .none
        }
    }

    mutating func parse(into out: inout FrameHeaders) {
        var flow = Flow()
        var sourceMAC: UInt64 = 0
        var destinationMAC: UInt64 = 0
        out.wireLength = pktLen
        out.capturedLength = Int(len)
        if len < pktLen { flow.flags.insert(.partial) }
        body: do {
            guard have(Self.ethernetHeaderLength, pktLen, .runt, &out) else { break body }
            destinationMAC = u64(0) >> 16
            sourceMAC = u64(6) >> 16
            out.destinationMAC = destinationMAC
            out.sourceMAC = sourceMAC
            if u8(0) & 1 != 0 {
                flow.flags.formUnion(destinationMAC == 0xFFFF_FFFF_FFFF ? [.multicast, .broadcast] : .multicast)
            }
            var offset: UInt32 = 12
            var type = u16(offset)
            var tags = 0
            while Self.isVLAN(type) {
                if tags == FrameHeaders.maximumVLANTags {
                    out.malformed = .vlanDepth
                    break
                }
                guard have(offset + 6, pktLen, .vlanTruncated, &out) else { break }
                if tags == 0 { out.outerVLAN = u16(offset + 2) } else { out.innerVLAN = u16(offset + 2) }
                tags += 1
                out.vlanCount = UInt8(tags)
                offset += 4
                type = u16(offset)
            }
            out.etherType = type
            if Self.isVLAN(type) { break body }
            offset += 2
            out.l3Offset = UInt16(truncatingIfNeeded: offset)
            switch type {
            case Self.etherTypeIPv4:
                out.l3 = .ipv4
                parseIPv4(at: offset, &flow, &out)
            case Self.etherTypeIPv6:
                out.l3 = .ipv6
                parseIPv6(at: offset, &flow, &out)
            case Self.etherTypeARP:
                out.l3 = .arp
                flow.housekeeping = .arp
                parseARP(at: offset, &flow, &out)
            default:
                out.l3 = type >= Self.etherTypeMinimum ? .other : .none
                // 802.3 frames with a length field carry LLC: STP and the like.
                if type == 0x888E {
                    flow.housekeeping = .eapol
                } else if type == 0x88CC || type < Self.etherTypeMinimum {
                    flow.housekeeping = .l2
                }
            }
        }
        out.sourceHigh = flow.sourceHigh
        out.sourceLow = flow.sourceLow
        out.destinationHigh = flow.destinationHigh
        out.destinationLow = flow.destinationLow
        out.sourcePort = flow.sourcePort
        out.destinationPort = flow.destinationPort
        out.ipProtocol = flow.proto
        out.flags = flow.flags
        out.housekeeping = flow.housekeeping
        out.flowHash = FrameFlowHash.hash(flow, sourceMAC: sourceMAC, destinationMAC: destinationMAC)
    }

    /// The upper layer at `offset`. Headers must lie before `ipEnd` (the end of the IP packet, or
    /// of the frame when it was cut); lengths are checked against `claimedEnd`, where the IP header
    /// says the packet ends.
    func parseTransport(at offset: UInt32, ipEnd: UInt32, claimedEnd: UInt32, icmp: UInt8,
                        _ flow: inout Flow, _ out: inout FrameHeaders) {
        if flow.proto == Self.protocolNone { return }
        out.l4Offset = UInt16(truncatingIfNeeded: offset)
        switch flow.proto {
        case Self.protocolTCP:
            guard have(offset + 20, ipEnd, .tcpTruncated, &out) else { return }
            let headerLength = UInt32(u8(offset + 12) >> 4) * 4
            if headerLength < 20 {
                out.malformed = .tcpOffset
                return
            }
            if offset + headerLength > claimedEnd {
                out.malformed = .tcpOffsetLong
                return
            }
            flow.sourcePort = u16(offset)
            flow.destinationPort = u16(offset + 2)
            flow.flags.insert(.transport)
            out.tcpFlags = u8(offset + 13)
            out.l4Payload = UInt16(truncatingIfNeeded: claimedEnd &- offset &- headerLength)
            // DNS over TCP, as bma_parse marks it: a segment from port 53 with data.
            if flow.sourcePort == 53 && out.l4Payload > 2 && !flow.flags.contains(.fragment) { flow.flags.insert(.dnsResponse) }
        case Self.protocolUDP:
            guard have(offset + 8, ipEnd, .udpTruncated, &out) else { return }
            let length = UInt32(u16(offset + 4))
            // A first fragment carries only part of the datagram the UDP length describes.
            if length < 8 || (!flow.flags.contains(.fragment) && offset + length > claimedEnd) {
                out.malformed = .udpLength
                return
            }
            flow.sourcePort = u16(offset)
            flow.destinationPort = u16(offset + 2)
            flow.flags.insert(.transport)
            flow.housekeeping = Self.udpHousekeeping(flow.sourcePort, flow.destinationPort)
            if flow.sourcePort == 53 && !flow.flags.contains(.fragment) { flow.flags.insert(.dnsResponse) }
            out.l4Payload = UInt16(truncatingIfNeeded: claimedEnd &- offset &- 8)
        case icmp:
            guard have(offset + 4, ipEnd, .icmpTruncated, &out) else { return }
            flow.flags.insert(.transport)
            flow.housekeeping = Self.icmpHousekeeping(v6: icmp == Self.protocolICMPv6, type: u8(offset))
            out.icmpType = u8(offset)
            out.icmpCode = u8(offset + 1)
            out.l4Payload = UInt16(truncatingIfNeeded: claimedEnd &- offset &- 4)
        default:
            // Another protocol: its header length is unknown; everything after the IP header.
            if flow.proto == 2 && icmp == Self.protocolICMP { flow.housekeeping = .group }  // IGMP
            out.l4Payload = UInt16(truncatingIfNeeded: claimedEnd &- offset)
        }
    }

    func parseIPv4(at offset: UInt32, _ flow: inout Flow, _ out: inout FrameHeaders) {
        guard have(offset + 20, pktLen, .ipv4Truncated, &out) else { return }
        let first = u8(offset)
        guard first >> 4 == 4 else { out.malformed = .ipv4Version; return }
        let headerLength = UInt32(first & 0x0F) * 4
        guard headerLength >= 20 else { out.malformed = .ipv4HeaderLength; return }
        // Options are never read: they only need to be inside the frame, not the capture.
        guard offset + headerLength <= pktLen else { out.malformed = .ipv4Options; return }
        let total = UInt32(u16(offset + 2))
        guard total >= headerLength else { out.malformed = .ipv4TotalShort; return }
        // Shorter than the frame is Ethernet padding; longer means bytes are missing from the
        // frame itself: counted, and the headers that are there still describe the packet.
        var ipEnd = offset + total
        if ipEnd > pktLen {
            out.malformed = .ipv4TotalLong
            ipEnd = pktLen
        }
        flow.isIP = true
        flow.proto = u8(offset + 9)
        flow.sourceLow = Self.v4Mapped | UInt64(u32(offset + 12))
        flow.destinationLow = Self.v4Mapped | UInt64(u32(offset + 16))
        out.ipLength = UInt16(truncatingIfNeeded: total)
        out.ttl = u8(offset + 8)
        out.trafficClass = u8(offset + 1)
        out.ipHeaderLength = UInt16(truncatingIfNeeded: headerLength)
        if headerLength > 20 { flow.flags.insert(.ipOptions) }
        let fragment = u16(offset + 6)
        if fragment & 0x3FFF != 0 {  // MF or a non-zero offset; DF alone is not a fragment
            flow.flags.insert(.fragment)
            if fragment & 0x1FFF != 0 {
                flow.flags.insert(.laterFragment)
                return
            }
        }
        let why = out.malformed
        parseTransport(at: offset + headerLength, ipEnd: ipEnd, claimedEnd: offset + total, icmp: Self.protocolICMP, &flow, &out)
        if why != .none { out.malformed = why }  // the first reason stands
    }

    func parseIPv6(at offset: UInt32, _ flow: inout Flow, _ out: inout FrameHeaders) {
        guard have(offset + 40, pktLen, .ipv6Truncated, &out) else { return }
        guard u8(offset) >> 4 == 6 else { out.malformed = .ipv6Version; return }
        let payload = UInt32(u16(offset + 4))
        let claimed = offset + 40 + payload
        var end = claimed
        if end > pktLen {  // cut short: counted, and parsed as far as the bytes go
            out.malformed = .ipv6PayloadLong
            end = pktLen
        }
        let why = out.malformed
        flow.isIP = true
        flow.sourceHigh = u64(offset + 8)
        flow.sourceLow = u64(offset + 16)
        flow.destinationHigh = u64(offset + 24)
        flow.destinationLow = u64(offset + 32)
        out.ipLength = payload > 0xFFFF - 40 ? 0xFFFF : UInt16(40 + payload)
        out.ttl = u8(offset + 7)
        out.trafficClass = UInt8(truncatingIfNeeded: u16(offset) >> 4)
        var next = u8(offset + 6)
        var cursor = offset + 40
        defer {
            out.ipHeaderLength = UInt16(truncatingIfNeeded: cursor - offset)
            if why != .none { out.malformed = why }  // a cut frame: the first reason stands
        }
        var walked = 0
        while Self.isIPv6Extension(next) {
            if walked == FrameHeaders.maximumIPv6Extensions {
                out.malformed = .ipv6ExtensionDepth
                return
            }
            walked += 1
            flow.flags.insert(.ipOptions)
            // Every extension header is at least 8 bytes, which covers the fields read below.
            guard have(cursor + 8, end, .ipv6ExtensionTruncated, &out) else { return }
            let length: UInt32
            if next == 44 {
                length = 8
                let field = u16(cursor + 2)
                if field & 0xFFF9 != 0 {  // offset (bits 15..3) or M (bit 0)
                    flow.flags.insert(.fragment)
                    if field & 0xFFF8 != 0 {
                        flow.flags.insert(.laterFragment)
                        flow.proto = u8(cursor)
                        return
                    }
                }
            } else if next == 51 {
                length = (UInt32(u8(cursor + 1)) + 2) * 4
            } else {
                length = (UInt32(u8(cursor + 1)) + 1) * 8
            }
            if cursor + length > end {
                out.malformed = .ipv6ExtensionTruncated
                return
            }
            next = u8(cursor)
            cursor += length
        }
        flow.proto = next
        parseTransport(at: cursor, ipEnd: end, claimedEnd: claimed, icmp: Self.protocolICMPv6, &flow, &out)
    }

    func parseARP(at offset: UInt32, _ flow: inout Flow, _ out: inout FrameHeaders) {
        guard have(offset + 28, pktLen, .arpTruncated, &out) else { return }
        out.arpOperation = u16(offset + 6)
        // Addresses only for IPv4 over a 6-byte hardware address; other layouts differ.
        if u16(offset + 2) == Self.etherTypeIPv4 && u8(offset + 4) == 6 && u8(offset + 5) == 4 {
            flow.sourceLow = Self.v4Mapped | UInt64(u32(offset + 14))
            flow.destinationLow = Self.v4Mapped | UInt64(u32(offset + 24))
        }
    }
}
