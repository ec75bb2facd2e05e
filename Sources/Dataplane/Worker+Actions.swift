import CDPDK

/// The response-action stage of a VM burst, between detect and decide: each outgoing packet
/// meets the highest-priority action that matches it. `drop` and a `rate-limit` over its
/// budget take the packet out of the burst (its mbuf goes to `actionDropped` for the caller to
/// free); `force-mirror` makes the packet a copy whatever its score (as a sticky flow would);
/// `allow` takes the detector's anomaly off it. The surviving packets stay in order.
extension Worker {
    /// Applies the actions to the first `k` outgoing packets; returns how many remain and how
    /// many mbufs were listed in `actionDropped`.
    @inline(__always)
    func enforceActions(_ snap: UnsafeMutablePointer<ActionSnapshot>, vm: Int, k: Int) -> (kept: Int, dropped: Int) {
        var kept = 0
        var dropped = 0
        for q in 0..<k {
            let i = Int(outIdx[q])
            let p = pkts + i
            if let rule = snap.pointee.first(UnsafePointer(p), vm: vm) {
                let (row, budget) = actionSlots.take(worker: index, rule)
                bump(row, .matched)
                var remove = false
                switch rule.pointee.kind {
                case .drop:
                    bump(row, .dropped)
                    remove = true
                case .rateLimit:
                    if !budget.pointee.allow(bytes: Double(p.pointee.pkt_len), at: p.pointee.ts_ns) {
                        bump(row, .limited)
                        remove = true
                    }
                case .forceMirror:
                    verdicts[q].sticky = true
                    bump(row, .mirrored)
                case .allow:
                    if verdicts[q].anomalous || verdicts[q].sticky { bump(row, .allowed) }
                    verdicts[q].anomalous = false
                    verdicts[q].sticky = false
                    verdicts[q].trigger = false
                }
                if remove {
                    actionDropped[dropped] = outTx[q]
                    dropped &+= 1
                    continue
                }
            }
            if kept != q {
                outIdx[kept] = outIdx[q]
                outTx[kept] = outTx[q]
                outRule[kept] = outRule[q]
                verdicts[kept] = verdicts[q]
            }
            kept &+= 1
        }
        if dropped > 0 {
            // Still the VM's outgoing packets (decide counts only those it sees).
            counters.base[counters.layout.index(vm: vm, .actionDrops)] &+= UInt64(dropped)
            counters.base[counters.layout.index(vm: vm, .outgoing)] &+= UInt64(dropped)
        }
        return (kept, dropped)
    }

    /// Single-writer increment of one of the slot's counters.
    @inline(__always) private func bump(_ row: UnsafeMutablePointer<UInt64>, _ c: ActionCounter) {
        (row + c.rawValue).pointee &+= 1
    }
}
