import CDPDK

/// What one action did, per worker: single writer (the worker), read by the control plane with
/// relaxed loads. A slot's row starts with the serial of the action it counts for; a worker that
/// meets a new serial in a slot zeroes the row (and the slot's budget) before counting.
public struct ActionCounts: Sendable, Equatable {
    public var matched: UInt64 = 0
    public var dropped: UInt64 = 0
    public var limited: UInt64 = 0
    public var mirrored: UInt64 = 0
    public var allowed: UInt64 = 0

    public init() {}
}

enum ActionCounter: Int, CaseIterable {
    case serial, matched, dropped, limited, mirrored, allowed
}

/// Per-worker, per-slot state of the actions: counters and the rate-limit budget.
/// rows: worker w writes rows w * capacity ..< (w + 1) * capacity, control reads.
/// budgets: worker w only.
struct ActionSlots {
    let rows: UnsafeMutablePointer<UInt64>
    let budgets: UnsafeMutablePointer<MirrorBudget>
    let workers: Int
    static var width: Int { ActionCounter.allCases.count }

    init(workers: Int, capacity: Int) {
        self.workers = workers
        rows = .allocate(capacity: workers * capacity * ActionSlots.width)
        rows.initialize(repeating: 0, count: workers * capacity * ActionSlots.width)
        budgets = .allocate(capacity: workers * capacity)
        budgets.initialize(repeating: MirrorBudget(packetsPerSecond: 0, bytesPerSecond: 0), count: workers * capacity)
    }

    func deallocate() {
        rows.deallocate()
        budgets.deallocate()
    }

    /// Worker side: the slot's row and budget for `rule`, reset if the slot changed hands.
    @inline(__always) func take(worker: Int, _ rule: UnsafeMutablePointer<ActionRule>) -> (row: UnsafeMutablePointer<UInt64>, budget: UnsafeMutablePointer<MirrorBudget>) {
        let index = worker &* ActionTable.capacity &+ Int(rule.pointee.slot)
        let row = rows + index &* ActionSlots.width
        let budget = budgets + index
        if row.pointee != UInt64(rule.pointee.serial) {
            for c in 1..<ActionSlots.width { bma_store_u64(row + c, 0) }
            budget.pointee = MirrorBudget(packetsPerSecond: rule.pointee.packetsPerSecond, bytesPerSecond: rule.pointee.bytesPerSecond)
            bma_store_u64(row, UInt64(rule.pointee.serial))
        }
        return (row, budget)
    }

    /// Control side: the sum over workers of the counters kept for `serial` in `slot`.
    func counts(slot: Int, serial: UInt32) -> ActionCounts {
        var out = ActionCounts()
        for w in 0..<workers {
            let row = rows + (w * ActionTable.capacity + slot) * ActionSlots.width
            guard bma_load_u64(row) == UInt64(serial) else { continue }
            out.matched += bma_load_u64(row + ActionCounter.matched.rawValue)
            out.dropped += bma_load_u64(row + ActionCounter.dropped.rawValue)
            out.limited += bma_load_u64(row + ActionCounter.limited.rawValue)
            out.mirrored += bma_load_u64(row + ActionCounter.mirrored.rawValue)
            out.allowed += bma_load_u64(row + ActionCounter.allowed.rawValue)
        }
        return out
    }
}
