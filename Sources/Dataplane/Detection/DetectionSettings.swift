/// How deviations are judged. Scores are normalised so that a packet is anomalous when
/// `score * sensitivity >= 1`: sensitivity 2 flags deviations half as large, 0.5 only those twice
/// as large, 0 never flags.
public struct DetectionSettings: Sendable, Equatable {
    public var sensitivity: Double = 1
    /// Capture/TSC time after a VM's first packet during which it only learns.
    public var learningNs: UInt64 = 86_400 * 1_000_000_000
    /// After a flagged packet, every packet of the VM to that host is mirrored this long.
    public var stickyNs: UInt64 = 60 * 1_000_000_000
    /// On a trigger after a quiet period, also mirror up to this many earlier packets of the VM...
    public var preTriggerPackets: Int = 16
    /// ...that are at most this old.
    public var preTriggerNs: UInt64 = 2 * 1_000_000_000
    /// Weak novelty (a new service or host, an odd size) that persists this long without any
    /// other deviation is learned as normal (a new application, not an attack); so is novelty
    /// that comes back after quiet hours on several occasions (see Habits). 0 never learns
    /// novelty after the learning period.
    public var promoteNs: UInt64 = 3600 * 1_000_000_000
    /// The share of a VM's normal packets its calibrated threshold lets through (0: the
    /// threshold stays 1, uncalibrated).
    public var targetMirrorRate: Double = 0.001
    /// Prefix lengths under which a destination's network counts as known (a weaker signal).
    public var prefixV4Bits: Int = 24
    public var prefixV6Bits: Int = 48
    /// Score of a packet to a host the VM has not talked to (alone it stays below 1).
    public var newDestinationScore: Double = 0.5
    /// Score of a packet on a service the VM has never used.
    public var newServiceScore: Double = 1.0
    /// New destination hosts within about 10 s that score 1.
    public var fanOutLimit: Double = 8
    /// New ports on one host within about 10 s that score 1.
    public var portScanLimit: Double = 8
    /// A rate scores 1 at `rateFactor * learned peak + rateFloor` (damped 10 s counts).
    public var rateFactor: Double = 2
    public var rateFloor: Double = 10
    /// A size scores 1 this many deviations away from the service's mean.
    public var sizeDeviations: Double = 6

    public init() {}
}

/// Half-lives of the damped statistics, nanoseconds.
enum HalfLife {
    static let second: UInt64 = 1_000_000_000
    static let short: UInt64 = 10 * second
    // The VM-wide rates (constants, not an array: no runtime lookups per packet).
    static let oneSecond: UInt64 = 1 * second
    static let tenSeconds: UInt64 = 10 * second
    static let oneMinute: UInt64 = 60 * second
    static let tenMinutes: UInt64 = 600 * second
    static let size: UInt64 = 86_400 * second
    /// After learning, a learned peak grows by at most a factor e per this much time.
    static let peakGrowth: UInt64 = 3600 * second
    /// How long a short-term novelty (recent host or port) stays counted as seen.
    static let recent: UInt64 = 60 * second
}
