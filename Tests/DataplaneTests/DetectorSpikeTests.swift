import XCTest

@testable import Dataplane

/// Rate spikes on a VM's usual service: learned peaks are the bursts the VM really sent, and a
/// spike that is not flagged yet teaches no sizes.
final class DetectorSpikeTests: DataplaneTestCase {
    private let ms: UInt64 = 1_000_000

    /// Full-size segments and bare acknowledgements to the VM's usual server, like a camera that
    /// uploads clips: IP lengths 1,440 and 40.
    private let segment = TestFrame.tcp(dst: Hosts.web, dstPort: 443, payload: 1_400)
    private let ack = TestFrame.tcp(dst: Hosts.web, dstPort: 443, flags: 0x10)

    /// One clip: 100 segments 20 ms apart with an acknowledgement after every 25th.
    @discardableResult
    private func clip(_ h: inout DetectorHarness, at start: UInt64) -> [Verdict] {
        var out: [Verdict] = []
        for i in 0..<100 {
            let t = start + UInt64(i) * 20 * ms
            out.append(h.send(segment, at: t))
            if i % 25 == 24 { out.append(h.send(ack, at: t + 10 * ms)) }
        }
        return out
    }

    /// A clip every 100 s from the VM's first packet through a 5-minute learning period.
    private func cameraAfterLearning() -> DetectorHarness {
        var h = DetectorHarness(learningSeconds: 300)
        let start = h.now
        for n in 0..<3 { clip(&h, at: start + UInt64(n) * 100 * ns) }
        return h
    }

    private func service(_ h: DetectorHarness) -> Baseline.Service {
        h.detector.baseline.services.find(serviceKey(forFrame: segment), 0)!.pointee.value
    }

    /// The first burst starts the service's meter. A learning period long enough for the meter to
    /// settle keeps the count observed (at most the burst's 100 packets), not the count corrected
    /// for a young meter, which reads the burst as a rate that lasted (about twice as much).
    func testBurstAtTheStartOfAServiceIsLearnedAsSeen() {
        var long = DetectorHarness(learningSeconds: 1_200)
        defer { long.deallocate() }
        clip(&long, at: long.now)
        let observed = service(long).rate.value
        XCTAssertEqual(service(long).peak, observed, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(service(long).peak, 105)
        XCTAssertLessThanOrEqual(long.detector.baseline.peak10, 105)
        XCTAssertLessThanOrEqual(long.detector.baseline.classPeaks.0, 105)

        // Ten seconds of learning cannot show a steady rate settling: the corrected count.
        var short = DetectorHarness(learningSeconds: 10)
        defer { short.deallocate() }
        clip(&short, at: short.now)
        XCTAssertGreaterThan(service(short).peak, 1.5 * observed)
        XCTAssertGreaterThan(short.detector.baseline.peak10, 1.5 * observed)
    }

    /// An upload to the usual server and service at 250 full-size segments/s: it looks like a
    /// clip until it outgrows the learned clips, and is flagged once its count reaches twice the
    /// learned peak. Until then it is normal, but from half-way to the spike on it teaches no
    /// sizes: afterwards the acknowledgements are as ordinary as before, where learning every
    /// packet before the flag would have made them size outliers.
    func testUploadToTheUsualServiceIsFlaggedAtTwiceItsPeakAndTeachesNoSizes() {
        var h = cameraAfterLearning()
        defer { h.deallocate() }
        let peak = service(h).peak
        XCTAssertLessThanOrEqual(peak, 105, "the clips as sent")
        let before = service(h).size
        let ackScore = Detector.sizeScore(40, before, h.settings)
        XCTAssertGreaterThan(ackScore, 0.5, "acknowledgements are rare among the service's sizes")
        XCTAssertLessThan(ackScore, 1)

        let upload = h.now + 100 * ns
        var verdicts: [Verdict] = []
        for i in 0..<3_000 { verdicts.append(h.send(segment, at: upload + UInt64(i) * 4 * ms)) }
        guard let first = verdicts.firstIndex(where: \.anomalous) else { return XCTFail("the upload was not flagged") }
        // The damped count lags the packets sent a little: flagged within 10 % of 2 × peak + 10.
        XCTAssertLessThanOrEqual(first, Int(1.1 * (2 * peak + 10)))
        XCTAssertTrue(verdicts[first...].allSatisfy { $0.anomalous && $0.reasons.contains(.rateSpike) })
        // Only the packets below half the spike (the learned peak + 5) taught their size.
        XCTAssertLessThanOrEqual(service(h).size.weight - before.weight, peak + 10)
        XCTAssertEqual(service(h).peak, peak, accuracy: 0.01 * peak, "the peak grows slowly after learning")

        // Stickiness over, the next clip and its acknowledgements are normal again.
        let after = clip(&h, at: upload + 200 * ns)
        XCTAssertFalse(after.contains { $0.anomalous })
        XCTAssertLessThan(Detector.sizeScore(40, service(h).size, h.settings), 1)

        // Had every packet before the flag taught its size, the acknowledgements would now be outliers.
        var taught = before
        for i in 0..<first { taught.add(1_440, at: upload + UInt64(i) * 4 * ms, halfLifeNs: HalfLife.size) }
        XCTAssertGreaterThan(Detector.sizeScore(40, taught, h.settings), 1)
    }
}
