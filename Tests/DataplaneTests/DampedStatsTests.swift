import Foundation
import XCTest

@testable import Dataplane

/// DampedStats against a direct weighted computation with weights 2^(-age / h).
final class DampedStatsTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func weighted(_ samples: [(x: Double, t: UInt64)], at now: UInt64, halfLifeNs h: UInt64)
        -> (weight: Double, mean: Double, variance: Double)
    {
        var w = 0.0, s = 0.0, q = 0.0
        for (x, t) in samples {
            let wi = Foundation.exp2(-Double(now - t) / Double(h))
            w += wi
            s += wi * x
            q += wi * x * x
        }
        let mean = s / w
        // Two-pass variance, independent of the incremental formula.
        var v = 0.0
        for (x, t) in samples { v += Foundation.exp2(-Double(now - t) / Double(h)) * (x - mean) * (x - mean) }
        return (w, mean, v / w)
    }

    func testNoTimePassingGivesPlainMeanAndVariance() {
        let xs: [Double] = [74, 80, 120, 60, 1500, 74, 74, 300, 64, 90]
        var st = DampedStats()
        let t = 7 * second
        for x in xs { st.add(x, at: t, halfLifeNs: 10 * second) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        XCTAssertEqual(st.weight, Double(xs.count))
        XCTAssertEqual(st.mean, mean, accuracy: 1e-9 * mean)
        XCTAssertEqual(st.variance, variance, accuracy: 1e-9 * variance)
        XCTAssertEqual(st.std, variance.squareRoot(), accuracy: 1e-9 * variance.squareRoot())
    }

    func testConstantSampleHasZeroVariance() {
        var st = DampedStats()
        for i in 0..<1_000 { st.add(74, at: UInt64(i) * 37_000_000, halfLifeNs: second) }
        XCTAssertEqual(st.mean, 74, accuracy: 1e-9)
        XCTAssertEqual(st.variance, 0, accuracy: 1e-6)
        XCTAssertGreaterThanOrEqual(st.variance, 0)
    }

    func testEmptyStatsAreZero() {
        let st = DampedStats()
        XCTAssertEqual(st.mean, 0)
        XCTAssertEqual(st.variance, 0)
        XCTAssertEqual(st.std, 0)
    }

    /// Ages that are whole half-lives: the weights are exact powers of two.
    func testWeightsAreExactPowersOfTwoAtWholeHalfLives() {
        let h = 10 * second
        let samples: [(x: Double, t: UInt64)] = [
            (100, 0 * h + 1), (200, 1 * h + 1), (50, 1 * h + 1), (400, 3 * h + 1), (80, 6 * h + 1), (90, 7 * h + 1),
        ]
        var st = DampedStats()
        for (x, t) in samples { st.add(x, at: t, halfLifeNs: h) }
        let now = samples.last!.t
        let want = weighted(samples, at: now, halfLifeNs: h)
        // 2^-7 + 2^-6 * 2 + 2^-4 + 2^-1 + 1
        XCTAssertEqual(st.weight, 1.0 / 128 + 2.0 / 64 + 1.0 / 16 + 0.5 + 1)
        XCTAssertEqual(st.weight, want.weight, accuracy: 1e-12)
        XCTAssertEqual(st.mean, want.mean, accuracy: 1e-9 * want.mean)
        XCTAssertEqual(st.variance, want.variance, accuracy: 1e-9 * want.variance)
    }

    /// Arbitrary ages: the weights follow 2^(-dt/h) within the decay approximation.
    func testWeightsFollowExponentialDecayAtArbitraryAges() {
        let h = 10 * second
        var rng = SplitMix(seed: 42)
        var samples: [(x: Double, t: UInt64)] = []
        var t: UInt64 = second
        for _ in 0..<500 {
            t += rng.next() % (3 * second)
            samples.append((Double(60 + rng.next() % 1_400), t))
        }
        var st = DampedStats()
        for (x, t) in samples { st.add(x, at: t, halfLifeNs: h) }
        let want = weighted(samples, at: t, halfLifeNs: h)
        // Each decay step is within ~1e-4; a sample's weight is a product of many steps, but the
        // old samples carry negligible weight, so the totals stay close.
        XCTAssertEqual(st.weight, want.weight, accuracy: 2e-3 * want.weight)
        XCTAssertEqual(st.mean, want.mean, accuracy: 1e-3 * want.mean)
        XCTAssertEqual(st.variance, want.variance, accuracy: 3e-3 * want.variance)
    }

    func testOutOfOrderSampleIsAddedWithoutDecay() {
        let h = second
        var st = DampedStats()
        st.add(10, at: 5 * second, halfLifeNs: h)
        st.add(20, at: 3 * second, halfLifeNs: h)
        XCTAssertEqual(st.weight, 2)
        XCTAssertEqual(st.mean, 15)
        XCTAssertEqual(st.lastNs, 5 * second)
    }
}

/// A small deterministic generator (SplitMix64) so runs are reproducible.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
