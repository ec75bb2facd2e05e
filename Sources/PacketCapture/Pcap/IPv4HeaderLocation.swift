/// Where a captured IPv4 header (outer, or quoted inside an ICMP error) lies in a frame.
struct IPv4HeaderLocation {
    let offset: Int
    let headerLength: Int
    let protocolNumber: UInt8
    let isFirstFragment: Bool
    /// End of the datagram in the frame: its total length, cut at the captured bytes.
    /// Ethernet padding past the total length is not part of it.
    let end: Int

    var transportOffset: Int { offset + headerLength }

    /// Nil unless a version-4 header with a valid header length is fully inside `bytes[..<limit]`.
    init?(in bytes: [UInt8], at offset: Int, limit: Int) {
        guard offset >= 0, offset + 20 <= limit, limit <= bytes.count, bytes[offset] >> 4 == 4 else { return nil }
        let headerLength = Int(bytes[offset] & 0x0F) * 4
        guard headerLength >= 20, offset + headerLength <= limit else { return nil }
        let totalLength = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        self.offset = offset
        self.headerLength = headerLength
        self.protocolNumber = bytes[offset + 9]
        self.isFirstFragment = (Int(bytes[offset + 6]) << 8 | Int(bytes[offset + 7])) & 0x1FFF == 0
        self.end = totalLength >= headerLength ? min(limit, offset + totalLength) : limit
    }
}
