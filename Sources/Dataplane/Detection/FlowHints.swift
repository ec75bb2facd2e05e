import CDPDK

/// Per-VM memo of where a flow's service, host and (host, service) pair sit in the baseline's
/// tables, indexed by the parser's flow hash. A hint is a guess, not a fact: it is used only when
/// the slots it names still hold the packet's own keys, so a stale or colliding hint costs the
/// three lookups it would have saved, never a wrong answer. Four-way sets of one cache line each;
/// a new flow replaces the ways of a full set in turn (not the least recently used, which a
/// cycle of five flows through one set would miss every time). Fixed memory: 16 bytes a hint.
public struct FlowHints {
    public struct Hint {
        var tag: UInt32 = 0
        var service: UInt32 = 0
        var host: UInt32 = 0
        var destination: UInt32 = 0
    }

    /// Hints: four times the 1,024 (host, service) pairs a baseline holds.
    public static let capacity = 4096
    static let ways = 4
    static let setMask = UInt32(capacity / ways - 1)
    let hints: UnsafeMutablePointer<Hint>
    /// The way the next new flow of a full set takes (shared by all sets: any rotation will do).
    var nextWay = 0

    public init() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: FlowHints.capacity * MemoryLayout<Hint>.stride, alignment: 64)
        hints = raw.bindMemory(to: Hint.self, capacity: FlowHints.capacity)
        hints.initialize(repeating: Hint(), count: FlowHints.capacity)
    }

    public func deallocate() { UnsafeMutableRawPointer(hints).deallocate() }

    @inline(__always) static func set(_ flowHash: UInt32) -> Int { Int(flowHash & setMask) &* ways }

    /// Starts loading the set of a flow that is judged a few packets later.
    @inline(__always) func prefetch(_ flowHash: UInt32) {
        bma_prefetch(UnsafeRawPointer(hints + FlowHints.set(flowHash)))
    }

    /// The hint of the flow, or nil. Tags are the flow hash with its low bit set (never 0, the
    /// empty tag).
    @inline(__always) func hint(_ flowHash: UInt32) -> UnsafeMutablePointer<Hint>? {
        let set = hints + FlowHints.set(flowHash)
        let tag = flowHash | 1
        for w in 0..<FlowHints.ways where set[w].tag == tag { return set + w }
        return nil
    }

    /// Remembers where a flow's entries are (the flow was just judged normal with all three known).
    @inline(__always) mutating func remember(_ flowHash: UInt32, service: Int, host: Int, destination: Int) {
        let set = hints + FlowHints.set(flowHash)
        let h = Hint(tag: flowHash | 1, service: UInt32(truncatingIfNeeded: service),
                     host: UInt32(truncatingIfNeeded: host), destination: UInt32(truncatingIfNeeded: destination))
        var free = -1
        for w in 0..<FlowHints.ways {
            if set[w].tag == h.tag { set[w] = h; return }
            if free < 0 && set[w].tag == 0 { free = w }
        }
        if free < 0 {
            free = nextWay
            nextWay = (nextWay &+ 1) & (FlowHints.ways - 1)
        }
        set[free] = h
    }

    public mutating func clear() {
        hints.update(repeating: Hint(), count: FlowHints.capacity)
        nextWay = 0
    }
}
