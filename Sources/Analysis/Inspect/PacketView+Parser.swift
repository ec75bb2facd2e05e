extension PacketView {
    /// The decoder. Every read goes through `u8`/`u16`/`u32`, which check the index against the
    /// captured bytes first; the layer functions check whole headers before reading them.
    struct Parser {
        let bytes: [UInt8]

        static let vlanTagTypes: Set<UInt16> = [0x8100, 0x88A8, 0x9100]
        static let dnsPorts: Set<UInt16> = [53, 5353]

        func has(_ offset: Int, _ length: Int) -> Bool {
            offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
        }

        func u8(_ offset: Int) -> UInt8 { bytes[offset] }
        func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
        func u32(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        }

        mutating func parse(into view: inout PacketView) {
            guard has(0, 14) else { view.malformed = .runt; return }
            view.destinationMAC = MACAddress(bytes, at: 0)
            view.sourceMAC = MACAddress(bytes, at: 6)
            var typeOffset = 12
            while Self.vlanTagTypes.contains(u16(typeOffset)) {
                guard view.vlanIDs.count < PacketView.maximumVLANTags else { view.malformed = .tooManyVLANTags; return }
                guard has(typeOffset + 4, 2) else { view.malformed = .runt; return }
                view.vlanIDs.append(u16(typeOffset + 2) & 0x0FFF)
                typeOffset += 4
            }
            let etherType = u16(typeOffset)
            view.etherType = etherType
            let start = typeOffset + 2
            switch etherType {
            case 0x0800: parseIPv4(at: start, into: &view)
            case 0x86DD: parseIPv6(at: start, into: &view)
            case 0x0806: parseARP(at: start, into: &view)
            default: return
            }
            guard view.malformed == nil, let ip = view.ip, !ip.isLaterFragment else { return }
            // The transport header lies between the IP header and the end of the datagram, or
            // the end of the capture if that comes first.
            let end = min(bytes.count, ip.offset + ip.totalLength)
            let start4 = ip.offset + ip.headerLength
            switch ip.protocolNumber {
            case 6: parseTCP(at: start4, end: end, ip: ip, into: &view)
            case 17: parseUDP(at: start4, end: end, ip: ip, into: &view)
            case 1: parseICMP(at: start4, end: end, isV6: false, into: &view)
            case 58: parseICMP(at: start4, end: end, isV6: true, into: &view)
            default: break
            }
            parseDNS(into: &view, capturedEnd: end)
        }

        // MARK: Network

        func parseIPv4(at offset: Int, into view: inout PacketView) {
            guard has(offset, 20) else { view.malformed = .truncatedIPHeader; return }
            guard u8(offset) >> 4 == 4 else { view.malformed = .badIPVersion; return }
            let headerLength = Int(u8(offset) & 0x0F) * 4
            guard headerLength >= 20 else { view.malformed = .badIPHeaderLength; return }
            guard has(offset, headerLength) else { view.malformed = .truncatedIPHeader; return }
            let totalLength = Int(u16(offset + 2))
            guard totalLength >= headerLength else { view.malformed = .badIPTotalLength; return }
            let fragment = u16(offset + 6)
            let fragmentOffset = fragment & 0x1FFF
            let moreFragments = fragment & 0x2000 != 0
            view.ip = IP(
                version: 4, source: .v4(IPv4Address(rawValue: u32(offset + 12))),
                destination: .v4(IPv4Address(rawValue: u32(offset + 16))), protocolNumber: u8(offset + 9),
                ttl: u8(offset + 8), totalLength: totalLength, headerLength: headerLength,
                isLaterFragment: fragmentOffset != 0, isFragment: fragmentOffset != 0 || moreFragments,
                trafficClass: u8(offset + 1), offset: offset)
        }

        func parseIPv6(at offset: Int, into view: inout PacketView) {
            guard has(offset, 40) else { view.malformed = .truncatedIPHeader; return }
            guard u8(offset) >> 4 == 6 else { view.malformed = .badIPVersion; return }
            let totalLength = 40 + Int(u16(offset + 4))
            var next = u8(offset + 6)
            var headerEnd = offset + 40
            var isLaterFragment = false
            var isFragment = false
            var walked = 0
            walk: while true {
                switch next {
                case 0, 43, 60, 135, 139, 140:  // hop-by-hop, routing, destination options, mobility, HIP, shim6
                    guard walked < PacketView.maximumIPv6Extensions, has(headerEnd, 8) else {
                        view.malformed = .truncatedIPv6Extensions; break walk
                    }
                    let length = (Int(u8(headerEnd + 1)) + 1) * 8
                    next = u8(headerEnd)
                    headerEnd += length
                case 44:  // fragment
                    guard walked < PacketView.maximumIPv6Extensions, has(headerEnd, 8) else {
                        view.malformed = .truncatedIPv6Extensions; break walk
                    }
                    next = u8(headerEnd)
                    let field = u16(headerEnd + 2)
                    isFragment = true
                    isLaterFragment = field >> 3 != 0
                    headerEnd += 8
                    if isLaterFragment { break walk }
                case 51:  // authentication header: length in 4-octet units, minus 2
                    guard walked < PacketView.maximumIPv6Extensions, has(headerEnd, 8) else {
                        view.malformed = .truncatedIPv6Extensions; break walk
                    }
                    let length = (Int(u8(headerEnd + 1)) + 2) * 4
                    next = u8(headerEnd)
                    headerEnd += length
                default:
                    break walk
                }
                walked += 1
            }
            if view.malformed == nil, headerEnd - offset > totalLength { view.malformed = .badIPTotalLength }
            view.ip = IP(
                version: 6, source: Address(ipv6: bytes, at: offset + 8), destination: Address(ipv6: bytes, at: offset + 24),
                protocolNumber: next, ttl: u8(offset + 7), totalLength: max(totalLength, headerEnd - offset),
                headerLength: headerEnd - offset, isLaterFragment: isLaterFragment, isFragment: isFragment,
                trafficClass: UInt8(truncatingIfNeeded: u16(offset) >> 4), offset: offset)
        }

        func parseARP(at offset: Int, into view: inout PacketView) {
            guard has(offset, 28) else { view.malformed = .truncatedARP; return }
            // Ethernet hardware (1), IPv4 protocol, 6-byte and 4-byte addresses only.
            guard u16(offset) == 1, u16(offset + 2) == 0x0800, u8(offset + 4) == 6, u8(offset + 5) == 4 else { return }
            view.arp = ARP(
                operation: u16(offset + 6), senderMAC: MACAddress(bytes, at: offset + 8),
                senderIP: IPv4Address(rawValue: u32(offset + 14)), targetMAC: MACAddress(bytes, at: offset + 18),
                targetIP: IPv4Address(rawValue: u32(offset + 24)))
        }

        // MARK: Transport

        func parseTCP(at offset: Int, end: Int, ip: IP, into view: inout PacketView) {
            guard offset + 20 <= end, has(offset, 20) else { view.malformed = .truncatedTransport; return }
            let headerLength = Int(u8(offset + 12) >> 4) * 4
            guard headerLength >= 20, headerLength <= ip.payloadLength else { view.malformed = .badTCPOffset; return }
            let payloadLength = ip.payloadLength - headerLength
            let payloadOffset = offset + headerLength
            let captured = max(0, min(end, bytes.count) - payloadOffset)
            view.transport = .tcp(TCP(
                sourcePort: u16(offset), destinationPort: u16(offset + 2), sequence: u32(offset + 4),
                acknowledgement: u32(offset + 8), flags: TCP.Flags(rawValue: u16(offset + 12) & 0x01FF),
                window: u16(offset + 14), headerLength: headerLength, payloadLength: payloadLength,
                capturedPayloadLength: min(captured, payloadLength), payloadOffset: payloadOffset))
        }

        func parseUDP(at offset: Int, end: Int, ip: IP, into view: inout PacketView) {
            guard offset + 8 <= end, has(offset, 8) else { view.malformed = .truncatedTransport; return }
            let length = Int(u16(offset + 4))
            // Length 0 is legal only for IPv6 jumbograms; take the IP length then.
            let datagram = length == 0 && ip.version == 6 ? ip.payloadLength : length
            guard datagram >= 8, datagram <= ip.payloadLength else { view.malformed = .badUDPLength; return }
            let payloadOffset = offset + 8
            let captured = max(0, min(end, bytes.count) - payloadOffset)
            view.transport = .udp(UDP(
                sourcePort: u16(offset), destinationPort: u16(offset + 2), length: length, payloadLength: datagram - 8,
                capturedPayloadLength: min(captured, datagram - 8), payloadOffset: payloadOffset))
        }

        func parseICMP(at offset: Int, end: Int, isV6: Bool, into view: inout PacketView) {
            guard offset + 4 <= end, has(offset, 4) else { view.malformed = .truncatedTransport; return }
            var icmp = ICMP(isV6: isV6, type: u8(offset), code: u8(offset + 1))
            let echo: Set<UInt8> = isV6 ? [128, 129] : [0, 8]
            if echo.contains(icmp.type), offset + 8 <= end {
                icmp.echoIdentifier = u16(offset + 4)
                icmp.echoSequence = u16(offset + 6)
            }
            // Errors quote the offending datagram after 8 bytes: unreachable, time exceeded,
            // parameter problem (and v4 source quench, redirect; v6 packet too big).
            let errors: Set<UInt8> = isV6 ? [1, 2, 3, 4] : [3, 4, 5, 11, 12]
            if errors.contains(icmp.type) {
                icmp.quoted = quotedFlow(at: offset + 8, end: end)
            }
            view.transport = .icmp(icmp)
        }

        /// The flow of the IP datagram quoted by an ICMP error, if its header and (for TCP and
        /// UDP) its ports are present.
        func quotedFlow(at offset: Int, end: Int) -> FlowKey? {
            guard offset < end, has(offset, 1) else { return nil }
            let version = u8(offset) >> 4
            let source: Address
            let destination: Address
            let proto: UInt8
            let transport: Int
            if version == 4 {
                guard offset + 20 <= end, has(offset, 20) else { return nil }
                let headerLength = Int(u8(offset) & 0x0F) * 4
                guard headerLength >= 20 else { return nil }
                source = .v4(IPv4Address(rawValue: u32(offset + 12)))
                destination = .v4(IPv4Address(rawValue: u32(offset + 16)))
                proto = u8(offset + 9)
                transport = offset + headerLength
            } else if version == 6 {
                guard offset + 40 <= end, has(offset, 40) else { return nil }
                source = Address(ipv6: bytes, at: offset + 8)
                destination = Address(ipv6: bytes, at: offset + 24)
                proto = u8(offset + 6)
                transport = offset + 40
            } else {
                return nil
            }
            var ports: (UInt16, UInt16) = (0, 0)
            if proto == 6 || proto == 17, transport + 4 <= end, has(transport, 4) {
                ports = (u16(transport), u16(transport + 2))
            }
            return FlowKey(srcIP: source.description, dstIP: destination.description, proto: proto,
                           srcPort: ports.0, dstPort: ports.1)
        }

        // MARK: DNS

        func parseDNS(into view: inout PacketView, capturedEnd: Int) {
            switch view.transport {
            case let .udp(udp) where Self.dnsPorts.contains(udp.sourcePort) || Self.dnsPorts.contains(udp.destinationPort):
                let start = udp.payloadOffset
                let end = min(capturedEnd, start + udp.capturedPayloadLength)
                view.dns = DNS(bytes: bytes, start: start, end: end)
            case let .tcp(tcp) where (tcp.sourcePort == 53 || tcp.destinationPort == 53) && tcp.capturedPayloadLength > 2:
                // DNS over TCP: a 2-byte length, then the message. Only a segment that starts a
                // message is decoded (no reassembly).
                let start = tcp.payloadOffset
                let declared = Int(u16(start))
                let end = min(capturedEnd, start + tcp.capturedPayloadLength, start + 2 + declared)
                view.dns = DNS(bytes: bytes, start: start + 2, end: end)
            default:
                return
            }
        }
    }
}
