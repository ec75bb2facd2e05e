/// Builds well-formed test frames with correct checksums, computed by `ChecksumVerifier`.
enum FrameBuilder {
    static let macA: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0A]
    static let macB: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0B]

    static func ethernet(destination: [UInt8] = macB, source: [UInt8] = macA, vlans: [UInt16] = [], etherType: UInt16, payload: [UInt8]) -> [UInt8] {
        var frame = destination + source
        for (index, vlan) in vlans.enumerated() {
            // Outer tags of a stack use 802.1ad, the innermost 802.1Q.
            let tpid: UInt16 = index + 1 < vlans.count ? 0x88A8 : 0x8100
            frame += be16(tpid) + be16(vlan)
        }
        return frame + be16(etherType) + payload
    }

    static func ipv4(source: [UInt8], destination: [UInt8], protocolNumber: UInt8, payload: [UInt8],
                     fragmentField: UInt16 = 0x4000, options: [UInt8] = []) -> [UInt8] {
        let headerLength = 20 + options.count
        var header: [UInt8] = [UInt8(0x40 | headerLength / 4), 0] + be16(UInt16(headerLength + payload.count))
        header += be16(0x1234) + be16(fragmentField) + [64, protocolNumber, 0, 0] + source + destination + options
        let checksum = ~UInt16(ChecksumVerifier.onesComplementSum(header[...]))
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(checksum & 0xFF)
        return header + payload
    }

    static func tcp(source: [UInt8], destination: [UInt8], sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8] = []) -> [UInt8] {
        var segment = be16(sourcePort) + be16(destinationPort) + [0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02] + be16(1024) + [0, 0, 0, 0] + payload
        let checksum = transportChecksum(source: source, destination: destination, protocolNumber: 6, segment: segment)
        segment[16] = UInt8(checksum >> 8)
        segment[17] = UInt8(checksum & 0xFF)
        return segment
    }

    static func udp(source: [UInt8], destination: [UInt8], sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8], withChecksum: Bool = true) -> [UInt8] {
        var datagram = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        guard withChecksum else { return datagram }
        var checksum = transportChecksum(source: source, destination: destination, protocolNumber: 17, segment: datagram)
        if checksum == 0 { checksum = 0xFFFF }
        datagram[6] = UInt8(checksum >> 8)
        datagram[7] = UInt8(checksum & 0xFF)
        return datagram
    }

    /// ICMP destination unreachable (port) quoting `original` (an IPv4 datagram).
    static func icmpUnreachable(quoting original: [UInt8]) -> [UInt8] {
        var message: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + original
        let checksum = ~UInt16(ChecksumVerifier.onesComplementSum(message[...]))
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(checksum & 0xFF)
        return message
    }

    static func tcpFrame(source: [UInt8], destination: [UInt8], sourcePort: UInt16 = 40000, destinationPort: UInt16 = 443,
                         vlans: [UInt16] = [], payload: [UInt8] = []) -> [UInt8] {
        let segment = tcp(source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort, payload: payload)
        return ethernet(vlans: vlans, etherType: 0x0800,
                        payload: ipv4(source: source, destination: destination, protocolNumber: 6, payload: segment))
    }

    static func udpFrame(source: [UInt8], destination: [UInt8], sourcePort: UInt16 = 5353, destinationPort: UInt16 = 53,
                         payload: [UInt8] = [1, 2, 3], withChecksum: Bool = true) -> [UInt8] {
        let datagram = udp(source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort,
                           payload: payload, withChecksum: withChecksum)
        return ethernet(etherType: 0x0800, payload: ipv4(source: source, destination: destination, protocolNumber: 17, payload: datagram))
    }

    static func transportChecksum(source: [UInt8], destination: [UInt8], protocolNumber: UInt8, segment: [UInt8]) -> UInt16 {
        let pseudo = source + destination + [0, protocolNumber] + be16(UInt16(segment.count))
        var sum = ChecksumVerifier.onesComplementSum(pseudo[...]) + ChecksumVerifier.onesComplementSum(segment[...])
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func be16(_ value: UInt16) -> [UInt8] {
        [UInt8(value >> 8), UInt8(value & 0xFF)]
    }
}
