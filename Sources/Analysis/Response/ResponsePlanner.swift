/// What the analyzer decides for one alert, rule by rule: act, only log (dry run), or hold back
/// (a protected VM, the rule's blast-radius limit, an alert without the target's fields).
public struct ResponsePlan: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case act, dryRun = "dry-run", protected, limited, untargetable
    }

    public var rule: String
    public var outcome: Outcome
    public var kind: String
    public var target: ResponseRule.Target
    public var vmID: UInt32?
    public var src: String?
    public var dst: String?
    public var proto: String?
    public var srcPort: UInt16?
    public var dstPort: UInt16?
    public var seconds: Double
    public var priority: Int
    public var packetsPerSecond: Double?
    public var bytesPerSecond: Double?
    public var reason: String

    /// The target in words: `destination 198.51.100.7 tcp of vm 101`.
    public var targetText: String {
        let of = vmID.map { " of vm \($0)" } ?? ""
        switch target {
        case .vm: return "vm \(vmID.map(String.init) ?? "?")"
        case .destination: return "destination \(dst ?? "?")\(proto.map { " \($0)" } ?? "")\(of)"
        case .flow:
            return "flow \(proto ?? "?") \(src ?? "?")\(srcPort.map { ":\($0)" } ?? "") -> \(dst ?? "?")\(dstPort.map { ":\($0)" } ?? "")\(of)"
        }
    }
}

/// Turns alerts into plans under the rules. Keeps, per rule, when it acted and on which VM (the
/// blast radius, actions and distinct VMs, is counted over the last 60 s, dry-run actions
/// included, so that a dry run shows what would really happen). Not thread-safe: one caller at
/// a time.
public struct ResponsePlanner: Sendable {
    public var rules: [ResponseRule]
    public var dryRun: Bool
    /// VMs never acted on, by id (names resolved through `vmIDs`).
    public var protectedVMs: Set<UInt32>
    /// The analyzer's VM names → ids.
    public var vmIDs: [String: UInt32]
    /// Per rule: when it acted and on which VM.
    private var acted: [String: [(ns: UInt64, vm: UInt32)]] = [:]

    public init(rules: [ResponseRule], dryRun: Bool, protectedVMs: Set<UInt32>, vmIDs: [String: UInt32]) {
        self.rules = rules
        self.dryRun = dryRun
        self.protectedVMs = protectedVMs
        self.vmIDs = vmIDs
    }

    /// The VM id of an alert's `vm` (a configured name, `vm101` or `101`).
    public func vmID(_ text: String) -> UInt32? {
        if let id = vmIDs[text] { return id }
        let digits = text.hasPrefix("vm") ? String(text.dropFirst(2)) : text
        return UInt32(digits)
    }

    /// One plan per matching rule, in rule order.
    public mutating func plan(_ alert: Alert, nowNs: UInt64) -> [ResponsePlan] {
        let vm = vmID(alert.vm)
        var out: [ResponsePlan] = []
        for rule in rules where rule.matches(alert, vmID: vm) {
            var p = ResponsePlan(rule: rule.name, outcome: dryRun ? .dryRun : .act, kind: rule.action, target: rule.target,
                                 vmID: vm, src: alert.src_ip, dst: alert.dest_ip, proto: alert.proto?.lowercased(),
                                 srcPort: alert.src_port, dstPort: alert.dest_port, seconds: rule.seconds,
                                 priority: rule.priority, packetsPerSecond: rule.packetsPerSecond,
                                 bytesPerSecond: rule.bytesPerSecond,
                                 reason: "\(rule.name): \(alert.alert.signature) (flow \(alert.flow_id))")
            if rule.target == .destination { (p.src, p.srcPort, p.dstPort) = (nil, nil, nil) }
            if rule.target == .vm { (p.src, p.dst, p.proto, p.srcPort, p.dstPort) = (nil, nil, nil, nil, nil) }
            let ip = p.proto.map { ["tcp", "udp", "icmp", "icmpv6"].contains($0) } ?? false
            if vm == nil || (rule.target == .flow && (p.src == nil || p.dst == nil || !ip))
                || (rule.target == .destination && (p.dst == nil || !ip)) {
                p.outcome = .untargetable
            } else if protectedVMs.contains(vm!) {
                p.outcome = .protected
            } else {
                let recent = (acted[rule.name] ?? []).filter { nowNs &- $0.ns < 60_000_000_000 }
                let vms = Set(recent.map(\.vm))
                let newVM = !vms.contains(vm!)
                if recent.count >= rule.maxPerMinute || (newVM && rule.maxVMsPerMinute.map { vms.count >= $0 } ?? false) {
                    p.outcome = .limited
                    acted[rule.name] = recent
                } else {
                    acted[rule.name] = recent + [(nowNs, vm!)]
                }
            }
            out.append(p)
        }
        return out
    }
}
