import CDPDK

/// What a response action does to the packets it matches.
public enum ActionKind: UInt8, Sendable, CaseIterable {
    /// Not forwarded, not mirrored.
    case drop = 0
    /// Forwarded within a packets/s and bytes/s budget; the excess is dropped.
    case rateLimit = 1
    /// Copied to the mirror whatever the detector says (a `never` policy still wins).
    case forceMirror = 2
    /// The detector's anomalies are not mirrored (a known-benign pattern).
    case allow = 3

    /// The protocol's name of the kind.
    public var name: String {
        switch self {
        case .drop: "drop"
        case .rateLimit: "rate-limit"
        case .forceMirror: "force-mirror"
        case .allow: "allow"
        }
    }
}

/// A response action compiled for the packet path: a policy's match fields (VM bitmap, source
/// and destination prefixes, protocol, ports; traffic from the VM) and what to do. `slot` and
/// `serial` name its per-worker state and counters (ActionTable assigns them).
public struct ActionRule: Sendable {
    public var id: UInt32 = 0
    public var priority: Int32 = 0
    public var kind: ActionKind = .drop
    public var match = PolicyRule()
    /// rate-limit only; 0 = that dimension is not limited.
    public var packetsPerSecond: Double = 0
    public var bytesPerSecond: Double = 0
    var slot: UInt16 = 0
    var serial: UInt32 = 0

    public init() {}
}

/// An immutable, published set of actions in priority order, in one manual allocation.
struct ActionSnapshot {
    var generation: UInt64
    var count: Int
    var rules: UnsafeMutablePointer<ActionRule>

    /// The highest-priority action matching a packet from `vm`, or nil.
    @inline(__always) func first(_ p: UnsafePointer<bma_pkt_t>, vm: Int) -> UnsafeMutablePointer<ActionRule>? {
        var i = 0
        while i < count {
            let r = rules + i
            if r.pointee.match.matches(p, vm: vm, incoming: false) { return r }
            i &+= 1
        }
        return nil
    }
}
