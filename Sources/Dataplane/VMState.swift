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
    /// Forced mirroring (mirror.force): whole VM until `forceUntil`, and up to 8 flows.
    var forceUntil: UInt64 = 0
    var forcedFlows = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
    var forcedFlowUntil = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    var anyForcedFlow = false

    init(vm: DataplaneSetup.VM, mirror: MirrorSetup) {
        budget = MirrorBudget(packetsPerSecond: mirror.vmPacketsPerSecond, bytesPerSecond: mirror.vmBytesPerSecond)
        ring = PreTriggerRing()
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

    /// Whether a packet of flow `hash` at `t` is forced onto the mirror.
    @inline(__always) func forced(hash: UInt32, at t: UInt64) -> Bool {
        if forceUntil >= t && forceUntil != 0 { return true }
        if !anyForcedFlow { return false }
        for i in 0..<8 where element(forcedFlows, i, UInt32.self) == hash {
            if element(forcedFlowUntil, i, UInt64.self) >= t { return true }
        }
        return false
    }

    /// Forces the whole VM (hash 0) or one flow until `until`; a flow takes a free or the
    /// soonest-expiring slot.
    mutating func force(hash: UInt32, until: UInt64) {
        if hash == 0 {
            forceUntil = until
            return
        }
        var slot = 0
        var soonest = UInt64.max
        for i in 0..<8 {
            let h = element(forcedFlows, i, UInt32.self)
            let u = element(forcedFlowUntil, i, UInt64.self)
            if h == hash { slot = i; break }
            if u < soonest { soonest = u; slot = i }
        }
        withElement(&forcedFlows, slot, UInt32.self) { $0 = hash }
        withElement(&forcedFlowUntil, slot, UInt64.self) { $0 = until }
        anyForcedFlow = true
    }

    mutating func release() {
        ring.clear()
        ring.deallocate()
        detector.deallocate()
        times?.deallocate()
    }
}
