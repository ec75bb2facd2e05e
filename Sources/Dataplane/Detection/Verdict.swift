/// The outcome for one outgoing packet.
public struct Verdict: Sendable {
    /// The largest normalised deviation (anomalous when score * sensitivity >= 1).
    public var score: Double = 0
    /// Reasons that reached the threshold, plus new-destination/new-service context.
    public var reasons: Reason = []
    public var anomalous = false
    /// Mirrored because its host was flagged recently.
    public var sticky = false
    /// The first anomaly after a quiet period: earlier packets go out as pre-trigger copies.
    public var trigger = false
    public var learning = false
    /// Novelty that outlived its probation and was learned instead of flagged.
    public var promoted = false
    public var mirror: Bool { anomalous || sticky }
}
