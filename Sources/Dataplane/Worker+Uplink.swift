import CDPDK

/// Traffic toward VMs: from the uplink to the VM that owns the destination MAC, broadcast and
/// multicast to every VM; and the copies `always` policies ask for in that direction.
extension Worker {
    @inline(__always) func fromUplink(n: Int, snap: UnsafeMutablePointer<PolicySnapshot>) {
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

    /// The DNS answers of an uplink burst, to the VMs they are addressed to (by destination MAC).
    private func takeAnswers(n: Int) {
        let k = Int(bma_dns_burst(mbufs, pkts, UInt16(n), dnsAnswers, dnsNames, UInt32(Worker.dnsAnswerCap)))
        for a in 0..<k {
            let p = pkts + Int(dnsAnswers[a].pkt)
            if p.pointee.flags & UInt16(BMA_PF_MULTICAST) != 0 { continue }
            let vm = macs.lookup(p.pointee.dst_mac)
            if vm >= 0 && vm < vmCount { vms[vm].detector.take(dnsAnswers[a], names: dnsNames, at: p.pointee.ts_ns) }
        }
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

    @inline(__always) func enqueue(vm: Int, _ m: OpaquePointer?, len: UInt32, burst: Int) {
        let k = vmTxCount[vm]
        vmTx[vm &* burst &+ k] = m
        vmTxLen[vm &* burst &+ k] = len
        vmTxCount[vm] = k &+ 1
    }

    @inline(__always) func flushVM(_ vm: Int, burst: Int) {
        let k = vmTxCount[vm]
        if k == 0 { return }
        let list = vmTx + vm &* burst
        let lens = vmTxLen + vm &* burst
        // Toward a VM: queue 0, used by worker 0 only (see Dataplane.init).
        let sent = Int(bma_tx(portIds[vm], 0, list, UInt16(k)))
        var bytes: UInt64 = 0
        for i in 0..<sent { bytes &+= UInt64(lens[i]) }
        countTx(portIndex: vm, n: k, sent: sent, bytes: bytes)
        vmTxCount[vm] = 0
    }
}
