import ControlProtocol

/// The actions in force, by id, and what happens to them: `added`, `exists` (the same kind and
/// target again: the later expiry wins), `expired`, `removed`. Ids are never reused within a
/// state directory (`nextID` is saved with the set).
public struct ActionSet: Sendable, Equatable {
    public enum Event: String, Sendable {
        case added, exists, expired, removed
    }

    public private(set) var actions: [ResponseAction] = []
    public private(set) var nextID: UInt32 = 1

    public init(_ actions: [ResponseAction] = [], nextID: UInt32 = 1) {
        self.actions = actions.sorted { $0.id < $1.id }
        self.nextID = max(nextID, (actions.map(\.id).max() ?? 0) &+ 1)
    }

    public var count: Int { actions.count }

    public func action(id: UInt32) -> ResponseAction? { actions.first { $0.id == id } }

    /// Adds `action` (its id is assigned) or, when one with the same kind and target exists,
    /// extends that one's expiry and takes the new priority and reason. Answers the action in
    /// force and the event.
    public mutating func add(_ action: ResponseAction) -> (ResponseAction, Event) {
        if let i = actions.firstIndex(where: { $0.sameTarget(as: action) }) {
            actions[i].expiresNs = max(actions[i].expiresNs, action.expiresNs)
            actions[i].priority = action.priority
            if !action.reason.isEmpty { actions[i].reason = action.reason }
            actions[i].packetsPerSecond = action.packetsPerSecond
            actions[i].bytesPerSecond = action.bytesPerSecond
            return (actions[i], .exists)
        }
        var a = action
        a.id = nextID
        nextID &+= 1
        actions.append(a)
        return (a, .added)
    }

    public mutating func remove(id: UInt32) -> ResponseAction? {
        guard let i = actions.firstIndex(where: { $0.id == id }) else { return nil }
        return actions.remove(at: i)
    }

    /// Removes and returns the actions whose expiry is at or before `nowNs`.
    public mutating func expire(at nowNs: UInt64) -> [ResponseAction] {
        let gone = actions.filter { $0.expiresNs <= nowNs }
        if !gone.isEmpty { actions.removeAll { $0.expiresNs <= nowNs } }
        return gone
    }

    /// The earliest expiry (nil when empty).
    public var nextExpiry: UInt64? { actions.map(\.expiresNs).min() }
}
