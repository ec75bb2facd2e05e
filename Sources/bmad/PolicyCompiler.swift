import BMAContract
import Control
import Dataplane

/// Turns validated policies into the dataplane's compiled rules. VM references become indices;
/// a policy that names only unknown VMs still compiles (it matches nothing) so that a policy set
/// can be prepared before its VMs exist.
enum PolicyCompiler {
    static func compile(_ set: PolicySet, vms: [DataplaneSetup.VM]) -> [PolicyRule] {
        set.policies.map { compile($0, vms: vms) }
    }

    static func compile(_ p: Policy, vms: [DataplaneSetup.VM]) -> PolicyRule {
        var r = match(p.match, vms: vms)
        r.id = p.id
        r.priority = Int32(p.priority)
        let a = p.action
        switch a.mirror {
        case .onAnomaly: r.mode = .onAnomaly
        case .always: r.mode = .always
        case .never: r.mode = .never
        }
        if let s = a.sensitivity { r.sensitivity = s }
        if let s = a.snaplen { r.snaplen = UInt16(clamping: s) }
        if let e = a.encapsulation, let kind = MirrorEncapsulation(name: e) { r.encapsulation = kind.rawValue }
        if let rl = a.rateLimit {
            r.packetsPerSecond = rl.packetsPerSecond ?? 0
            r.bytesPerSecond = rl.bytesPerSecond ?? 0
        }
        if let s = a.stickySeconds { r.stickyNs = UInt64(s * 1e9) }
        if let n = a.preTriggerPackets { r.preTriggerPackets = n }
        return r
    }

    /// The match fields of a rule (response actions match packets the same way).
    static func match(_ m: PolicyMatch, vms: [DataplaneSetup.VM]) -> PolicyRule {
        var r = PolicyRule()
        if let refs = m.vms {
            r.anyVM = false
            for (i, vm) in vms.enumerated() where refs.contains(where: { $0.refers(toID: vm.id, name: vm.name) }) {
                if i < 256 { r.allowVM(i) }
            }
        }
        r.needsAddresses = m.srcCIDR != nil || m.dstCIDR != nil
        if let c = m.srcCIDR {
            r.srcMaskHi = c.maskHi
            r.srcMaskLo = c.maskLo
            r.srcHi = c.hi & c.maskHi
            r.srcLo = c.lo & c.maskLo
        }
        if let c = m.dstCIDR {
            r.dstMaskHi = c.maskHi
            r.dstMaskLo = c.maskLo
            r.dstHi = c.hi & c.maskHi
            r.dstLo = c.lo & c.maskLo
        }
        if let v = m.vlan { r.vlan = Int32(v) }
        switch m.protocol {
        case .none: break
        case .arp: r.proto = PolicyRule.protoARP
        case .ip(let n): r.proto = Int32(n)
        }
        if let ports = m.srcPorts { for range in ports.ranges { r.srcPorts.add(range.lowerBound, range.upperBound) } }
        if let ports = m.dstPorts { for range in ports.ranges { r.dstPorts.add(range.lowerBound, range.upperBound) } }
        if let lo = m.sizeMin { r.sizeMin = UInt32(lo) }
        if let hi = m.sizeMax { r.sizeMax = UInt32(hi) }
        switch m.direction {
        case .out: r.directions = 1
        case .in: r.directions = 2
        case .both: r.directions = 3
        }
        return r
    }
}
