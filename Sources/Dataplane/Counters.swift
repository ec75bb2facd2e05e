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
    /// Cycles per stage of the packet path, counted with --profile-stages only.
    case cyclesReceive, cyclesPolicy, cyclesDetect, cyclesDecide, cyclesMirror, cyclesTransmit

    public var name: String {
        switch self {
        case .loops: "loops"
        case .bursts: "bursts"
        case .unknownDestination: "unknown_destination"
        case .broadcastCopies: "broadcast_copies"
        case .cyclesReceive: "cycles_receive"
        case .cyclesPolicy: "cycles_policy"
        case .cyclesDetect: "cycles_detect"
        case .cyclesDecide: "cycles_decide"
        case .cyclesMirror: "cycles_mirror"
        case .cyclesTransmit: "cycles_transmit"
        }
    }
}

/// Per-VM detection and mirror counters, kept by the worker that polls the VM.
public enum VMCounter: Int, CaseIterable, Sendable {
    case outgoing, incoming, forwarded, learning, anomalous, sticky, forced, suppressed, mirrorDecisions,
         mirrored, mirroredBytes, mirroredIncoming, preTrigger, budgetDrops, policyBudgetDrops, mirrorDrops,
         /// Outgoing packets a response action dropped or rate-limited (not forwarded).
         actionDrops
    case reasonFirst // one counter per Reason bit follows, mirror decisions by reason

    public var name: String {
        switch self {
        case .outgoing: "outgoing"
        case .incoming: "incoming"
        case .forwarded: "forwarded"
        case .learning: "learning"
        case .anomalous: "anomalous"
        case .sticky: "sticky"
        case .forced: "forced"
        case .suppressed: "suppressed"
        case .mirroredIncoming: "mirrored_incoming"
        case .policyBudgetDrops: "policy_budget_drops"
        case .mirrorDecisions: "mirror_decisions"
        case .mirrored: "mirrored"
        case .mirroredBytes: "mirrored_bytes"
        case .preTrigger: "pre_trigger"
        case .budgetDrops: "budget_drops"
        case .mirrorDrops: "mirror_drops"
        case .actionDrops: "action_drops"
        case .reasonFirst: "reason"
        }
    }

    @inline(__always) static var width: Int { VMCounter.reasonFirst.rawValue + Reason.count }
}

/// Mirror-port counters of one worker (bma_mirror_stats_t, in that order).
public enum MirrorCounter: Int, CaseIterable, Sendable {
    case sent, sentBytes, nombuf, ringfull, tooBig

    public var name: String {
        switch self {
        case .sent: "sent"
        case .sentBytes: "sent_bytes"
        case .nombuf: "nombuf"
        case .ringfull: "ringfull"
        case .tooBig: "too_big"
        }
    }
}

/// The layout of one worker's counter block: single writer (its worker), read by the main lcore
/// with relaxed loads. Port counters first, then worker counters, then malformed reasons.
public struct CounterLayout: Sendable {
    public let ports: Int
    public let vms: Int
    public let malformedReasons = Int(BMA_MAL_COUNT)

    public init(ports: Int, vms: Int) {
        self.ports = ports
        self.vms = vms
    }

    var vmBase: Int { ports * PortCounter.allCases.count + WorkerCounter.allCases.count + malformedReasons }
    var mirrorBase: Int { vmBase + vms * VMCounter.width }
    public var count: Int { mirrorBase + MirrorCounter.allCases.count }

    @inline(__always) public func index(vm: Int, _ c: VMCounter) -> Int {
        vmBase &+ vm &* VMCounter.width &+ c.rawValue
    }

    @inline(__always) public func index(vm: Int, reasonBit: Int) -> Int {
        vmBase &+ vm &* VMCounter.width &+ VMCounter.reasonFirst.rawValue &+ reasonBit
    }

    @inline(__always) public func index(_ c: MirrorCounter) -> Int { mirrorBase &+ c.rawValue }

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
