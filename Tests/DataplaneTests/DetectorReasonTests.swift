import CDPDK
import XCTest

@testable import Dataplane

/// Each reason code fires on the traffic it describes, and normal traffic fires none.
final class DetectorReasonTests: DataplaneTestCase {
    private let ms: UInt64 = 1_000_000

    func testKnownDestinationsAndServicesAreNotFlagged() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let verdicts = NormalTraffic.run(&h, seconds: 60)
        XCTAssertEqual(verdicts.count, 600 + 120 + 30)
        for (i, v) in verdicts.enumerated() {
            XCTAssertFalse(v.learning, "packet \(i)")
            XCTAssertFalse(v.anomalous, "packet \(i): score \(v.score) reasons \(v.reasons.names)")
            XCTAssertFalse(v.mirror, "packet \(i)")
            XCTAssertLessThan(v.score, 1, "packet \(i)")
            XCTAssertEqual(v.reasons, [], "packet \(i)")
        }
    }

    func testNewServiceOnKnownHost() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        // A TCP connection to a port the VM never used, on the web server it talks to every day.
        let v = h.send(TestFrame.tcp(dst: Hosts.web, dstPort: 6379, flags: 0x02), at: h.now + 10 * ms)
        XCTAssertTrue(v.anomalous)
        XCTAssertTrue(v.mirror)
        XCTAssertEqual(v.reasons, .newService)
        XCTAssertEqual(v.score, 1.0)
        XCTAssertFalse(v.learning)
    }

    func testNewServiceOnUDPAndAnotherEthertype() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let ntp = h.send(TestFrame.udp(dst: Hosts.gateway, srcPort: 50_001, dstPort: 123, frameLength: 90), at: h.now + 5 * ms)
        XCTAssertTrue(ntp.anomalous)
        XCTAssertTrue(ntp.reasons.contains(.newService))
        // ARP was never seen in this VM's baseline either, but it is housekeeping: one request
        // to a new neighbour is judged by rate and fan-out, not by its novelty.
        let arp = h.send(TestFrame.arp(target: TestFrame.ip(192, 168, 1, 200)), at: h.now + 5 * ms)
        XCTAssertFalse(arp.anomalous)
        XCTAssertEqual(arp.scores[Reason.newService.rawValue.trailingZeroBitCount], 0)
        XCTAssertEqual(arp.scores[Reason.newDestination.rawValue.trailingZeroBitCount], 0)
    }

    func testNewHostOnKnownServiceAloneIsNotAnomalous() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        // Same service, same packet size as the VM's usual HTTPS traffic; only the host is new.
        let v = h.send(TestFrame.tcp(dst: TestFrame.ip(192, 168, 7, 11), dstPort: 443, payload: 200), at: h.now + 10 * ms)
        XCTAssertEqual(v.score, 0.5)
        // In a /24 the VM already talks to, the novelty is weaker still.
        let near = h.send(TestFrame.tcp(dst: TestFrame.ip(192, 168, 1, 11), dstPort: 443, payload: 200), at: h.now + 10 * ms)
        XCTAssertEqual(near.scores[0], 0.25)
        XCTAssertEqual(h.settings.newDestinationScore, 0.5)
        XCTAssertFalse(v.anomalous)
        XCTAssertFalse(v.mirror)
        XCTAssertFalse(v.sticky)
        XCTAssertEqual(v.reasons, [])
    }

    func testFanOutToManyNewHostsOnAKnownService() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        var verdicts: [Verdict] = []
        for i in 1...30 {
            let frame = TestFrame.tcp(dst: TestFrame.ip(192, 168, 2, UInt8(i)), dstPort: 443, payload: 200)
            verdicts.append(h.send(frame, at: h.now + 50 * ms))
        }
        for v in verdicts.prefix(5) {
            XCTAssertFalse(v.anomalous, "the first few new hosts are ordinary")
            XCTAssertFalse(v.reasons.contains(.fanOut))
        }
        let flagged = verdicts.filter { $0.reasons.contains(.fanOut) }
        XCTAssertFalse(flagged.isEmpty, "30 new hosts in 1.5 s is a fan-out")
        XCTAssertTrue(verdicts.last!.anomalous)
        XCTAssertTrue(verdicts.last!.reasons.contains(.fanOut))
        XCTAssertTrue(verdicts.last!.reasons.contains(.newDestination))
        for v in verdicts {
            XCTAssertFalse(v.reasons.contains(.newService), "443 is a known service")
            XCTAssertFalse(v.reasons.contains(.portScan), "one port per host")
        }
        // The fan-out fires at about fanOutLimit (8) new hosts.
        let first = verdicts.firstIndex { $0.reasons.contains(.fanOut) }!
        XCTAssertTrue((6...9).contains(first), "first fan-out at host \(first + 1)")
    }

    func testPortScanOfOneHost() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        var verdicts: [Verdict] = []
        for port in UInt16(1_000)..<1_040 {
            verdicts.append(h.send(TestFrame.tcp(dst: Hosts.web, srcPort: 45_000, dstPort: port, flags: 0x02),
                                   at: h.now + 10 * ms))
        }
        XCTAssertFalse(verdicts[0].reasons.contains(.portScan))
        XCTAssertTrue(verdicts[0].reasons.contains(.newService))
        let first = verdicts.firstIndex { $0.reasons.contains(.portScan) }
        XCTAssertNotNil(first)
        if let first { XCTAssertTrue((6...9).contains(first), "first port-scan at port \(first + 1)") }
        for v in verdicts.suffix(20) {
            XCTAssertTrue(v.anomalous)
            XCTAssertTrue(v.reasons.contains(.portScan))
            XCTAssertFalse(v.reasons.contains(.fanOut), "one host")
            XCTAssertFalse(v.reasons.contains(.newDestination), "a known host")
        }
    }

    func testPortScanOfKnownPortsOnANewHost() {
        // Ports the VM uses (443, 53) plus new ones on a host it never talked to.
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let target = TestFrame.ip(192, 168, 9, 9)
        var last = Verdict()
        for port in UInt16(20)..<60 {
            last = h.send(TestFrame.tcp(dst: target, srcPort: 45_000, dstPort: port, flags: 0x02), at: h.now + 10 * ms)
        }
        XCTAssertTrue(last.reasons.contains(.portScan))
        XCTAssertTrue(last.reasons.contains(.newDestination))
    }

    /// A burst to a known service on a known host at 100 times its learned rate.
    func testRateSpikeOnAKnownService() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let servicePeak = h.detector.baseline.services.find(serviceKey(forFrame: NormalTraffic.https), 0)!.pointee.value.peak
        var verdicts: [Verdict] = []
        for _ in 0..<3_000 { verdicts.append(h.send(NormalTraffic.https, at: h.now + 1 * ms)) }
        XCTAssertFalse(verdicts[0].anomalous, "one more packet is no spike")
        for v in verdicts { XCTAssertFalse(v.reasons.contains(.newService)) }
        let flagged = verdicts.filter { $0.reasons.contains(.rateSpike) }
        XCTAssertFalse(flagged.isEmpty, "1,000 packets/s against a learned 10 packets/s")
        XCTAssertTrue(verdicts.last!.anomalous)
        // The attack must not raise the peak it is judged against.
        let after = h.detector.baseline.services.find(serviceKey(forFrame: NormalTraffic.https), 0)!.pointee.value.peak
        XCTAssertLessThan(after, 3 * servicePeak + 10)
    }

    /// The same burst spread over many known services... the VM as a whole goes far above its peak.
    func testRateSpikeOfTheWholeVM() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let vmPeak = h.detector.baseline.peak10
        var verdicts: [Verdict] = []
        for i in 0..<3_000 {
            let frame = i % 2 == 0 ? NormalTraffic.https : NormalTraffic.dnsQuery
            verdicts.append(h.send(frame, at: h.now + 1 * ms))
        }
        XCTAssertTrue(verdicts.contains { $0.reasons.contains(.rateSpike) })
        XCTAssertLessThan(h.detector.baseline.peak10, 3 * vmPeak + 10)
    }

    /// Rate spike alongside other deviations: anomalous packets do not raise the peaks, so the VM
    /// rate is judged against the learned one.
    func testRateSpikeAccompaniesAFastScan() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let vmPeak = h.detector.baseline.peak10
        var last = Verdict()
        for port in UInt16(2_000)..<5_000 {
            last = h.send(TestFrame.tcp(dst: Hosts.web, srcPort: 45_000, dstPort: port, flags: 0x02), at: h.now + 1 * ms)
        }
        XCTAssertTrue(last.reasons.contains(.rateSpike))
        XCTAssertTrue(last.reasons.contains(.portScan))
        XCTAssertEqual(h.detector.baseline.peak10, vmPeak, "anomalous packets do not raise the peak")
    }

    func testSizeOutlierOnDNS() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        // A slightly larger query is within the usual spread.
        let near = h.send(TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 80), at: h.now + 10 * ms)
        XCTAssertFalse(near.anomalous, "score \(near.score)")
        let big = h.send(TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 300), at: h.now + 10 * ms)
        XCTAssertTrue(big.anomalous, "score \(big.score)")
        XCTAssertEqual(big.reasons, .sizeOutlier)
        // 286 vs 60 bytes of IP length, spread max(0, 6, 8) = 8, 6 deviations score 1.
        XCTAssertEqual(big.score, (286.0 - 60.0) / 8 / 6, accuracy: 0.01)
        let normal = h.send(NormalTraffic.dnsQuery, at: h.now + 10 * ms)
        XCTAssertFalse(normal.anomalous)
        XCTAssertFalse(normal.reasons.contains(.sizeOutlier))
    }

    func testProtocolShiftOnICMPBurst() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        let icmpPeak = h.detector.baseline.classPeaks.2
        XCTAssertGreaterThan(icmpPeak, 0, "the VM learned a little ICMP")
        var verdicts: [Verdict] = []
        for _ in 0..<300 { verdicts.append(h.send(NormalTraffic.ping, at: h.now + 10 * ms)) }
        XCTAssertFalse(verdicts[0].anomalous)
        XCTAssertTrue(verdicts.contains { $0.reasons.contains(.protocolShift) },
                      "100 pings/s against one every 2 s")
        XCTAssertLessThan(h.detector.baseline.classPeaks.2, 3 * icmpPeak + 10)
    }

    /// ICMP to many hosts (a ping sweep): the packets are novel, so they do not teach the class peak,
    /// and the ICMP share goes far above its learned peak.
    func testProtocolShiftOnPingSweep() {
        var h = NormalTraffic.trained()
        defer { h.deallocate() }
        var last = Verdict()
        for i in 0..<200 {
            last = h.send(TestFrame.icmp(dst: TestFrame.ip(10, 1, UInt8(i / 250), UInt8(i % 250 + 1))), at: h.now + 10 * ms)
        }
        XCTAssertTrue(last.anomalous)
        XCTAssertTrue(last.reasons.contains(.protocolShift))
        XCTAssertTrue(last.reasons.contains(.fanOut))
    }
}

/// The service key of a frame, as the detector computes it.
func serviceKey(forFrame frame: [UInt8]) -> UInt64 {
    var p = TestFrame.parse(frame)
    return withUnsafePointer(to: &p) { serviceKey($0) }
}
