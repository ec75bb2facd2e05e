import CDPDK

/// Decide and copy: which of a VM burst's packets are copied to the mirror (with the pre-trigger
/// context a trigger brings), under which budgets, and the copies' transmission.
extension Worker {
    /// Decides every outgoing packet of the burst, counts the decisions, lists the copies in
    /// `mirrorList`/`mirrorMeta` (pre-trigger entries before their trigger) and keeps the rest as
    /// pre-trigger context. Returns the number of copies and of held references to release
    /// after they are made.
    @inline(__always)
    func decide(_ state: UnsafeMutablePointer<VMState>, vm: Int, k: Int,
                snap: UnsafeMutablePointer<PolicySnapshot>) -> (mirrors: Int, held: Int) {
        let c = counters.base
        let layout = counters.layout
        let withPolicies = snap.pointee.count > 0
        let forcing = state.pointee.forceUntil != 0 || state.pointee.anyForcedFlow
        var mirrors = 0
        var held = 0
        var contextCount = 0
        var learning = 0, anomalous = 0, sticky = 0, forcedOnly = 0, suppressed = 0, decisions = 0
        for q in 0..<k {
            // Read in place: the common case needs three flags, not a copy of the verdict.
            let vp = verdicts + q
            if vp.pointee.learning { learning &+= 1 }
            let rule = withPolicies ? outRule[q] : nil
            let i = Int(outIdx[q])
            let p = pkts + i
            // The common case: nothing to copy, nothing forced, no policy.
            if !vp.pointee.anomalous && !vp.pointee.sticky && rule == nil && !forcing {
                context[contextCount] = Int32(i)
                contextCount &+= 1
                continue
            }
            let v = vp.pointee
            let t = p.pointee.ts_ns
            let forced = forcing && state.pointee.forced(hash: p.pointee.flow_hash, at: t)
            let d = MirrorDecision.decide(v, mode: rule?.pointee.mode ?? .onAnomaly, forced: forced)
            if d.suppressed { suppressed &+= 1 }
            if d.context {
                context[contextCount] = Int32(i)
                contextCount &+= 1
            }
            if !d.copy { continue }
            if d.forcedOnly { forcedOnly &+= 1 }
            if d.anomalous { anomalous &+= 1 } else if d.sticky { sticky &+= 1 }
            if d.trigger {
                let limit = rule?.pointee.preTriggerPackets ?? settings.preTriggerPackets
                copyContext(state, vm: vm, before: t, limit: limit, count: contextCount, trigger: v,
                            mirrors: &mirrors, held: &held)
            } else if state.pointee.ring.count > 0 {
                // The context is what was not mirrored since the last copy: a copy that sends none
                // of it (weak, sticky, forced) drops it, so pre-trigger copies never go out of order.
                state.pointee.ring.clear()
            }
            contextCount = 0
            decisions &+= 1
            var bits = v.reasons.rawValue
            while bits != 0 {
                c[layout.index(vm: vm, reasonBit: bits.trailingZeroBitCount)] &+= 1
                bits &= bits &- 1
            }
            guard mirrors < mirrorCap, allowMirror(state, bytes: p.pointee.pkt_len, at: t, vm: vm) else { continue }
            if let rule, !allowPolicy(rule, snap: snap, bytes: p.pointee.pkt_len, at: t, vm: vm) { continue }
            mirrorList[mirrors] = mbufs[i]
            let score = v.score * 1000
            mirrorMeta[mirrors] = bma_mirror_meta_t(
                ts_ns: t, vm_id: state.pointee.id, reasons: v.reasons.rawValue,
                score_milli: score >= 4e9 ? UInt32.max : UInt32(score), flow_hash: p.pointee.flow_hash,
                policy_id: rule?.pointee.id ?? 0, flags: d.flags, snaplen: rule?.pointee.snaplen ?? 0,
                encap: rule?.pointee.encapsulation ?? UInt8(BMA_ENCAP_DEFAULT), _pad: 0)
            mirrors &+= 1
            if let log = decisionRing {
                log.append(UnsafePointer(p), vm: vm, at: t, v, forced: d.flags & UInt16(BMA_MF_FORCED) != 0,
                           name: state.pointee.detector.context.names.name(p.pointee.dst_ip_hi, p.pointee.dst_ip_lo, at: t))
            }
        }
        c[layout.index(vm: vm, .outgoing)] &+= UInt64(k)
        if learning > 0 { c[layout.index(vm: vm, .learning)] &+= UInt64(learning) }
        if decisions > 0 {
            c[layout.index(vm: vm, .mirrorDecisions)] &+= UInt64(decisions)
            c[layout.index(vm: vm, .anomalous)] &+= UInt64(anomalous)
            c[layout.index(vm: vm, .sticky)] &+= UInt64(sticky)
            c[layout.index(vm: vm, .forced)] &+= UInt64(forcedOnly)
        }
        if suppressed > 0 { c[layout.index(vm: vm, .suppressed)] &+= UInt64(suppressed) }
        // What was not copied stays as context for a later trigger (references held).
        if contextCount > 0 && contextKeep > 0 {
            let newest = pkts[Int(context[contextCount - 1])].ts_ns
            if state.pointee.ring.wants(at: newest) {
                state.pointee.ring.take(context, contextCount, keep: contextKeep, mbufs: mbufs, pkts: pkts, scratch: heldList + held)
            }
        }
        return (mirrors, held)
    }

    /// A trigger at `t`: copies the VM's latest context packets of at most `preTriggerNs` before
    /// it, up to `limit` of them: first those held from earlier bursts, then this burst's first
    /// `count` context packets. Held references move to `heldList` for release after the copies.
    @inline(__always)
    func copyContext(_ state: UnsafeMutablePointer<VMState>, vm: Int, before t: UInt64, limit: Int, count: Int,
                     trigger v: Verdict, mirrors: inout Int, held: inout Int) {
        let c = counters.base
        let layout = counters.layout
        let cutoff = t > settings.preTriggerNs ? t - settings.preTriggerNs : 0
        let ring = state.pointee.ring
        let total = ring.count &+ count
        let skip = total - min(max(limit, 0), total)
        let vmId = state.pointee.id
        let reasons = v.reasons.rawValue
        let log = decisionRing
        @inline(__always) func add(_ m: OpaquePointer?, _ ts: UInt64, _ hash: UInt32, _ len: UInt32) {
            guard ts >= cutoff else { return }
            guard mirrors < mirrorCap else {
                c[layout.index(vm: vm, .mirrorDrops)] &+= 1 // no room left in this burst
                return
            }
            guard allowMirror(state, bytes: len, at: t, vm: vm) else { return }
            mirrorList[mirrors] = m
            mirrorMeta[mirrors] = bma_mirror_meta_t(ts_ns: ts, vm_id: vmId, reasons: reasons, score_milli: 0, flow_hash: hash,
                                                    policy_id: 0, flags: UInt16(BMA_MF_PRETRIGGER), snaplen: 0,
                                                    encap: UInt8(BMA_ENCAP_DEFAULT), _pad: 0)
            mirrors &+= 1
            c[layout.index(vm: vm, .preTrigger)] &+= 1
            if let log { log.appendPreTrigger(m, vm: vm, at: ts, v) }
        }
        for r in 0..<ring.count where r >= skip {
            let s = ring.slot(r)
            add(ring.mbufs[s], ring.times[s], ring.hashes[s], ring.lengths[s])
        }
        for j in 0..<count where ring.count &+ j >= skip {
            let p = pkts + Int(context[j])
            add(mbufs[Int(context[j])], p.pointee.ts_ns, p.pointee.flow_hash, p.pointee.pkt_len)
        }
        held &+= state.pointee.ring.hand(to: heldList + held)
    }

    /// The VM's and the worker's budgets both have room for a copy of `bytes`.
    @inline(__always) func allowMirror(_ state: UnsafeMutablePointer<VMState>, bytes: UInt32, at t: UInt64, vm: Int) -> Bool {
        let b = Double(bytes)
        if state.pointee.budget.allow(bytes: b, at: t) && totalBudget.allow(bytes: b, at: t) { return true }
        counters.base[counters.layout.index(vm: vm, .budgetDrops)] &+= 1
        return false
    }

    /// The matching policy's own rate limit has room for a copy.
    @inline(__always) func allowPolicy(_ rule: UnsafeMutablePointer<PolicyRule>, snap: UnsafeMutablePointer<PolicySnapshot>,
                                       bytes: UInt32, at t: UInt64, vm: Int) -> Bool {
        if rule.pointee.packetsPerSecond <= 0 && rule.pointee.bytesPerSecond <= 0 { return true }
        let i = snap.pointee.rules.distance(to: rule)
        if policyBudgets[i].allow(bytes: Double(bytes), at: t) { return true }
        counters.base[counters.layout.index(vm: vm, .policyBudgetDrops)] &+= 1
        return false
    }

    /// Sends the listed copies on this worker's mirror queue; counts them for the VM and for the
    /// mirror port.
    func sendMirror(vm: Int, n: Int, counter: VMCounter) {
        let c = counters.base
        let layout = counters.layout
        guard mirrorPort >= 0 else {
            c[layout.index(vm: vm, .mirrorDrops)] &+= UInt64(n)
            return
        }
        let beforeBytes = mirrorStats.pointee.sent_bytes
        let sent = Int(bma_mirror_send(UInt16(mirrorPort), txQueue, mirrorPool, encap, mirrorList, mirrorMeta,
                                       UInt16(n), mirrorStats))
        let bytes = mirrorStats.pointee.sent_bytes &- beforeBytes
        c[layout.index(vm: vm, counter)] &+= UInt64(sent)
        c[layout.index(vm: vm, .mirroredBytes)] &+= bytes
        if sent < n { c[layout.index(vm: vm, .mirrorDrops)] &+= UInt64(n - sent) }
        c[layout.index(port: mirrorIndex, .txPackets)] &+= UInt64(sent)
        c[layout.index(port: mirrorIndex, .txBytes)] &+= bytes
        publishMirrorStats()
    }

    @inline(__always) func publishMirrorStats() {
        let c = counters.base
        let layout = counters.layout
        c[layout.index(.sent)] = mirrorStats.pointee.sent
        c[layout.index(.sentBytes)] = mirrorStats.pointee.sent_bytes
        c[layout.index(.nombuf)] = mirrorStats.pointee.nombuf
        c[layout.index(.ringfull)] = mirrorStats.pointee.ringfull
        c[layout.index(.tooBig)] = mirrorStats.pointee.too_big
    }
}
