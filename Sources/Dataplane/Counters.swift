import CDPDK

/// Per-port counters kept by each worker for the (port, queue) pairs it owns.
public enum PortCounter: Int, CaseIterable, Sendable {
    case rxPackets, rxBytes, txPackets, txBytes, txFull

    public var name: String {
        switch self {
        case .rxPackets: "rx_packets"
        case .rxBytes: "rx_bytes"
        case .txPackets: "tx_packets"
        case .txBytes: "tx_bytes"
        case .txFull: "tx_full"
        }
    }
}

/// Per-worker counters that belong to no port.
public enum WorkerCounter: Int, CaseIterable, Sendable {
    case loops, bursts, unknownDestination, broadcastCopies

    public var name: String {
        switch self {
        case .loops: "loops"
        case .bursts: "bursts"
        case .unknownDestination: "unknown_destination"
        case .broadcastCopies: "broadcast_copies"
        }
    }
}

/// The layout of one worker's counter block: single writer (its worker), read by the main lcore
/// with relaxed loads. Port counters first, then worker counters, then malformed reasons.
public struct CounterLayout: Sendable {
    public let ports: Int
    public let malformedReasons = Int(BMA_MAL_COUNT)

    public init(ports: Int) { self.ports = ports }

    public var count: Int { ports * PortCounter.allCases.count + WorkerCounter.allCases.count + malformedReasons }

    @inline(__always) public func index(port: Int, _ c: PortCounter) -> Int {
        port &* PortCounter.allCases.count &+ c.rawValue
    }

    @inline(__always) public func index(_ c: WorkerCounter) -> Int {
        ports &* PortCounter.allCases.count &+ c.rawValue
    }

    @inline(__always) public func index(malformed reason: Int) -> Int {
        ports &* PortCounter.allCases.count &+ WorkerCounter.allCases.count &+ reason
    }
}

/// A counter block in unsafe memory, allocated once per worker.
public struct CounterBlock: @unchecked Sendable {
    public let base: UnsafeMutablePointer<UInt64>
    public let layout: CounterLayout

    init(layout: CounterLayout) {
        self.layout = layout
        base = .allocate(capacity: layout.count)
        base.initialize(repeating: 0, count: layout.count)
    }

    /// A relaxed read, safe from any thread.
    public func read(_ i: Int) -> UInt64 { bma_load_u64(base + i) }

    func deallocate() { base.deallocate() }
}
