/// The 5-tuple of an IP packet and its Community ID (v1), used for flows, indexing and alerts.
public struct FlowKey: Sendable, Hashable, Codable {
    /// Addresses as text ("192.0.2.1", "2001:db8::1").
    public var srcIP: String
    public var dstIP: String
    public var proto: UInt8
    public var srcPort: UInt16
    public var dstPort: UInt16

    public init(srcIP: String, dstIP: String, proto: UInt8, srcPort: UInt16, dstPort: UInt16) {
        self.srcIP = srcIP
        self.dstIP = dstIP
        self.proto = proto
        self.srcPort = srcPort
        self.dstPort = dstPort
    }

    /// The same flow seen from the other side.
    public var reversed: FlowKey { FlowKey(srcIP: dstIP, dstIP: srcIP, proto: proto, srcPort: dstPort, dstPort: srcPort) }

    public var protoName: String {
        switch proto {
        case 6: "TCP"
        case 17: "UDP"
        case 1: "ICMP"
        case 58: "IPv6-ICMP"
        default: String(proto)
        }
    }
}
