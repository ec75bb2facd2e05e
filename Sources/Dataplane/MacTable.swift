import CDPDK

/// Which VM owns which MAC, for frames from the uplink.
/// Entry i: written by the worker that polls VM i (learning) or at setup (configured);
/// read by the worker that polls the uplink. 0 means not known yet.
public struct MacTable: @unchecked Sendable {
    let macs: UnsafeMutablePointer<UInt64>
    let configured: UnsafeMutablePointer<Bool>
    public let count: Int

    init(count: Int) {
        self.count = count
        macs = .allocate(capacity: max(count, 1))
        macs.initialize(repeating: 0, count: max(count, 1))
        configured = .allocate(capacity: max(count, 1))
        configured.initialize(repeating: false, count: max(count, 1))
    }

    func configure(vm: Int, mac: UInt64) {
        bma_store_u64(macs + vm, mac)
        configured[vm] = true
    }

    /// Learns the VM's MAC from a frame it sent; configured MACs stay as configured.
    @inline(__always) func learn(vm: Int, mac: UInt64) {
        if configured[vm] || mac & 0x0100_0000_0000 != 0 || mac == 0 { return }
        if bma_load_u64(macs + vm) != mac { bma_store_u64(macs + vm, mac) }
    }

    /// The VM that owns `mac`, or -1.
    @inline(__always) func lookup(_ mac: UInt64) -> Int {
        if mac == 0 { return -1 } // 0 marks "not known yet", never an owner
        var i = 0
        while i < count {
            if bma_load_u64(macs + i) == mac { return i }
            i &+= 1
        }
        return -1
    }

    public func mac(vm: Int) -> UInt64 { bma_load_u64(macs + vm) }

    func deallocate() {
        macs.deallocate()
        configured.deallocate()
    }
}
