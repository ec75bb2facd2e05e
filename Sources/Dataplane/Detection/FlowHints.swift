/// Per-VM memo of where a flow's service, host and (host, service) pair sit in the baseline's
/// tables, indexed by the parser's flow hash. A hint is a guess, not a fact: it is used only when
/// the slots it names still hold the packet's own keys, so a stale or colliding hint costs the
/// three lookups it would have saved, never a wrong answer. Fixed memory: 16 bytes a hint.
public struct FlowHints {
    public struct Hint {
        var tag: UInt32 = 0
        var service: UInt32 = 0
        var host: UInt32 = 0
        var destination: UInt32 = 0
    }

    public static let capacity = 1024
    let hints: UnsafeMutablePointer<Hint>

    public init() {
        hints = .allocate(capacity: FlowHints.capacity)
        hints.initialize(repeating: Hint(), count: FlowHints.capacity)
    }

    public func deallocate() { hints.deallocate() }

    @inline(__always) func hint(_ flowHash: UInt32) -> UnsafeMutablePointer<Hint> {
        hints + Int(flowHash & UInt32(FlowHints.capacity - 1))
    }

    /// Remembers where a flow's entries are (the flow was just judged normal with all three known).
    @inline(__always) func remember(_ flowHash: UInt32, service: Int, host: Int, destination: Int) {
        hint(flowHash).pointee = Hint(tag: flowHash | 1, service: UInt32(truncatingIfNeeded: service),
                                      host: UInt32(truncatingIfNeeded: host), destination: UInt32(truncatingIfNeeded: destination))
    }

    public func clear() { hints.update(repeating: Hint(), count: FlowHints.capacity) }
}
