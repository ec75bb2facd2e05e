import CDPDK
import XCTest

@testable import Dataplane

/// The detector with its context: destinations known by name, housekeeping answers against the
/// incoming rate, weak deviations that mirror one packet, the threshold it reports.
final class DetectorContextTests: XCTestCase {
    let ms: UInt64 = 1_000_000
    let dnsName = "broker.example.com"

    func answer(_ ip: UInt32, ttl: UInt32 = 300) -> bma_dns_answer_t {
        bma_dns_answer_t(addr_hi: 0, addr_lo: 0x0000_ffff_0000_0000 | UInt64(ip), name_hash: bma_dns_name_hash(dnsName), ttl: ttl, pkt: 0, name: 0)
    }

    func testANewAddressOfAKnownNameIsNotANewDestination() {
        // The web server was resolved from `name` before the VM first talked to it.
        var h = DetectorHarness(learningSeconds: 10)
        defer { h.deallocate() }
        h.detector.context.names.learn(answer(Hosts.web, ttl: 86_400), at: h.now)
        NormalTraffic.run(&h, seconds: 30)
        // The name rotates to an address the VM never used, outside every prefix it knows.
        let rotated = TestFrame.ip(203, 0, 113, 9)
        let before = h.send(TestFrame.tcp(dst: rotated, dstPort: 443, payload: 200), at: h.now + 10 * ms)
        XCTAssertEqual(before.scores[0], 0.5, "without the answer: a new destination")
        h.detector.context.names.learn(answer(rotated), at: h.now)
        let other = TestFrame.ip(203, 0, 113, 10)
        h.detector.context.names.learn(answer(other), at: h.now)
        let after = h.send(TestFrame.tcp(dst: other, dstPort: 443, payload: 200), at: h.now + 10 * ms)
        XCTAssertEqual(after.scores[0], 0, "the name is known")
        XCTAssertFalse(after.reasons.contains(.newDestination))
        XCTAssertFalse(after.anomalous)
    }

    func testAnswersMayFollowWhatTheVMReceived() {
        func burst(incoming: Int) -> [Verdict] {
            var h = NormalTraffic.trained()
            defer { h.deallocate() }
            if incoming > 0 { h.detector.context.incoming.add(incoming, at: h.now) }
            // 30 port unreachables to the gateway within 30 ms: the answers to 30 packets it sent.
            return (0..<30).map { i in
                h.send(TestFrame.icmp(dst: Hosts.gateway, type: 3, code: 3, data: 28), at: h.now + UInt64(i) * ms)
            }
        }
        XCTAssertTrue(burst(incoming: 0).contains { $0.anomalous && $0.reasons.contains(.rateSpike) },
                      "unanswered, a burst of ICMP errors is a rate spike")
        let answered = burst(incoming: 30)
        XCTAssertFalse(answered.contains { $0.anomalous }, "answers to 30 incoming packets: \(answered.filter(\.anomalous).map { ($0.reasons.names, $0.score) })")
    }

    func testWeakDeviationMirrorsOnePacketStrongOneTheSession() {
        var h = NormalTraffic.trained { $0.stickyNs = 60 * ns }
        defer { h.deallocate() }
        // An odd size on a known service: that packet only.
        let big = h.send(TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 300), at: h.now + 10 * ms)
        XCTAssertTrue(big.anomalous)
        XCTAssertEqual(big.reasons, .sizeOutlier)
        XCTAssertFalse(big.trigger, "no pre-trigger for a weak deviation")
        let next = h.send(NormalTraffic.dnsQuery, at: h.now + 10 * ms)
        XCTAssertFalse(next.mirror, "no sticky copies after a weak deviation")
        // A service never used: the host stays mirrored.
        let svc = h.send(TestFrame.tcp(dst: Hosts.web, dstPort: 6379, flags: 0x02), at: h.now + 10 * ms)
        XCTAssertTrue(svc.anomalous)
        XCTAssertTrue(svc.trigger)
        let https = h.send(NormalTraffic.https, at: h.now + 10 * ms)
        XCTAssertTrue(https.sticky)
        XCTAssertEqual(https.threshold, h.detector.context.calibration.threshold)
    }

    func testOddSizesThatRecurOnSeveralOccasionsAreLearned() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let big = TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 300)
        var verdicts: [Verdict] = []
        // Three occasions, two hours apart, a few odd-sized queries each.
        for occasion in 0..<3 {
            h.now += 2 * 3600 * ns
            NormalTraffic.run(&h, seconds: 2)
            for _ in 0..<3 { verdicts.append(h.send(big, at: h.now + 100 * ms)) }
        }
        XCTAssertTrue(verdicts.prefix(6).allSatisfy(\.anomalous), "the first two occasions are flagged")
        XCTAssertTrue(verdicts.last!.promoted || !verdicts.last!.anomalous, "the third occasion is a habit")
        XCTAssertGreaterThan(h.detector.context.habits.learned, 0)
    }
}

/// What the context learned travels with the baseline document (export, import, restarts).
final class ContextDocumentTests: XCTestCase {
    func testPrefixesHabitsAndCalibrationRoundTrip() throws {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        _ = h.detector.context.habits.sighting(7, 8, at: h.now, persistNs: 3600 * ns)
        for _ in 0..<5_000 { h.detector.context.calibration.observe(0.4) }
        for _ in 0..<40 { h.detector.context.calibration.observe(1.5) }
        h.detector.context.calibration.refresh(target: 0.001)
        let threshold = h.detector.context.calibration.threshold
        XCTAssertGreaterThan(threshold, 1)
        let doc = BaselineDocument(h.detector)
        let json = try JSONEncoder().encode(doc)
        let back = try JSONDecoder().decode(BaselineDocument.self, from: json)
        XCTAssertEqual(back, doc)
        XCTAssertEqual(back.context?.prefixes.count, h.detector.context.prefixes.count)
        XCTAssertGreaterThan(back.context?.prefixes.count ?? 0, 0)

        var d = Detector()
        defer { d.deallocate() }
        try back.restore(into: &d)
        XCTAssertEqual(d.context.prefixes.count, h.detector.context.prefixes.count)
        XCTAssertNotNil(d.context.habits.table.find(7, 8))
        XCTAssertEqual(d.context.calibration.threshold, threshold)
        XCTAssertEqual(d.context.calibration.total, h.detector.context.calibration.total)

        // A document without a context (older bmad) still restores.
        var old = doc
        old.context = nil
        var e = Detector()
        defer { e.deallocate() }
        try old.restore(into: &e)
        XCTAssertEqual(e.context.prefixes.count, 0)
        // A wrong histogram is refused with its field named.
        var bad = doc
        bad.context?.score_classes = [1, 2]
        XCTAssertThrowsError(try bad.restore(into: &e)) { XCTAssertTrue("\($0)".contains("score_classes")) }
    }
}
