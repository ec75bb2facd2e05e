import BMAContract
import CDPDK
#if canImport(Glibc)
import Glibc
#endif

/// What the control plane may change while the workers run. Every call is made from the main
/// lcore; worker state changes go through the owning worker's mailbox.
extension Dataplane {
    /// The VM index for a name or an id.
    public func vmIndex(name: String? = nil, id: UInt32? = nil) -> Int? {
        setup.vms.firstIndex { (name != nil && $0.name == name) || (id != nil && $0.id == id) }
    }

    /// Publishes a new set of compiled policies; workers switch at their next poll iteration.
    @discardableResult
    public func publishPolicies(_ rules: [PolicyRule]) -> UInt64 {
        policyTable.publish(rules)
    }

    public var policyGeneration: UInt64 { policyTable.generation }

    /// Frees policy snapshots that no worker holds any more. Call periodically.
    public func reclaimPolicies() { policyTable.reclaim(running: running) }

    func owner(of vm: Int) -> Worker? { workers.first { w in w.rx.contains { $0.vm == vm } } }

    /// Runs a command on the worker that owns `vm`; false when it did not answer in time.
    @discardableResult
    func post(_ cmd: WorkerCommand) -> Bool {
        guard let w = owner(of: cmd.vm) else { return false }
        return w.mailbox.post(cmd, running: running) { w.apply($0) }
    }

    public func resetBaseline(vm: Int) -> Bool { post(WorkerCommand(op: .resetBaseline, vm: vm)) }
    public func freezeBaseline(vm: Int, _ frozen: Bool) -> Bool { post(WorkerCommand(op: frozen ? .freeze : .unfreeze, vm: vm)) }

    /// Sets (or with nil clears) a VM's own sensitivity.
    public func setSensitivity(vm: Int, _ value: Double?) -> Bool {
        post(WorkerCommand(op: .setSensitivity, vm: vm, sensitivity: value))
    }

    /// Sets the global sensitivity on every worker.
    public func setGlobalSensitivity(_ value: Double) -> Bool {
        var ok = true
        for w in workers {
            let cmd = WorkerCommand(op: .setGlobalSensitivity, vm: 0, sensitivity: value)
            ok = w.mailbox.post(cmd, running: running) { w.apply($0) } && ok
        }
        return ok
    }

    /// Mirrors a VM (or one flow of it, by its symmetric hash) regardless of score until `untilNs`
    /// (wall-clock ns live; capture time in replays).
    public func force(vm: Int, flowHash: UInt32 = 0, untilNs: UInt64) -> Bool {
        post(WorkerCommand(op: .force, vm: vm, until: untilNs, flowHash: flowHash))
    }

    /// The wall-clock time in the dataplane's clock, ns.
    public var nowNs: UInt64 { SystemClock.wallNanoseconds() }

    /// Runs `body` with a detector of the control side's own (same capacities as the workers').
    private func withScratchDetector<R>(_ body: (UnsafeMutablePointer<Detector>) throws(BaselineDocumentError) -> R) throws(BaselineDocumentError) -> R {
        let d = UnsafeMutablePointer<Detector>.allocate(capacity: 1)
        d.initialize(to: Detector())
        defer {
            d.pointee.deallocate()
            d.deinitialize(count: 1)
            d.deallocate()
        }
        return try body(d)
    }

    /// A consistent copy of the VM's baseline as a document.
    public func exportBaseline(vm: Int) -> BaselineDocument? {
        try? withScratchDetector { d throws(BaselineDocumentError) in
            guard post(WorkerCommand(op: .copyOut, vm: vm, detector: d)) else {
                throw BaselineDocumentError(description: "the worker of this VM did not answer")
            }
            return BaselineDocument(d.pointee)
        }
    }

    /// Replaces the VM's baseline with a document's.
    public func importBaseline(vm: Int, _ doc: BaselineDocument) throws(BaselineDocumentError) {
        try withScratchDetector { d throws(BaselineDocumentError) in
            try doc.restore(into: &d.pointee)
            guard post(WorkerCommand(op: .copyIn, vm: vm, detector: d)) else {
                throw BaselineDocumentError(description: "the worker of this VM did not answer")
            }
        }
    }

    /// Whether the VM's baseline is frozen, its own sensitivity, and whether it is still learning.
    /// Read without the worker: values may be a poll iteration old.
    /// Learning is judged on the VM's own clock (its last packet's time: capture time for
    /// net_pcap ports, wall clock otherwise). `forcedUntil` is the forced-mirroring expiry (0 = none).
    public func vmState(_ vm: Int) -> (frozen: Bool, sensitivity: Double?, learnedPackets: UInt64, learning: Bool, forcedUntil: UInt64)? {
        guard let w = owner(of: vm) else { return nil }
        let st = w.vms[vm]
        let d = st.detector
        let first = d.baseline.firstNs
        let last = d.baseline.packetRates.1.lastNs
        let learning = first == 0 || last &- first < w.settings.learningNs
        return (d.baseline.frozen, d.sensitivity, d.baseline.learnedPackets, learning, st.forceUntil)
    }

    /// What the VM's detector made of its surroundings: its calibrated threshold, the DNS names
    /// it holds for addresses, the novelties it learned as habits. Read while the worker runs
    /// (plain loads of single-writer fields, like the counters).
    public func vmDetection(_ vm: Int) -> (threshold: Double, dnsNames: Int, dnsAnswers: UInt64, habits: UInt64, prefixes: Int)? {
        guard let w = owner(of: vm) else { return nil }
        let c = w.vms[vm].detector.context
        return (c.calibration.threshold, c.names.table.count, c.names.answers, c.habits.learned, c.prefixes.count)
    }

    /// The DNS names the VM's baseline learned destinations under, most used first: as text where
    /// bmad kept it (NameTexts), else `#` and the name's hash. Read while the worker runs, like
    /// `vmDetection` (plain loads; a name changing meanwhile may read torn, never out of bounds),
    /// so `vm.show` does not wait for a worker that waits for packets.
    public func learnedNames(vm: Int) -> [String]? {
        guard let w = owner(of: vm) else { return nil }
        let d = w.vms[vm].detector
        var names: [(packets: UInt64, hash: UInt64)] = []
        d.baseline.hosts.forEach { s in
            if s.k0 == DestinationKey.nameTag { names.append((s.value.packets, s.k1)) }
        }
        return names.sorted { ($0.packets, $1.hash) > ($1.packets, $0.hash) }.map {
            d.context.texts.text($0.hash) ?? "#" + String($0.hash, radix: 16)
        }
    }

    /// The most policies a set may hold.
    public static var maxPolicies: Int { PolicyTable.capacity }
}
