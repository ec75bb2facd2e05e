import CDPDK

/// Housekeeping traffic (the parser's BMA_HK_* class: ARP, DHCP, NDP, ICMP echo and errors,
/// IGMP/MLD, EAPOL, LLDP/STP, mDNS/SSDP/LLMNR) is the network's upkeep: rare, regular, and
/// harmless one packet at a time. It is judged by rate and fan-out, not by the novelty of one
/// packet: a new neighbour answered, an echo reply to a host never seen, are not deviations; a
/// sweep (many new hosts) or a flood is.
public enum Housekeeping {
    /// The class of a packet, 0 when it is not housekeeping.
    @inline(__always) public static func kind(_ p: UnsafePointer<bma_pkt_t>) -> UInt8 { p.pointee.housekeeping }

    /// Answers to what the VM received: ARP replies, ICMP echo replies and errors, neighbour
    /// advertisements. There cannot be many more of them than packets toward the VM, so their
    /// rate is judged against the VM's incoming rate as well as their own learned peak.
    @inline(__always) public static func isAnswer(_ p: UnsafePointer<bma_pkt_t>) -> Bool {
        switch Int32(p.pointee.housekeeping) {
        case Int32(BMA_HK_ARP): return p.pointee.arp_op == 2
        case Int32(BMA_HK_ICMP):
            let t = p.pointee.icmp_type
            return p.pointee.ip_proto == 1 ? t != 8 : t != 128
        case Int32(BMA_HK_NDP): return p.pointee.icmp_type == 136
        default: return false
        }
    }

    public static func name(_ kind: UInt8) -> String { String(cString: bma_housekeeping_name(UInt32(kind))) }
}

/// Packets toward a VM, as a damped 10 s count: what the VM's answers are measured against.
/// Updated once per burst with the burst's count for the VM.
public struct IncomingMeter: Sendable {
    public var meter = RateMeter()

    public init() {}

    @inline(__always) public mutating func add(_ packets: Int, at t: UInt64) {
        _ = meter.add(Double(packets), at: t, halfLifeNs: HalfLife.short)
    }

    @inline(__always) public func count(at t: UInt64) -> Double { meter.at(t, halfLifeNs: HalfLife.short) }
}

extension Reason {
    /// Deviations strong enough to keep mirroring the host (sticky) and to send what led up to
    /// them (pre-trigger): scans, sweeps, floods, shifts, a service never used. A new destination
    /// or an odd size alone is weak: that packet is mirrored, not a minute of session.
    public static let strong = Reason(rawValue: Reason.fanOut.rawValue | Reason.portScan.rawValue
        | Reason.rateSpike.rawValue | Reason.protocolShift.rawValue | Reason.newService.rawValue)

    /// Novelty that may become a habit when it keeps coming back: new destinations and services,
    /// odd sizes; never scans, floods or shifts.
    public static let habitual = Reason(rawValue: Reason.newDestination.rawValue | Reason.newService.rawValue
        | Reason.sizeOutlier.rawValue)

    @inline(__always) public var isStrong: Bool { rawValue & Reason.strong.rawValue != 0 }
}
