import BMAContract
import CDPDK
import Control
import Dataplane
import Foundation

/// Answers control requests from the main lcore: reads counters, and changes policies and VM
/// state through the dataplane's snapshot and mailbox interfaces. A request that fails changes
/// nothing; policy changes are saved before they are applied and answered.
final class ControlHandler {
    let dataplane: Dataplane
    let config: BmadConfig
    let policyFile: PolicyFile?
    let settingsFile: SettingsFile?
    let baselines: BaselineStore?
    private(set) var policies = PolicySet()
    private(set) var sensitivities: Sensitivities
    /// Response actions (ActionHandler.swift); set by the control plane.
    var actions: ActionHandler?

    init(dataplane: Dataplane, config: BmadConfig, policyFile: PolicyFile?, settingsFile: SettingsFile?, baselines: BaselineStore?) {
        self.dataplane = dataplane
        self.config = config
        self.policyFile = policyFile
        self.settingsFile = settingsFile
        self.baselines = baselines
        sensitivities = Sensitivities(setup: dataplane.setup)
    }

    /// Loads the saved run-time settings and puts every sensitivity in force (before the workers
    /// start, after the baselines: a baseline does not carry a sensitivity).
    func restoreSettings(log: (String) -> Void) {
        if let settingsFile {
            do {
                if let saved = try settingsFile.load() {
                    sensitivities.runtime = saved
                    log("bmad: run-time settings restored from \(settingsFile.path)")
                }
            } catch {
                log("bmad: saved settings ignored: \(error)")
            }
        }
        _ = sensitivities.apply(to: dataplane)
    }

    /// Loads saved policies and publishes them (before the workers start).
    func restorePolicies(log: (String) -> Void) {
        guard let policyFile else { return }
        do {
            if let set = try policyFile.load() {
                guard set.count <= Dataplane.maxPolicies else {
                    log("bmad: saved policies ignored: \(set.count) policies, at most \(Dataplane.maxPolicies)")
                    return
                }
                policies = set
                dataplane.publishPolicies(PolicyCompiler.compile(set, vms: dataplane.setup.vms))
                log("bmad: \(set.count) policies restored (generation \(set.generation))")
            }
        } catch {
            log("bmad: saved policies ignored: \(error)")
        }
    }

    func handle(_ request: ControlRequest, _ peer: Peer) -> Result<JSONValue, ControlError> {
        let p = Params(request)
        do {
            return .success(try dispatch(request.method, p))
        } catch let e as ControlError {
            return .failure(e)
        } catch {
            return .failure(ControlError(.internal, "\(error)"))
        }
    }

    private func dispatch(_ methodName: String, _ p: Params) throws -> JSONValue {
        guard let method = BmadMethod(rawValue: methodName) else { throw ControlError.methodNotFound(methodName) }
        switch method {
        case .status: return status()
        case .stats: return Self.json(dataplane.snapshot())
        case .vmList: return vmList()
        case .vmShow: return try vmShow(try vm(p))
        case .baselineShow: return try baselineShow(try vm(p))
        case .baselineFreeze, .baselineUnfreeze:
            let i = try vm(p)
            let frozen = method == .baselineFreeze
            try answered(dataplane.freezeBaseline(vm: i, frozen))
            return ["vm": .string(name(i)), "frozen": .bool(frozen)]
        case .baselineReset:
            let i = try vm(p)
            try answered(dataplane.resetBaseline(vm: i))
            return ["vm": .string(name(i))]
        case .baselineExport:
            let i = try vm(p)
            guard let doc = dataplane.exportBaseline(vm: i) else { throw ControlError(.internal, "the worker of \(name(i)) did not answer") }
            return ["vm": .string(name(i)), "baseline": Self.json(doc)]
        case .baselineImport: return try baselineImport(p)
        case .policyList: return policyList()
        case .policyShow:
            let id = try p.int("id", in: 1...65535)
            guard let policy = policies.policy(id: UInt16(id)) else { throw ControlError(.notFound, "no policy with id \(id)") }
            return policy.json
        case .policyAdd, .policyUpdate: return try policyChange(method, p)
        case .policyRemove:
            let id = try p.int("id", in: 1...65535)
            var next = policies
            do { try next.remove(id: UInt16(id)) } catch { throw Self.map(error) }
            try commit(next)
            return ["id": .number(Double(id))]
        case .policyReplace:
            let list = try p.array("policies")
            let parsed: [Policy]
            do { parsed = try Policy.list(json: .array(list)) } catch {
                throw Self.map(error)
            }
            if try !(p.optionalBool("allow_future_vm") ?? false) {
                for (i, policy) in parsed.enumerated() { try requireKnownVMs(policy, field: "policies[\(i)].match.vms") }
            }
            var next = policies
            do { try next.replaceAll(with: parsed) } catch { throw Self.map(error) }
            try commit(next)
            return ["generation": .number(Double(next.generation)), "count": .number(Double(next.count))]
        case .sensitivitySet: return try sensitivity(p)
        case .mirrorForce: return try force(p)
        case .configShow: return configJSON()
        case .actionList, .actionAdd, .actionRemove:
            guard let actions else { throw ControlError(.internal, "response actions are not available") }
            return try actions.handle(method, p)
        }
    }

    // MARK: VMs

    private func vm(_ p: Params) throws -> Int {
        let ref = try p.vm()
        let index: Int?
        switch ref {
        case .name(let n): index = dataplane.vmIndex(name: n)
        case .id(let id): index = dataplane.vmIndex(id: UInt32(id))
        }
        guard let index else {
            let names = dataplane.setup.vms.map(\.name)
            let hint = Suggestion.closest(to: ref.description, among: names).map { "; did you mean '\($0)'?" }
                ?? " (VMs: \(dataplane.setup.vms.map { "\($0.name)=\($0.id)" }.joined(separator: ", ")))"
            throw ControlError(.notFound, "no VM \(ref)\(hint)")
        }
        return index
    }

    private func name(_ i: Int) -> String { dataplane.setup.vms[i].name }

    private func answered(_ ok: Bool) throws {
        if !ok { throw ControlError(.internal, "the worker did not answer in time; nothing was changed") }
    }

    private func status() -> JSONValue {
        [
            "version": .string(version), "uptime_s": .number(dataplane.uptime.rounded()),
            "pid": .number(Double(getpid())), "workers": .number(Double(dataplane.workerLcores.count)),
            "vms": .number(Double(dataplane.setup.vms.count)), "policies": .number(Double(policies.count)),
            "policy_generation": .number(Double(policies.generation)),
            "state_dir": .string(config.control.stateDirectory),
            "global_sensitivity": .number(sensitivities.global),
        ]
    }

    private func vmList() -> JSONValue {
        let s = dataplane.snapshot()
        var out: [JSONValue] = []
        for (i, v) in s.vms.enumerated() {
            let port = s.ports.first { $0.role == "vm" && $0.name == v.name }
            let st = dataplane.vmState(i)
            out.append([
                "name": .string(v.name), "id": .number(Double(v.id)), "mac": v.mac.map(JSONValue.string) ?? .null,
                "link_up": port?.link_up.map(JSONValue.bool) ?? .null, "outgoing": .number(Double(v.outgoing)),
                "mirrored": .number(Double(v.mirrored)), "learning": .bool(st?.learning ?? true),
                "frozen": .bool(st?.frozen ?? false), "sensitivity": st?.sensitivity.map(JSONValue.number) ?? .null,
            ])
        }
        return ["vms": .array(out)]
    }

    private func vmShow(_ i: Int) throws -> JSONValue {
        let s = dataplane.snapshot()
        guard case .object(var o) = Self.json(s.vms[i]) else { return .null }
        if let st = dataplane.vmState(i) {
            o["learning_now"] = .bool(st.learning)
            o["frozen"] = .bool(st.frozen)
            o["sensitivity"] = st.sensitivity.map(JSONValue.number) ?? .null
            o["learned_packets"] = .number(Double(st.learnedPackets))
            if let d = dataplane.vmDetection(i) {
                let v = s.vms[i]
                let after = v.outgoing &- v.learning
                o["threshold"] = .number(d.threshold)
                o["mirror_share"] = .number(after > 0 ? Double(v.mirror_decisions) / Double(after) : 0)
                o["dns_names"] = .number(Double(d.dnsNames))
                o["habits_learned"] = .number(Double(d.habits))
                o["known_prefixes"] = .number(Double(d.prefixes))
            }
            if st.forcedUntil != 0 {
                o["forced_until"] = .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(st.forcedUntil) / 1e9)))
            }
        }
        if let port = s.ports.first(where: { $0.role == "vm" && $0.name == name(i) }) {
            o["port"] = Self.json(port)
        }
        return .object(o)
    }

    private func baselineShow(_ i: Int) throws -> JSONValue {
        guard let doc = dataplane.exportBaseline(vm: i) else { throw ControlError(.internal, "the worker of \(name(i)) did not answer") }
        let st = dataplane.vmState(i)
        let services: [JSONValue] = doc.services.sorted { $0.packets > $1.packets }.map { s in
            let mean = s.size_weight > 0 ? s.size_sum / s.size_weight : 0
            let variance = s.size_weight > 0 ? max(0, s.size_squares / s.size_weight - mean * mean) : 0
            return [
                "key": .string(ServiceName.describe(UInt64(s.key, radix: 16) ?? 0)), "packets": .number(Double(s.packets)),
                "peak": .number((s.peak * 10).rounded() / 10), "size_mean": .number(mean.rounded()),
                "size_std": .number(variance.squareRoot().rounded()),
            ]
        }
        return [
            "vm": .string(name(i)), "learned_packets": .number(Double(doc.learned_packets)),
            "learning": .bool(st?.learning ?? true), "frozen": .bool(doc.frozen),
            "services": .array(services), "hosts": .number(Double(doc.hosts.count)),
            "destinations": .number(Double(doc.destinations.count)),
            "memory_bytes": .number(Double(Baseline.memoryBytes)),
        ]
    }

    private func baselineImport(_ p: Params) throws -> JSONValue {
        let i = try vm(p)
        let raw = try p.required("baseline")
        let doc: BaselineDocument
        do { doc = try raw.decode(as: BaselineDocument.self) } catch {
            throw ControlError(.invalidParams, "baseline: not a baseline document (\(error))")
        }
        do { try dataplane.importBaseline(vm: i, doc) } catch {
            throw ControlError(.invalidParams, "baseline: \(error.description)")
        }
        return ["vm": .string(name(i))]
    }

    // MARK: Policies

    private func policyList() -> JSONValue {
        let list = policies.policies.map(\.json)
        return ["generation": .number(Double(policies.generation)), "policies": .array(list)]
    }

    private func policyChange(_ method: BmadMethod, _ p: Params) throws -> JSONValue {
        let adding = method == .policyAdd
        var values = p.values
        let allowFutureVM: Bool
        switch values.removeValue(forKey: "allow_future_vm") {
        case nil, .null?: allowFutureVM = false
        case .bool(let b)?: allowFutureVM = b
        case let other?: throw ControlError.invalidParams("allow_future_vm", "must be a boolean, got \(other.typeName)")
        }
        var policy: Policy
        do {
            policy = try Policy(json: .object(values), idRequired: !adding)
        } catch {
            throw Self.map(error)
        }
        if !allowFutureVM { try requireKnownVMs(policy, field: "match.vms") }
        var next = policies
        do {
            policy = adding ? try next.add(policy) : try next.update(policy)
        } catch { throw Self.map(error) }
        try commit(next)
        return policy.json
    }

    /// A policy naming a VM this bmad does not run is usually a typo: refused unless the request
    /// says `allow_future_vm: true` (a policy prepared before its VM exists).
    private func requireKnownVMs(_ policy: Policy, field: String) throws {
        for ref in policy.match.vms ?? [] where !dataplane.setup.vms.contains(where: { ref.refers(toID: $0.id, name: $0.name) }) {
            let names = dataplane.setup.vms.map(\.name).joined(separator: ", ")
            throw ControlError(.notFound, "\(field): no VM \(ref) (VMs: \(names)); give allow_future_vm: true for a VM still to come")
        }
    }

    /// Saves, then publishes, then keeps the new set. A save failure changes nothing.
    private func commit(_ next: PolicySet) throws {
        guard next.count <= Dataplane.maxPolicies else {
            throw ControlError(.invalidParams, "policies: at most \(Dataplane.maxPolicies) (this change makes \(next.count))")
        }
        if let policyFile {
            do { try policyFile.save(next) } catch {
                throw ControlError(.internal, "policies not saved, nothing changed: \(error)")
            }
        }
        dataplane.publishPolicies(PolicyCompiler.compile(next, vms: dataplane.setup.vms))
        policies = next
    }

    /// An Encodable answer (a snapshot, a document) as a protocol value.
    static func json<T: Encodable>(_ value: T) -> JSONValue { (try? JSONValue(encoding: value)) ?? .null }

    static func map(_ error: Error) -> ControlError {
        guard let e = error as? PolicyError else { return ControlError(.internal, "\(error)") }
        let code: ControlErrorCode
        switch e.kind {
        case .invalidParams: code = .invalidParams
        case .notFound: code = .notFound
        case .conflict: code = .conflict
        }
        return ControlError(code, e.description)
    }

    // MARK: Sensitivity and forced mirroring

    /// Sets (or with `reset: true` forgets) a run-time sensitivity: saved first, then put in
    /// force; a save failure changes nothing. Answers the value now in force.
    private func sensitivity(_ p: Params) throws -> JSONValue {
        let reset = try p.optionalBool("reset") ?? false
        let value: Double? = reset ? nil : try p.double("value", in: PolicyLimits.sensitivity)
        var next = sensitivities
        let vm = p.contains("vm") ? try self.vm(p) : nil
        if let vm {
            next.runtime.vmSensitivity[name(vm)] = value
        } else {
            next.runtime.sensitivity = value
        }
        if let settingsFile {
            do { try settingsFile.save(next.runtime) } catch {
                throw ControlError(.internal, "settings not saved, nothing changed: \(error)")
            }
        }
        sensitivities = next
        if let vm {
            try answered(dataplane.setSensitivity(vm: vm, next.vm(name(vm))))
            return ["vm": .string(name(vm)), "value": next.vm(name(vm)).map(JSONValue.number) ?? .null]
        }
        try answered(dataplane.setGlobalSensitivity(next.global))
        return ["value": .number(next.global)]
    }

    private func force(_ p: Params) throws -> JSONValue {
        let i = try vm(p)
        let seconds = try p.double("seconds", in: 0...86_400)
        var hash: UInt32 = 0
        if let flow = try p.optionalObject("flow") {
            let src = try flow.string("src"), dst = try flow.string("dst")
            guard let s = IPAddressText.parse(src) else { throw flow.invalid("src", "'\(src)' is not an IP address") }
            guard let d = IPAddressText.parse(dst) else { throw flow.invalid("dst", "'\(dst)' is not an IP address") }
            let protoText = try flow.string("proto")
            guard let proto = PolicyProtocol(protoText), case .ip(let number) = proto else {
                throw flow.invalid("proto", "'\(protoText)' is not an IP protocol (tcp, udp, icmp or a number)")
            }
            let sp = try flow.optionalInt("src_port", in: 0...65535) ?? 0
            let dp = try flow.optionalInt("dst_port", in: 0...65535) ?? 0
            hash = bma_flow_hash_tuple(s.hi, s.lo, d.hi, d.lo, number, UInt16(sp), UInt16(dp))
        }
        // 0 seconds cancels: until 0 clears the forced mirroring (whatever the packet clock).
        let until = seconds == 0 ? 0 : dataplane.nowNs &+ UInt64(seconds * 1e9)
        try answered(dataplane.force(vm: i, flowHash: hash, untilNs: until))
        if until == 0 {
            var out: [String: JSONValue] = ["vm": .string(name(i)), "until": .null, "cancelled": true]
            if hash != 0 { out["flow_hash"] = .number(Double(hash)) }
            return .object(out)
        }
        let untilText = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(until) / 1e9))
        var out: [String: JSONValue] = ["vm": .string(name(i)), "until": .string(untilText), "seconds": .number(seconds)]
        if hash != 0 { out["flow_hash"] = .number(Double(hash)) }
        return .object(out)
    }

    // MARK: Configuration

    /// The configuration as bmad runs it: the file's values, the dataplane's defaults for the rest.
    private func configJSON() -> JSONValue {
        let c = config, s = dataplane.setup
        let vms: [JSONValue] = c.vms.map { vm in
            ["name": .string(vm.name), "id": .number(Double(vm.id)), "devargs": .string(vm.devargs),
             "mac": vm.mac.map { .string(formatMAC($0)) } ?? .null,
             "sensitivity": vm.sensitivity.map(JSONValue.number) ?? .null]
        }
        var mirror: JSONValue = .null
        if let m = c.mirror {
            let e = s.mirror
            mirror = ["devargs": .string(m.devargs), "encapsulation": .string(e.encapsulation.name),
                      "collectors": .array(e.collectors.map { .string(IPv4Text.format($0)) }),
                      "next_hop_mac": .string(formatMAC(e.nextHopMAC)), "source_ip": .string(IPv4Text.format(e.sourceIP)),
                      "snaplen": .number(Double(e.snaplen)), "mbufs": .number(Double(e.mbufs))]
        }
        let d = s.detection
        func seconds(_ ns: UInt64) -> JSONValue { .number(Double(ns) / 1e9) }
        return [
            "uplink": .string(c.uplink), "mirror": mirror, "vms": .array(vms),
            "workers": .array(c.workers.map { .number(Double($0)) }),
            "detection": ["sensitivity": .number(d.sensitivity), "learning_seconds": seconds(d.learningNs),
                          "sticky_seconds": seconds(d.stickyNs), "pre_trigger_packets": .number(Double(d.preTriggerPackets)),
                          "pre_trigger_seconds": seconds(d.preTriggerNs), "promote_seconds": seconds(d.promoteNs),
                          "target_mirror_rate": .number(d.targetMirrorRate), "prefix_v4": .number(Double(d.prefixV4Bits)),
                          "prefix_v6": .number(Double(d.prefixV6Bits))],
            "control": ["socket": .string(c.control.socket), "group": c.control.group.map(JSONValue.string) ?? .null,
                        "state_dir": .string(c.control.stateDirectory), "save_seconds": .number(c.control.saveSeconds)],
            "metrics": ["listen": c.metricsListen.map(JSONValue.string) ?? .null],
            "mempool": ["mbufs": .number(Double(s.mbufs)), "cache": .number(Double(s.mbufCache)),
                        "data_room": .number(Double(s.mbufDataRoom))],
        ]
    }
}

/// Readable names for the baseline's service keys.
enum ServiceName {
    static func describe(_ key: UInt64) -> String {
        let l3 = key >> 32, proto = (key >> 16) & 0xff, low = key & 0xffff
        switch l3 {
        case UInt64(BMA_L3_ARP): return "arp"
        case UInt64(BMA_L3_IPV4), UInt64(BMA_L3_IPV6):
            let v = l3 == UInt64(BMA_L3_IPV6) ? "6" : ""
            switch proto {
            case 6: return "tcp\(v)/\(low)"
            case 17: return "udp\(v)/\(low)"
            case 1, 58: return "icmp\(v) type \(low)"
            default: return "ip\(v) proto \(proto)"
            }
        default: return String(format: "ethertype 0x%04x", low)
        }
    }
}
