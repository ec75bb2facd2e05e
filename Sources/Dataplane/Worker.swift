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
final class Worker: @unchecked Sendable {
    let index: Int
    let lcore: UInt32
    /// This worker's TX queue on every port, and on the mirror port.
    let txQueue: UInt16
    let rx: UnsafeMutableBufferPointer<RxAssignment>
    let portIds: UnsafeMutableBufferPointer<UInt16>
    let uplinkIndex: Int
    let mirrorPort: Int32
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
    let mailbox = WorkerMailbox()
    /// Per-policy mirror budgets, indexed like the snapshot's rules; reset per generation.
    let policyBudgets: UnsafeMutablePointer<MirrorBudget>
    var budgetGeneration: UInt64 = .max

    // Burst buffers, reused for every burst.
    let mbufs: UnsafeMutablePointer<OpaquePointer?>
    let pkts: UnsafeMutablePointer<bma_pkt_t>
    /// Frames toward VMs, sorted per VM before sending: vmCount lists of BMA_BURST.
    let vmTx: UnsafeMutablePointer<OpaquePointer?>
    let vmTxLen: UnsafeMutablePointer<UInt32>
    let vmTxCount: UnsafeMutablePointer<Int>
    /// Outgoing frames of a VM burst (all of them, except replay frames toward the VM).
    let outTx: UnsafeMutablePointer<OpaquePointer?>
    let outLen: UnsafeMutablePointer<UInt32>
    /// Mirror copies to make for this burst, pre-trigger entries first.
    let mirrorCap: Int
    let mirrorList: UnsafeMutablePointer<OpaquePointer?>
    let mirrorMeta: UnsafeMutablePointer<bma_mirror_meta_t>
    /// Pre-trigger references to release once their copies are made.
    let heldList: UnsafeMutablePointer<OpaquePointer?>
    /// DNS answers found in a burst toward VMs.
    let dnsAnswers: UnsafeMutablePointer<bma_dns_answer_t>
    static let dnsAnswerCap = 64
    /// Why each packet was mirrored, when asked for (replay --decisions); lossless. The worker
    /// appends through `decisionRing` (no reference counting on the packet path).
    let decisions: DecisionLog?
    let decisionRing: DecisionRing?

    init(index: Int, lcore: UInt32, rx: [RxAssignment], portIds: [UInt16], uplinkIndex: Int,
         mirrorIndex: Int?, setup: DataplaneSetup, macs: MacTable, nsPerCycle: Double,
         encap: bma_encap_t, mirrorPool: OpaquePointer?, policies: PolicyTable) {
        self.index = index
        self.lcore = lcore
        txQueue = UInt16(index)
        self.rx = .allocate(capacity: rx.count)
        _ = self.rx.initialize(from: rx)
        self.portIds = .allocate(capacity: portIds.count)
        _ = self.portIds.initialize(from: portIds)
        self.uplinkIndex = uplinkIndex
        mirrorPort = mirrorIndex.map { Int32(portIds[$0]) } ?? -1
        vmCount = setup.vms.count
        counters = CounterBlock(layout: CounterLayout(ports: portIds.count, vms: setup.vms.count))
        self.macs = macs
        self.nsPerCycle = nsPerCycle
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let wall = UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
        clockOffsetNs = wall &- UInt64(Double(bma_tsc()) * nsPerCycle)
        settings = setup.detection
        let preTrigger = min(max(setup.detection.preTriggerPackets, 0), 64)
        vms = .allocate(capacity: max(vmCount, 1))
        for (i, vm) in setup.vms.enumerated() {
            (vms + i).initialize(to: VMState(vm: vm, mirror: setup.mirror, preTrigger: preTrigger))
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
        let lists = burst * max(vmCount, 1)
        vmTx = .allocate(capacity: lists)
        vmTx.initialize(repeating: nil, count: lists)
        vmTxLen = .allocate(capacity: lists)
        vmTxLen.initialize(repeating: 0, count: lists)
        vmTxCount = .allocate(capacity: max(vmCount, 1))
        vmTxCount.initialize(repeating: 0, count: max(vmCount, 1))
        outTx = .allocate(capacity: burst)
        outTx.initialize(repeating: nil, count: burst)
        outLen = .allocate(capacity: burst)
        outLen.initialize(repeating: 0, count: burst)
        // Room for a whole burst plus two full pre-trigger rings.
        mirrorCap = burst + 128
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
        self.policies = policies
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
        vmTx.deallocate()
        vmTxLen.deallocate()
        vmTxCount.deallocate()
        outTx.deallocate()
        outLen.deallocate()
        mirrorList.deallocate()
        mirrorMeta.deallocate()
        heldList.deallocate()
        dnsAnswers.deallocate()
        policyBudgets.deallocate()
    }

    /// The poll loop. Returns when a stop is requested.
    func run() {
        let c = counters.base
        let layout = counters.layout
        let loopsIdx = layout.index(.loops)
        let burstsIdx = layout.index(.bursts)
        while bma_stop_requested() == 0 {
            c[loopsIdx] &+= 1
            // Quiescent point: the policy snapshot is picked up (and the old one released) here.
            let snap = policies.acquire(worker: index)
            if snap.pointee.generation != budgetGeneration { resetPolicyBudgets(snap) }
            mailbox.serve { self.apply($0) }
            let nowNs = UInt64(Double(bma_tsc()) * nsPerCycle) &+ clockOffsetNs
            for a in 0..<rx.count {
                let r = rx[a]
                let n = Int(bma_rx_parse(r.port, r.queue, mbufs, pkts, UInt16(BMA_BURST), nowNs, r.captureTime))
                if n == 0 { continue }
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

    private func resetPolicyBudgets(_ snap: UnsafeMutablePointer<PolicySnapshot>) {
        for i in 0..<snap.pointee.count {
            let r = snap.pointee.rules[i]
            policyBudgets[i] = MirrorBudget(packetsPerSecond: r.packetsPerSecond, bytesPerSecond: r.bytesPerSecond)
        }
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

    @inline(__always) private func countRx(portIndex: Int, n: Int) {
        let c = counters.base
        let layout = counters.layout
        var bytes: UInt64 = 0
        for i in 0..<n {
            let p = pkts + i
            bytes &+= UInt64(p.pointee.pkt_len)
            let m = Int(p.pointee.malformed)
            if m != 0 { c[layout.index(malformed: m)] &+= 1 }
        }
        c[layout.index(port: portIndex, .rxPackets)] &+= UInt64(n)
        c[layout.index(port: portIndex, .rxBytes)] &+= bytes
    }

    /// VM traffic: judged against the VM's baseline, copied to the mirror when it deviates,
    /// then forwarded to the uplink (all of it; the mirror never holds production back).
    @inline(__always) private func fromVM(vm: Int, n: Int, snap: UnsafeMutablePointer<PolicySnapshot>) {
        let c = counters.base
        let layout = counters.layout
        let state = vms + vm
        let s = settings
        let burst = Int(BMA_BURST)
        var out = 0
        var mirrors = 0
        var held = 0
        var learnMAC: UInt64 = 0
        var incoming = 0
        for i in 0..<n {
            let p = pkts + i
            let m = mbufs[i]
            // Replay clock: the capture time of this frame.
            if state.pointee.timesNext < state.pointee.timesCount {
                p.pointee.ts_ns = state.pointee.times![state.pointee.timesNext]
                p.pointee.flags |= UInt16(BMA_PF_TIMESTAMP)
                state.pointee.timesNext &+= 1
            }
            let own = state.pointee.ownMAC
            if own != 0 && p.pointee.src_mac != own {
                enqueue(vm: vm, m, len: p.pointee.pkt_len, burst: burst)
                c[layout.index(vm: vm, .incoming)] &+= 1
                if incoming == 0 { takeIncoming(vm: vm, n: n, own: own, at: p.pointee.ts_ns) }
                incoming &+= 1
                state.pointee.detector.context.incoming.add(1, at: p.pointee.ts_ns)
                continue
            }
            learnMAC = p.pointee.src_mac
            outTx[out] = m
            outLen[out] = p.pointee.pkt_len
            out &+= 1
            let t = p.pointee.ts_ns
            // The highest-priority matching policy may override the mode and the settings.
            let rule = snap.pointee.count > 0 ? snap.pointee.decide(UnsafePointer(p), vm: vm, incoming: false) : nil
            var v: Verdict
            var mode = MirrorMode.onAnomaly
            if let rule {
                mode = rule.pointee.mode
                var ps = s
                if let st = rule.pointee.stickyNs { ps.stickyNs = st }
                if let pt = rule.pointee.preTriggerPackets { ps.preTriggerPackets = pt }
                let sens = rule.pointee.sensitivity
                v = state.pointee.detector.evaluate(UnsafePointer(p), at: t, settings: ps, sensitivity: sens.isNaN ? nil : sens)
            } else {
                v = state.pointee.detector.evaluate(UnsafePointer(p), at: t, settings: s)
            }
            c[layout.index(vm: vm, .outgoing)] &+= 1
            if v.learning { c[layout.index(vm: vm, .learning)] &+= 1 }
            let forced = mode == .always || state.pointee.forced(hash: p.pointee.flow_hash, at: t)
            if mode == .never && v.mirror && !forced {
                c[layout.index(vm: vm, .suppressed)] &+= 1
                v.anomalous = false
                v.sticky = false
            }
            if forced && !v.mirror {
                c[layout.index(vm: vm, .forced)] &+= 1
            }
            if !v.mirror && !forced {
                // A `never` policy's traffic is never mirrored, not even as pre-trigger context.
                if s.preTriggerPackets > 0 && mode != .never {
                    state.pointee.ring.push(m, time: t, hash: p.pointee.flow_hash, length: p.pointee.pkt_len)
                }
                continue
            }
            if v.anomalous { c[layout.index(vm: vm, .anomalous)] &+= 1 } else if v.sticky { c[layout.index(vm: vm, .sticky)] &+= 1 }
            // The ring holds what was not mirrored since the last copy: a copy that sends none of it
            // (weak, sticky, forced) empties it, so pre-trigger copies never go out of order.
            if !(v.trigger && v.anomalous) && state.pointee.ring.count > 0 { state.pointee.ring.clear() }
            if v.trigger && v.anomalous && state.pointee.ring.count > 0 {
                let vmId = state.pointee.id
                let cutoff = t > s.preTriggerNs ? t - s.preTriggerNs : 0
                let cap = mirrorCap
                state.pointee.ring.drain { hm, ht, hh, hl in
                    guard ht >= cutoff else { return false }
                    guard mirrors < cap, held < cap else {
                        c[layout.index(vm: vm, .mirrorDrops)] &+= 1 // no room left in this burst
                        return false
                    }
                    guard allowMirror(state, bytes: hl, at: t, vm: vm) else { return false }
                    mirrorList[mirrors] = hm
                    mirrorMeta[mirrors] = bma_mirror_meta_t(ts_ns: ht, vm_id: vmId, reasons: v.reasons.rawValue,
                                                            score_milli: 0, flow_hash: hh, policy_id: 0,
                                                            flags: UInt16(BMA_MF_PRETRIGGER), snaplen: 0,
                                                            encap: UInt8(BMA_ENCAP_DEFAULT), _pad: 0)
                    mirrors &+= 1
                    if let log = decisionRing { log.appendPreTrigger(hm, vm: vm, at: ht, v) }
                    heldList[held] = hm
                    held &+= 1
                    c[layout.index(vm: vm, .preTrigger)] &+= 1
                    return true
                }
            }
            c[layout.index(vm: vm, .mirrorDecisions)] &+= 1
            var bits = v.reasons.rawValue
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                c[layout.index(vm: vm, reasonBit: b)] &+= 1
                bits &= bits &- 1
            }
            guard mirrors < mirrorCap, allowMirror(state, bytes: p.pointee.pkt_len, at: t, vm: vm) else { continue }
            if let rule, !allowPolicy(rule, snap: snap, bytes: p.pointee.pkt_len, at: t, vm: vm) { continue }
            mirrorList[mirrors] = m
            let score = v.score * 1000
            var flags: UInt16 = v.sticky && !v.anomalous ? UInt16(BMA_MF_STICKY) : 0
            if forced { flags |= UInt16(BMA_MF_FORCED) }
            mirrorMeta[mirrors] = bma_mirror_meta_t(
                ts_ns: t, vm_id: state.pointee.id, reasons: v.reasons.rawValue,
                score_milli: score >= 4e9 ? UInt32.max : UInt32(score), flow_hash: p.pointee.flow_hash,
                policy_id: rule?.pointee.id ?? 0, flags: flags, snaplen: rule?.pointee.snaplen ?? 0,
                encap: rule?.pointee.encapsulation ?? UInt8(BMA_ENCAP_DEFAULT), _pad: 0)
            mirrors &+= 1
            if let log = decisionRing { log.append(UnsafePointer(p), vm: vm, at: t, v, forced: forced, name: state.pointee.detector.context.names.name(p.pointee.dst_ip_hi, p.pointee.dst_ip_lo, at: t)) }
        }
        if learnMAC != 0 { macs.learn(vm: vm, mac: learnMAC) }
        if mirrors > 0 { sendMirror(vm: vm, n: mirrors, counter: .mirrored) }
        if held > 0 { bma_mbufs_free(heldList, UInt16(held)) }
        if out > 0 {
            let sent = Int(bma_tx(portIds[uplinkIndex], txQueue, outTx, UInt16(out)))
            countTx(portIndex: uplinkIndex, n: out, sent: sent) { outLen[$0] }
            c[layout.index(vm: vm, .forwarded)] &+= UInt64(sent)
        }
        if state.pointee.ownMAC != 0 { flushVM(vm, burst: burst) }
    }

    /// Replay: the DNS answers among the frames toward the VM in this burst (frames not from its
    /// MAC) name the addresses it will reach. Called once per burst, at its first such frame.
    private func takeIncoming(vm: Int, n: Int, own: UInt64, at t: UInt64) {
        let k = Int(bma_dns_burst(mbufs, pkts, UInt16(n), dnsAnswers, UInt32(Worker.dnsAnswerCap)))
        for a in 0..<k where pkts[Int(dnsAnswers[a].pkt)].src_mac != own {
            vms[vm].detector.context.names.learn(dnsAnswers[a], at: t)
        }
    }

    /// The DNS answers of an uplink burst, to the VMs they are addressed to (by destination MAC).
    private func takeAnswers(n: Int) {
        let k = Int(bma_dns_burst(mbufs, pkts, UInt16(n), dnsAnswers, UInt32(Worker.dnsAnswerCap)))
        for a in 0..<k {
            let p = pkts + Int(dnsAnswers[a].pkt)
            if p.pointee.flags & UInt16(BMA_PF_MULTICAST) != 0 { continue }
            let vm = macs.lookup(p.pointee.dst_mac)
            if vm >= 0 && vm < vmCount { vms[vm].detector.context.names.learn(dnsAnswers[a], at: p.pointee.ts_ns) }
        }
    }

    /// The VM's and the worker's budgets both have room for a copy of `bytes`.
    @inline(__always) private func allowMirror(_ state: UnsafeMutablePointer<VMState>, bytes: UInt32, at t: UInt64, vm: Int) -> Bool {
        let b = Double(bytes)
        if state.pointee.budget.allow(bytes: b, at: t) && totalBudget.allow(bytes: b, at: t) { return true }
        counters.base[counters.layout.index(vm: vm, .budgetDrops)] &+= 1
        return false
    }

    /// The matching policy's own rate limit has room for a copy.
    @inline(__always) private func allowPolicy(_ rule: UnsafeMutablePointer<PolicyRule>, snap: UnsafeMutablePointer<PolicySnapshot>,
                                               bytes: UInt32, at t: UInt64, vm: Int) -> Bool {
        if rule.pointee.packetsPerSecond <= 0 && rule.pointee.bytesPerSecond <= 0 { return true }
        let i = snap.pointee.rules.distance(to: rule)
        if policyBudgets[i].allow(bytes: Double(bytes), at: t) { return true }
        counters.base[counters.layout.index(vm: vm, .policyBudgetDrops)] &+= 1
        return false
    }

    @inline(__always) private func sendMirror(vm: Int, n: Int, counter: VMCounter) {
        let c = counters.base
        let layout = counters.layout
        guard mirrorPort >= 0 else {
            c[layout.index(vm: vm, .mirrorDrops)] &+= UInt64(n)
            return
        }
        let before = mirrorStats.pointee.sent
        let beforeBytes = mirrorStats.pointee.sent_bytes
        let sent = Int(bma_mirror_send(UInt16(mirrorPort), txQueue, mirrorPool, encap, mirrorList, mirrorMeta,
                                       UInt16(n), mirrorStats))
        c[layout.index(vm: vm, counter)] &+= UInt64(sent)
        c[layout.index(vm: vm, .mirroredBytes)] &+= mirrorStats.pointee.sent_bytes &- beforeBytes
        if sent < n { c[layout.index(vm: vm, .mirrorDrops)] &+= UInt64(n - sent) }
        _ = before
        publishMirrorStats()
    }

    @inline(__always) private func publishMirrorStats() {
        let c = counters.base
        let layout = counters.layout
        c[layout.index(.sent)] = mirrorStats.pointee.sent
        c[layout.index(.sentBytes)] = mirrorStats.pointee.sent_bytes
        c[layout.index(.nombuf)] = mirrorStats.pointee.nombuf
        c[layout.index(.ringfull)] = mirrorStats.pointee.ringfull
        c[layout.index(.tooBig)] = mirrorStats.pointee.too_big
    }

    /// Uplink traffic: to the VM that owns the destination MAC; broadcast and multicast to all.
    @inline(__always) private func fromUplink(n: Int, snap: UnsafeMutablePointer<PolicySnapshot>) {
        let c = counters.base
        let layout = counters.layout
        let burst = Int(BMA_BURST)
        if snap.pointee.hasIncoming { mirrorIncoming(n: n, snap: snap) }
        var dns = false
        for i in 0..<n where pkts[i].flags & UInt16(BMA_PF_DNS_RESPONSE) != 0 { dns = true; break }
        if dns { takeAnswers(n: n) }
        for i in 0..<n {
            let p = pkts + i
            let m = mbufs[i]
            if p.pointee.flags & UInt16(BMA_PF_MULTICAST) != 0 {
                if vmCount > 1 {
                    var one = m
                    bma_mbufs_ref(&one, 1, UInt16(vmCount - 1))
                    c[layout.index(.broadcastCopies)] &+= UInt64(vmCount - 1)
                }
                for vm in 0..<vmCount { enqueue(vm: vm, m, len: p.pointee.pkt_len, burst: burst) }
            } else {
                let vm = macs.lookup(p.pointee.dst_mac)
                if vm < 0 {
                    var one = m
                    bma_mbufs_free(&one, 1)
                    c[layout.index(.unknownDestination)] &+= 1
                } else {
                    enqueue(vm: vm, m, len: p.pointee.pkt_len, burst: burst)
                }
            }
        }
        let t = pkts[n - 1].ts_ns
        for vm in 0..<vmCount where vmTxCount[vm] > 0 { vms[vm].detector.context.incoming.add(vmTxCount[vm], at: t) }
        for vm in 0..<vmCount { flushVM(vm, burst: burst) }
    }

    /// Traffic toward VMs is mirrored only by `always` policies that look at direction `in`
    /// (baselines describe what VMs send). Copies are made before the frames are sent.
    private func mirrorIncoming(n: Int, snap: UnsafeMutablePointer<PolicySnapshot>) {
        var k = 0
        var owner = -1
        for i in 0..<n {
            let p = UnsafePointer(pkts + i)
            let vm = p.pointee.flags & UInt16(BMA_PF_MULTICAST) != 0 ? -1 : macs.lookup(p.pointee.dst_mac)
            guard vm >= 0, let rule = snap.pointee.decide(p, vm: vm, incoming: true), rule.pointee.mode == .always else { continue }
            let t = p.pointee.ts_ns
            guard allowMirror(vms + vm, bytes: p.pointee.pkt_len, at: t, vm: vm),
                  allowPolicy(rule, snap: snap, bytes: p.pointee.pkt_len, at: t, vm: vm) else { continue }
            if owner >= 0 && owner != vm && k > 0 {
                sendMirror(vm: owner, n: k, counter: .mirroredIncoming)
                k = 0
            }
            owner = vm
            mirrorList[k] = mbufs[i]
            mirrorMeta[k] = bma_mirror_meta_t(ts_ns: t, vm_id: vms[vm].id, reasons: 0, score_milli: 0,
                                              flow_hash: p.pointee.flow_hash, policy_id: rule.pointee.id,
                                              flags: UInt16(BMA_MF_FORCED), snaplen: rule.pointee.snaplen,
                                              encap: rule.pointee.encapsulation, _pad: 0)
            k += 1
        }
        if k > 0 { sendMirror(vm: owner, n: k, counter: .mirroredIncoming) }
    }

    @inline(__always) private func enqueue(vm: Int, _ m: OpaquePointer?, len: UInt32, burst: Int) {
        let k = vmTxCount[vm]
        vmTx[vm &* burst &+ k] = m
        vmTxLen[vm &* burst &+ k] = len
        vmTxCount[vm] = k &+ 1
    }

    @inline(__always) private func flushVM(_ vm: Int, burst: Int) {
        let k = vmTxCount[vm]
        if k == 0 { return }
        let list = vmTx + vm &* burst
        let lens = vmTxLen + vm &* burst
        // Toward a VM: queue 0, used by worker 0 only (see Dataplane.init).
        let sent = Int(bma_tx(portIds[vm], 0, list, UInt16(k)))
        countTx(portIndex: vm, n: k, sent: sent) { lens[$0] }
        vmTxCount[vm] = 0
    }

    @inline(__always) private func countTx(portIndex: Int, n: Int, sent: Int, length: (Int) -> UInt32) {
        let c = counters.base
        let layout = counters.layout
        var bytes: UInt64 = 0
        for i in 0..<sent { bytes &+= UInt64(length(i)) }
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
