import BMAContract
import Control
import Dataplane

/// Turns response actions into the dataplane's compiled rules: the target becomes a policy
/// match of the VM's outgoing traffic (compiled by PolicyCompiler); an action naming a VM this
/// bmad does not run matches nothing.
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
        r.match = PolicyCompiler.match(match(a), vms: vms)
        return r
    }

    /// The packets an action applies to, as a policy match (direction: from the VM).
    static func match(_ a: ResponseAction) -> PolicyMatch {
        func port(_ p: UInt16?) -> PortSet? { p.flatMap { PortSet([$0...$0]) } }
        var m = PolicyMatch(vms: a.vm.map { [$0] })
        if let f = a.flow {
            (m.srcCIDR, m.dstCIDR, m.protocol) = (f.src, f.dst, f.proto)
            (m.srcPorts, m.dstPorts) = (port(f.srcPort), port(f.dstPort))
        }
        if let d = a.destination {
            (m.dstCIDR, m.protocol, m.dstPorts) = (d.cidr, d.proto, port(d.port))
        }
        return m
    }
}
