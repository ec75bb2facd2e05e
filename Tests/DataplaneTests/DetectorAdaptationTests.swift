import XCTest

@testable import Dataplane

/// The baseline adapts only from normal traffic: attacks do not teach themselves, while novelty
/// that keeps coming back without any other deviation is eventually promoted.
final class DetectorAdaptationTests: DataplaneTestCase {
    private let ms: UInt64 = 1_000_000

    func testNewServiceAttackDoesNotTeachItself() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let learned = h.detector.baseline.learnedPackets
        let services = h.detector.baseline.services.count
        let attack = TestFrame.tcp(dst: Hosts.web, srcPort: 45_000, dstPort: 6_667, payload: 100)
        var anomalous = 0
        for _ in 0..<1_000 where h.send(attack, at: h.now + 20 * ms).anomalous { anomalous += 1 }
        XCTAssertEqual(anomalous, 1_000)
        XCTAssertEqual(h.detector.baseline.learnedPackets, learned)
        XCTAssertEqual(h.detector.baseline.services.count, services)
        XCTAssertNil(h.detector.baseline.services.find(serviceKey(forFrame: attack), 0))
        let v = h.send(attack, at: h.now + 20 * ms)
        XCTAssertTrue(v.anomalous)
        XCTAssertTrue(v.reasons.contains(.newService))
    }

    func testSizeOutlierAttackDoesNotTeachItself() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let key = serviceKey(forFrame: NormalTraffic.dnsQuery)
        let mean = h.detector.baseline.services.find(key, 0)!.pointee.value.size.mean
        // DNS tunnelling: large queries to the usual resolver, at the usual rate.
        let exfil = TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 900)
        var anomalous = 0
        for _ in 0..<1_000 where h.send(exfil, at: h.now + 500 * ms).anomalous { anomalous += 1 }
        XCTAssertEqual(anomalous, 1_000)
        XCTAssertEqual(h.detector.baseline.services.find(key, 0)!.pointee.value.size.mean, mean)
        XCTAssertEqual(h.send(exfil, at: h.now + 500 * ms).reasons, .sizeOutlier)
    }

    func testFanOutAttackDoesNotTeachItself() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let hosts = h.detector.baseline.hosts.count
        var verdicts: [Verdict] = []
        for i in 0..<1_000 {
            let dst = TestFrame.ip(10, 200, UInt8(i / 250), UInt8(i % 250 + 1))
            verdicts.append(h.send(TestFrame.tcp(dst: dst, dstPort: 443, payload: 200), at: h.now + 10 * ms))
        }
        let learnedHosts = h.detector.baseline.hosts.count - hosts
        XCTAssertLessThan(learnedHosts, 10, "only the hosts before the fan-out was recognised")
        XCTAssertTrue(verdicts.suffix(990).allSatisfy { $0.anomalous && $0.reasons.contains(.fanOut) })
        // The same sweep again, over hosts already seen during the attack: still anomalous.
        let again = h.send(TestFrame.tcp(dst: TestFrame.ip(10, 200, 3, 250), dstPort: 443, payload: 200),
                           at: h.now + 10 * ms)
        XCTAssertTrue(again.anomalous)
        XCTAssertTrue(again.reasons.contains(.newDestination))
    }

    func testRecurringNewServiceIsPromoted() {
        var h = NormalTraffic.trained {
            $0.promoteNs = 30 * ns
            $0.stickyNs = 1 * ns
        }
        defer { h.deallocate() }
        let app = TestFrame.tcp(dst: Hosts.web, srcPort: 41_000, dstPort: 8_080, payload: 300)
        let first = h.now + 10 * ms
        var verdicts: [Verdict] = []
        // One packet every 2 s: never a rate or size deviation, only novelty.
        for i in 0..<16 { verdicts.append(h.send(app, at: first + UInt64(i) * 2 * ns)) }
        for v in verdicts.prefix(15) {
            XCTAssertTrue(v.anomalous)
            XCTAssertEqual(v.reasons, .newService)
            XCTAssertFalse(v.promoted)
        }
        let promoted = verdicts[15]
        XCTAssertTrue(promoted.promoted, "30 s after first seen")
        XCTAssertFalse(promoted.anomalous)
        XCTAssertFalse(promoted.mirror)
        XCTAssertNotNil(h.detector.baseline.services.find(serviceKey(forFrame: app), 0))

        let after = h.send(app, at: first + 32 * ns)
        XCTAssertFalse(after.anomalous)
        XCTAssertFalse(after.promoted)
        XCTAssertFalse(after.mirror)
        XCTAssertEqual(after.reasons, [])
        XCTAssertLessThan(after.score, 1)
    }

    func testPromotionNeedsNoveltyAlone() {
        // A new service that also has another deviation (here a fast scan) is never promoted.
        var h = NormalTraffic.trained { $0.promoteNs = 2 * ns }
        defer { h.deallocate() }
        var promoted = 0
        for i in 0..<4_000 {
            let port = UInt16(10_000 + i % 500)
            if h.send(TestFrame.tcp(dst: Hosts.web, srcPort: 45_000, dstPort: port, flags: 0x02), at: h.now + 1 * ms).promoted {
                promoted += 1
            }
        }
        XCTAssertEqual(promoted, 0)
    }

    func testPromotionDisabledWithZero() {
        var h = NormalTraffic.trained { $0.promoteNs = 0 }
        defer { h.deallocate() }
        let app = TestFrame.tcp(dst: Hosts.web, srcPort: 41_000, dstPort: 8_080, payload: 300)
        for i in 0..<100 {
            let v = h.send(app, at: h.now + 2 * ns)
            XCTAssertTrue(v.anomalous, "packet \(i)")
            XCTAssertFalse(v.promoted)
        }
    }
}
