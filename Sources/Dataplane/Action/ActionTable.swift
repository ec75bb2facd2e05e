import CDPDK

/// Publishes response-action snapshots to the workers, with the policies' ownership model: the
/// control side builds an immutable snapshot and swaps one pointer (release); each worker loads
/// it once per poll iteration (acquire) and reports the generation it holds (its quiescent
/// point); a replaced snapshot is freed once every worker reports a newer one.
/// current: control writes, workers read. epochs[w]: worker w writes, control reads.
/// Each action keeps its slot (its counters and budget) from one snapshot to the next for as
/// long as it exists; slot bookkeeping is control side only.
final class ActionTable: @unchecked Sendable {
    let current: UnsafeMutablePointer<UInt64>
    let epochs: UnsafeMutablePointer<UInt64>
    let workers: Int
    let slots: ActionSlots
    private var retired = RetiredSnapshots<ActionSnapshot>()
    private(set) var generation: UInt64 = 0
    /// id → (slot, serial) of every published action; free slots; the last serial given.
    private var assigned: [UInt32: (slot: UInt16, serial: UInt32)] = [:]
    private var free: [UInt16]
    private var lastSerial: UInt32 = 0
    /// The actions of the current snapshot, by id (control side).
    private(set) var published: [(id: UInt32, kind: ActionKind)] = []
    /// The most actions a snapshot may hold.
    static let capacity = 256

    init(workers: Int) {
        self.workers = max(workers, 1)
        current = .allocate(capacity: 1)
        epochs = .allocate(capacity: self.workers)
        epochs.initialize(repeating: 0, count: self.workers)
        slots = ActionSlots(workers: self.workers, capacity: ActionTable.capacity)
        free = (0..<UInt16(ActionTable.capacity)).reversed()
        current.initialize(to: UInt64(UInt(bitPattern: ActionTable.build([], generation: 0))))
    }

    deinit {
        retired.freeAll(ActionTable.release)
        ActionTable.release(ActionTable.snapshot(bma_load_u64(current)))
        current.deallocate()
        epochs.deallocate()
        slots.deallocate()
    }

    private static func build(_ rules: [ActionRule], generation: UInt64) -> UnsafeMutablePointer<ActionSnapshot> {
        let ordered = rules.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
        let storage = UnsafeMutablePointer<ActionRule>.allocate(capacity: max(ordered.count, 1))
        storage.initialize(from: ordered, count: ordered.count)
        let s = UnsafeMutablePointer<ActionSnapshot>.allocate(capacity: 1)
        s.initialize(to: ActionSnapshot(generation: generation, count: ordered.count, rules: storage))
        return s
    }

    private static func release(_ s: UnsafeMutablePointer<ActionSnapshot>) {
        s.pointee.rules.deinitialize(count: s.pointee.count)
        s.pointee.rules.deallocate()
        s.deinitialize(count: 1)
        s.deallocate()
    }

    @inline(__always) static func snapshot(_ bits: UInt64) -> UnsafeMutablePointer<ActionSnapshot> {
        UnsafeMutablePointer(bitPattern: UInt(bits))!
    }

    /// Control side: publishes `rules` (at most `capacity`, distinct ids); returns the generation.
    @discardableResult
    func publish(_ rules: [ActionRule]) -> UInt64 {
        precondition(rules.count <= ActionTable.capacity, "too many actions")
        let ids = Set(rules.map(\.id))
        for (id, a) in assigned where !ids.contains(id) {
            assigned[id] = nil
            free.append(a.slot)
        }
        var placed = rules
        for i in placed.indices {
            if assigned[placed[i].id] == nil {
                lastSerial &+= 1
                if lastSerial == 0 { lastSerial = 1 } // 0 marks a row no action has used
                assigned[placed[i].id] = (free.removeLast(), lastSerial)
            }
            let a = assigned[placed[i].id]!
            placed[i].slot = a.slot
            placed[i].serial = a.serial
        }
        published = placed.map { ($0.id, $0.kind) }.sorted { $0.id < $1.id }
        generation += 1
        let old = ActionTable.snapshot(bma_load_u64(current))
        bma_store_release_u64(current, UInt64(UInt(bitPattern: ActionTable.build(placed, generation: generation))))
        retired.retire(old, replacedBy: generation)
        return generation
    }

    /// Control side: frees snapshots no worker can still hold. `running` false = workers stopped.
    func reclaim(running: Bool) {
        retired.reclaim(epochs: epochs, workers: workers, running: running, free: ActionTable.release)
    }

    /// Control side: what the action `id` did so far (zero for an unknown id).
    func counts(id: UInt32) -> ActionCounts {
        guard let a = assigned[id] else { return ActionCounts() }
        return slots.counts(slot: Int(a.slot), serial: a.serial)
    }

    /// Worker side: the snapshot for this iteration; reports the worker quiescent.
    @inline(__always) func acquire(worker: Int) -> UnsafeMutablePointer<ActionSnapshot> {
        let s = ActionTable.snapshot(bma_load_acquire_u64(current))
        bma_store_release_u64(epochs + worker, s.pointee.generation)
        return s
    }
}
