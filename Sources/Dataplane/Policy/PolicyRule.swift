import CDPDK

/// What a matching policy says about mirroring.
public enum MirrorMode: UInt8, Sendable {
    case onAnomaly = 0, always = 1, never = 2
}

/// A policy compiled for the packet path: plain values, no references. Addresses are matched on
/// the dataplane's 128-bit form (IPv4 as ::ffff:a.b.c.d); "any" is encoded so that it matches
/// without a branch where possible.
public struct PolicyRule: Sendable {
    public var id: UInt16 = 0
    public var priority: Int32 = 0
    /// VM indices 0..255 this rule applies to; `anyVM` ignores the bitmap.
    public var anyVM = true
    public var vmBits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    public var srcHi: UInt64 = 0, srcLo: UInt64 = 0, srcMaskHi: UInt64 = 0, srcMaskLo: UInt64 = 0
    public var dstHi: UInt64 = 0, dstLo: UInt64 = 0, dstMaskHi: UInt64 = 0, dstMaskLo: UInt64 = 0
    /// A network is given: only IP and ARP frames have addresses (`::/0` must not match LLDP).
    public var needsAddresses = false
    /// -1 = any VLAN; else the outer tag's VLAN id, 0 for untagged (and priority-tagged) frames.
    public var vlan: Int32 = -1
    /// -1 = any protocol; 0x10000 | ethertype-like codes are not used: ARP is 0x806.
    public var proto: Int32 = -1
    /// Up to 16 port ranges each, packed as lo << 16 | hi; count 0 = any port.
    public var srcPorts = PortRanges()
    public var dstPorts = PortRanges()
    public var sizeMin: UInt32 = 0
    public var sizeMax: UInt32 = .max
    /// Bit 0: traffic from the VM; bit 1: traffic toward it.
    public var directions: UInt8 = 1

    public var mode: MirrorMode = .onAnomaly
    /// nil = the VM's or the global sensitivity.
    public var sensitivity: Double? = nil
    public var snaplen: UInt16 = 0
    public var encapsulation: UInt8 = UInt8(BMA_ENCAP_DEFAULT)
    /// 0 = no policy rate limit.
    public var packetsPerSecond: Double = 0
    public var bytesPerSecond: Double = 0
    /// nil = the global setting.
    public var stickyNs: UInt64? = nil
    public var preTriggerPackets: Int? = nil

    public init() {}

    public static let protoARP: Int32 = 0x806

    public mutating func allowVM(_ index: Int) {
        anyVM = false
        withElement(&vmBits, index >> 6, UInt64.self) { $0 |= 1 << UInt64(index & 63) }
    }

    /// Sets a prefix from an address in the dataplane's form and a prefix length (0-128).
    public static func mask(_ length: Int) -> (UInt64, UInt64) {
        let l = max(0, min(128, length))
        let hi: UInt64 = l >= 64 ? .max : (l == 0 ? 0 : ~(UInt64.max >> UInt64(l)))
        let lo: UInt64 = l <= 64 ? 0 : (l == 128 ? .max : ~(UInt64.max >> UInt64(l - 64)))
        return (hi, lo)
    }

    @inline(__always) func matches(_ p: UnsafePointer<bma_pkt_t>, vm: Int, incoming: Bool) -> Bool {
        if directions & (incoming ? 2 : 1) == 0 { return false }
        if !anyVM {
            if vm >= 256 { return false }
            let word = element(vmBits, vm >> 6, UInt64.self)
            if word & (1 << UInt64(vm & 63)) == 0 { return false }
        }
        if needsAddresses {
            let l3 = p.pointee.l3
            if l3 != UInt8(BMA_L3_IPV4) && l3 != UInt8(BMA_L3_IPV6) && l3 != UInt8(BMA_L3_ARP) { return false }
        }
        if (p.pointee.src_ip_hi & srcMaskHi) != srcHi || (p.pointee.src_ip_lo & srcMaskLo) != srcLo { return false }
        if (p.pointee.dst_ip_hi & dstMaskHi) != dstHi || (p.pointee.dst_ip_lo & dstMaskLo) != dstLo { return false }
        if vlan >= 0 && Int32(p.pointee.vlan_count == 0 ? 0 : p.pointee.vlan_tci.0 & 0x0fff) != vlan { return false }
        if proto >= 0 {
            let l3 = p.pointee.l3
            if proto == PolicyRule.protoARP {
                if l3 != UInt8(BMA_L3_ARP) { return false }
            } else if (l3 != UInt8(BMA_L3_IPV4) && l3 != UInt8(BMA_L3_IPV6)) || Int32(p.pointee.ip_proto) != proto {
                return false
            }
        }
        if srcPorts.count > 0 || dstPorts.count > 0 {
            // Ports are TCP's and UDP's: ICMP's valid L4 header carries none.
            let proto = p.pointee.ip_proto
            guard p.pointee.flags & UInt16(BMA_PF_L4) != 0, proto == 6 || proto == 17 else { return false }
            if !srcPorts.contains(p.pointee.src_port) || !dstPorts.contains(p.pointee.dst_port) { return false }
        }
        let size = p.pointee.pkt_len
        return size >= sizeMin && size <= sizeMax
    }
}

/// Up to 16 inclusive port ranges; empty matches every port.
public struct PortRanges: Sendable {
    public var ranges: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    public var count = 0

    public init() {}

    public static let capacity = 16

    /// Adds lo...hi; returns false when full.
    @discardableResult public mutating func add(_ lo: UInt16, _ hi: UInt16) -> Bool {
        guard count < PortRanges.capacity else { return false }
        withElement(&ranges, count, UInt32.self) { $0 = UInt32(lo) << 16 | UInt32(hi) }
        count += 1
        return true
    }

    @inline(__always) func contains(_ port: UInt16) -> Bool {
        if count == 0 { return true }
        return withUnsafeBytes(of: ranges) { raw in
            let r = raw.bindMemory(to: UInt32.self)
            for i in 0..<count {
                let v = r[i]
                if port >= UInt16(v >> 16) && port <= UInt16(v & 0xffff) { return true }
            }
            return false
        }
    }
}
