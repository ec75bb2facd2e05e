import CDPDK

/// One (port, queue) pair a worker polls.
struct RxAssignment {
    var port: UInt16
    var queue: UInt16
    /// Index into the dataplane's port table (VMs first, then uplink, then mirror).
    var portIndex: Int
    /// The VM index for a VM port, -1 for the uplink.
    var vm: Int
}

/// Per-lcore state: created once by the main lcore before launch, then owned by one worker.
/// Nothing here is shared except the counter block (single writer) and the MAC table.
final class Worker: @unchecked Sendable {
    let index: Int
    let lcore: UInt32
    /// This worker's TX queue on every port.
    let txQueue: UInt16
    let rx: UnsafeMutableBufferPointer<RxAssignment>
    let portIds: UnsafeMutableBufferPointer<UInt16>
    let uplinkIndex: Int
    let vmCount: Int
    let counters: CounterBlock
    let macs: MacTable
    let nsPerCycle: Double

    // Burst buffers, reused for every burst.
    let mbufs: UnsafeMutablePointer<OpaquePointer?>
    let pkts: UnsafeMutablePointer<bma_pkt_t>
    // Frames from the uplink sorted per VM before sending: vmCount lists of BMA_BURST.
    let vmTx: UnsafeMutablePointer<OpaquePointer?>
    let vmTxLen: UnsafeMutablePointer<UInt32>
    let vmTxCount: UnsafeMutablePointer<Int>

    init(index: Int, lcore: UInt32, rx: [RxAssignment], portIds: [UInt16], uplinkIndex: Int,
         vmCount: Int, macs: MacTable, nsPerCycle: Double) {
        self.index = index
        self.lcore = lcore
        txQueue = UInt16(index)
        self.rx = .allocate(capacity: rx.count)
        _ = self.rx.initialize(from: rx)
        self.portIds = .allocate(capacity: portIds.count)
        _ = self.portIds.initialize(from: portIds)
        self.uplinkIndex = uplinkIndex
        self.vmCount = vmCount
        counters = CounterBlock(layout: CounterLayout(ports: portIds.count))
        self.macs = macs
        self.nsPerCycle = nsPerCycle
        let burst = Int(BMA_BURST)
        mbufs = .allocate(capacity: burst)
        mbufs.initialize(repeating: nil, count: burst)
        pkts = .allocate(capacity: burst)
        pkts.initialize(repeating: bma_pkt_t(), count: burst)
        vmTx = .allocate(capacity: burst * max(vmCount, 1))
        vmTx.initialize(repeating: nil, count: burst * max(vmCount, 1))
        vmTxLen = .allocate(capacity: burst * max(vmCount, 1))
        vmTxLen.initialize(repeating: 0, count: burst * max(vmCount, 1))
        vmTxCount = .allocate(capacity: max(vmCount, 1))
        vmTxCount.initialize(repeating: 0, count: max(vmCount, 1))
    }

    deinit {
        rx.deallocate()
        portIds.deallocate()
        counters.deallocate()
        mbufs.deallocate()
        pkts.deallocate()
        vmTx.deallocate()
        vmTxLen.deallocate()
        vmTxCount.deallocate()
    }

    /// The poll loop. Returns when a stop is requested.
    func run() {
        let c = counters.base
        let layout = counters.layout
        let loopsIdx = layout.index(.loops)
        let burstsIdx = layout.index(.bursts)
        while bma_stop_requested() == 0 {
            c[loopsIdx] &+= 1
            let nowNs = UInt64(Double(bma_tsc()) * nsPerCycle)
            for a in 0..<rx.count {
                let r = rx[a]
                let n = Int(bma_rx_parse(r.port, r.queue, mbufs, pkts, UInt16(BMA_BURST), nowNs))
                if n == 0 { continue }
                c[burstsIdx] &+= 1
                countRx(portIndex: r.portIndex, n: n)
                if r.vm >= 0 {
                    fromVM(vm: r.vm, n: n)
                } else {
                    fromUplink(n: n)
                }
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

    /// VM traffic: every frame goes to the uplink.
    @inline(__always) private func fromVM(vm: Int, n: Int) {
        macs.learn(vm: vm, mac: pkts[n - 1].src_mac)
        let sent = Int(bma_tx(portIds[uplinkIndex], txQueue, mbufs, UInt16(n)))
        countTx(portIndex: uplinkIndex, n: n, sent: sent) { pkts[$0].pkt_len }
    }

    /// Uplink traffic: to the VM that owns the destination MAC; broadcast and multicast to all.
    @inline(__always) private func fromUplink(n: Int) {
        let c = counters.base
        let layout = counters.layout
        let burst = Int(BMA_BURST)
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
        for vm in 0..<vmCount { flushVM(vm, burst: burst) }
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
        let sent = Int(bma_tx(portIds[vm], txQueue, list, UInt16(k)))
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
