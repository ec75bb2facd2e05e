import CDPDK

/// Control side of a published snapshot's lifetime: snapshots replaced by a newer generation,
/// each freed once no worker can still hold it, i.e. once every worker reported (in `epochs`,
/// worker-written) a generation at least the one that replaced it. Shared by the policy and the
/// response-action tables.
struct RetiredSnapshots<Snapshot> {
    private var list: [(snapshot: UnsafeMutablePointer<Snapshot>, replacedBy: UInt64)] = []

    mutating func retire(_ s: UnsafeMutablePointer<Snapshot>, replacedBy generation: UInt64) {
        list.append((s, generation))
    }

    /// Frees (with `free`) what no worker can still hold. `running` false = workers stopped.
    mutating func reclaim(epochs: UnsafeMutablePointer<UInt64>, workers: Int, running: Bool,
                          free: (UnsafeMutablePointer<Snapshot>) -> Void) {
        var oldest = UInt64.max
        if running {
            for w in 0..<workers { oldest = min(oldest, bma_load_acquire_u64(epochs + w)) }
        }
        list.removeAll { r in
            guard oldest >= r.replacedBy else { return false }
            free(r.snapshot)
            return true
        }
    }

    /// Frees everything (the table goes away).
    func freeAll(_ free: (UnsafeMutablePointer<Snapshot>) -> Void) {
        for r in list { free(r.snapshot) }
    }
}
