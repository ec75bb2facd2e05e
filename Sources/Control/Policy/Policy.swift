/// A selective mirroring policy (docs/control-protocol.md, "Policies"): which packets it
/// matches and what to do with them. The matching policy with the highest priority decides; on
/// equal priority the lower id wins.
public struct Policy: Sendable, Hashable {
    /// The id a policy has before `PolicySet.add` gives it the next free one. Never stored.
    public static let unassignedID: UInt16 = 0

    /// 1-65535, carried in the mirror metadata; `unassignedID` until added to a set.
    public var id: UInt16
    public var name: String?
    /// -1000...1000, higher decides first.
    public var priority: Int
    public var match: PolicyMatch
    public var action: PolicyAction

    public init(id: UInt16 = Policy.unassignedID, name: String? = nil, priority: Int = 0,
                match: PolicyMatch = PolicyMatch(), action: PolicyAction = PolicyAction()) {
        self.id = id
        self.name = name
        self.priority = priority
        self.match = match
        self.action = action
    }

    /// Checks every value against `PolicyLimits`; the error names the field (`match.vlan`).
    /// With `idRequired: false` an unassigned id (0) is accepted.
    public func validate(idRequired: Bool = true) throws(PolicyError) {
        if id == Policy.unassignedID {
            if idRequired { throw PolicyError(field: "id", "is required (1-65535)") }
        } else {
            try PolicyError.check("id", Int(id), PolicyLimits.id)
        }
        if let name {
            guard PolicyLimits.nameLength.contains(name.count) else {
                throw PolicyError(field: "name", name.isEmpty ? "must not be empty (leave it out for no name)"
                    : "is \(name.count) characters long; at most \(PolicyLimits.nameLength.upperBound) are allowed")
            }
            guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw PolicyError(field: "name", "must not contain control characters")
            }
        }
        try PolicyError.check("priority", priority, PolicyLimits.priority)
        do { try match.validate() } catch { throw error.under("match") }
        do { try action.validate() } catch { throw error.under("action") }
    }

    /// True when `self` is evaluated before `other`: higher priority first, then lower id.
    @inlinable
    public func precedes(_ other: Policy) -> Bool {
        priority != other.priority ? priority > other.priority : id < other.id
    }
}
