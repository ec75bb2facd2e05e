import CDPDK

/// What a VM's detector knows besides its baseline tables: the names its destinations were
/// resolved from (and their texts), the prefixes it talks to, its habits, its own threshold and how much it
/// receives. One per VM, owned by the worker that polls it; fixed memory.
public struct DetectionContext {
    public var names = DNSNames()
    /// The texts of the names the baseline knows or DNS answers name now.
    public var texts = NameTexts()
    public var habits = Habits()
    public var calibration = ScoreCalibration()
    public var incoming = IncomingMeter()
    /// Learned prefixes of the addresses the VM talks to (a weaker known-ness than the host).
    public var prefixes: FixedTable<UInt64>
    /// Scores observed since the threshold was last recomputed.
    var sinceRefresh: UInt32 = 0

    public static let prefixCapacity = 256
    /// The threshold is recomputed after this many observed scores (not per packet).
    static let refreshEvery: UInt32 = 256

    public init() {
        prefixes = FixedTable(capacity: DetectionContext.prefixCapacity, empty: 0)
    }

    public func deallocate() {
        names.deallocate()
        texts.deallocate()
        habits.deallocate()
        prefixes.deallocate()
    }

    public mutating func reset() {
        names.reset()
        texts.reset()
        habits.reset()
        calibration.reset()
        incoming = IncomingMeter()
        prefixes.removeAll(empty: 0)
        sinceRefresh = 0
    }

    /// Takes what `other` learned, with the texts of its names; the DNS names (short-lived) and
    /// incoming rate stay.
    public mutating func copyLearned(of other: DetectionContext) {
        texts.copyContents(of: other.texts)
        habits.copyContents(of: other.habits)
        calibration = other.calibration
        prefixes.copyContents(of: other.prefixes)
        sinceRefresh = 0
    }

    /// Takes a score of normal traffic into the calibration, refreshing it now and then.
    @inline(__always)
    public mutating func observe(_ score: Double, target: Double) {
        calibration.observe(score)
        sinceRefresh &+= 1
        if sinceRefresh >= DetectionContext.refreshEvery {
            sinceRefresh = 0
            calibration.refresh(target: target)
        }
    }

    /// Bytes held, fixed at creation.
    public static var memoryBytes: Int {
        MemoryLayout<DetectionContext>.size - MemoryLayout<DNSNames>.size - MemoryLayout<Habits>.size
            - MemoryLayout<NameTexts>.size
            + DNSNames.memoryBytes + Habits.memoryBytes + NameTexts.memoryBytes
            + prefixCapacity * MemoryLayout<FixedTable<UInt64>.Slot>.stride
    }
}
