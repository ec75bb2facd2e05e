import Foundation
import XCTest

@testable import Dataplane

/// RateMeter against its closed form: a steady rate r settles at r * h / ln 2.
final class RateMeterTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    /// Feeds `rate` events/s for `seconds` (evenly spaced) and returns the meter and the last time.
    private func steady(rate: Int, seconds: Int, halfLifeNs: UInt64, start: UInt64 = 1_000_000_000)
        -> (RateMeter, UInt64)
    {
        var m = RateMeter()
        let step = second / UInt64(rate)
        var t = start
        for _ in 0..<(rate * seconds) {
            _ = m.add(1, at: t, halfLifeNs: halfLifeNs)
            t += step
        }
        return (m, t - step)
    }

    func testSteadyRateSettlesAtClosedForm() {
        for (rate, halfLifeSeconds) in [(100, 10.0), (1_000, 1.0), (20, 60.0), (5_000, 1.0)] {
            let h = UInt64(halfLifeSeconds * 1e9)
            let (m, last) = steady(rate: rate, seconds: Int(20 * halfLifeSeconds), halfLifeNs: h)
            let expected = Double(rate) * halfLifeSeconds / log(2.0)
            XCTAssertEqual(m.value, expected, accuracy: 0.01 * expected, "rate \(rate)/s, h = \(halfLifeSeconds) s")
            XCTAssertEqual(m.rate(at: last, halfLifeNs: h), Double(rate), accuracy: 0.01 * Double(rate),
                           "rate(at:) for \(rate)/s, h = \(halfLifeSeconds) s")
        }
    }

    func testValueHalvesAfterOneHalfLifeWithoutEvents() {
        let h = 10 * second
        let (m, last) = steady(rate: 100, seconds: 100, halfLifeNs: h)
        let v = m.at(last, halfLifeNs: h)
        XCTAssertEqual(m.at(last + h, halfLifeNs: h), v / 2)
        XCTAssertEqual(m.at(last + 2 * h, halfLifeNs: h), v / 4)
        XCTAssertEqual(m.rate(at: last + h, halfLifeNs: h), m.rate(at: last, halfLifeNs: h) / 2, accuracy: 1e-9)
        // Reading does not change the meter.
        XCTAssertEqual(m.value, v)
        XCTAssertEqual(m.lastNs, last)
    }

    func testAddReturnsDecayedCountPlusAmount() {
        let h = 10 * second
        var m = RateMeter()
        XCTAssertEqual(m.add(8, at: 5 * second, halfLifeNs: h), 8)
        XCTAssertEqual(m.add(1, at: 15 * second, halfLifeNs: h), 5)  // 8 / 2 + 1
        XCTAssertEqual(m.add(2, at: 35 * second, halfLifeNs: h), 3.25)  // 5 / 4 + 2
        XCTAssertEqual(m.lastNs, 35 * second)
    }

    func testOutOfOrderEventDoesNotDecayOrMoveTimeBack() {
        let h = 10 * second
        var m = RateMeter()
        _ = m.add(4, at: 20 * second, halfLifeNs: h)
        XCTAssertEqual(m.add(1, at: 10 * second, halfLifeNs: h), 5)
        XCTAssertEqual(m.lastNs, 20 * second)
        XCTAssertEqual(m.at(10 * second, halfLifeNs: h), 5)
    }

    func testEmptyMeterReadsZero() {
        let m = RateMeter()
        XCTAssertEqual(m.at(123 * second, halfLifeNs: second), 0)
        XCTAssertEqual(m.rate(at: 123 * second, halfLifeNs: second), 0)
    }
}
