import XCTest

@testable import Dataplane

/// Sensitivity scaling: global and per VM.
final class DetectorSensitivityTests: DataplaneTestCase {
    private let ms: UInt64 = 1_000_000

    private func newService(_ port: UInt16) -> [UInt8] { TestFrame.tcp(dst: Hosts.web, dstPort: port, flags: 0x02) }
    /// A host outside every prefix the VM knows (a known /24 would halve its novelty).
    private func newHost(_ last: UInt8) -> [UInt8] {
        TestFrame.tcp(dst: TestFrame.ip(192, 168, 7, last), dstPort: 443, payload: 200)
    }
    private let bigQuery = TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 300)

    func testSensitivityZeroNeverFlags() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        h.settings.sensitivity = 0
        var verdicts: [Verdict] = []
        for port in UInt16(1_000)..<1_040 { verdicts.append(h.send(newService(port), at: h.now + 5 * ms)) }
        for i in UInt8(100)..<140 { verdicts.append(h.send(newHost(i), at: h.now + 5 * ms)) }
        verdicts.append(h.send(bigQuery, at: h.now + 5 * ms))
        for _ in 0..<500 { verdicts.append(h.send(NormalTraffic.ping, at: h.now + 1 * ms)) }
        for v in verdicts {
            XCTAssertFalse(v.anomalous)
            XCTAssertFalse(v.mirror)
            XCTAssertEqual(v.reasons, [])
        }
        // The scores are still computed.
        XCTAssertGreaterThanOrEqual(verdicts[0].score, 1)
        XCTAssertGreaterThan(verdicts.map(\.score).max()!, 1)
    }

    func testHalfSensitivityNeedsTwiceTheDeviation() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        h.settings.sensitivity = 0.5
        let svc = h.send(newService(6_379), at: h.now + 10 * ms)
        XCTAssertEqual(svc.score, 1)
        XCTAssertFalse(svc.anomalous, "a score-1 new service at sensitivity 0.5")
        // A size outlier scoring about 4.7 is still flagged at 0.5.
        let big = h.send(bigQuery, at: h.now + 10 * ms)
        XCTAssertGreaterThan(big.score, 2)
        XCTAssertTrue(big.anomalous)
        XCTAssertEqual(big.reasons, .sizeOutlier)
    }

    func testDoubleSensitivityFlagsANewHost() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        h.settings.sensitivity = 2
        // Normal traffic stays normal at sensitivity 2 (rates stay below half their threshold).
        let normal = NormalTraffic.run(&h, seconds: 10)
        XCTAssertFalse(normal.contains { $0.anomalous })
        let v = h.send(newHost(20), at: h.now + 10 * ms)
        XCTAssertEqual(v.score, 0.5)
        XCTAssertTrue(v.anomalous)
        XCTAssertEqual(v.reasons, .newDestination)
    }

    func testPerVMSensitivityOverridesTheGlobalOne() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        XCTAssertNil(h.detector.sensitivity)
        h.settings.sensitivity = 1

        h.detector.sensitivity = 0.5
        XCTAssertFalse(h.send(newService(7_001), at: h.now + 10 * ms).anomalous)

        h.detector.sensitivity = 0
        XCTAssertFalse(h.send(newService(7_002), at: h.now + 10 * ms).anomalous)
        XCTAssertFalse(h.send(bigQuery, at: h.now + 10 * ms).anomalous)

        h.detector.sensitivity = nil
        XCTAssertTrue(h.send(newService(7_003), at: h.now + 10 * ms).anomalous)

        // A stricter VM under a lenient global setting.
        h.settings.sensitivity = 0.5
        h.detector.sensitivity = 2
        let v = h.send(newHost(30), at: h.now + 10 * ms)
        XCTAssertTrue(v.anomalous)
        XCTAssertTrue(v.reasons.contains(.newDestination))
        h.detector.sensitivity = nil
        XCTAssertFalse(h.send(newService(7_004), at: h.now + 10 * ms).anomalous, "back to the global 0.5")
    }
}
