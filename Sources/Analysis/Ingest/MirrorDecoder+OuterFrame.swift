import BMAContract

extension MirrorDecoder {
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeIPv6: UInt16 = 0x86DD
    static let vlanTagTypes: Set<UInt16> = [0x8100, 0x88A8, 0x9100]

    /// `vlanTagTypes` as a comparison: no hashing per packet.
    @inline(__always)
    static func isVLANTag(_ type: UInt16) -> Bool { type == 0x8100 || type == 0x88A8 || type == 0x9100 }
    static let udpProtocol: UInt8 = 17

    /// A whole outer Ethernet frame as a capture of the collector's NIC holds it (any number of
    /// VLAN tags, IPv4 or IPv6, then UDP to `genevePort`/`vxlanPort` or GRE carrying ERSPAN II).
    /// `sensor` is the outer source address as text; `receivedNs` is the capture time.
    ///
    /// Ethernet padding after the IP packet is ignored. When the capture kept less than the IP
    /// header's length (a snaplen), the tunnel is decoded from what is there and the inner
    /// frame's `originalLength` counts the missing bytes. Outer fragments are not reassembled.
    /// Traffic that is not mirror traffic throws `.notMirrorTraffic`, so importers can skip it.
    public static func decodeOuterFrame(_ frame: some Collection<UInt8>, receivedNs: UInt64,
                                        genevePort: UInt16 = MirrorDecoder.genevePort,
                                        vxlanPort: UInt16 = MirrorDecoder.vxlanPort,
                                        sensorNames: SensorNames? = nil) throws(MirrorDecodeError) -> MirroredPacket {
        try MirrorBytes.with(frame) { bytes throws(MirrorDecodeError) in
            try outerFrame(bytes, receivedNs: receivedNs, genevePort: genevePort, vxlanPort: vxlanPort, sensorNames: sensorNames)
        }
    }

    /// The IP payload of an outer packet and what the tunnel decoders need about it.
    struct IPPayload {
        var sensor: String
        var protocolNumber: UInt8
        /// The captured part of the payload.
        var bytes: MirrorBytes
        /// Payload bytes the capture did not keep.
        var missing: Int
    }

    static func outerFrame(_ bytes: MirrorBytes, receivedNs: UInt64, genevePort: UInt16,
                           vxlanPort: UInt16, sensorNames: SensorNames? = nil) throws(MirrorDecodeError) -> MirroredPacket {
        try bytes.require(14, .ethernet)
        var typeOffset = 12
        while isVLANTag(bytes.u16(typeOffset)) {
            try bytes.require(typeOffset + 6, .vlan)
            typeOffset += 4
        }
        let etherType = bytes.u16(typeOffset)
        let network = bytes.suffix(from: typeOffset + 2)
        let ip: IPPayload
        switch etherType {
        case etherTypeIPv4: ip = try ipv4(network, sensorNames)
        case etherTypeIPv6: ip = try ipv6(network, sensorNames)
        default: throw .notMirrorTraffic(.etherType(etherType))
        }

        switch ip.protocolNumber {
        case udpProtocol:
            let udp = ip.bytes
            try udp.require(8, .udp)
            let declared = Int(udp.u16(4))
            let ipLength = udp.count + ip.missing
            guard (8...ipLength).contains(declared) else {
                throw .badLength(layer: .udp, declared: declared, allowed: 8...max(8, ipLength))
            }
            // Bytes after the UDP length (inside the IP packet) are not part of the datagram.
            let captured = min(udp.count, declared)
            let payload = udp.slice(8, captured)
            let context = Context(sensor: ip.sensor, receivedNs: receivedNs, missing: declared - captured)
            let port = udp.u16(2)
            if port == genevePort { return try geneve(payload, context) }
            if port == vxlanPort { return try vxlan(payload, context) }
            throw .notMirrorTraffic(.udpPort(port))
        case greProtocol:
            return try erspan(ip.bytes, Context(sensor: ip.sensor, receivedNs: receivedNs, missing: ip.missing))
        default:
            throw .notMirrorTraffic(.ipProtocol(ip.protocolNumber))
        }
    }

    static func ipv4(_ bytes: MirrorBytes, _ names: SensorNames? = nil) throws(MirrorDecodeError) -> IPPayload {
        try bytes.require(20, .ipv4)
        let version = bytes.u8(0) >> 4
        guard version == 4 else { throw .badVersion(layer: .ipv4, value: version) }
        let headerLength = Int(bytes.u8(0) & 0x0F) * 4
        guard headerLength >= 20 else { throw .badLength(layer: .ipv4, declared: headerLength, allowed: 20...60) }
        try bytes.require(headerLength, .ipv4)
        let totalLength = Int(bytes.u16(2))
        guard totalLength >= headerLength else {
            throw .badLength(layer: .ipv4, declared: totalLength, allowed: headerLength...65535)
        }
        let fragment = bytes.u16(6)
        guard fragment & 0x3FFF == 0 else { throw .fragmented(layer: .ipv4) }
        let source = IPAddressText.v4Mapped(bytes.u32(12))
        let sensor = names?.name(hi: source.hi, lo: source.lo) ?? IPAddressText.format(hi: source.hi, lo: source.lo)
        let captured = min(bytes.count, totalLength)
        return IPPayload(sensor: sensor, protocolNumber: bytes.u8(9), bytes: bytes.slice(headerLength, captured),
                         missing: totalLength - captured)
    }

    static func ipv6(_ bytes: MirrorBytes, _ names: SensorNames? = nil) throws(MirrorDecodeError) -> IPPayload {
        try bytes.require(40, .ipv6)
        let version = bytes.u8(0) >> 4
        guard version == 6 else { throw .badVersion(layer: .ipv6, value: version) }
        let address = (hi: bytes.u64(8), lo: bytes.u64(16))
        let sensor = names?.name(hi: address.hi, lo: address.lo) ?? IPAddressText.formatIPv6(hi: address.hi, lo: address.lo)
        let totalLength = 40 + Int(bytes.u16(4))
        let captured = min(bytes.count, totalLength)
        let packet = bytes.slice(0, captured)
        var nextHeader = bytes.u8(6)
        var offset = 40
        // Extension headers; each is at least 8 bytes, so the walk ends with the packet.
        while true {
            switch nextHeader {
            case 0, 43, 60:  // hop-by-hop, routing, destination options
                try packet.require(offset + 8, .ipv6Extension)
                let length = (Int(packet.u8(offset + 1)) + 1) * 8
                try packet.require(offset + length, .ipv6Extension)
                nextHeader = packet.u8(offset)
                offset += length
            case 51:  // authentication header
                try packet.require(offset + 8, .ipv6Extension)
                let length = (Int(packet.u8(offset + 1)) + 2) * 4
                try packet.require(offset + length, .ipv6Extension)
                nextHeader = packet.u8(offset)
                offset += length
            case 44:  // fragment
                try packet.require(offset + 8, .ipv6Extension)
                // Offset and M flag zero: an atomic fragment, a whole packet.
                guard packet.u16(offset + 2) & 0xFFF9 == 0 else { throw .fragmented(layer: .ipv6) }
                nextHeader = packet.u8(offset)
                offset += 8
            default:
                return IPPayload(sensor: sensor, protocolNumber: nextHeader, bytes: packet.suffix(from: offset),
                                 missing: totalLength - captured)
            }
        }
    }
}
