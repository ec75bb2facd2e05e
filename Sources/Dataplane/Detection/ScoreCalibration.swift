/// The VM's own threshold: a streaming quantile of its scores on normal traffic, so that about
/// `target` of its benign packets score above it (detection.target_mirror_rate). Scores enter
/// from the last part of learning (judged against the baseline as it forms) and, after
/// learning, only from packets judged normal, so an attack cannot teach it. The result is kept
/// within [1, `ceiling`]: never more sensitive than the uncalibrated default, and never so
/// deaf that a scan or a tunnel (whose scores grow with every packet) goes unnoticed.
/// Fixed memory: a histogram over logarithmic score classes.
public struct ScoreCalibration: Sendable {
    /// Classes: score 0 (and below `low`) in class 0, then about a factor 1.08 per class.
    public static let classes = 48
    static let low = 0.25
    /// Class width in log2 units (a factor of about 1.08).
    static let width = 0.11103131238874395
    /// The highest calibrated threshold, as a multiple of the default (1).
    public static let ceiling = 2.0
    /// Counts are halved when their total reaches this: a long memory in bounded integers.
    static let halveAt: UInt32 = 1 << 24

    var counts: (
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32
    ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    public private(set) var total: UInt32 = 0
    /// The calibrated threshold (1 until enough scores are in); refreshed by `refresh`.
    public private(set) var threshold: Double = 1
    /// Scores needed before the quantile is trusted: enough that `target` of them is a few packets.
    public static func minimumScores(target: Double) -> UInt32 {
        UInt32(min(max(4 / max(target, 1e-6), 1000), 1e7))
    }

    public init() {}

    /// The class of a score.
    @inline(__always) static func index(_ score: Double) -> Int {
        if !(score > low) { return 0 }
        // log_ratio(score / low), from the exponent bits and a linear mantissa (monotone, enough
        // for classes this coarse); no libm on the hot path.
        let x = score / low
        let bits = x.bitPattern
        let e = Double(Int((bits >> 52) & 0x7FF) - 1023)
        let m = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000) - 1
        let log2x = e + m
        let i = 1 + Int(log2x / width)
        return min(i, classes - 1)
    }

    /// The lowest score of class `i` (its upper edge is `lowerEdge(i + 1)`): the inverse of the
    /// piecewise-linear logarithm `index` uses, so classes and edges agree exactly.
    static func lowerEdge(_ i: Int) -> Double {
        if i == 0 { return 0 }
        let v = Double(i - 1) * width
        let e = v.rounded(.down)
        var p = 1.0
        for _ in 0..<Int(e) { p *= 2 }
        return low * p * (1 + v - e)
    }

    /// Takes one score of normal traffic.
    @inline(__always)
    public mutating func observe(_ score: Double) {
        let i = ScoreCalibration.index(score)
        withElement(&counts, i, UInt32.self) { $0 &+= 1 }
        total &+= 1
        if total >= ScoreCalibration.halveAt { halve() }
    }

    mutating func halve() {
        var t: UInt32 = 0
        for i in 0..<ScoreCalibration.classes {
            withElement(&counts, i, UInt32.self) { $0 >>= 1; t &+= $0 }
        }
        total = t
    }

    /// Recomputes the threshold: the upper edge of the class where the share of scores above
    /// falls to `target`, within [1, ceiling]. Not per packet: once per learning step or burst.
    public mutating func refresh(target: Double) {
        guard target > 0, total >= ScoreCalibration.minimumScores(target: target) else {
            threshold = 1
            return
        }
        let allowed = Double(total) * target
        var above = 0.0
        var i = ScoreCalibration.classes - 1
        while i > 0 {
            let c = Double(element(counts, i, UInt32.self))
            if above + c > allowed { break }
            above += c
            i -= 1
        }
        // Class i holds the quantile: the threshold is its upper edge.
        let q = i + 1 >= ScoreCalibration.classes ? ScoreCalibration.ceiling : ScoreCalibration.lowerEdge(i + 1)
        threshold = min(max(q, 1), ScoreCalibration.ceiling)
    }

    public mutating func reset() { self = ScoreCalibration() }

    /// Takes a saved histogram (ScoreCalibration.classes counts) and threshold (kept within
    /// [1, ceiling]).
    mutating func restore(counts saved: [UInt32], threshold saved_: Double) {
        threshold = saved_.isFinite ? min(max(saved_, 1), ScoreCalibration.ceiling) : 1
        var t: UInt32 = 0
        for i in 0..<min(saved.count, ScoreCalibration.classes) {
            let v = min(saved[i], ScoreCalibration.halveAt)
            withElement(&counts, i, UInt32.self) { $0 = v }
            t = min(t &+ v, ScoreCalibration.halveAt)
        }
        total = t
        if total >= ScoreCalibration.halveAt { halve() }
    }
}
