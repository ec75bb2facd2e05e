import CDPDK
import XCTest

@testable import Dataplane

/// The pieces the detector uses to hold on devices it was not tuned on: DNS names of
/// destinations, prefixes, habits, the calibrated threshold, housekeeping answers, the
/// decision log. Each alone, with fixed memory.
final class DetectionMechanismTests: XCTestCase {
    static let s: UInt64 = 1_000_000_000

    func answer(_ ip: UInt32, _ name: String, ttl: UInt32) -> bma_dns_answer_t {
        bma_dns_answer_t(addr_hi: 0, addr_lo: 0x0000_ffff_0000_0000 | UInt64(ip), name_hash: bma_dns_name_hash(name), ttl: ttl, pkt: 0, name: 0)
    }

    func testDNSNamesLiveForTheirTTLWithinBounds() {
        var n = DNSNames()
        defer { n.deallocate() }
        let t0 = 1_000 * Self.s
        let lo = 0x0000_ffff_2f59_e214 as UInt64
        n.learn(answer(0x2f59_e214, "broker.example.com", ttl: 600), at: t0)
        XCTAssertEqual(n.name(0, lo, at: t0 + 10 * Self.s), bma_dns_name_hash("broker.example.com"))
        XCTAssertEqual(n.name(0, lo, at: t0 + 600 * Self.s + DNSNames.graceNs), bma_dns_name_hash("broker.example.com"))
        XCTAssertEqual(n.name(0, lo, at: t0 + 601 * Self.s + DNSNames.graceNs), 0, "expired")
        XCTAssertEqual(n.name(0, lo + 1, at: t0), 0, "another address")
        // TTL 0 still names the connection that follows; a week-long TTL is cut to a day.
        n.learn(answer(1, "zero.example", ttl: 0), at: t0)
        XCTAssertNotEqual(n.name(0, 0x0000_ffff_0000_0001, at: t0 + 30 * Self.s), 0)
        n.learn(answer(2, "long.example", ttl: 7 * 86_400), at: t0)
        XCTAssertEqual(n.name(0, 0x0000_ffff_0000_0002, at: t0 + 2 * 86_400 * Self.s), 0)
        // A new answer for the address renames it.
        n.learn(answer(0x2f59_e214, "other.example", ttl: 600), at: t0 + 20 * Self.s)
        XCTAssertEqual(n.name(0, lo, at: t0 + 21 * Self.s), bma_dns_name_hash("other.example"))
        XCTAssertEqual(n.answers, 4)
    }

    func testDNSNamesAreBounded() {
        var n = DNSNames()
        defer { n.deallocate() }
        for i in 0..<10_000 { n.learn(answer(UInt32(i), "n\(i).example", ttl: 300), at: UInt64(i + 1) * Self.s) }
        XCTAssertLessThanOrEqual(n.table.count, n.table.capacity)
        XCTAssertNotEqual(n.name(0, 0x0000_ffff_0000_0000 | 9_999, at: 10_000 * Self.s), 0, "the newest stays")
        XCTAssertGreaterThan(DNSNames.memoryBytes, DNSNames.capacity * 32)
    }

    func testPrefixKeys() {
        let a = DestinationKey.prefix(0, 0x0000_ffff_2f59_e214, v4Bits: 24, v6Bits: 48)
        let b = DestinationKey.prefix(0, 0x0000_ffff_2f59_e2fe, v4Bits: 24, v6Bits: 48)
        let c = DestinationKey.prefix(0, 0x0000_ffff_2f59_e314, v4Bits: 24, v6Bits: 48)
        XCTAssertTrue(a == b)
        XCTAssertFalse(a == c)
        XCTAssertFalse(a == (0, 0x0000_ffff_2f59_e200), "a prefix key is not an address key")
        let w = DestinationKey.prefix(0, 0x0000_ffff_2f59_e214, v4Bits: 16, v6Bits: 48)
        XCTAssertTrue(w == DestinationKey.prefix(0, 0x0000_ffff_2f59_0001, v4Bits: 16, v6Bits: 48))
        let v6a = DestinationKey.prefix(0x2001_0db8_0001_1111, 5, v4Bits: 24, v6Bits: 48)
        let v6b = DestinationKey.prefix(0x2001_0db8_0001_2222, 9, v4Bits: 24, v6Bits: 48)
        let v6c = DestinationKey.prefix(0x2001_0db8_0002_1111, 5, v4Bits: 24, v6Bits: 48)
        XCTAssertTrue(v6a == v6b)
        XCTAssertFalse(v6a == v6c)
        XCTAssertTrue(DestinationKey.prefix(0xFFFF_0000_0000_0001, 0, v4Bits: 24, v6Bits: 48) == (0, 0), "MAC keys have no prefix")
        XCTAssertFalse(DestinationKey.name(7) == (0, 7))
    }

    func testHabitsNeedVisitsNotPackets() {
        var h = Habits()
        defer { h.deallocate() }
        let day = 86_400 * Self.s
        let t0 = 10 * day + 3600 * Self.s
        // A one-off burst: thousands of sightings within an hour are one visit.
        for i in 0..<5_000 { XCTAssertFalse(h.sighting(1, 1, at: t0 + UInt64(i) * Self.s / 2, persistNs: .max)) }
        // Three visits, hours apart on one day, make a habit.
        XCTAssertFalse(h.sighting(2, 2, at: t0, persistNs: .max))
        XCTAssertFalse(h.sighting(2, 2, at: t0 + 2 * 3600 * Self.s, persistNs: .max))
        XCTAssertTrue(h.sighting(2, 2, at: t0 + 4 * 3600 * Self.s, persistNs: .max))
        XCTAssertTrue(h.isHabit(2, 2))
        // Two visits on two days suffice.
        XCTAssertFalse(h.sighting(3, 3, at: t0, persistNs: .max))
        XCTAssertTrue(h.sighting(3, 3, at: t0 + day, persistNs: .max))
        // Continuous traffic for hours without an hour of silence stays one visit...
        for i in 0..<600 { XCTAssertFalse(h.sighting(4, 4, at: t0 + UInt64(i) * 60 * Self.s, persistNs: .max)) }
        XCTAssertFalse(h.isHabit(1, 1))
        // ...unless it persists past promote_seconds: then it is a new application.
        XCTAssertFalse(h.sighting(5, 5, at: t0, persistNs: 600 * Self.s))
        for i in 1...9 { XCTAssertEqual(h.sighting(5, 5, at: t0 + UInt64(i) * 100 * Self.s, persistNs: 600 * Self.s), i >= 7, "\(i)") }
        XCTAssertFalse(h.sighting(6, 6, at: t0 + day, persistNs: 0), "0: novelty is never learned")
        XCTAssertFalse(h.sighting(6, 6, at: t0 + 3 * day, persistNs: 0))
    }

    func testHabitsAreBounded() {
        var h = Habits()
        defer { h.deallocate() }
        for i in 0..<20_000 { _ = h.sighting(UInt64(i), 0, at: UInt64(i + 1) * Self.s, persistNs: .max) }
        XCTAssertLessThanOrEqual(h.table.count, h.table.capacity)
    }

    func testCalibrationFindsTheQuantileWithinBounds() {
        var c = ScoreCalibration()
        c.refresh(target: 0.001)
        XCTAssertEqual(c.threshold, 1, "no scores yet: the default")
        // Quiet VM: every score far below 1 -> the floor, 1.
        for _ in 0..<10_000 { c.observe(0.1) }
        c.refresh(target: 0.001)
        XCTAssertEqual(c.threshold, 1)
        // 0.5 % of the scores at 1.4: the 99.9th percentile is there, the threshold just above.
        for i in 0..<50 { c.observe(1.35 + Double(i % 5) * 0.01) }
        c.refresh(target: 0.001)
        XCTAssertGreaterThan(c.threshold, 1.39)
        XCTAssertLessThan(c.threshold, 1.55)
        // With a larger target the same scores are allowed through.
        c.refresh(target: 0.01)
        XCTAssertEqual(c.threshold, 1)
        // However noisy, never above the ceiling.
        for _ in 0..<1_000 { c.observe(50) }
        c.refresh(target: 0.001)
        XCTAssertEqual(c.threshold, ScoreCalibration.ceiling)
        XCTAssertEqual(ScoreCalibration.index(0), 0)
        XCTAssertEqual(ScoreCalibration.index(.nan), 0)
        XCTAssertEqual(ScoreCalibration.index(.infinity), ScoreCalibration.classes - 1)
        for x in stride(from: 0.3, to: 8.0, by: 0.01) {
            let i = ScoreCalibration.index(x)
            XCTAssertLessThanOrEqual(ScoreCalibration.lowerEdge(i), x * 1.01, "\(x)")
            XCTAssertGreaterThan(ScoreCalibration.lowerEdge(i + 1), x * 0.99, "\(x)")
        }
    }

    func testCalibrationCountsStayBounded() {
        var c = ScoreCalibration()
        for _ in 0..<(1 << 17) { c.observe(0.5) }
        for _ in 0..<(Int(ScoreCalibration.halveAt) - (1 << 17)) { c.observe(0.5) }
        XCTAssertLessThan(c.total, ScoreCalibration.halveAt)
        XCTAssertGreaterThan(c.total, ScoreCalibration.halveAt / 4)
    }

    func testHousekeepingAnswersAndStrength() {
        func hk(_ frame: [UInt8]) -> (UInt8, Bool) {
            let p = TestFrame.parse(frame)
            return withUnsafePointer(to: p) { (Housekeeping.kind($0), Housekeeping.isAnswer($0)) }
        }
        XCTAssertEqual(hk(TestFrame.icmp(dst: 0x0a00_00fe, type: 0)).1, true, "echo reply")
        XCTAssertEqual(hk(TestFrame.icmp(dst: 0x0a00_00fe, type: 3, code: 3)).1, true, "port unreachable")
        XCTAssertEqual(hk(TestFrame.icmp(dst: 0x0a00_00fe, type: 8)).1, false, "echo request")
        XCTAssertEqual(hk(TestFrame.icmp(dst: 0x0a00_00fe, type: 8)).0, UInt8(BMA_HK_ICMP))
        XCTAssertEqual(hk(TestFrame.udp(dst: 0x0a00_00fe, dstPort: 443)).0, 0)
        XCTAssertTrue(Reason.portScan.isStrong)
        XCTAssertTrue(Reason([.newDestination, .rateSpike]).isStrong)
        XCTAssertTrue(Reason.newService.isStrong)
        XCTAssertFalse(Reason([.newDestination, .sizeOutlier]).isStrong)
        XCTAssertEqual(Housekeeping.name(UInt8(BMA_HK_DHCP)), "dhcp")
    }

    func testIncomingMeter() {
        var m = IncomingMeter()
        m.add(16, at: 5 * Self.s)
        XCTAssertEqual(m.count(at: 5 * Self.s), 16, accuracy: 1e-9)
        XCTAssertEqual(m.count(at: 15 * Self.s), 8, accuracy: 0.01)
    }

    func testDecisionLogKeepsOrderAndDropsOnlyWhenAllowed() {
        let log = DecisionLog(capacity: 4, lossless: false)
        for i in 0..<6 {
            var r = DecisionRecord()
            r.tsNs = UInt64(i)
            log.append(r)
        }
        var seen: [UInt64] = []
        log.drain { seen.append($0.tsNs) }
        XCTAssertEqual(seen, [0, 1, 2, 3])
        XCTAssertEqual(log.droppedRecords, 2)
        log.append(DecisionRecord())
        seen = []
        log.drain { seen.append($0.tsNs) }
        XCTAssertEqual(seen, [0])
        var s = SubScores()
        s.note(0.5, .portScan)
        s.note(0.25, .portScan)
        XCTAssertEqual(s[3], 0.5)
        XCTAssertEqual(s[0], 0)
    }
}
