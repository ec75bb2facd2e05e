/// bmad's symmetric flow hash (Sources/CDPDK/bma_parse.c), the same value for both directions of
/// a flow: the analyzer keys its per-flow state on it, and it names a flow the way bmad does.
public enum FrameFlowHash {
    /// The hash of an unfragmented IP packet's 5-tuple (addresses as in `FrameHeaders`).
    public static func tuple(sourceHigh: UInt64, sourceLow: UInt64, destinationHigh: UInt64, destinationLow: UInt64,
                             proto: UInt8, sourcePort: UInt16, destinationPort: UInt16) -> UInt32 {
        let flow = FrameParser.Flow(sourceHigh: sourceHigh, sourceLow: sourceLow, destinationHigh: destinationHigh,
                                    destinationLow: destinationLow, sourcePort: sourcePort, destinationPort: destinationPort,
                                    flags: [], proto: proto, isIP: true)
        return hash(flow, sourceMAC: 0, destinationMAC: 0)
    }

    static func hash(_ flow: FrameParser.Flow, sourceMAC: UInt64, destinationMAC: UInt64) -> UInt32 {
        guard flow.isIP else { return symmetric(sourceMAC, destinationMAC, salt: 0) }
        // Ports only when every packet of the flow has them: fragments of one datagram must land
        // together, and only the first carries the ports.
        let fragment = flow.flags.contains(.fragment)
        let sourcePort = fragment ? 0 : flow.sourcePort
        let destinationPort = fragment ? 0 : flow.destinationPort
        return symmetric(endpoint(flow.sourceHigh, flow.sourceLow, sourcePort),
                         endpoint(flow.destinationHigh, flow.destinationLow, destinationPort),
                         salt: (UInt64(flow.proto) + 1) << 56)
    }

    /// Multiply-xorshift finaliser: every input bit reaches every output bit.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 32
        x = x &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        x = x &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        return x
    }

    /// Order-independent combination of two endpoint keys: sort, then mix. Never 0.
    @inline(__always)
    static func symmetric(_ a: UInt64, _ b: UInt64, salt: UInt64) -> UInt32 {
        let low = min(a, b)
        let high = max(a, b)
        let h = mix((low ^ salt) &+ high &* 0xA076_1D64_78BD_642F)
        let r = UInt32(truncatingIfNeeded: h ^ (h >> 32))
        return r &+ (r == 0 ? 1 : 0)
    }

    /// One endpoint as a 64-bit key: a v4-mapped address uses the low 48 bits, so the port in
    /// bits 48..63 keeps (address, port) exact before the multiplies.
    @inline(__always)
    static func endpoint(_ high: UInt64, _ low: UInt64, _ port: UInt16) -> UInt64 {
        ((low ^ (UInt64(port) << 48)) &* 0xE703_7ED1_A0B4_28DB) ^ (high &* 0x8EBC_6AF0_9C88_C6E3)
    }
}
