import BMAContract
import Control
import Dataplane

/// Turns response actions into the dataplane's compiled rules. A VM reference becomes its
/// index; an action naming a VM this bmad does not run matches nothing.
enum ActionCompiler {
    static func compile(_ set: ActionSet, vms: [DataplaneSetup.VM]) -> [ActionRule] {
        set.actions.map { compile($0, vms: vms) }
    }

    static func compile(_ a: ResponseAction, vms: [DataplaneSetup.VM]) -> ActionRule {
        var r = ActionRule()
        r.id = a.id
        r.priority = Int32(a.priority)
        switch a.kind {
        case .drop: r.kind = .drop
        case .rateLimit: r.kind = .rateLimit
        case .forceMirror: r.kind = .forceMirror
        case .allow: r.kind = .allow
        }
        r.packetsPerSecond = a.packetsPerSecond ?? 0
        r.bytesPerSecond = a.bytesPerSecond ?? 0
        var m = PolicyRule()
        if let ref = a.vm {
            m.anyVM = false
            if let i = vms.firstIndex(where: { ref.refers(toID: $0.id, name: $0.name) }), i < 256 { m.allowVM(i) }
        }
        func prefix(_ c: CIDR) -> (UInt64, UInt64, UInt64, UInt64) { (c.hi & c.maskHi, c.lo & c.maskLo, c.maskHi, c.maskLo) }
        if let f = a.flow {
            m.needsAddresses = true
            (m.srcHi, m.srcLo, m.srcMaskHi, m.srcMaskLo) = prefix(f.src)
            (m.dstHi, m.dstLo, m.dstMaskHi, m.dstMaskLo) = prefix(f.dst)
            if case .ip(let n) = f.proto { m.proto = Int32(n) }
            if let p = f.srcPort { m.srcPorts.add(p, p) }
            if let p = f.dstPort { m.dstPorts.add(p, p) }
        }
        if let d = a.destination {
            m.needsAddresses = true
            (m.dstHi, m.dstLo, m.dstMaskHi, m.dstMaskLo) = prefix(d.cidr)
            if case .ip(let n)? = d.proto { m.proto = Int32(n) }
            if let p = d.port { m.dstPorts.add(p, p) }
        }
        r.match = m
        return r
    }
}
