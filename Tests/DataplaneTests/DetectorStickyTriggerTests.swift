import XCTest

@testable import Dataplane

/// Sticky mirroring of a flagged host, and the trigger for pre-trigger copies.
final class DetectorStickyTriggerTests: DataplaneTestCase {
    private let ms: UInt64 = 1_000_000

    private func newService(_ port: UInt16) -> [UInt8] { TestFrame.tcp(dst: Hosts.web, dstPort: port, flags: 0x02) }

    func testFlaggedHostStaysStickyForStickyNs() {
        var h = NormalTraffic.trained { $0.stickyNs = 5 * ns }
        defer { h.deallocate() }
        let t = h.now + 10 * ms
        XCTAssertTrue(h.send(newService(6_379), at: t).anomalous)

        let learned = h.detector.baseline.learnedPackets
        let soon = h.send(NormalTraffic.https, at: t + 1 * ns)
        XCTAssertTrue(soon.sticky)
        XCTAssertTrue(soon.mirror)
        XCTAssertFalse(soon.anomalous)
        XCTAssertFalse(soon.trigger)
        XCTAssertEqual(h.detector.baseline.learnedPackets, learned, "sticky packets are not learned")

        // Another host is not sticky.
        let other = h.send(NormalTraffic.dnsQuery, at: t + 1 * ns + 10 * ms)
        XCTAssertFalse(other.sticky)
        XCTAssertFalse(other.mirror)
        XCTAssertEqual(h.detector.baseline.learnedPackets, learned + 1)

        XCTAssertTrue(h.send(NormalTraffic.https, at: t + 5 * ns).sticky, "sticky up to stickyNs inclusive")
        let late = h.send(NormalTraffic.https, at: t + 5 * ns + 1 * ms)
        XCTAssertFalse(late.sticky)
        XCTAssertFalse(late.mirror)
        XCTAssertEqual(h.detector.baseline.learnedPackets, learned + 2)
    }

    func testEveryAnomalyExtendsStickiness() {
        var h = NormalTraffic.trained { $0.stickyNs = 5 * ns }
        defer { h.deallocate() }
        let t = h.now + 10 * ms
        XCTAssertTrue(h.send(newService(6_379), at: t).anomalous)
        XCTAssertTrue(h.send(newService(6_380), at: t + 4 * ns).anomalous)
        XCTAssertTrue(h.send(NormalTraffic.https, at: t + 8 * ns).sticky)
        XCTAssertFalse(h.send(NormalTraffic.https, at: t + 9 * ns + 1 * ms).sticky)
    }

    func testStickyZeroDisablesStickiness() {
        var h = NormalTraffic.trained { $0.stickyNs = 0 }
        defer { h.deallocate() }
        let t = h.now + 10 * ms
        XCTAssertTrue(h.send(newService(6_379), at: t).anomalous)
        XCTAssertFalse(h.send(NormalTraffic.https, at: t + 1 * ms).sticky)
        XCTAssertEqual(h.detector.shortTerm.suspects.count, 0)
    }

    func testTriggerOnlyAfterAQuietPeriod() {
        var h = NormalTraffic.trained { $0.stickyNs = 5 * ns }
        defer { h.deallocate() }
        let t = h.now + 10 * ms
        let a = h.send(newService(6_379), at: t)
        XCTAssertTrue(a.anomalous)
        XCTAssertTrue(a.trigger, "the first anomaly")
        let b = h.send(newService(6_380), at: t + 1 * ns)
        XCTAssertTrue(b.anomalous)
        XCTAssertFalse(b.trigger, "within sticky time of the previous anomaly")
        let c = h.send(newService(6_381), at: t + 4 * ns)
        XCTAssertFalse(c.trigger, "quiet time counts from the last anomaly")
        // Normal traffic in between does not end the episode early, nor start one.
        let n = h.send(NormalTraffic.dnsQuery, at: t + 6 * ns)
        XCTAssertFalse(n.trigger)
        XCTAssertFalse(n.anomalous)
        let d = h.send(newService(6_382), at: t + 9 * ns + 1 * ms)
        XCTAssertTrue(d.anomalous)
        XCTAssertTrue(d.trigger, "more than stickyNs after the last anomaly")
        XCTAssertEqual(h.detector.shortTerm.lastAnomalyNs, t + 9 * ns + 1 * ms)
    }

    func testSustainedAttackTriggersOnce() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        var triggers = 0, anomalies = 0
        for port in UInt16(1_000)..<1_500 {
            let v = h.send(newService(port), at: h.now + 50 * ms)
            if v.trigger { triggers += 1 }
            if v.anomalous { anomalies += 1 }
        }
        XCTAssertEqual(anomalies, 500)
        XCTAssertEqual(triggers, 1)
    }
}
