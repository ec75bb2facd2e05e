/// What one VM normally sends. Owned by the worker that polls the VM; no locks.
/// Memory is fixed when the VM is set up: see `Baseline.memoryBytes`.
public struct Baseline {
    public struct Service {
        public var packets: UInt64 = 0
        /// Damped 10 s packet count and its learned peak.
        public var rate = RateMeter()
        public var peak: Double = 0
        public var peakAt: UInt64 = 0
        public var size = DampedStats()
    }

    public struct Host {
        public var packets: UInt64 = 0
    }

    public struct Destination {
        public var packets: UInt64 = 0
    }

    /// Learned tables: only learning-period and normal traffic enter them.
    public var services: FixedTable<Service>
    public var hosts: FixedTable<Host>
    public var destinations: FixedTable<Destination>

    // VM-wide damped rates at 1 s, 10 s, 1 min, 10 min half-lives (packets and bytes).
    public var packetRates = (RateMeter(), RateMeter(), RateMeter(), RateMeter())
    public var byteRates = (RateMeter(), RateMeter(), RateMeter(), RateMeter())
    public var peak10: Double = 0
    public var peak10At: UInt64 = 0
    public var size = DampedStats()
    /// Coarse size histogram: < 64, < 128, < 256, < 512, < 1024, < 1518, < 9000, larger.
    public var sizeHistogram = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    /// Protocol mix: learned packets and damped 10 s rate with its peak per class.
    public var classPackets = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    public var classRates = (RateMeter(), RateMeter(), RateMeter(), RateMeter(), RateMeter())
    public var classPeaks = (0.0, 0.0, 0.0, 0.0, 0.0)
    public var classPeakAt = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))

    public var firstNs: UInt64 = 0
    public var learnedPackets: UInt64 = 0
    public var frozen = false

    public static let serviceCapacity = 128
    public static let hostCapacity = 512
    public static let destinationCapacity = 2048

    public init() {
        services = FixedTable(capacity: Baseline.serviceCapacity, empty: Service())
        hosts = FixedTable(capacity: Baseline.hostCapacity, empty: Host())
        destinations = FixedTable(capacity: Baseline.destinationCapacity, empty: Destination())
    }

    public func deallocate() {
        services.deallocate()
        hosts.deallocate()
        destinations.deallocate()
    }

    /// Takes every learned value of `other` (same capacities); keeps its own memory.
    public mutating func copyContents(of other: Baseline) {
        services.copyContents(of: other.services)
        hosts.copyContents(of: other.hosts)
        destinations.copyContents(of: other.destinations)
        packetRates = other.packetRates
        byteRates = other.byteRates
        peak10 = other.peak10
        peak10At = other.peak10At
        size = other.size
        sizeHistogram = other.sizeHistogram
        classPackets = other.classPackets
        classRates = other.classRates
        classPeaks = other.classPeaks
        classPeakAt = other.classPeakAt
        firstNs = other.firstNs
        learnedPackets = other.learnedPackets
        frozen = other.frozen
    }

    /// Forgets everything learned; the VM starts a new learning period with its next packet.
    public mutating func reset() {
        services.removeAll(empty: Service())
        hosts.removeAll(empty: Host())
        destinations.removeAll(empty: Destination())
        packetRates = (RateMeter(), RateMeter(), RateMeter(), RateMeter())
        byteRates = (RateMeter(), RateMeter(), RateMeter(), RateMeter())
        peak10 = 0
        peak10At = 0
        size = DampedStats()
        sizeHistogram = (0, 0, 0, 0, 0, 0, 0, 0)
        classPackets = (0, 0, 0, 0, 0)
        classRates = (RateMeter(), RateMeter(), RateMeter(), RateMeter(), RateMeter())
        classPeaks = (0, 0, 0, 0, 0)
        classPeakAt = (0, 0, 0, 0, 0)
        firstNs = 0
        learnedPackets = 0
    }

    /// Bytes held by one VM's baseline, its short-term state and its detection context, fixed at
    /// creation.
    public static var memoryBytes: Int {
        MemoryLayout<Baseline>.size + MemoryLayout<ShortTerm>.size
            + serviceCapacity * MemoryLayout<FixedTable<Service>.Slot>.stride
            + hostCapacity * MemoryLayout<FixedTable<Host>.Slot>.stride
            + destinationCapacity * MemoryLayout<FixedTable<Destination>.Slot>.stride
            + ShortTerm.recentHostCapacity * MemoryLayout<FixedTable<RateMeter>.Slot>.stride
            + ShortTerm.recentDestinationCapacity * MemoryLayout<FixedTable<UInt8>.Slot>.stride
            + ShortTerm.suspectCapacity * MemoryLayout<FixedTable<UInt64>.Slot>.stride
            + DetectionContext.memoryBytes
            + FlowHints.capacity * MemoryLayout<FlowHints.Hint>.stride
            + PendingServices.capacity * MemoryLayout<PendingService>.stride
    }
}

/// Short-term state that sees every packet, anomalous or not, so that an ongoing attack keeps
/// being measured while the baseline refuses to learn it.
public struct ShortTerm {
    /// Hosts outside the baseline seen recently, each with its damped count of new ports.
    public var recentHosts: FixedTable<RateMeter>
    /// (host, service) pairs outside the baseline seen recently.
    public var recentDestinations: FixedTable<UInt8>
    /// Hosts recently flagged: value is the time until which they stay sticky.
    public var suspects: FixedTable<UInt64>
    /// Damped count of new hosts (fan-out).
    public var newHosts = RateMeter()
    /// Time of the last anomaly (0 when none), for pre-trigger.
    public var lastAnomalyNs: UInt64 = 0
    /// The latest time until which any host is sticky: before it, known flows to a host in
    /// `suspectBits` take the full path, which checks `suspects`.
    public var stickyUntil: UInt64 = 0
    /// One bit per suspect host (by `suspectBit`), set since stickiness last lapsed: a clear bit
    /// spares the lookup in `suspects`; a collision costs it, never a wrong answer.
    public var suspectBits: UInt64 = 0

    public static let recentHostCapacity = 256
    public static let recentDestinationCapacity = 1024
    public static let suspectCapacity = 64

    @inline(__always) static func suspectBit(_ host: (UInt64, UInt64)) -> UInt64 {
        1 &<< (((host.0 ^ host.1) &* 0x9E37_79B9_7F4A_7C15) >> 58)
    }

    /// Whether the host is sticky at `t`.
    @inline(__always) func isSuspect(_ host: (UInt64, UInt64), at t: UInt64) -> Bool {
        guard stickyUntil >= t, suspectBits & ShortTerm.suspectBit(host) != 0,
              let sus = suspects.find(host.0, host.1) else { return false }
        return sus.pointee.value >= t
    }

    /// Keeps the host sticky until `until`.
    @inline(__always) mutating func makeSuspect(_ host: (UInt64, UInt64), at t: UInt64, until: UInt64) {
        var ins = false
        let sus = suspects.findOrInsert(host.0, host.1, at: t, empty: 0, inserted: &ins)
        sus.pointee.lastNs = t
        sus.pointee.value = until
        if stickyUntil < t { suspectBits = 0 }
        suspectBits |= ShortTerm.suspectBit(host)
        if until > stickyUntil { stickyUntil = until }
    }

    public init() {
        recentHosts = FixedTable(capacity: ShortTerm.recentHostCapacity, empty: RateMeter())
        recentDestinations = FixedTable(capacity: ShortTerm.recentDestinationCapacity, empty: 0)
        suspects = FixedTable(capacity: ShortTerm.suspectCapacity, empty: 0)
    }

    public func deallocate() {
        recentHosts.deallocate()
        recentDestinations.deallocate()
        suspects.deallocate()
    }

    public mutating func reset() {
        recentHosts.removeAll(empty: RateMeter())
        recentDestinations.removeAll(empty: 0)
        suspects.removeAll(empty: 0)
        newHosts = RateMeter()
        lastAnomalyNs = 0
        stickyUntil = 0
        suspectBits = 0
    }
}
