import PacketCapture

extension PacketView {
    /// Fills a view from the headers the one frame parser found (`FrameHeaders`): only fields
    /// at offsets it has already checked are read here (TCP sequence numbers, ICMP echo ids,
    /// ARP addresses, the quoted header of an ICMP error, DNS). Every read is bounds-checked.
    struct Details {
        let bytes: [UInt8]
        let headers: FrameHeaders

        static let dnsPorts: Set<UInt16> = [53, 5353]
        static let echoTypes: (v4: Set<UInt8>, v6: Set<UInt8>) = ([0, 8], [128, 129])
        /// Errors quote the offending datagram after 8 bytes: unreachable, time exceeded,
        /// parameter problem (and v4 source quench, redirect; v6 packet too big).
        static let errorTypes: (v4: Set<UInt8>, v6: Set<UInt8>) = ([3, 4, 5, 11, 12], [1, 2, 3, 4])

        func has(_ offset: Int, _ length: Int) -> Bool {
            offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
        }

        func u8(_ offset: Int) -> UInt8 { bytes[offset] }
        func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
        func u32(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        }

        func fill(_ view: inout PacketView) {
            let h = headers
            view.malformed = h.malformed == .none ? nil : h.malformed
            guard h.capturedLength >= 14, h.malformed != .runt else { return }
            view.destinationMAC = MACAddress(rawValue: h.destinationMAC)
            view.sourceMAC = MACAddress(rawValue: h.sourceMAC)
            if h.vlanCount > 0 { view.vlanIDs = h.vlanIDs }
            // Stopped inside the VLAN tags: no EtherType.
            guard h.l3Offset != 0 else { return }
            view.etherType = h.etherType
            switch h.l3 {
            case .arp: fillARP(&view)
            case .ipv4, .ipv6: fillIP(&view)
            default: return
            }
        }

        func fillARP(_ view: inout PacketView) {
            let offset = Int(headers.l3Offset)
            guard has(offset, 28), u16(offset) == 1, u16(offset + 2) == 0x0800, u8(offset + 4) == 6, u8(offset + 5) == 4 else { return }
            view.arp = ARP(
                operation: u16(offset + 6), senderMAC: MACAddress(bytes, at: offset + 8),
                senderIP: IPv4Address(rawValue: u32(offset + 14)), targetMAC: MACAddress(bytes, at: offset + 18),
                targetIP: IPv4Address(rawValue: u32(offset + 24)))
        }

        func fillIP(_ view: inout PacketView) {
            let h = headers
            guard h.hasIP else { return }
            let v4 = h.isIPv4
            let ip = IP(
                version: v4 ? 4 : 6,
                source: v4 ? .v4(IPv4Address(rawValue: FrameHeaders.ipv4(h.sourceLow))) : .v6(high: h.sourceHigh, low: h.sourceLow),
                destination: v4 ? .v4(IPv4Address(rawValue: FrameHeaders.ipv4(h.destinationLow)))
                    : .v6(high: h.destinationHigh, low: h.destinationLow),
                protocolNumber: h.ipProtocol, ttl: h.ttl, totalLength: Int(h.ipLength), headerLength: Int(h.ipHeaderLength),
                isLaterFragment: h.flags.contains(.laterFragment), isFragment: h.flags.contains(.fragment),
                trafficClass: h.trafficClass, offset: Int(h.l3Offset))
            view.ip = ip
            guard h.flags.contains(.transport), h.l4Offset != 0 else { return }
            // The transport header lies between the IP header and the end of the datagram, or the
            // end of the capture if that comes first.
            let end = min(bytes.count, ip.offset + ip.totalLength)
            let offset = Int(h.l4Offset)
            switch h.ipProtocol {
            case 6: fillTCP(at: offset, end: end, ip: ip, into: &view)
            case 17: fillUDP(at: offset, end: end, ip: ip, into: &view)
            case 1 where v4: fillICMP(at: offset, end: end, isV6: false, into: &view)
            case 58 where !v4: fillICMP(at: offset, end: end, isV6: true, into: &view)
            default: return
            }
            fillDNS(into: &view, capturedEnd: end)
        }

        // MARK: Transport

        func fillTCP(at offset: Int, end: Int, ip: IP, into view: inout PacketView) {
            guard has(offset, 20) else { return }
            let headerLength = Int(u8(offset + 12) >> 4) * 4
            let payloadLength = max(0, ip.payloadLength - headerLength)
            let payloadOffset = offset + headerLength
            let captured = max(0, min(end, bytes.count) - payloadOffset)
            view.transport = .tcp(TCP(
                sourcePort: u16(offset), destinationPort: u16(offset + 2), sequence: u32(offset + 4),
                acknowledgement: u32(offset + 8), flags: TCP.Flags(rawValue: u16(offset + 12) & 0x01FF),
                window: u16(offset + 14), headerLength: headerLength, payloadLength: payloadLength,
                capturedPayloadLength: min(captured, payloadLength), payloadOffset: payloadOffset))
        }

        func fillUDP(at offset: Int, end: Int, ip: IP, into view: inout PacketView) {
            guard has(offset, 8) else { return }
            let length = Int(u16(offset + 4))
            // A first fragment's UDP length describes the whole datagram: bound it by the IP length.
            let datagram = min(length, ip.payloadLength)
            let payloadOffset = offset + 8
            let captured = max(0, min(end, bytes.count) - payloadOffset)
            view.transport = .udp(UDP(
                sourcePort: u16(offset), destinationPort: u16(offset + 2), length: length, payloadLength: max(0, datagram - 8),
                capturedPayloadLength: min(captured, max(0, datagram - 8)), payloadOffset: payloadOffset))
        }

        func fillICMP(at offset: Int, end: Int, isV6: Bool, into view: inout PacketView) {
            guard has(offset, 4) else { return }
            var icmp = ICMP(isV6: isV6, type: u8(offset), code: u8(offset + 1))
            if (isV6 ? Self.echoTypes.v6 : Self.echoTypes.v4).contains(icmp.type), offset + 8 <= end {
                icmp.echoIdentifier = u16(offset + 4)
                icmp.echoSequence = u16(offset + 6)
            }
            if (isV6 ? Self.errorTypes.v6 : Self.errorTypes.v4).contains(icmp.type) {
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

        func fillDNS(into view: inout PacketView, capturedEnd: Int) {
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
