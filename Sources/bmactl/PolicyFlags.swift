import BMAContract
import ArgumentParser
import Control

enum MirrorMode: String, CaseIterable, ExpressibleByArgument {
    case onAnomaly = "on-anomaly", always, never
}

enum Direction: String, CaseIterable, ExpressibleByArgument {
    case out, `in`, both
}

/// A policy spelled as flags (policy add / update); each flag sets one field of the contract's
/// policy object, over the document from --file when both are given.
struct PolicyFlags: ParsableArguments {
    @Option(help: "Policy id, 1-65535 (add: default the next free one).")
    var id: Int?
    @Option(help: "A name for people.")
    var name: String?
    @Option(help: "Priority, -1000..1000: the matching policy with the highest wins (default 0).")
    var priority: Int?

    @Option(name: .customLong("vm"), help: ArgumentHelp("Match this VM (name or id); repeatable.", valueName: "vm"))
    var vms: [String] = []
    @Option(help: ArgumentHelp("Match this source network (IPv4 or IPv6).", valueName: "cidr"))
    var srcCidr: String?
    @Option(help: ArgumentHelp("Match this destination network.", valueName: "cidr"))
    var dstCidr: String?
    @Option(help: "Match this VLAN id.")
    var vlan: Int?
    @Option(name: .customLong("protocol"), help: ArgumentHelp("tcp, udp, icmp, icmpv6, arp or a number 0-255.", valueName: "proto"),
            completion: .list(["tcp", "udp", "icmp", "icmpv6", "arp"]))
    var proto: String?
    @Option(help: ArgumentHelp("Source ports, e.g. 1024-65535.", valueName: "ports"))
    var srcPorts: String?
    @Option(help: ArgumentHelp("Destination ports, e.g. 53,853.", valueName: "ports"))
    var dstPorts: String?
    @Option(help: ArgumentHelp("Smallest frame size matched.", valueName: "bytes"))
    var sizeMin: Int?
    @Option(help: ArgumentHelp("Largest frame size matched.", valueName: "bytes"))
    var sizeMax: Int?
    @Option(help: "out (from the VM, default), in (toward the VM) or both.")
    var direction: Direction?

    @Option(help: "on-anomaly (default), always or never.")
    var mirror: MirrorMode?
    @Option(help: "The score at which matching packets are mirrored.")
    var sensitivity: Double?
    @Option(help: ArgumentHelp("Bytes of each mirrored packet kept.", valueName: "bytes"))
    var snaplen: Int?
    @Option(help: ArgumentHelp("Mirror at most this many packets per second.", valueName: "pps"))
    var pps: Double?
    @Option(help: ArgumentHelp("Mirror at most this many bytes per second.", valueName: "bps"))
    var bps: Double?
    @Option(help: ArgumentHelp("Keep mirroring a flow this long after it triggered.", valueName: "seconds"))
    var sticky: Double?
    @Option(help: ArgumentHelp("Packets before the trigger also mirrored.", valueName: "packets"))
    var preTrigger: Int?
    @Option(help: ArgumentHelp("Mirror encapsulation.", valueName: "encap"), completion: .list(MirrorEncapsulation.names))
    var encapsulation: String?

    /// Whether any flag was given.
    var isEmpty: Bool {
        id == nil && name == nil && priority == nil && vms.isEmpty && srcCidr == nil && dstCidr == nil && vlan == nil
            && proto == nil && srcPorts == nil && dstPorts == nil && sizeMin == nil && sizeMax == nil && direction == nil
            && mirror == nil && sensitivity == nil && snaplen == nil && pps == nil && bps == nil && sticky == nil
            && preTrigger == nil && encapsulation == nil
    }

    /// `base` (a policy object) with every given flag set. Range checks are the daemon's.
    func apply(to base: [String: JSONValue]) -> [String: JSONValue] {
        var policy = base
        func int(_ i: Int) -> JSONValue { .number(Double(i)) }
        if let id { policy["id"] = int(id) }
        if let name { policy["name"] = .string(name) }
        if let priority { policy["priority"] = int(priority) }

        var match = base["match"]?.objectValue ?? [:]
        let vmList = vms.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            .filter { !$0.isEmpty }
        if !vmList.isEmpty { match["vms"] = .array(vmList.map { VMReference(text: $0).json }) }
        if let srcCidr { match["src_cidr"] = .string(srcCidr) }
        if let dstCidr { match["dst_cidr"] = .string(dstCidr) }
        if let vlan { match["vlan"] = int(vlan) }
        if let proto { match["protocol"] = Int(proto).map(int) ?? .string(proto.lowercased()) }
        if let srcPorts { match["src_ports"] = .string(srcPorts) }
        if let dstPorts { match["dst_ports"] = .string(dstPorts) }
        if let sizeMin { match["size_min"] = int(sizeMin) }
        if let sizeMax { match["size_max"] = int(sizeMax) }
        if let direction { match["direction"] = .string(direction.rawValue) }
        if !match.isEmpty || base["match"] != nil { policy["match"] = .object(match) }

        var action = base["action"]?.objectValue ?? [:]
        if let mirror { action["mirror"] = .string(mirror.rawValue) }
        if let sensitivity { action["sensitivity"] = .number(sensitivity) }
        if let snaplen { action["snaplen"] = int(snaplen) }
        if pps != nil || bps != nil {
            var rate = action["rate_limit"]?.objectValue ?? [:]
            if let pps { rate["packets_per_second"] = .number(pps) }
            if let bps { rate["bytes_per_second"] = .number(bps) }
            action["rate_limit"] = .object(rate)
        }
        if let sticky { action["sticky_seconds"] = .number(sticky) }
        if let preTrigger { action["pre_trigger_packets"] = int(preTrigger) }
        if let encapsulation { action["encapsulation"] = .string(encapsulation) }
        if !action.isEmpty || base["action"] != nil { policy["action"] = .object(action) }
        return policy
    }
}
