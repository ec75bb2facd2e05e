/// The outcome for one outgoing packet.
public struct Verdict: Sendable {
    /// The largest normalised deviation (anomalous when score * sensitivity >= threshold).
    public var score: Double = 0
    /// Each reason's normalised score, and the VM's threshold the score was held against.
    public var scores = SubScores()
    public var threshold: Double = 1
    /// Reasons that reached the threshold, plus new-destination/new-service context.
    public var reasons = Reason(rawValue: 0)
    public var anomalous = false
    /// Mirrored because its host was flagged recently.
    public var sticky = false
    /// The first anomaly after a quiet period: earlier packets go out as pre-trigger copies.
    public var trigger = false
    public var learning = false
    /// Novelty that became a habit and was learned instead of flagged.
    public var promoted = false
    public var mirror: Bool { anomalous || sticky }
}
