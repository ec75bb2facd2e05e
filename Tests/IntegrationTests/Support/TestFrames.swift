import PacketCapture

/// Well-formed frames crafted for a test: each carries a tag in its payload so that every frame
/// of a capture is distinct and a misdelivered one is easy to name.
enum TestFrames {
    /// IPv4/UDP with correct header and UDP checksums; 60 bytes for short tags.
    static func udp4(
        from source: MACAddress, to destination: MACAddress,
        _ sourceIP: IPv4Address, _ destinationIP: IPv4Address,
        sourcePort: UInt16 = 40000, destinationPort: UInt16 = 5000, tag: String
    ) -> [UInt8] {
        var payload = Array(tag.utf8)
        if payload.count < 18 { payload += [UInt8](repeating: 0, count: 18 - payload.count) }
        var udp = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        let pseudo = sourceIP.octets + destinationIP.octets + [0, 17] + be16(UInt16(udp.count))
        let udpSum = InternetChecksum.sum(udp, 0..<udp.count, initial: InternetChecksum.sum(pseudo, 0..<pseudo.count))
        let udpChecksum = InternetChecksum.checksum(ofSum: udpSum)
        udp.replaceSubrange(6..<8, with: be16(udpChecksum == 0 ? 0xFFFF : udpChecksum))

        var ip: [UInt8] = [0x45, 0] + be16(UInt16(20 + udp.count)) + [0x12, 0x34, 0x40, 0, 64, 17, 0, 0]
            + sourceIP.octets + destinationIP.octets
        ip.replaceSubrange(10..<12, with: be16(InternetChecksum.checksum(ofSum: InternetChecksum.sum(ip, 0..<20))))
        return ethernet(source, destination, type: 0x0800) + ip + udp
    }

    /// IPv6/UDP (for multicast destinations such as 33:33:00:00:00:01).
    static func udp6(
        from source: MACAddress, to destination: MACAddress, sourceIP: [UInt8], destinationIP: [UInt8], tag: String
    ) -> [UInt8] {
        precondition(sourceIP.count == 16 && destinationIP.count == 16)
        var payload = Array(tag.utf8)
        if payload.count < 8 { payload += [UInt8](repeating: 0, count: 8 - payload.count) }
        var udp = be16(5353) + be16(5353) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        let pseudo = sourceIP + destinationIP + [0, 0] + be16(UInt16(udp.count)) + [0, 0, 0, 17]
        let sum = InternetChecksum.sum(udp, 0..<udp.count, initial: InternetChecksum.sum(pseudo, 0..<pseudo.count))
        let checksum = InternetChecksum.checksum(ofSum: sum)
        udp.replaceSubrange(6..<8, with: be16(checksum == 0 ? 0xFFFF : checksum))
        let ip: [UInt8] = [0x60, 0, 0, 0] + be16(UInt16(udp.count)) + [17, 255] + sourceIP + destinationIP
        return ethernet(source, destination, type: 0x86DD) + ip + udp
    }

    /// ARP request (broadcast), padded to 60 bytes.
    static func arpRequest(from source: MACAddress, _ senderIP: IPv4Address, asking targetIP: IPv4Address) -> [UInt8] {
        let arp: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 1] + source.octets + senderIP.octets
            + [UInt8](repeating: 0, count: 6) + targetIP.octets
        return ethernet(source, MACAddress(rawValue: 0xFFFF_FFFF_FFFF), type: 0x0806) + arp + [UInt8](repeating: 0, count: 18)
    }

    static func ethernet(_ source: MACAddress, _ destination: MACAddress, type: UInt16) -> [UInt8] {
        destination.octets + source.octets + be16(type)
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }

    static func mac(_ text: String) -> MACAddress {
        guard let m = MACAddress(text) else { preconditionFailure("bad MAC literal \(text)") }
        return m
    }
}
