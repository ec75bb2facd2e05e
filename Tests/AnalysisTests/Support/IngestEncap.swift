@testable import Analysis

/// Builds the outer frames bmad writes, byte for byte as Sources/CDPDK/bma_encap.c does
/// (AnalysisTests cannot link CDPDK): Ethernet + IPv4 (no options, DF, id 0, TTL 64) + UDP
/// (checksum 0) + VXLAN or Geneve with BMA's option, or GRE with sequence + ERSPAN II.
enum IngestEncap {
    enum Kind: CaseIterable { case vxlan, geneve, erspan2 }

    struct Meta {
        var tsNs: UInt64 = 1_700_000_000_123_456_789
        var vmID: UInt32 = 300
        var reasons: UInt32 = 0b10
        var scoreMilli: UInt32 = 1500
        var flowHash: UInt32 = 0xDEAD_BEEF
        var policyID: UInt16 = 7
        var flags: UInt16 = 0
    }

    struct Encap {
        var kind: Kind
        var srcMAC: [UInt8] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x01]
        var dstMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x99]
        var srcIP: [UInt8] = [192, 0, 2, 1]
        var collector: [UInt8] = [192, 0, 2, 10]
        var udpDstPort: UInt16 = 0
        var ttl: UInt8 = 0
        var dscp: UInt8 = 0
    }

    static let headerLength: [Kind: Int] = [.vxlan: 50, .geneve: 78, .erspan2: 50]
    /// Where the UDP payload (VXLAN, Geneve) and the GRE header (ERSPAN) start.
    static let udpPayloadOffset = 42
    static let grePacketOffset = 34

    /// The outer frame for a copy of `inner` (already cut to the snaplen) of a frame that was
    /// `originalLength` bytes long.
    static func build(_ encap: Encap, _ meta: Meta, inner: [UInt8], originalLength: Int? = nil) -> [UInt8] {
        let origLen = UInt32(originalLength ?? inner.count)
        let hlen = headerLength[encap.kind]!
        let flags = UInt32(meta.flags) | (UInt32(inner.count) < origLen ? 0x04 : 0)
        let afterIP = UInt32(hlen - 14 - 20 + inner.count)
        var out = encap.dstMAC + encap.srcMAC + be16(0x0800)
        var ip: [UInt8] = [0x45, (encap.dscp & 0x3F) << 2] + be16(UInt16(20 + afterIP)) + be16(0) + be16(0x4000)
        ip += [encap.ttl == 0 ? 64 : encap.ttl, encap.kind == .erspan2 ? 47 : 17, 0, 0] + encap.srcIP + encap.collector
        let checksum = ipv4Checksum(ip)
        ip[10] = UInt8(checksum >> 8)
        ip[11] = UInt8(checksum & 0xFF)
        out += ip
        let sourcePort = UInt16(0xC000 | ((meta.flowHash ^ (meta.flowHash >> 16)) & 0x3FFF))
        switch encap.kind {
        case .vxlan:
            let port = encap.udpDstPort == 0 ? 4789 : encap.udpDstPort
            out += be16(sourcePort) + be16(port) + be16(UInt16(afterIP)) + be16(0)
            out += be32(0x08 << 24) + be32((meta.vmID & 0xFF_FFFF) << 8)
        case .geneve:
            let port = encap.udpDstPort == 0 ? 6081 : encap.udpDstPort
            out += be16(sourcePort) + be16(port) + be16(UInt16(afterIP)) + be16(0)
            out += [UInt8((4 + 24) / 4), 0] + be16(0x6558) + be32((meta.vmID & 0xFF_FFFF) << 8)
            out += be16(0xFFF0) + [0x42, 24 / 4]
            out += [1, UInt8(flags & 0xFF)] + be16(meta.policyID) + be32(meta.reasons) + be32(meta.scoreMilli)
            out += be32(origLen) + be64(meta.tsNs)
        case .erspan2:
            out += be16(0x1000) + be16(0x88BE) + be32(UInt32(truncatingIfNeeded: meta.tsNs / 1000))
            let t: UInt32 = flags & 0x04 != 0 ? 1 : 0
            out += be16(1 << 12) + be16(UInt16(t << 10 | (meta.vmID & 0x3FF))) + be32(0)
        }
        precondition(out.count == hlen)
        return out + inner
    }

    /// The UDP payload (VXLAN, Geneve) or GRE packet (ERSPAN) of an outer frame.
    static func tunnelPayload(_ frame: [UInt8], _ kind: Kind) -> [UInt8] {
        Array(frame[(kind == .erspan2 ? grePacketOffset : udpPayloadOffset)...])
    }

    /// Decodes a tunnel payload with the decoder for `kind`.
    static func decode(_ payload: [UInt8], _ kind: Kind, sensor: String = "192.0.2.1",
                       receivedNs: UInt64 = 42) throws(MirrorDecodeError) -> MirroredPacket {
        switch kind {
        case .vxlan: try MirrorDecoder.decodeVXLAN(udpPayload: payload, sensor: sensor, receivedNs: receivedNs)
        case .geneve: try MirrorDecoder.decodeGeneve(udpPayload: payload, sensor: sensor, receivedNs: receivedNs)
        case .erspan2: try MirrorDecoder.decodeERSPAN(grePacket: payload, sensor: sensor, receivedNs: receivedNs)
        }
    }

    /// A TCP SYN from a VM, as bmad would see it (74 bytes with 20 bytes of payload).
    static func innerFrame(vlans: [UInt16] = [], payloadBytes: Int = 20) -> [UInt8] {
        FrameBuilder.tcpFrame(source: [10, 1, 0, 5], destination: [198, 51, 100, 7], sourcePort: 40000,
                              destinationPort: 443, vlans: vlans, payload: (0..<payloadBytes).map { UInt8($0 & 0xFF) })
    }

    static func ipv4Checksum(_ header: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        for index in stride(from: 0, to: header.count, by: 2) {
            sum += UInt32(header[index]) << 8 | UInt32(header[index + 1])
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { be16(UInt16(value >> 16)) + be16(UInt16(value & 0xFFFF)) }
    static func be64(_ value: UInt64) -> [UInt8] { be32(UInt32(value >> 32)) + be32(UInt32(value & 0xFFFF_FFFF)) }
}
