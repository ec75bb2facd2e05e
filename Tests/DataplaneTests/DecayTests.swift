import Foundation
import XCTest

@testable import Dataplane

/// Decay.exp2Negative and Decay.factor against the closed form 2^x.
final class DecayTests: XCTestCase {
    func testExp2NegativeMatchesExp2OverAGrid() {
        var worst = 0.0
        var worstX = 0.0
        // Fine grid over [-60, 0]: the first three integer intervals at 1e-5 steps, then irregular
        // steps further out (the error depends only on the fractional part).
        var x = 0.0
        while x > -60 {
            let got = Decay.exp2Negative(x)
            let want = Foundation.exp2(x)
            let rel = abs(got - want) / want
            if rel > worst { worst = rel; worstX = x }
            x -= x > -3 ? 0.00001 : 0.0137
        }
        XCTAssertLessThan(worst, 2e-4, "worst relative error \(worst) at x = \(worstX)")
    }

    func testExp2NegativeIsExactAtIntegers() {
        for k in 0..<60 {
            XCTAssertEqual(Decay.exp2Negative(-Double(k)), Foundation.exp2(-Double(k)), "x = -\(k)")
        }
    }

    func testExp2NegativeClampsOutsideItsDomain() {
        XCTAssertEqual(Decay.exp2Negative(0), 1)
        XCTAssertEqual(Decay.exp2Negative(3.5), 1)
        XCTAssertEqual(Decay.exp2Negative(-60), 0)
        XCTAssertEqual(Decay.exp2Negative(-1e9), 0)
        XCTAssertEqual(Decay.exp2Negative(-.infinity), 0)
    }

    func testExp2NegativeIsMonotonic() {
        var previous = Decay.exp2Negative(0)
        var x = 0.0
        while x > -8 {
            x -= 0.0005
            let v = Decay.exp2Negative(x)
            XCTAssertLessThanOrEqual(v, previous, "not decreasing at x = \(x)")
            previous = v
        }
    }

    func testFactorAtZeroAndOneHalfLife() {
        let h: UInt64 = 10_000_000_000
        XCTAssertEqual(Decay.factor(dtNs: 0, halfLifeNs: h), 1)
        XCTAssertEqual(Decay.factor(dtNs: h, halfLifeNs: h), 0.5)
        XCTAssertEqual(Decay.factor(dtNs: 2 * h, halfLifeNs: h), 0.25)
        XCTAssertEqual(Decay.factor(dtNs: 3 * h, halfLifeNs: h), 0.125)
        XCTAssertEqual(Decay.factor(dtNs: 1_000 * h, halfLifeNs: h), 0)
        let half = Decay.factor(dtNs: h / 2, halfLifeNs: h)
        XCTAssertEqual(half, 0.5.squareRoot(), accuracy: 2e-4 * 0.5.squareRoot())
    }
}
