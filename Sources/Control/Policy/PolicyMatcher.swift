/// The reference matcher: the specification the dataplane's compiled matcher must agree with.
extension PolicyMatch {
    /// True when every given field matches:
    /// - `vms`: one of the references names the packet's VM (by name or by id);
    /// - `direction`: `both`, or the packet's direction;
    /// - `src_cidr`/`dst_cidr`: the packet has addresses (IP or ARP) and the network holds them;
    /// - `vlan`: the outer tag's VLAN id (0 = untagged);
    /// - `protocol`: equal (`arp` matches ARP frames only);
    /// - `src_ports`/`dst_ports`: the packet has TCP/UDP ports and the set holds the port;
    /// - `size_min`/`size_max`: the frame length is within the bounds (inclusive).
    public func matches(_ p: PolicyPacket) -> Bool {
        switch (direction, p.direction) {
        case (.both, _), (.out, .out), (.in, .in): break
        default: return false
        }
        if let vms, !vms.contains(where: { $0.refers(toID: p.vmID, name: p.vmName) }) { return false }
        if let vlan, vlan != p.vlan { return false }
        if let proto = self.protocol, proto != p.protocol { return false }
        if let srcCIDR, p.protocol == nil || !srcCIDR.contains(addressHi: p.srcHi, lo: p.srcLo) { return false }
        if let dstCIDR, p.protocol == nil || !dstCIDR.contains(addressHi: p.dstHi, lo: p.dstLo) { return false }
        if let srcPorts {
            guard let port = p.srcPort, srcPorts.contains(port) else { return false }
        }
        if let dstPorts {
            guard let port = p.dstPort, dstPorts.contains(port) else { return false }
        }
        if let sizeMin, p.size < sizeMin { return false }
        if let sizeMax, p.size > sizeMax { return false }
        return true
    }
}
