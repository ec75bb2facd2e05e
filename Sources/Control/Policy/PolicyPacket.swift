import BMAContract

/// The packet facts a policy looks at, in the dataplane's representation (see bma_packet.h).
/// The reference matcher (`PolicyMatch.matches`, `PolicySet.decide`) works on this; the
/// dataplane's compiled matcher must decide the same for the same facts.
public struct PolicyPacket: Sendable, Hashable {
    public enum Direction: Sendable, Hashable {
        /// From the VM.
        case out
        /// Toward the VM.
        case `in`
    }

    /// The VM the packet comes from (`out`) or goes to (`in`).
    public var vmID: UInt32
    public var vmName: String
    public var direction: Direction
    /// Addresses as two big-endian halves; IPv4 (and ARP's sender/target) v4-mapped.
    /// Meaningful only when `protocol` is not nil.
    public var srcHi: UInt64
    public var srcLo: UInt64
    public var dstHi: UInt64
    public var dstLo: UInt64
    /// VLAN id of the outer tag; 0 when untagged.
    public var vlan: UInt16
    /// `.ip(n)` for IPv4/IPv6 (the upper-layer protocol), `.arp`, nil for any other frame.
    public var `protocol`: PolicyProtocol?
    /// TCP/UDP ports; nil when the packet carries none (other protocols, non-first fragments).
    public var srcPort: UInt16?
    public var dstPort: UInt16?
    /// The whole frame in bytes.
    public var size: Int

    public init(vmID: UInt32, vmName: String, direction: Direction = .out,
                srcHi: UInt64 = 0, srcLo: UInt64 = 0, dstHi: UInt64 = 0, dstLo: UInt64 = 0, vlan: UInt16 = 0,
                protocol: PolicyProtocol? = nil, srcPort: UInt16? = nil, dstPort: UInt16? = nil, size: Int = 64) {
        self.vmID = vmID
        self.vmName = vmName
        self.direction = direction
        self.srcHi = srcHi
        self.srcLo = srcLo
        self.dstHi = dstHi
        self.dstLo = dstLo
        self.vlan = vlan
        self.protocol = `protocol`
        self.srcPort = srcPort
        self.dstPort = dstPort
        self.size = size
    }

    /// A packet with addresses given as text (`10.0.0.1`, `2001:db8::1`); nil if one does not
    /// parse. For tests and tools.
    public init?(vmID: UInt32, vmName: String, direction: Direction = .out, src: String, dst: String,
                 vlan: UInt16 = 0, protocol: PolicyProtocol?, srcPort: UInt16? = nil, dstPort: UInt16? = nil,
                 size: Int = 64) {
        guard let s = IPAddressText.parse(src), let d = IPAddressText.parse(dst) else { return nil }
        self.init(vmID: vmID, vmName: vmName, direction: direction, srcHi: s.hi, srcLo: s.lo, dstHi: d.hi, dstLo: d.lo,
                  vlan: vlan, protocol: `protocol`, srcPort: srcPort, dstPort: dstPort, size: size)
    }
}
