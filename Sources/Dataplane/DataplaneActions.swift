/// Response actions from the control plane (main lcore only): publication and counters.
extension Dataplane {
    /// Publishes a new set of compiled actions; workers switch at their next poll iteration.
    @discardableResult
    public func publishActions(_ rules: [ActionRule]) -> UInt64 { actionTable.publish(rules) }

    /// Frees action snapshots that no worker holds any more. Call periodically.
    public func reclaimActions() { actionTable.reclaim(running: running) }

    /// What the published action `id` counted so far, over all workers.
    public func actionCounts(id: UInt32) -> ActionCounts { actionTable.counts(id: id) }

    /// The most actions in force at once.
    public static var maxActions: Int { ActionTable.capacity }
}
