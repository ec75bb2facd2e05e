import Analysis

/// A classic pcap file in memory (nanosecond timestamps, Ethernet), for downloads: tshark,
/// Wireshark and tcpdump read it. The store's metadata is not in it; the page shows it.
enum PcapBytes {
    static func encode(_ packets: [MirroredPacket]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24 + packets.reduce(0) { $0 + 16 + $1.frame.count })
        func le32(_ v: UInt32) { out += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)] }
        func le16(_ v: UInt16) { out += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
        le32(0xA1B2_3C4D)  // nanosecond resolution
        le16(2)
        le16(4)
        le32(0)
        le32(0)
        le32(262_144)
        le32(1)  // LINKTYPE_ETHERNET
        for p in packets {
            le32(UInt32(truncatingIfNeeded: p.timestampNs / 1_000_000_000))
            le32(UInt32(p.timestampNs % 1_000_000_000))
            le32(UInt32(p.frame.count))
            le32(max(p.originalLength, UInt32(p.frame.count)))
            out += p.frame
        }
        return out
    }
}
