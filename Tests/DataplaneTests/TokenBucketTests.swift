import XCTest

@testable import Dataplane

/// TokenBucket and MirrorBudget on packet time.
final class TokenBucketTests: DataplaneTestCase {
    private let second: UInt64 = 1_000_000_000
    private let start: UInt64 = 5_000_000_000

    func testBurstIsAllowedAtStart() {
        var b = TokenBucket(rate: 100, burst: 50)
        var ok = 0
        for _ in 0..<200 where b.take(1, at: start) { ok += 1 }
        XCTAssertEqual(ok, 50)
        XCTAssertEqual(b.available(at: start), 0, accuracy: 1e-9)
    }

    func testRefillsExactlyRatePerSecondUpToBurst() {
        var b = TokenBucket(rate: 100, burst: 50)
        while b.take(1, at: start) {}
        XCTAssertEqual(b.available(at: start + second / 10), 10, accuracy: 1e-9)
        XCTAssertEqual(b.available(at: start + second / 4), 25, accuracy: 1e-9)
        XCTAssertEqual(b.available(at: start + 10 * second), 50, "capped at burst")
        // Taking after 0.1 s: exactly 10 tokens.
        var ok = 0
        for _ in 0..<100 where b.take(1, at: start + second / 10) { ok += 1 }
        XCTAssertEqual(ok, 10)
        // available(at:) does not change the bucket.
        XCTAssertEqual(b.available(at: start + second / 10), 0, accuracy: 1e-9)
        XCTAssertEqual(b.available(at: start + second / 5), 10, accuracy: 1e-9)
    }

    func testTakeOfMoreThanAvailableFailsAndKeepsTokens() {
        var b = TokenBucket(rate: 1_000, burst: 1_500)
        XCTAssertTrue(b.take(1_000, at: start))
        XCTAssertFalse(b.take(600, at: start))
        XCTAssertEqual(b.available(at: start), 500, accuracy: 1e-9)
        XCTAssertFalse(b.take(2_000, at: start + 100 * second), "more than the burst never fits")
        XCTAssertEqual(b.available(at: start + 100 * second), 1_500, accuracy: 1e-9)
    }

    func testRateZeroIsUnlimited() {
        var b = TokenBucket(rate: 0, burst: 0)
        for i in 0..<10_000 { XCTAssertTrue(b.take(1_500, at: start + UInt64(i))) }
        XCTAssertEqual(b.available(at: start), .infinity)
        var m = MirrorBudget(packetsPerSecond: 0, bytesPerSecond: 0)
        for i in 0..<10_000 { XCTAssertTrue(m.allow(bytes: 9_000, at: start + UInt64(i))) }
    }

    func testNeverNegativeAndTimeGoingBackDoesNotRefill() {
        var b = TokenBucket(rate: 10, burst: 5)
        var t = start
        for i in 0..<10_000 {
            _ = b.take(Double(i % 3 + 1), at: t)
            XCTAssertGreaterThanOrEqual(b.available(at: t), 0)
            t += 7_000_000
        }
        // A timestamp from the past neither refills nor drains.
        let before = b.available(at: t)
        _ = b.take(0, at: t - 5 * second)
        XCTAssertEqual(b.available(at: t), before, accuracy: 1e-9)
    }

    /// Packet time 0 is a valid time (a descriptor's ts_ns is 0 until the caller sets it): the
    /// tokens taken at 0 must come back one second later.
    func testRefillAfterPacketTimeZero() {
        var b = TokenBucket(rate: 10, burst: 10)
        var ok = 0
        for _ in 0..<20 where b.take(1, at: 0) { ok += 1 }
        XCTAssertEqual(ok, 10)
        XCTAssertEqual(b.available(at: second), 10, accuracy: 1e-9)
        XCTAssertTrue(b.take(1, at: second))
        // From the next packet on, time is measured again.
        XCTAssertEqual(b.available(at: 2 * second), 10, accuracy: 1e-9)
    }

    /// 10,000 packets/s offered for 10 s against 1,000 packets/s with one second of burst:
    /// 1,000 (burst) + 10 × 1,000 admitted, ±1.
    func testClosedFormCountOverALongRun() {
        var b = TokenBucket(rate: 1_000, burst: 1_000)
        var ok = 0
        for i in 0..<100_000 where b.take(1, at: start + UInt64(i) * 100_000) { ok += 1 }
        XCTAssertEqual(Double(ok), 11_000, accuracy: 1)
    }

    func testClosedFormCountWithIrregularArrivals() {
        // Arrivals at irregular gaps (mean 50 µs, about 20,000/s) for 20 s against 2,000/s,
        // burst 500: 500 + 20 × 2,000 admitted, ±1.
        var b = TokenBucket(rate: 2_000, burst: 500)
        var rng = SplitMix(seed: 3)
        var t = start
        let end = start + 20 * second
        var ok = 0
        while t <= end {
            if b.take(1, at: t) { ok += 1 }
            t += 1 + rng.next() % 100_000
        }
        XCTAssertEqual(Double(ok), 40_500, accuracy: 1)
    }

    func testMirrorBudgetAllowsOneSecondOfBurstThenTheRate() {
        var m = MirrorBudget(packetsPerSecond: 1_000, bytesPerSecond: 10_000_000)
        var ok = 0
        for i in 0..<100_000 where m.allow(bytes: 100, at: start + UInt64(i) * 100_000) { ok += 1 }
        XCTAssertEqual(Double(ok), 11_000, accuracy: 1)
    }

    func testMirrorBudgetNeedsBothPacketsAndBytes() {
        // Bytes run out first: 100,000 bytes of burst admit ten 10,000-byte copies out of 100 packets.
        var m = MirrorBudget(packetsPerSecond: 100, bytesPerSecond: 100_000)
        var ok = 0
        for _ in 0..<50 where m.allow(bytes: 10_000, at: start) { ok += 1 }
        XCTAssertEqual(ok, 10)
        // Packets run out first: 10 packets of burst admit ten 1-byte copies.
        var p = MirrorBudget(packetsPerSecond: 10, bytesPerSecond: 1_000_000)
        ok = 0
        for _ in 0..<50 where p.allow(bytes: 1, at: start) { ok += 1 }
        XCTAssertEqual(ok, 10)
    }

    func testAnyFrameFitsASmallByteBudget() {
        // The byte burst is at least 64 KiB, so a jumbo copy is never refused forever.
        var m = MirrorBudget(packetsPerSecond: 10, bytesPerSecond: 8_000)
        XCTAssertTrue(m.allow(bytes: 9_000, at: start))
    }

    func testMirrorBudgetRefusalTakesNothing() {
        var m = MirrorBudget(packetsPerSecond: 5, bytesPerSecond: 100_000)
        XCTAssertFalse(m.allow(bytes: 100_001, at: start), "a copy larger than the byte burst")
        // The refused copy consumed no packet token: five small copies still fit.
        var ok = 0
        for _ in 0..<10 where m.allow(bytes: 1_000, at: start) { ok += 1 }
        XCTAssertEqual(ok, 5)
        // Refused for packets: no bytes were taken either.
        XCTAssertFalse(m.allow(bytes: 1_000, at: start))
        XCTAssertTrue(m.allow(bytes: 95_000, at: start + second / 5), "0.2 s refills one packet; no bytes were taken")
    }
}
