import CDPDK
import XCTest

@testable import Dataplane

/// The learning period, frozen baselines, reset, and determinism.
final class DetectorLearningTests: DataplaneTestCase {
    private let ms: UInt64 = 1_000_000

    /// Everything a VM could do that looks like an attack, during its learning period.
    private func attackFrames() -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for port in UInt16(1)...50 { frames.append(TestFrame.tcp(dst: Hosts.web, dstPort: port, flags: 0x02)) }
        for i in UInt8(1)...50 { frames.append(TestFrame.tcp(dst: TestFrame.ip(172, 16, 0, i), dstPort: 22, flags: 0x02)) }
        for _ in 0..<300 { frames.append(TestFrame.icmp(dst: Hosts.gateway)) }
        frames.append(TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 1_400))
        frames.append(TestFrame.arp(target: TestFrame.ip(192, 168, 1, 77)))
        return frames
    }

    func testLearningPeriodNeverFlags() {
        var h = DetectorHarness(learningSeconds: 10)
        defer { h.deallocate() }
        let start = h.now
        NormalTraffic.run(&h, seconds: 2)
        var t = h.now
        for f in attackFrames() {
            t += 2 * ms
            let v = h.send(f, at: t)
            XCTAssertTrue(v.learning)
            XCTAssertFalse(v.anomalous)
            XCTAssertFalse(v.mirror)
            XCTAssertFalse(v.trigger)
            XCTAssertFalse(v.promoted)
            XCTAssertEqual(v.reasons, [])
        }
        // Still learning just before the end of the period, detecting right after it.
        XCTAssertTrue(h.send(NormalTraffic.https, at: start + 10 * ns - 1).learning)
        let after = h.send(TestFrame.tcp(dst: Hosts.web, dstPort: 31_337, flags: 0x02), at: start + 10 * ns)
        XCTAssertFalse(after.learning)
        XCTAssertTrue(after.anomalous, "a service first used after the learning period")
        XCTAssertEqual(h.detector.baseline.firstNs, start)
    }

    func testLearningPeriodTeachesTheBaseline() {
        var h = DetectorHarness(learningSeconds: 10)
        defer { h.deallocate() }
        let before = h.now
        let verdicts = NormalTraffic.run(&h, seconds: 10)
        XCTAssertTrue(verdicts.allSatisfy(\.learning))
        let b = h.detector.baseline
        XCTAssertEqual(b.learnedPackets, UInt64(verdicts.count))
        XCTAssertEqual(b.services.count, 3, "https, dns, icmp echo")
        XCTAssertEqual(b.hosts.count, 3)
        XCTAssertEqual(b.destinations.count, 3)
        XCTAssertEqual(b.classPackets.0, 100)
        XCTAssertEqual(b.classPackets.1, 20)
        XCTAssertEqual(b.classPackets.2, 5)
        XCTAssertEqual(b.firstNs, before)
        XCTAssertGreaterThan(b.peak10, 0)
    }

    func testFrozenBaselineDoesNotLearn() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        h.detector.baseline.frozen = true
        let learned = h.detector.baseline.learnedPackets
        let hosts = h.detector.baseline.hosts.count
        let peak = h.detector.baseline.peak10
        let verdicts = NormalTraffic.run(&h, seconds: 10)
        XCTAssertFalse(verdicts.contains { $0.anomalous })
        XCTAssertEqual(h.detector.baseline.learnedPackets, learned)
        XCTAssertEqual(h.detector.baseline.peak10, peak)

        // A new host on a known service stays new: it is not learned. (Its score is 0.5 or a
        // little more: the frozen peaks no longer follow the rates, which are still rising.)
        let newHost = TestFrame.tcp(dst: TestFrame.ip(192, 168, 7, 12), dstPort: 443, payload: 200)
        for _ in 0..<2 {
            let v = h.send(newHost, at: h.now + 10 * ms)
            XCTAssertGreaterThanOrEqual(v.score, 0.5)
            XCTAssertFalse(v.anomalous)
        }
        XCTAssertNil(h.detector.baseline.hosts.find(0, 0x0000_ffff_c0a8_070c))
        XCTAssertEqual(h.detector.baseline.hosts.count, hosts)
        XCTAssertEqual(h.detector.baseline.learnedPackets, learned)

        // Detection still works.
        XCTAssertTrue(h.send(TestFrame.tcp(dst: Hosts.web, dstPort: 6_379, flags: 0x02), at: h.now + 10 * ms).anomalous)
    }

    func testFrozenDuringLearningLearnsNothing() {
        var h = DetectorHarness(learningSeconds: 10)
        defer { h.deallocate() }
        h.detector.baseline.frozen = true
        NormalTraffic.run(&h, seconds: 5)
        XCTAssertEqual(h.detector.baseline.learnedPackets, 0)
        XCTAssertEqual(h.detector.baseline.services.count, 0)
    }

    func testResetForgetsEverything() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let scan = TestFrame.tcp(dst: Hosts.web, dstPort: 6_379, flags: 0x02)
        XCTAssertTrue(h.send(scan, at: h.now + 10 * ms).anomalous)
        XCTAssertGreaterThan(h.detector.shortTerm.suspects.count, 0)

        h.detector.reset()
        let b = h.detector.baseline
        XCTAssertEqual(b.learnedPackets, 0)
        XCTAssertEqual(b.firstNs, 0)
        XCTAssertEqual(b.services.count, 0)
        XCTAssertEqual(b.hosts.count, 0)
        XCTAssertEqual(b.destinations.count, 0)
        XCTAssertEqual(b.peak10, 0)
        XCTAssertEqual(b.classPackets.0, 0)
        XCTAssertEqual(b.size.weight, 0)
        XCTAssertEqual(h.detector.shortTerm.suspects.count, 0)
        XCTAssertEqual(h.detector.shortTerm.recentHosts.count, 0)
        XCTAssertEqual(h.detector.shortTerm.recentDestinations.count, 0)
        XCTAssertEqual(h.detector.context.habits.table.count, 0)
        XCTAssertEqual(h.detector.context.prefixes.count, 0)
        XCTAssertEqual(h.detector.shortTerm.lastAnomalyNs, 0)

        // The next packet starts a new learning period: what was anomalous is now learned.
        let t0 = h.now + 1 * ns
        let v = h.send(scan, at: t0)
        XCTAssertTrue(v.learning)
        XCTAssertFalse(v.anomalous)
        XCTAssertFalse(v.sticky, "suspects were forgotten")
        XCTAssertEqual(h.detector.baseline.firstNs, t0)
        XCTAssertEqual(h.detector.baseline.learnedPackets, 1)
        // Once the new period is over, the old services are unknown again.
        let later = h.send(NormalTraffic.dnsQuery, at: t0 + 11 * ns)
        XCTAssertFalse(later.learning)
        XCTAssertTrue(later.reasons.contains(.newService))
    }

    /// A mixed sequence with every kind of deviation.
    private func mixedSequence() -> [(frame: [UInt8], t: UInt64)] {
        var rng = SplitMix(seed: 2024)
        var out: [(frame: [UInt8], t: UInt64)] = []
        var t: UInt64 = 500 * ns
        let templates: [() -> [UInt8]] = [
            { NormalTraffic.https }, { NormalTraffic.https }, { NormalTraffic.dnsQuery }, { NormalTraffic.ping },
        ]
        for i in 0..<6_000 {
            t += 1 + rng.next() % (i < 3_000 ? 20 * ms : 4 * ms)
            let r = rng.next() % 100
            let frame: [UInt8]
            switch r {
            case 0..<80: frame = templates[Int(rng.next() % 4)]()
            case 80..<85: frame = TestFrame.tcp(dst: Hosts.web, dstPort: UInt16(1 + rng.next() % 2_000), flags: 0x02)
            case 85..<90: frame = TestFrame.tcp(dst: UInt32(truncatingIfNeeded: rng.next()), dstPort: 443, payload: 200)
            case 90..<95: frame = TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 60 + Int(rng.next() % 1_400))
            default: frame = TestFrame.icmp(dst: Hosts.gateway, type: UInt8(rng.next() % 3) * 8)
            }
            out.append((frame, t))
        }
        return out
    }

    func testSameSequenceGivesSameVerdicts() {
        let sequence = mixedSequence()
        var a = DetectorHarness(learningSeconds: 10)
        var b = DetectorHarness(learningSeconds: 10)
        defer { a.deallocate(); b.deallocate() }
        var anomalies = 0, learning = 0
        for (i, (frame, t)) in sequence.enumerated() {
            let va = a.send(frame, at: t)
            let vb = b.send(frame, at: t)
            XCTAssertEqual(va.score.bitPattern, vb.score.bitPattern, "packet \(i)")
            XCTAssertEqual(va.reasons, vb.reasons, "packet \(i)")
            XCTAssertEqual(va.anomalous, vb.anomalous, "packet \(i)")
            XCTAssertEqual(va.sticky, vb.sticky, "packet \(i)")
            XCTAssertEqual(va.trigger, vb.trigger, "packet \(i)")
            XCTAssertEqual(va.learning, vb.learning, "packet \(i)")
            XCTAssertEqual(va.promoted, vb.promoted, "packet \(i)")
            if va.anomalous { anomalies += 1 }
            if va.learning { learning += 1 }
        }
        XCTAssertEqual(a.detector.baseline.learnedPackets, b.detector.baseline.learnedPackets)
        XCTAssertEqual(a.detector.baseline.peak10, b.detector.baseline.peak10)
        // The sequence exercises both phases.
        XCTAssertGreaterThan(anomalies, 100)
        XCTAssertGreaterThan(learning, 100)
    }
}
