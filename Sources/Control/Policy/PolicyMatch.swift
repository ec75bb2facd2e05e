import BMAContract

/// Which packets a policy applies to. Every field is optional (nil = any) except `direction`,
/// which defaults to `out` (packets from the VM). All given fields must match.
public struct PolicyMatch: Sendable, Hashable {
    public enum Direction: String, Sendable, Hashable, Codable, CaseIterable {
        /// From the VM (the default).
        case out
        /// Toward the VM.
        case `in`
        case both
    }

    /// The VMs (by name or id); nil = every VM. Never empty.
    public var vms: [VMReference]?
    public var srcCIDR: CIDR?
    public var dstCIDR: CIDR?
    /// VLAN id of the outer tag, 0-4095; 0 matches untagged (and priority-tagged) frames.
    public var vlan: UInt16?
    public var `protocol`: PolicyProtocol?
    /// TCP/UDP source ports; never matches a packet without ports.
    public var srcPorts: PortSet?
    public var dstPorts: PortSet?
    /// Bounds on the whole frame length in bytes, inclusive, 0-65535.
    public var sizeMin: Int?
    public var sizeMax: Int?
    public var direction: Direction

    public init(vms: [VMReference]? = nil, srcCIDR: CIDR? = nil, dstCIDR: CIDR? = nil, vlan: UInt16? = nil,
                protocol: PolicyProtocol? = nil, srcPorts: PortSet? = nil, dstPorts: PortSet? = nil,
                sizeMin: Int? = nil, sizeMax: Int? = nil, direction: Direction = .out) {
        self.vms = vms
        self.srcCIDR = srcCIDR
        self.dstCIDR = dstCIDR
        self.vlan = vlan
        self.protocol = `protocol`
        self.srcPorts = srcPorts
        self.dstPorts = dstPorts
        self.sizeMin = sizeMin
        self.sizeMax = sizeMax
        self.direction = direction
    }

    /// Field names are relative (`vlan`, `vms[1]`); `Policy.validate` puts `match.` in front.
    public func validate() throws(PolicyError) {
        if let vms {
            guard !vms.isEmpty else { throw PolicyError(field: "vms", "must name at least one VM (leave it out to match every VM)") }
            for (i, vm) in vms.enumerated() { try vm.validate("vms[\(i)]") }
        }
        if let vlan { try PolicyError.check("vlan", Int(vlan), PolicyLimits.vlan) }
        if let sizeMin { try PolicyError.check("size_min", sizeMin, PolicyLimits.size) }
        if let sizeMax { try PolicyError.check("size_max", sizeMax, PolicyLimits.size) }
        if let sizeMin, let sizeMax, sizeMin > sizeMax {
            throw PolicyError(field: "size_max", "\(sizeMax) is below size_min (\(sizeMin))")
        }
    }
}
