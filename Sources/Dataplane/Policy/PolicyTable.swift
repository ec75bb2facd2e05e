import CDPDK

/// An immutable, published set of compiled policies. Lives in one manual allocation so that
/// workers read it without reference counting.
struct PolicySnapshot {
    var generation: UInt64
    var count: Int
    /// Any rule that looks at traffic toward VMs (the uplink path checks only then).
    var hasIncoming: Bool
    var rules: UnsafeMutablePointer<PolicyRule>

    /// The first matching rule in priority order, or nil.
    @inline(__always) func decide(_ p: UnsafePointer<bma_pkt_t>, vm: Int, incoming: Bool) -> UnsafeMutablePointer<PolicyRule>? {
        var i = 0
        while i < count {
            let r = rules + i
            if r.pointee.matches(p, vm: vm, incoming: incoming) { return r }
            i &+= 1
        }
        return nil
    }
}

/// Publishes policy snapshots to the workers: the control side builds a new snapshot and swaps
/// one pointer (release); each worker loads it once per poll iteration (acquire) and then reports
/// the generation it holds (its quiescent point). An old snapshot is freed only when every
/// worker reports a newer generation, so no worker ever reads freed or half-built policies.
/// current: control writes, workers read. epochs[w]: worker w writes, control reads.
final class PolicyTable: @unchecked Sendable {
    let current: UnsafeMutablePointer<UInt64>
    let epochs: UnsafeMutablePointer<UInt64>
    let workers: Int
    private var retired = RetiredSnapshots<PolicySnapshot>()
    private(set) var generation: UInt64 = 0
    /// The most rules a snapshot may hold (per-policy budgets are preallocated per worker).
    static let capacity = 1024

    init(workers: Int) {
        self.workers = workers
        current = .allocate(capacity: 1)
        epochs = .allocate(capacity: max(workers, 1))
        epochs.initialize(repeating: 0, count: max(workers, 1))
        let empty = PolicyTable.make(rules: [], generation: 0)
        current.initialize(to: UInt64(UInt(bitPattern: empty)))
    }

    deinit {
        retired.freeAll(PolicyTable.free)
        if let s = PolicyTable.pointer(bma_load_u64(current)) { PolicyTable.free(s) }
        current.deallocate()
        epochs.deallocate()
    }

    static func make(rules: [PolicyRule], generation: UInt64) -> UnsafeMutablePointer<PolicySnapshot> {
        let sorted = rules.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
        let storage = UnsafeMutablePointer<PolicyRule>.allocate(capacity: max(sorted.count, 1))
        storage.initialize(from: sorted, count: sorted.count)
        let s = UnsafeMutablePointer<PolicySnapshot>.allocate(capacity: 1)
        s.initialize(to: PolicySnapshot(generation: generation, count: sorted.count,
                                        hasIncoming: sorted.contains { $0.directions & 2 != 0 }, rules: storage))
        return s
    }

    static func free(_ s: UnsafeMutablePointer<PolicySnapshot>) {
        s.pointee.rules.deinitialize(count: s.pointee.count)
        s.pointee.rules.deallocate()
        s.deinitialize(count: 1)
        s.deallocate()
    }

    @inline(__always) static func pointer(_ bits: UInt64) -> UnsafeMutablePointer<PolicySnapshot>? {
        UnsafeMutablePointer(bitPattern: UInt(bits))
    }

    /// Control side: publishes a new snapshot; returns its generation.
    @discardableResult
    func publish(_ rules: [PolicyRule]) -> UInt64 {
        precondition(rules.count <= PolicyTable.capacity, "too many policies")
        generation += 1
        let s = PolicyTable.make(rules: rules, generation: generation)
        let old = PolicyTable.pointer(bma_load_u64(current))!
        bma_store_release_u64(current, UInt64(UInt(bitPattern: s)))
        retired.retire(old, replacedBy: generation)
        return generation
    }

    /// Control side: frees snapshots no worker can still hold. `running` false = workers stopped.
    func reclaim(running: Bool) {
        retired.reclaim(epochs: epochs, workers: workers, running: running, free: PolicyTable.free)
    }


    /// Worker side: the snapshot to use for this iteration; reports the worker quiescent.
    @inline(__always) func acquire(worker: Int) -> UnsafeMutablePointer<PolicySnapshot> {
        let s = PolicyTable.pointer(bma_load_acquire_u64(current))!
        bma_store_release_u64(epochs + worker, s.pointee.generation)
        return s
    }
}
