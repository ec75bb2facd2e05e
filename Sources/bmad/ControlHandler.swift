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

    /// Reads the method's typed request, answers it, and encodes the typed response.
    private func dispatch(_ methodName: String, _ p: Params) throws -> JSONValue {
        guard let method = BmadMethod(rawValue: methodName) else { throw ControlError.methodNotFound(methodName) }
        switch method {
        case .status: return try StatusRequest.answer(p) { _ in status() }
        case .stats: return try StatsRequest.answer(p) { _ in Self.json(dataplane.snapshot()) }
        case .vmList: return try VMListRequest.answer(p) { _ in vmList() }
        case .vmShow: return try VMShowRequest.answer(p) { r in try vmShow(try vm(r.vm)) }
        case .baselineShow: return try BaselineShowRequest.answer(p) { r in try baselineShow(try vm(r.vm)) }
        case .baselineFreeze: return try BaselineFreezeRequest.answer(p) { r in try freeze(r.vm, true) }
        case .baselineUnfreeze: return try BaselineUnfreezeRequest.answer(p) { r in try freeze(r.vm, false) }
        case .baselineReset:
            return try BaselineResetRequest.answer(p) { r in
                let i = try vm(r.vm)
                try answered(dataplane.resetBaseline(vm: i))
                return VMDone(vm: name(i))
            }
        case .baselineExport:
            return try BaselineExportRequest.answer(p) { r in
                let i = try vm(r.vm)
                guard let doc = dataplane.exportBaseline(vm: i) else { throw ControlError(.internal, "the worker of \(name(i)) did not answer") }
                return .init(vm: name(i), baseline: Self.json(doc))
            }
        case .baselineImport: return try BaselineImportRequest.answer(p, baselineImport)
        case .policyList:
            return try PolicyListRequest.answer(p) { _ in
                .init(generation: policies.generation, policies: policies.policies.map(\.json))
            }
        case .policyShow:
            return try PolicyShowRequest.answer(p) { r in
                guard let policy = policies.policy(id: r.id) else { throw ControlError(.notFound, "no policy with id \(r.id)") }
                return policy.json
            }
        case .policyAdd: return try PolicyAddRequest.answer(p) { r in try policyChange(r, adding: true) }
        case .policyUpdate: return try PolicyUpdateRequest.answer(p) { r in try policyChange(r, adding: false) }
        case .policyRemove:
            return try PolicyRemoveRequest.answer(p) { r in
                var next = policies
                do { try next.remove(id: r.id) } catch { throw Self.map(error) }
                try commit(next)
                return .init(id: r.id)
            }
        case .policyReplace: return try PolicyReplaceRequest.answer(p, policyReplace)
        case .sensitivitySet: return try SensitivitySetRequest.answer(p, sensitivity)
        case .mirrorForce: return try MirrorForceRequest.answer(p, force)
        case .configShow: return try ConfigShowRequest.answer(p) { _ in configJSON() }
        case .actionList: return try ActionListRequest.answer(p) { _ in try actionHandler().list() }
        case .actionAdd: return try ActionAddRequest.answer(p) { r in try actionHandler().add(r) }
        case .actionRemove: return try ActionRemoveRequest.answer(p) { r in try actionHandler().remove(r) }
        }
    }

    // MARK: VMs

    private func vm(_ ref: VMReference) throws -> Int {
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

    private func actionHandler() throws -> ActionHandler {
        guard let actions else { throw ControlError(.internal, "response actions are not available") }
        return actions
    }

    private func answered(_ ok: Bool) throws {
        if !ok { throw ControlError(.internal, "the worker did not answer in time; nothing was changed") }
    }

    private func freeze(_ ref: VMReference, _ frozen: Bool) throws -> BaselineFrozen {
        let i = try vm(ref)
        try answered(dataplane.freezeBaseline(vm: i, frozen))
        return BaselineFrozen(vm: name(i), frozen: frozen)
    }

    private func status() -> StatusRequest.Status {
        StatusRequest.Status(
            version: version, uptimeSeconds: dataplane.uptime.rounded(), pid: Int(getpid()),
            workers: dataplane.workerLcores.count, vms: dataplane.setup.vms.count, policies: policies.count,
            policyGeneration: policies.generation, stateDirectory: config.control.stateDirectory,
            globalSensitivity: sensitivities.global)
    }

    private func vmList() -> VMListRequest.VMList {
        let s = dataplane.snapshot()
        let vms = s.vms.enumerated().map { i, v in
            let port = s.ports.first { $0.role == "vm" && $0.name == v.name }
            let st = dataplane.vmState(i)
            return VMListRequest.VM(name: v.name, id: v.id, mac: v.mac, linkUp: port?.link_up, outgoing: v.outgoing,
                                    mirrored: v.mirrored, learning: st?.learning ?? true, frozen: st?.frozen ?? false,
                                    sensitivity: st?.sensitivity)
        }
        return VMListRequest.VMList(vms: vms)
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
            if let names = dataplane.learnedNames(vm: i) { o["names"] = .array(names.map(JSONValue.string)) }
            if st.forcedUntil != 0 {
                o["forced_until"] = .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(st.forcedUntil) / 1e9)))
            }
        }
        if let port = s.ports.first(where: { $0.role == "vm" && $0.name == name(i) }) {
            o["port"] = Self.json(port)
        }
        return .object(o)
    }

    private func baselineShow(_ i: Int) throws -> BaselineShowRequest.Summary {
        guard let doc = dataplane.exportBaseline(vm: i) else { throw ControlError(.internal, "the worker of \(name(i)) did not answer") }
        let st = dataplane.vmState(i)
        let services = doc.services.sorted { $0.packets > $1.packets }.map { s in
            let mean = s.size_weight > 0 ? s.size_sum / s.size_weight : 0
            let variance = s.size_weight > 0 ? max(0, s.size_squares / s.size_weight - mean * mean) : 0
            return BaselineShowRequest.Service(
                key: ServiceName.describe(UInt64(s.key, radix: 16) ?? 0), packets: s.packets,
                peak: (s.peak * 10).rounded() / 10, sizeMean: mean.rounded(), sizeStd: variance.squareRoot().rounded())
        }
        return BaselineShowRequest.Summary(
            vm: name(i), learnedPackets: doc.learned_packets, learning: st?.learning ?? true, frozen: doc.frozen,
            services: services, hosts: doc.hosts.count, destinations: doc.destinations.count,
            memoryBytes: Baseline.memoryBytes)
    }

    private func baselineImport(_ r: BaselineImportRequest) throws -> VMDone {
        let i = try vm(r.vm)
        let doc: BaselineDocument
        do { doc = try r.baseline.decode(as: BaselineDocument.self) } catch {
            throw ControlError(.invalidParams, "baseline: not a baseline document (\(error))")
        }
        do { try dataplane.importBaseline(vm: i, doc) } catch {
            throw ControlError(.invalidParams, "baseline: \(error.description)")
        }
        return VMDone(vm: name(i))
    }

    // MARK: Policies

    private func policyChange(_ r: some BmadPolicyChange, adding: Bool) throws -> JSONValue {
        var policy: Policy
        do {
            policy = try Policy(json: .object(r.policy), idRequired: !adding)
        } catch {
            throw Self.map(error)
        }
        if !r.allowFutureVM { try requireKnownVMs(policy, field: "match.vms") }
        var next = policies
        do {
            policy = adding ? try next.add(policy) : try next.update(policy)
        } catch { throw Self.map(error) }
        try commit(next)
        return policy.json
    }

    private func policyReplace(_ r: PolicyReplaceRequest) throws -> PolicyReplaceRequest.Replaced {
        let parsed: [Policy]
        do { parsed = try Policy.list(json: .array(r.policies)) } catch {
            throw Self.map(error)
        }
        if !r.allowFutureVM {
            for (i, policy) in parsed.enumerated() { try requireKnownVMs(policy, field: "policies[\(i)].match.vms") }
        }
        var next = policies
        do { try next.replaceAll(with: parsed) } catch { throw Self.map(error) }
        try commit(next)
        return .init(generation: next.generation, count: next.count)
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
    private func sensitivity(_ r: SensitivitySetRequest) throws -> SensitivitySetRequest.InForce {
        var next = sensitivities
        let vm = try r.vm.map(self.vm)
        if let vm {
            next.runtime.vmSensitivity[name(vm)] = r.value
        } else {
            next.runtime.sensitivity = r.value
        }
        if let settingsFile {
            do { try settingsFile.save(next.runtime) } catch {
                throw ControlError(.internal, "settings not saved, nothing changed: \(error)")
            }
        }
        sensitivities = next
        if let vm {
            try answered(dataplane.setSensitivity(vm: vm, next.vm(name(vm))))
            return .init(vm: name(vm), value: next.vm(name(vm)))
        }
        try answered(dataplane.setGlobalSensitivity(next.global))
        return .init(vm: nil, value: next.global)
    }

    private func force(_ r: MirrorForceRequest) throws -> MirrorForceRequest.Forced {
        let i = try vm(r.vm)
        var hash: UInt32 = 0
        if let flow = r.flow {
            guard let s = IPAddressText.parse(flow.source) else { throw ControlError.invalidParams("flow.src", "'\(flow.source)' is not an IP address") }
            guard let d = IPAddressText.parse(flow.destination) else {
                throw ControlError.invalidParams("flow.dst", "'\(flow.destination)' is not an IP address")
            }
            guard let proto = PolicyProtocol(flow.protocolName), case .ip(let number) = proto else {
                throw ControlError.invalidParams("flow.proto", "'\(flow.protocolName)' is not an IP protocol (tcp, udp, icmp or a number)")
            }
            hash = bma_flow_hash_tuple(s.hi, s.lo, d.hi, d.lo, number, flow.sourcePort, flow.destinationPort)
        }
        // 0 seconds cancels: until 0 clears the forced mirroring (whatever the packet clock).
        let until = r.seconds == 0 ? 0 : dataplane.nowNs &+ UInt64(r.seconds * 1e9)
        try answered(dataplane.force(vm: i, flowHash: hash, untilNs: until))
        let flowHash = hash != 0 ? hash : nil
        if until == 0 {
            return .init(vm: name(i), until: nil, seconds: nil, cancelled: true, flowHash: flowHash)
        }
        let untilText = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(until) / 1e9))
        return .init(vm: name(i), until: untilText, seconds: r.seconds, cancelled: nil, flowHash: flowHash)
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
