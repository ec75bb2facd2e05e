import CDPDK

/// A VM's burst, stage by stage: sort (replay clock, frames toward the VM in replays) → policy →
/// detect → response actions (Worker+Actions.swift) → decide and collect copies → mirror → uplink. Everything it forwards goes to the
/// uplink, and the mirror never holds production back.
extension Worker {
    @inline(__always) func fromVM(vm: Int, n: Int, snap: UnsafeMutablePointer<PolicySnapshot>) {
        let state = vms + vm
        var t0 = profile ? bma_tsc() : 0
        var k = sortVMBurst(state, vm: vm, n: n)
        if k > 0 {
            let withPolicies = snap.pointee.count > 0
            if withPolicies { matchPolicies(snap, vm: vm, k: k) }
            t0 = lap(t0, .cyclesPolicy)
            detect(state, k: k, withPolicies: withPolicies)
            t0 = lap(t0, .cyclesDetect)
            if actionSnap.pointee.count > 0 {
                let (kept, dropped) = enforceActions(actionSnap, vm: vm, k: k)
                if dropped > 0 { bma_mbufs_free(actionDropped, UInt16(dropped)) }
                k = kept
            }
            let (mirrors, held) = decide(state, vm: vm, k: k, snap: snap)
            t0 = lap(t0, .cyclesDecide)
            if mirrors > 0 { sendMirror(vm: vm, n: mirrors, counter: .mirrored) }
            if held > 0 { bma_mbufs_free(heldList, UInt16(held)) }
            t0 = lap(t0, .cyclesMirror)
            let sent = Int(bma_tx(portIds[uplinkIndex], txQueue, outTx, UInt16(k)))
            var bytes: UInt64 = 0
            for q in 0..<sent { bytes &+= UInt64(pkts[Int(outIdx[q])].pkt_len) }
            countTx(portIndex: uplinkIndex, n: k, sent: sent, bytes: bytes)
            counters.base[counters.layout.index(vm: vm, .forwarded)] &+= UInt64(sent)
            t0 = lap(t0, .cyclesTransmit)
        }
        if state.pointee.ownMAC != 0 { flushVM(vm, burst: Int(BMA_BURST)) }
    }

    /// Adds the cycles since `t0` to a stage counter when profiling; returns the new start.
    @inline(__always) func lap(_ t0: UInt64, _ stage: WorkerCounter) -> UInt64 {
        guard profile else { return 0 }
        let t = bma_tsc()
        counters.base[counters.layout.index(stage)] &+= t &- t0
        return t
    }

    /// Replays give each frame its capture time and may hold frames toward the VM (not from its
    /// MAC): those are queued for the VM. The rest are the VM's outgoing packets, listed in
    /// `outIdx`/`outTx` in order. Returns how many.
    @inline(__always) func sortVMBurst(_ state: UnsafeMutablePointer<VMState>, vm: Int, n: Int) -> Int {
        let own = state.pointee.ownMAC
        var k = 0
        if state.pointee.timesNext < state.pointee.timesCount || own != 0 {
            var learnMAC: UInt64 = 0
            var incoming = 0
            for i in 0..<n {
                let p = pkts + i
                if state.pointee.timesNext < state.pointee.timesCount {
                    p.pointee.ts_ns = state.pointee.times![state.pointee.timesNext]
                    p.pointee.flags |= UInt16(BMA_PF_TIMESTAMP)
                    state.pointee.timesNext &+= 1
                }
                if own != 0 && p.pointee.src_mac != own {
                    enqueue(vm: vm, mbufs[i], len: p.pointee.pkt_len, burst: Int(BMA_BURST))
                    counters.base[counters.layout.index(vm: vm, .incoming)] &+= 1
                    if incoming == 0 { takeIncoming(vm: vm, n: n, own: own, at: p.pointee.ts_ns) }
                    incoming &+= 1
                    state.pointee.detector.context.incoming.add(1, at: p.pointee.ts_ns)
                    continue
                }
                learnMAC = p.pointee.src_mac
                outIdx[k] = Int32(i)
                outTx[k] = mbufs[i]
                k &+= 1
            }
            if learnMAC != 0 { macs.learn(vm: vm, mac: learnMAC) }
            return k
        }
        for i in 0..<n {
            outIdx[i] = Int32(i)
            outTx[i] = mbufs[i]
        }
        macs.learn(vm: vm, mac: pkts[n - 1].src_mac)
        return n
    }

    /// The highest-priority matching policy of each outgoing packet (nil: none).
    @inline(__always) func matchPolicies(_ snap: UnsafeMutablePointer<PolicySnapshot>, vm: Int, k: Int) {
        for q in 0..<k {
            outRule[q] = snap.pointee.decide(UnsafePointer(pkts + Int(outIdx[q])), vm: vm, incoming: false)
        }
    }

    /// Judges the outgoing packets in segments of equal time (a whole burst live; single
    /// packets in replays, whose frames carry their own capture times).
    @inline(__always) func detect(_ state: UnsafeMutablePointer<VMState>, k: Int, withPolicies: Bool) {
        let s = settings
        let vmSens = state.pointee.detector.sensitivity ?? s.sensitivity
        var j = 0
        while j < k {
            let first = UnsafePointer(pkts + Int(outIdx[j]))
            let t = first.pointee.ts_ns
            var classes = ClassCounts()
            classes.add(protocolClass(first))
            var bytes = packetSize(first)
            var e = j &+ 1
            while e < k {
                let p = UnsafePointer(pkts + Int(outIdx[e]))
                if p.pointee.ts_ns != t { break }
                classes.add(protocolClass(p))
                bytes += packetSize(p)
                e &+= 1
            }
            var seg = state.pointee.detector.begin(at: t, packets: e &- j, bytes: bytes, classes: classes, settings: s)
            if !withPolicies {
                state.pointee.detector.judge(pkts, outIdx, j..<e, into: verdicts, segment: &seg, settings: s, sensitivity: vmSens)
                state.pointee.detector.end(&seg)
                j = e
                continue
            }
            for q in j..<e {
                let p = UnsafePointer(pkts + Int(outIdx[q]))
                if withPolicies, let rule = outRule[q] {
                    // The matching policy may override the sensitivity, stickiness and pre-trigger.
                    var ps = s
                    if let st = rule.pointee.stickyNs { ps.stickyNs = st }
                    let sens = rule.pointee.sensitivity ?? vmSens
                    verdicts[q] = state.pointee.detector.judge(p, segment: &seg, settings: ps, sensitivity: sens)
                } else {
                    verdicts[q] = state.pointee.detector.judge(p, segment: &seg, settings: s, sensitivity: vmSens)
                }
            }
            state.pointee.detector.end(&seg)
            j = e
        }
    }

    /// Replay: the DNS answers among the frames toward the VM in this burst (frames not from its
    /// MAC) name the addresses it will reach. Called once per burst, at its first such frame.
    private func takeIncoming(vm: Int, n: Int, own: UInt64, at t: UInt64) {
        let k = Int(bma_dns_burst(mbufs, pkts, UInt16(n), dnsAnswers, dnsNames, UInt32(Worker.dnsAnswerCap)))
        for a in 0..<k where pkts[Int(dnsAnswers[a].pkt)].src_mac != own {
            vms[vm].detector.take(dnsAnswers[a], names: dnsNames, at: t)
        }
    }
}
