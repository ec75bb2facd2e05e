import CDPDK

/// What a packet's "service" is: for TCP/UDP the protocol and the service-side port, for ICMP
/// the type, else the L3 kind or ethertype. The service side is the destination port when the VM
/// opens the connection (SYN), the source port when it answers (SYN+ACK), else the lower port.
@inline(__always) func serviceKey(_ p: UnsafePointer<bma_pkt_t>) -> UInt64 {
    let proto = UInt64(p.pointee.ip_proto)
    let l3 = UInt64(p.pointee.l3)
    if p.pointee.flags & UInt16(BMA_PF_L4) != 0 {
        if proto == 6 || proto == 17 || proto == 132 {
            let s = p.pointee.src_port, d = p.pointee.dst_port
            var port = d
            if proto == 6 && p.pointee.tcp_flags & 0x02 != 0 {
                port = p.pointee.tcp_flags & 0x10 != 0 ? s : d
            } else if s < d {
                port = s
            }
            return l3 << 32 | proto << 16 | UInt64(port)
        }
        return l3 << 32 | proto << 16 | UInt64(p.pointee.icmp_type)
    }
    if l3 == UInt64(BMA_L3_IPV4) || l3 == UInt64(BMA_L3_IPV6) { return l3 << 32 | proto << 16 }
    return l3 << 32 | UInt64(p.pointee.ethertype)
}

/// Protocol class for the protocol mix: 0 TCP, 1 UDP, 2 ICMP, 3 ARP, 4 other (the parser's
/// `BMA_CLASS_*`, taken from the L3 kind and the IP protocol).
@inline(__always) func protocolClass(_ p: UnsafePointer<bma_pkt_t>) -> Int {
    Int(p.pointee.proto_class)
}

public let protocolClassNames = ["tcp", "udp", "icmp", "arp", "other"]

/// The size that describes a packet: the IP length when there is one (true even for truncated
/// captures), else the frame length.
@inline(__always) func packetSize(_ p: UnsafePointer<bma_pkt_t>) -> Double {
    p.pointee.ip_len != 0 ? Double(p.pointee.ip_len) : Double(p.pointee.pkt_len)
}
