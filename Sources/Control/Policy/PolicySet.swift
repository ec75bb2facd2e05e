/// The policies in force, kept in evaluation order (priority descending, then id ascending),
/// with a `generation` that grows by one on every successful change. Every change is all or
/// nothing: a failing call leaves the set (and its generation) as it was.
public struct PolicySet: Sendable, Equatable {
    /// In evaluation order.
    public private(set) var policies: [Policy] = []
    public private(set) var generation: UInt64 = 0

    public init() {}

    /// A set holding `policies` (validated, ids required and unique) at `generation`. Errors
    /// are named `policies[i]...`.
    public init(_ policies: [Policy], generation: UInt64 = 0) throws(PolicyError) {
        try PolicySet.check(policies)
        self.policies = policies.sorted { $0.precedes($1) }
        self.generation = generation
    }

    public var count: Int { policies.count }
    public var isEmpty: Bool { policies.isEmpty }

    public func policy(id: UInt16) -> Policy? { policies.first { $0.id == id } }

    public func contains(id: UInt16) -> Bool { policy(id: id) != nil }

    /// The id `add` gives a policy without one: one above the highest id in use (so a removed
    /// policy's id is not reused at once), or the lowest free id when 65535 is taken; nil when
    /// all 65535 ids are in use.
    public func nextFreeID() -> UInt16? {
        guard let highest = policies.map(\.id).max() else { return 1 }
        if highest < UInt16.max { return highest + 1 }
        let used = Set(policies.map(\.id))
        return (1...UInt16.max).first { !used.contains($0) }
    }

    /// Adds a policy, giving it the next free id when it has none. A taken id is a `conflict`.
    /// Returns the stored policy.
    @discardableResult
    public mutating func add(_ policy: Policy) throws(PolicyError) -> Policy {
        try policy.validate(idRequired: false)
        var p = policy
        if p.id == Policy.unassignedID {
            guard let id = nextFreeID() else { throw PolicyError(field: "id", "all 65535 policy ids are in use", kind: .conflict) }
            p.id = id
        } else if contains(id: p.id) {
            throw PolicyError(field: "id", "policy \(p.id) already exists (use policy.update to change it)", kind: .conflict)
        }
        insert(p)
        generation += 1
        return p
    }

    /// Replaces the policy with the same id; `not-found` when there is none.
    @discardableResult
    public mutating func update(_ policy: Policy) throws(PolicyError) -> Policy {
        try policy.validate(idRequired: true)
        guard let i = policies.firstIndex(where: { $0.id == policy.id }) else {
            throw PolicyError(field: "id", "there is no policy \(policy.id)", kind: .notFound)
        }
        policies.remove(at: i)
        insert(policy)
        generation += 1
        return policy
    }

    /// Removes a policy; `not-found` when there is none. Returns the removed policy.
    @discardableResult
    public mutating func remove(id: UInt16) throws(PolicyError) -> Policy {
        guard let i = policies.firstIndex(where: { $0.id == id }) else {
            throw PolicyError(field: "id", "there is no policy \(id)", kind: .notFound)
        }
        generation += 1
        return policies.remove(at: i)
    }

    /// Replaces every policy at once (`policy.replace`): validates all of them and rejects
    /// duplicate ids before changing anything. Errors are named `policies[i]...`.
    public mutating func replaceAll(with newPolicies: [Policy]) throws(PolicyError) {
        try PolicySet.check(newPolicies)
        policies = newPolicies.sorted { $0.precedes($1) }
        generation += 1
    }

    /// The policy that decides for this packet: the first match in evaluation order; nil means
    /// the defaults (`on-anomaly`).
    public func decide(packet: PolicyPacket) -> Policy? {
        policies.first { $0.match.matches(packet) }
    }

    private mutating func insert(_ p: Policy) {
        var lo = 0, hi = policies.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if policies[mid].precedes(p) { lo = mid + 1 } else { hi = mid }
        }
        policies.insert(p, at: lo)
    }

    private static func check(_ list: [Policy]) throws(PolicyError) {
        var seen: [UInt16: Int] = [:]
        for (i, p) in list.enumerated() {
            do { try p.validate(idRequired: true) } catch { throw error.under("policies[\(i)]") }
            if let j = seen[p.id] {
                throw PolicyError(field: "policies[\(i)].id", "\(p.id) is also policies[\(j)].id", kind: .conflict)
            }
            seen[p.id] = i
        }
    }
}
