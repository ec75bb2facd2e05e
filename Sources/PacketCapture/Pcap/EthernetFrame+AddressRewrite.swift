extension EthernetFrame {
    /// Sets the IPv4 source address and fixes the IPv4 header checksum and the TCP/UDP checksum.
    /// Returns false (and changes nothing) for a frame without a captured IPv4 header.
    @discardableResult
    public mutating func setIPv4Source(_ address: IPv4Address) -> Bool {
        guard let ip = ipv4Header else { return false }
        writeAddress(address, at: ip.offset + 12, of: ip)
        return true
    }

    @discardableResult
    public mutating func setIPv4Destination(_ address: IPv4Address) -> Bool {
        guard let ip = ipv4Header else { return false }
        writeAddress(address, at: ip.offset + 16, of: ip)
        return true
    }

    /// Replaces `old` by `new` wherever it is the source or destination: in the IPv4 header and,
    /// for ICMP errors, in the quoted header of the packet that caused the error, so a rewritten
    /// conversation stays consistent. Fixes every affected checksum. Returns how many address
    /// fields changed.
    @discardableResult
    public mutating func replaceIPv4Address(_ old: IPv4Address, with new: IPv4Address) -> Int {
        guard let ip = ipv4Header, old != new else { return 0 }
        var replaced = 0
        for field in [12, 16] where IPv4Address(bytes, at: ip.offset + field) == old {
            writeAddress(new, at: ip.offset + field, of: ip)
            replaced += 1
        }
        return replaced + replaceInQuotedHeader(old, with: new, outer: ip)
    }

    /// ICMP types whose payload quotes the IP header of the offending packet (RFC 792).
    private static let icmpErrorTypes: Set<UInt8> = [3, 4, 5, 11, 12]

    private mutating func replaceInQuotedHeader(_ old: IPv4Address, with new: IPv4Address, outer: IPv4HeaderLocation) -> Int {
        let icmp = outer.transportOffset
        guard outer.protocolNumber == Self.protocolICMP, outer.isFirstFragment,
              icmp + 4 <= outer.end, Self.icmpErrorTypes.contains(bytes[icmp]),
              let quoted = IPv4HeaderLocation(in: bytes, at: icmp + 8, limit: outer.end) else { return 0 }
        // The ICMP checksum covers the whole quote: adjust it by the change of the quote's sum.
        let quote = quoted.offset..<outer.end
        let sumBefore = InternetChecksum.sum(bytes, quote)
        var replaced = 0
        for field in [12, 16] where IPv4Address(bytes, at: quoted.offset + field) == old {
            writeAddress(new, at: quoted.offset + field, of: quoted)
            replaced += 1
        }
        if replaced > 0 {
            let sumAfter = InternetChecksum.sum(bytes, quote)
            let checksum = InternetChecksum.adjusted(uint16(at: icmp + 2), oldSum: sumBefore, newSum: sumAfter)
            setUInt16(checksum, at: icmp + 2)
        }
        return replaced
    }

    /// Writes an address field of the header `ip` and updates the checksums that cover it:
    /// the header checksum, and the TCP/UDP checksum through its pseudo-header. Incremental
    /// updates work even when the payload was not fully captured.
    private mutating func writeAddress(_ address: IPv4Address, at field: Int, of ip: IPv4HeaderLocation) {
        let oldSum = InternetChecksum.sum(bytes, field..<field + 4)
        bytes.replaceSubrange(field..<field + 4, with: address.octets)
        let newSum = InternetChecksum.sum(bytes, field..<field + 4)
        guard oldSum != newSum else { return }

        let headerChecksum = ip.offset + 10
        setUInt16(InternetChecksum.adjusted(uint16(at: headerChecksum), oldSum: oldSum, newSum: newSum), at: headerChecksum)

        guard let transportChecksum = transportChecksumOffset(of: ip) else { return }
        let current = uint16(at: transportChecksum)
        let isUDP = ip.protocolNumber == Self.protocolUDP
        // A zero UDP checksum means "none" and stays so; a computed zero is sent as 0xFFFF.
        if isUDP && current == 0 { return }
        var updated = InternetChecksum.adjusted(current, oldSum: oldSum, newSum: newSum)
        if isUDP && updated == 0 { updated = 0xFFFF }
        setUInt16(updated, at: transportChecksum)
    }

    /// Offset of the TCP or UDP checksum of `ip`, when captured and in the first fragment.
    private func transportChecksumOffset(of ip: IPv4HeaderLocation) -> Int? {
        guard ip.isFirstFragment else { return nil }
        let offset: Int
        switch ip.protocolNumber {
        case Self.protocolTCP: offset = ip.transportOffset + 16
        case Self.protocolUDP: offset = ip.transportOffset + 6
        default: return nil
        }
        return offset + 2 <= ip.end ? offset : nil
    }
}
