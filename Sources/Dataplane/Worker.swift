import BMAContract
import CDPDK
#if canImport(Glibc)
import Glibc
#endif

/// One (port, queue) pair a worker polls.
struct RxAssignment {
    var port: UInt16
    var queue: UInt16
    /// Index into the dataplane's port table (VMs first, then uplink, then mirror).
    var portIndex: Int
    /// The VM index for a VM port, -1 for the uplink.
    var vm: Int
    /// net_pcap: take the capture time from the mbuf.
    var captureTime: Int32 = 0
}

/// Per-lcore state: created once by the main lcore before launch, then owned by one worker.
/// Shared with other threads: the counter block (single writer: this worker) and the MAC table.
/// The packet path is in stages, each a function over a whole burst: Worker+VM.swift (traffic
/// of a VM: policy, detect, decide, copy, transmit), Worker+Uplink.swift (traffic toward VMs),
/// Worker+Mirror.swift (copies, budgets, pre-trigger context).
final class Worker: @unchecked Sendable {
    let index: Int
    let lcore: UInt32
    /// This worker's TX queue on every port, and on the mirror port.
    let txQueue: UInt16
    let rx: UnsafeMutableBufferPointer<RxAssignment>
    let portIds: UnsafeMutablePointer<UInt16>
    let uplinkIndex: Int
    /// The mirror port's id and its index in the port table (-1 without a mirror port).
    let mirrorPort: Int32
    let mirrorIndex: Int
    let vmCount: Int
    let counters: CounterBlock
    let macs: MacTable
    let nsPerCycle: Double
    /// Added to TSC time so that live timestamps are wall-clock nanoseconds (stable across restarts).
    let clockOffsetNs: UInt64
    var settings: DetectionSettings
    let vms: UnsafeMutablePointer<VMState>
    var totalBudget: MirrorBudget
    let encap: UnsafeMutablePointer<bma_encap_t>
    let mirrorPool: OpaquePointer?
    let mirrorStats: UnsafeMutablePointer<bma_mirror_stats_t>
    let policies: PolicyTable
    /// Response actions: the table, the snapshot of this poll iteration, and the mbufs its
    /// stage took out of the current burst.
    let actions: ActionTable
    let actionSlots: ActionSlots
    var actionSnap: UnsafeMutablePointer<ActionSnapshot>
    let actionDropped: UnsafeMutablePointer<OpaquePointer?>
    let mailbox = WorkerMailbox()
    /// Per-policy mirror budgets, indexed like the snapshot's rules; reset per generation.
    let policyBudgets: UnsafeMutablePointer<MirrorBudget>
    var budgetGeneration: UInt64 = .max
    /// How many pre-trigger packets any packet may ask for: the global setting or a policy's.
    var contextKeep = 0
    /// Count cycles per stage (bmad --profile-stages); off, the packet path reads no clock.
    let profile: Bool

    // Burst buffers, reused for every burst.
    let mbufs: UnsafeMutablePointer<OpaquePointer?>
    let pkts: UnsafeMutablePointer<bma_pkt_t>
    /// A VM burst's outgoing packets: their index in `mbufs`/`pkts`, the matching policy, the
    /// verdict. `outTx` holds their mbufs in order for the uplink.
    let outIdx: UnsafeMutablePointer<Int32>
    let outRule: UnsafeMutablePointer<UnsafeMutablePointer<PolicyRule>?>
    let verdicts: UnsafeMutablePointer<Verdict>
    let outTx: UnsafeMutablePointer<OpaquePointer?>
    /// Pre-trigger context of the current burst (indices into `mbufs`), oldest first.
    let context: UnsafeMutablePointer<Int32>
    /// Frames toward VMs, sorted per VM before sending: vmCount lists of BMA_BURST.
    let vmTx: UnsafeMutablePointer<OpaquePointer?>
    let vmTxLen: UnsafeMutablePointer<UInt32>
    let vmTxCount: UnsafeMutablePointer<Int>
    /// Mirror copies to make for this burst, pre-trigger entries first.
    let mirrorCap: Int
    let mirrorList: UnsafeMutablePointer<OpaquePointer?>
    let mirrorMeta: UnsafeMutablePointer<bma_mirror_meta_t>
    /// Pre-trigger references to release once their copies are made.
    let heldList: UnsafeMutablePointer<OpaquePointer?>
    /// DNS answers found in a burst toward VMs.
    let dnsAnswers: UnsafeMutablePointer<bma_dns_answer_t>
    /// The question names' texts of those answers (their `name` field indexes it).
    let dnsNames: UnsafeMutablePointer<bma_dns_name_t>
    static let dnsAnswerCap = 64
    /// Why each packet was mirrored, when asked for (replay --decisions); lossless. The worker
    /// appends through `decisionRing` (no reference counting on the packet path).
    let decisions: DecisionLog?
    let decisionRing: DecisionRing?

    init(index: Int, lcore: UInt32, rx: [RxAssignment], portIds: [UInt16], uplinkIndex: Int,
         mirrorIndex: Int?, setup: DataplaneSetup, macs: MacTable, nsPerCycle: Double,
         encap: bma_encap_t, mirrorPool: OpaquePointer?, policies: PolicyTable, actions: ActionTable, profile: Bool = false) {
        self.index = index
        self.lcore = lcore
        txQueue = UInt16(index)
        self.rx = .allocate(capacity: rx.count)
        _ = self.rx.initialize(from: rx)
        self.portIds = .allocate(capacity: portIds.count)
        self.portIds.initialize(from: portIds, count: portIds.count)
        self.uplinkIndex = uplinkIndex
        mirrorPort = mirrorIndex.map { Int32(portIds[$0]) } ?? -1
        self.mirrorIndex = mirrorIndex ?? -1
        vmCount = setup.vms.count
        counters = CounterBlock(layout: CounterLayout(ports: portIds.count, vms: setup.vms.count))
        self.macs = macs
        self.nsPerCycle = nsPerCycle
        clockOffsetNs = SystemClock.wallNanoseconds() &- UInt64(Double(bma_tsc()) * nsPerCycle)
        settings = setup.detection
        self.profile = profile
        vms = .allocate(capacity: max(vmCount, 1))
        for (i, vm) in setup.vms.enumerated() {
            (vms + i).initialize(to: VMState(vm: vm, mirror: setup.mirror))
        }
        totalBudget = MirrorBudget(packetsPerSecond: setup.mirror.totalPacketsPerSecond,
                                   bytesPerSecond: setup.mirror.totalBytesPerSecond)
        self.encap = .allocate(capacity: 1)
        self.encap.initialize(to: encap)
        self.mirrorPool = mirrorPool
        mirrorStats = .allocate(capacity: 1)
        mirrorStats.initialize(to: bma_mirror_stats_t())
        let burst = Int(BMA_BURST)
        mbufs = .allocate(capacity: burst)
        mbufs.initialize(repeating: nil, count: burst)
        pkts = .allocate(capacity: burst)
        pkts.initialize(repeating: bma_pkt_t(), count: burst)
        outIdx = .allocate(capacity: burst)
        outIdx.initialize(repeating: 0, count: burst)
        outRule = .allocate(capacity: burst)
        outRule.initialize(repeating: nil, count: burst)
        verdicts = .allocate(capacity: burst)
        verdicts.initialize(repeating: Verdict(), count: burst)
        outTx = .allocate(capacity: burst)
        outTx.initialize(repeating: nil, count: burst)
        context = .allocate(capacity: burst)
        context.initialize(repeating: 0, count: burst)
        let lists = burst * max(vmCount, 1)
        vmTx = .allocate(capacity: lists)
        vmTx.initialize(repeating: nil, count: lists)
        vmTxLen = .allocate(capacity: lists)
        vmTxLen.initialize(repeating: 0, count: lists)
        vmTxCount = .allocate(capacity: max(vmCount, 1))
        vmTxCount.initialize(repeating: 0, count: max(vmCount, 1))
        // Room for a whole burst plus two full pre-trigger rings.
        mirrorCap = burst + 2 * PreTriggerRing.capacityLimit
        mirrorList = .allocate(capacity: mirrorCap)
        mirrorList.initialize(repeating: nil, count: mirrorCap)
        mirrorMeta = .allocate(capacity: mirrorCap)
        mirrorMeta.initialize(repeating: bma_mirror_meta_t(), count: mirrorCap)
        heldList = .allocate(capacity: mirrorCap)
        heldList.initialize(repeating: nil, count: mirrorCap)
        decisions = setup.decisionLogCapacity > 0 ? DecisionLog(capacity: setup.decisionLogCapacity, lossless: true) : nil
        decisionRing = decisions?.ring
        dnsAnswers = .allocate(capacity: Worker.dnsAnswerCap)
        dnsAnswers.initialize(repeating: bma_dns_answer_t(), count: Worker.dnsAnswerCap)
        dnsNames = .allocate(capacity: Worker.dnsAnswerCap)
        dnsNames.initialize(repeating: bma_dns_name_t(), count: Worker.dnsAnswerCap)
        self.policies = policies
        self.actions = actions
        actionSlots = actions.slots
        actionSnap = actions.acquire(worker: index)
        actionDropped = .allocate(capacity: burst)
        actionDropped.initialize(repeating: nil, count: burst)
        policyBudgets = .allocate(capacity: PolicyTable.capacity)
        policyBudgets.initialize(repeating: MirrorBudget(packetsPerSecond: 0, bytesPerSecond: 0), count: PolicyTable.capacity)
    }

    deinit {
        for i in 0..<vmCount { vms[i].release() }
        vms.deallocate()
        rx.deallocate()
        portIds.deallocate()
        counters.deallocate()
        encap.deallocate()
        mirrorStats.deallocate()
        mbufs.deallocate()
        pkts.deallocate()
        outIdx.deallocate()
        outRule.deallocate()
        verdicts.deallocate()
        outTx.deallocate()
        context.deallocate()
        vmTx.deallocate()
        vmTxLen.deallocate()
        vmTxCount.deallocate()
        mirrorList.deallocate()
        mirrorMeta.deallocate()
        heldList.deallocate()
        dnsAnswers.deallocate()
        dnsNames.deallocate()
        policyBudgets.deallocate()
        actionDropped.deallocate()
    }

    /// The poll loop. Returns when a stop is requested.
    func run() {
        let c = counters.base
        let layout = counters.layout
        let loopsIdx = layout.index(.loops)
        let burstsIdx = layout.index(.bursts)
        let rxCyclesIdx = layout.index(.cyclesReceive)
        while bma_stop_requested() == 0 {
            c[loopsIdx] &+= 1
            // Quiescent point: the policy snapshot is picked up (and the old one released) here.
            let snap = policies.acquire(worker: index)
            if snap.pointee.generation != budgetGeneration { adopt(snap) }
            actionSnap = actions.acquire(worker: index)
            mailbox.serve { self.apply($0) }
            let nowNs = UInt64(Double(bma_tsc()) * nsPerCycle) &+ clockOffsetNs
            for a in 0..<rx.count {
                let r = rx[a]
                let t0 = profile ? bma_tsc() : 0
                let n = Int(bma_rx_parse(r.port, r.queue, mbufs, pkts, UInt16(BMA_BURST), nowNs, r.captureTime))
                if n == 0 { continue }
                if profile { c[rxCyclesIdx] &+= bma_tsc() &- t0 }
                c[burstsIdx] &+= 1
                countRx(portIndex: r.portIndex, n: n)
                if r.vm >= 0 {
                    fromVM(vm: r.vm, n: n, snap: snap)
                } else {
                    fromUplink(n: n, snap: snap)
                }
            }
        }
        publishMirrorStats()
    }

    /// A new policy generation: fresh per-policy budgets, and the most pre-trigger packets any
    /// packet may now ask for.
    private func adopt(_ snap: UnsafeMutablePointer<PolicySnapshot>) {
        var keep = settings.preTriggerPackets
        for i in 0..<snap.pointee.count {
            let r = snap.pointee.rules[i]
            policyBudgets[i] = MirrorBudget(packetsPerSecond: r.packetsPerSecond, bytesPerSecond: r.bytesPerSecond)
            if let k = r.preTriggerPackets, k > keep { keep = k }
        }
        contextKeep = min(max(keep, 0), PreTriggerRing.capacityLimit)
        budgetGeneration = snap.pointee.generation
    }

    /// Applies a control command to a VM this worker owns (between bursts).
    func apply(_ cmd: WorkerCommand) {
        if cmd.op == .setGlobalSensitivity {
            if let s = cmd.sensitivity { settings.sensitivity = s }
            return
        }
        guard cmd.vm >= 0 && cmd.vm < vmCount else { return }
        let st = vms + cmd.vm
        switch cmd.op {
        case .none, .setGlobalSensitivity: break
        case .resetBaseline:
            st.pointee.detector.reset()
            st.pointee.ring.clear()
        case .freeze: st.pointee.detector.baseline.frozen = true
        case .unfreeze: st.pointee.detector.baseline.frozen = false
        case .setSensitivity: st.pointee.detector.sensitivity = cmd.sensitivity
        case .force: st.pointee.force(hash: cmd.flowHash, until: cmd.until)
        case .copyOut: if let d = cmd.detector { d.pointee.copyContents(of: st.pointee.detector) }
        case .copyIn:
            if let d = cmd.detector {
                let own = st.pointee.detector.sensitivity // a setting, not part of the baseline
                st.pointee.detector.copyContents(of: d.pointee)
                st.pointee.detector.sensitivity = own
                st.pointee.ring.clear()
            }
        }
    }

    @inline(__always) func countRx(portIndex: Int, n: Int) {
        let c = counters.base
        let layout = counters.layout
        var bytes: UInt64 = 0
        var malformed = 0
        for i in 0..<n {
            let p = pkts + i
            bytes &+= UInt64(p.pointee.pkt_len)
            malformed |= Int(p.pointee.malformed)
        }
        if malformed != 0 {
            for i in 0..<n {
                let m = Int(pkts[i].malformed)
                if m != 0 { c[layout.index(malformed: m)] &+= 1 }
            }
        }
        c[layout.index(port: portIndex, .rxPackets)] &+= UInt64(n)
        c[layout.index(port: portIndex, .rxBytes)] &+= bytes
    }

    /// Counts a transmit of `n` frames of which `sent` left, with the frames' total `bytes`.
    @inline(__always) func countTx(portIndex: Int, n: Int, sent: Int, bytes: UInt64) {
        let c = counters.base
        let layout = counters.layout
        c[layout.index(port: portIndex, .txPackets)] &+= UInt64(sent)
        c[layout.index(port: portIndex, .txBytes)] &+= bytes
        if sent < n { c[layout.index(port: portIndex, .txFull)] &+= UInt64(n - sent) }
    }
}

/// The lcore entry point handed to EAL; `arg` is an unretained Worker.
let workerEntry: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { arg in
    guard let arg else { return -1 }
    Unmanaged<Worker>.fromOpaque(arg).takeUnretainedValue().run()
    return 0
}
