/// Exponential decay for damped statistics. Weights decay as 2^(-dt / halfLife).
public enum Decay {
    /// 2^x for x <= 0, within about 1e-4 relative error; 0 below -60. Avoids libm on the hot path.
    @inline(__always) public static func exp2Negative(_ x: Double) -> Double {
        if x <= -60 { return 0 }
        if x >= 0 { return 1 }
        var i = Int(x) // toward zero; x < 0, so floor is one less unless x is whole
        if Double(i) > x { i -= 1 }
        let f = x - Double(i) // [0, 1)
        // Minimax-style cubic for 2^f on [0, 1).
        let p = 1.0 + f * (0.6951786 + f * (0.2261928 + f * 0.0786286))
        // 2^i built from its exponent bits (i >= -61, a normal number).
        return p * Double(bitPattern: UInt64(1023 + i) << 52)
    }

    /// The factor by which a weight decays over `dtNs` with the given half-life.
    @inline(__always) public static func factor(dtNs: UInt64, halfLifeNs: UInt64) -> Double {
        if dtNs == 0 { return 1 }
        return exp2Negative(-Double(dtNs) * (1 / Double(halfLifeNs)))
    }
}

/// A damped event count: each event adds 1, the sum halves every half-life.
/// With half-life h, a steady rate r events/s settles at r * h / ln 2.
public struct RateMeter: Sendable {
    public var value: Double = 0
    public var lastNs: UInt64 = 0
    /// Time of the first event (0 = none yet), for the start-up correction.
    public var startNs: UInt64 = 0

    public init() {}

    /// `count` (a value of this meter at `nowNs`) scaled up while the meter is young: after T of
    /// a steady rate the count is only (1 - 2^(-T/h)) of its settled value. The correction is at
    /// most 2x (T >= one half-life), so a brand-new meter never inflates a burst.
    @inline(__always) public func settled(_ count: Double, at nowNs: UInt64, halfLifeNs: UInt64) -> Double {
        let f = fill(at: nowNs, halfLifeNs: halfLifeNs)
        return f == 0 ? count : count / f
    }

    /// What `settled` divides by at `nowNs`: the share of its settled value a steady rate has
    /// reached (at least 0.5), or 0 when no correction applies.
    @inline(__always) public func fill(at nowNs: UInt64, halfLifeNs: UInt64) -> Double {
        if startNs == 0 || nowNs <= startNs { return 0 }
        // After 16 half-lives the correction is below 2e-5: skip the exponential.
        if nowNs - startNs >= halfLifeNs &* 16 { return 0 }
        return max(1 - Decay.exp2Negative(-Double(nowNs - startNs) / Double(halfLifeNs)), 0.5)
    }

    /// The count as it stands at `nowNs` (without adding an event).
    @inline(__always) public func at(_ nowNs: UInt64, halfLifeNs: UInt64) -> Double {
        nowNs <= lastNs ? value : value * Decay.factor(dtNs: nowNs - lastNs, halfLifeNs: halfLifeNs)
    }

    /// Stores `count`, a value this meter will have at `nowNs` (from `at` plus what was added).
    @inline(__always) public mutating func set(_ count: Double, at nowNs: UInt64) {
        if startNs == 0 { startNs = nowNs == 0 ? 1 : nowNs }
        value = count
        if nowNs > lastNs { lastNs = nowNs }
    }

    /// Adds `amount` at `nowNs` and returns the new count.
    @inline(__always) public mutating func add(_ amount: Double, at nowNs: UInt64, halfLifeNs: UInt64) -> Double {
        if startNs == 0 { startNs = nowNs == 0 ? 1 : nowNs }
        value = at(nowNs, halfLifeNs: halfLifeNs) + amount
        if nowNs > lastNs { lastNs = nowNs }
        return value
    }

    /// Adds `amount` to this meter and `other` to `paired`, which follows the same events (same
    /// times, same half-life): one decay factor serves both.
    @inline(__always) public mutating func add(_ amount: Double, at nowNs: UInt64, halfLifeNs: UInt64,
                                               paired: inout RateMeter, _ other: Double) -> Double {
        if startNs == 0 { startNs = nowNs == 0 ? 1 : nowNs }
        if paired.startNs == 0 { paired.startNs = startNs }
        if nowNs > lastNs {
            let f = Decay.factor(dtNs: nowNs - lastNs, halfLifeNs: halfLifeNs)
            value *= f
            if paired.lastNs == lastNs { paired.value *= f } else { paired.value = paired.at(nowNs, halfLifeNs: halfLifeNs) }
            lastNs = nowNs
            paired.lastNs = nowNs
        }
        value += amount
        paired.value += other
        return value
    }

    /// Events per second implied by the count at `nowNs`.
    public func rate(at nowNs: UInt64, halfLifeNs: UInt64) -> Double {
        at(nowNs, halfLifeNs: halfLifeNs) * 0.6931471805599453 / (Double(halfLifeNs) / 1e9)
    }
}

/// Damped mean and variance of a value (Kitsune-style incremental statistics): weight, linear
/// sum and squared sum all decay with the same half-life.
public struct DampedStats: Sendable {
    public var weight: Double = 0
    public var sum: Double = 0
    public var squares: Double = 0
    public var lastNs: UInt64 = 0

    public init() {}

    @inline(__always) public mutating func add(_ x: Double, at nowNs: UInt64, halfLifeNs: UInt64) {
        if nowNs > lastNs {
            let f = Decay.factor(dtNs: nowNs - lastNs, halfLifeNs: halfLifeNs)
            weight *= f
            sum *= f
            squares *= f
            lastNs = nowNs
        }
        weight += 1
        sum += x
        squares += x * x
    }

    /// Adds `count` values with this sum and sum of squares, all at `nowNs` (one decay for all).
    @inline(__always) public mutating func merge(count: Double, sum x: Double, squares x2: Double, at nowNs: UInt64,
                                                 halfLifeNs: UInt64) {
        if nowNs > lastNs {
            let f = Decay.factor(dtNs: nowNs - lastNs, halfLifeNs: halfLifeNs)
            weight *= f
            sum *= f
            squares *= f
            lastNs = nowNs
        }
        weight += count
        sum += x
        squares += x2
    }

    public var mean: Double { weight > 0 ? sum / weight : 0 }
    public var variance: Double {
        guard weight > 0 else { return 0 }
        let m = sum / weight
        return max(0, squares / weight - m * m)
    }
    public var std: Double { variance.squareRoot() }
}
