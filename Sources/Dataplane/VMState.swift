import CDPDK

/// Everything a worker keeps for one VM it polls: detector, mirror budget, pre-trigger ring,
/// and the replay clock. Created before launch; used by the owning worker only.
struct VMState {
    var detector = Detector()
    var budget: MirrorBudget
    var ring: PreTriggerRing
    var id: UInt32
    /// Replay: frames not from this MAC are incoming (0 = every frame is outgoing).
    var ownMAC: UInt64
    /// Replay clock: capture time of the port's frames, in rx order.
    var times: UnsafeMutablePointer<UInt64>?
    var timesCount: Int
    var timesNext = 0

    init(vm: DataplaneSetup.VM, mirror: MirrorSetup, preTrigger: Int) {
        budget = MirrorBudget(packetsPerSecond: mirror.vmPacketsPerSecond, bytesPerSecond: mirror.vmBytesPerSecond)
        ring = PreTriggerRing(capacity: preTrigger)
        id = vm.id
        detector.sensitivity = vm.sensitivity
        ownMAC = vm.replayIncoming ? (vm.mac ?? 0) : 0
        if let t = vm.captureTimes, !t.isEmpty {
            times = .allocate(capacity: t.count)
            times!.initialize(from: t, count: t.count)
            timesCount = t.count
        } else {
            times = nil
            timesCount = 0
        }
    }

    mutating func release() {
        ring.clear()
        ring.deallocate()
        detector.deallocate()
        times?.deallocate()
    }
}
