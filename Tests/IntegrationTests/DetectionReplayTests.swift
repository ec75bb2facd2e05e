import PacketCapture
import Foundation
import XCTest

/// `bmad replay` as an evaluation tool: the same capture gives the same decisions, the settings
/// that should silence the detector do, pre-trigger and sticky copies go out as documented, and
/// the mirror budget caps the copies.
final class DetectionReplayTests: IntegrationTestCase {
    // MARK: Determinism

    func testTwoReplaysOfMasscanMirrorTheSameFramesAndCountTheSame() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.spliced("masscan", attack: "masscan-tcp-1000-ports.pcap", attacker: "172.31.15.102", in: scratch)
        let first = try DetectionReplay.run([.init(name: "cam", path: scenario.path)], in: scratch, label: "first", learning: 86_400)
        let second = try DetectionReplay.run([.init(name: "cam", path: scenario.path)], in: scratch, label: "second", learning: 86_400)
        print("\(name): \(first.mirrorRecords.count) and \(second.mirrorRecords.count) frames mirrored, "
              + String(format: "%.2f s and %.2f s", first.seconds, second.seconds))

        XCTAssertGreaterThan(first.mirrorRecords.count, 1000)
        // The same frames in the same order, and the same counters, per VM and on the mirror.
        XCTAssertEqual(first.mirrorRecords.count, second.mirrorRecords.count)
        XCTAssertTrue(first.mirrorFrames == second.mirrorFrames, "the two mirror-out captures hold different frames")
        XCTAssertEqual(first.summary.vms, second.summary.vms, "summary vms sections differ")
        XCTAssertEqual(first.summary.mirror, second.summary.mirror, "summary mirror sections differ")
        // The file header and every record's lengths agree too.
        let a = try Data(contentsOf: URL(fileURLWithPath: first.mirrorPath))
        let b = try Data(contentsOf: URL(fileURLWithPath: second.mirrorPath))
        XCTAssertEqual(a.count, b.count, "mirror-out file sizes differ")
        XCTAssertEqual(a.prefix(24), b.prefix(24), "mirror-out file headers differ")
        XCTAssertEqual(first.mirrorRecords.map(\.originalLength), second.mirrorRecords.map(\.originalLength))

        // Every record carries the capture time of the mirrored packet, so the files are identical.
        XCTAssertEqual(a, b, "mirror-out files are not byte-identical")
        XCTAssertEqual(first.mirrorRecords.map(\.timestampNanoseconds).first,
                       scenario.records[scenario.attackIndices[0]].timestampNanoseconds,
                       "the first mirrored record does not carry the capture time of the first attack packet")
    }

    // MARK: Settings that mirror nothing

    func testSensitivityZeroMirrorsNothing() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.spliced("masscan", attack: "masscan-tcp-1000-ports.pcap", attacker: "172.31.15.102", in: scratch)
        let run = try DetectionReplay.run([.init(name: "cam", path: scenario.path)], in: scratch, label: "s0",
                                          learning: 86_400, sensitivity: 0)
        let vm = try run.summary.vm("cam")
        XCTAssertEqual(run.mirrorRecords.count, 0, "mirror-out is empty")
        XCTAssertEqual(vm.mirrored, 0)
        XCTAssertEqual(vm.anomalous, 0)
        XCTAssertEqual(vm.sticky, 0)
        XCTAssertEqual(vm.mirrorDecisions, 0)
        XCTAssertEqual(vm.preTrigger, 0)
        XCTAssertEqual(vm.reasons.values.reduce(0, +), 0, "no reason counted: \(vm.reasonText)")
        XCTAssertEqual(run.summary.mirror.sent, 0)
        // Everything is still forwarded.
        XCTAssertEqual(vm.seen, UInt64(scenario.records.count))
        XCTAssertEqual(vm.forwarded, vm.outgoing)
        XCTAssertEqual(vm.outgoing, UInt64(scenario.outgoingIndices.count))
    }

    func testLearningLongerThanTheCaptureMirrorsNothing() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.spliced("masscan", attack: "masscan-tcp-1000-ports.pcap", attacker: "172.31.15.102", in: scratch)
        let span = Double(CaptureSummary(records: scenario.records).timeSpanNanoseconds) / 1e9
        XCTAssertGreaterThan(span, 6 * 86_400, "the scenario spans the week")
        let learning = (span + 3600).rounded(.up)
        let run = try DetectionReplay.run([.init(name: "cam", path: scenario.path)], in: scratch, label: "learn", learning: learning)
        let vm = try run.summary.vm("cam")
        XCTAssertEqual(run.mirrorRecords.count, 0, "mirror-out is empty")
        XCTAssertEqual(vm.mirrored, 0)
        XCTAssertEqual(vm.mirrorDecisions, 0)
        XCTAssertEqual(vm.anomalous, 0)
        XCTAssertEqual(vm.learning, vm.outgoing, "every outgoing packet falls in the learning period")
        XCTAssertEqual(vm.outgoing, UInt64(scenario.outgoingIndices.count))
        XCTAssertEqual(vm.forwarded, vm.outgoing)
        XCTAssertEqual(vm.baseline?.learnedPackets, vm.outgoing, "everything was learned")
    }

    // MARK: Pre-trigger and sticky

    /// A VM (fixed MAC) talks to H1 udp/5000 once a second. With `--learning 10`:
    ///
    /// - t 29.5: trigger 1, H2 udp/6000 (new host, new service). The ring holds the last 8
    ///   packets, a22..a29; pre_trigger_seconds 5 keeps those from t ≥ 24.5: a25..a29.
    /// - t 31, 40, 60, 80, 89: H2 udp/5000 (a known service, so not anomalous): sticky, since H2
    ///   was flagged at 29.5 and sticky_seconds is 60 (until 89.5).
    /// - t 90, 100: H2 udp/5000 again, past the sticky time: not mirrored.
    /// - t 120..122.75: H1 every 0.25 s (12 packets), then trigger 2 at t 123, H3 udp/7000, more
    ///   than sticky_seconds after the last anomaly: 12 packets lie within 5 s, the ring keeps
    ///   the last 8 (b121.00..b122.75).
    /// - Frames from H1 to the VM (incoming) and H1 packets after each trigger: never mirrored.
    func testPreTriggerCopiesPrecedeTheTriggerAndStickyCopiesEndAfterStickySeconds() throws {
        let scratch = try makeScratch()
        let vmMAC = DetectionFrames.mac("02:00:00:00:00:01"), gateway = DetectionFrames.mac("02:00:00:00:00:fe")
        let vmIP = DetectionFrames.ip("10.0.0.1")
        let h1 = DetectionFrames.ip("10.0.0.2"), h2 = DetectionFrames.ip("10.0.0.3"), h3 = DetectionFrames.ip("10.0.0.4")
        let t0: UInt64 = 1_700_000_000 * 1_000_000_000
        var packets: [(t: Double, frame: [UInt8])] = []
        func out(_ t: Double, _ host: IPv4Address, _ port: UInt16, _ tag: String) {
            packets.append((t, DetectionFrames.udp(from: vmMAC, to: gateway, vmIP, host, destinationPort: port, tag: tag)))
        }
        func tagTime(_ t: Double) -> String { String(format: "%.2f", t) }
        for s in 0..<30 { out(Double(s), h1, 5000, "a\(s)") }                              // a0..a29
        out(29.5, h2, 6000, "trig1")
        for s in 30..<120 { out(Double(s) + 0.5, h1, 5000, "n\(s)") }                      // n30..n119 at s + 0.5
        for s in [31.0, 40, 60, 80, 89] { out(s, h2, 5000, "s\(Int(s))") }                // sticky
        for s in [90.0, 100] { out(s, h2, 5000, "late\(Int(s))") }                        // past sticky
        for k in 0..<12 { out(120 + 0.25 * Double(k), h1, 5000, "b" + tagTime(120 + 0.25 * Double(k))) }
        out(123, h3, 7000, "trig2")
        for s in [124.0, 125, 126] { out(s, h1, 5000, "p\(Int(s))") }
        // Replies toward the VM: incoming, never judged.
        for s in [50.2, 51.2, 52.2] {
            packets.append((s, DetectionFrames.udp(from: gateway, to: vmMAC, h1, vmIP, sourcePort: 5000, destinationPort: 40000, tag: "in\(Int(s))")))
        }
        packets.sort { $0.t < $1.t }
        let capture = scratch.file("crafted.pcap")
        let writer = try PcapWriter(path: capture, resolution: .nanoseconds)
        for p in packets { try writer.write(timestampNanoseconds: t0 + UInt64((p.t * 1e9).rounded()), data: p.frame) }
        try writer.close()

        let config = try scratch.write("""
            detection:
              pre_trigger_packets: 8
              pre_trigger_seconds: 5
              sticky_seconds: 60

            """, to: "detection.yaml")
        let run = try DetectionReplay.run([.init(name: "vm1", path: capture, mac: vmMAC.description)], in: scratch,
                                          label: "pretrigger", learning: 10, config: config)
        let vm = try run.summary.vm("vm1")
        let tags = run.mirrorFrames.map(DetectionFrames.tag)
        print("\(name): mirrored \(tags.joined(separator: " ")); \(vm.anomalous) anomalous, \(vm.sticky) sticky, \(vm.preTrigger) pre-trigger")

        // Frame by frame: pre-trigger copies right before their trigger, then the sticky copies.
        let expected = ["a25", "a26", "a27", "a28", "a29", "trig1", "s31", "s40", "s60", "s80", "s89"]
            + ["b121.00", "b121.25", "b121.50", "b121.75", "b122.00", "b122.25", "b122.50", "b122.75", "trig2"]
        XCTAssertEqual(tags, expected, "mirror-out, by tag")
        // The copies are the original frames, byte for byte.
        let byTag = Dictionary(packets.map { (DetectionFrames.tag($0.frame), $0.frame) }, uniquingKeysWith: { a, _ in a })
        for (i, frame) in run.mirrorFrames.enumerated() where i < expected.count {
            XCTAssertEqual(frame, byTag[expected[i]], "mirror-out frame \(i) (\(expected[i])) is not the original")
        }

        XCTAssertEqual(vm.seen, UInt64(packets.count))
        XCTAssertEqual(vm.incoming, 3)
        XCTAssertEqual(vm.outgoing, UInt64(packets.count - 3))
        XCTAssertEqual(vm.forwarded, vm.outgoing)
        XCTAssertEqual(vm.learning, 10, "a0..a9 fall in the 10 s learning period")
        XCTAssertEqual(vm.anomalous, 2, "the two triggers")
        XCTAssertEqual(vm.sticky, 5, "s31 s40 s60 s80 s89")
        XCTAssertEqual(vm.mirrorDecisions, 7)
        XCTAssertEqual(vm.preTrigger, 13, "5 copies before trigger 1 (time bound), 8 before trigger 2 (count bound)")
        XCTAssertEqual(vm.mirrored, 20)
        XCTAssertEqual(vm.mirrored, UInt64(run.mirrorRecords.count))
        XCTAssertEqual(vm.reasons["new-service"], 2, vm.reasonText)
        XCTAssertEqual(vm.reasons["new-destination"], 2, vm.reasonText)
        XCTAssertEqual(vm.budgetDrops + vm.mirrorDrops, 0)
        XCTAssertEqual(run.summary.mirror.sent, 20)
    }

    /// Two triggers in one rx burst (net_pcap hands the replay bursts of 32 frames: 0-31, 32-63,
    /// 64-95, 96-127), with sticky_seconds 0 so that every anomaly is a trigger and a 64-packet
    /// pre-trigger ring: trigger 1 (frame 96) sends the 64 packets before it; trigger 2 (frame
    /// 100) sends n97 n98 n99. One frame a second, one minute of learning.
    func testSecondTriggerInABurstGetsItsPreTriggerCopies() throws {
        let scratch = try makeScratch()
        let vmMAC = DetectionFrames.mac("02:00:00:00:00:01"), gateway = DetectionFrames.mac("02:00:00:00:00:fe")
        let vmIP = DetectionFrames.ip("10.0.0.1"), h1 = DetectionFrames.ip("10.0.0.2")
        let capture = scratch.file("two-triggers.pcap")
        let writer = try PcapWriter(path: capture)
        for i in 0...100 {
            let (port, tag): (UInt16, String) = i == 96 ? (6000, "trig1") : i == 100 ? (6001, "trig2") : (5000, "n\(i)")
            try writer.write(timestampNanoseconds: 1_700_000_000_000_000_000 + UInt64(i) * 1_000_000_000,
                             data: DetectionFrames.udp(from: vmMAC, to: gateway, vmIP, h1, destinationPort: port, tag: tag))
        }
        try writer.close()
        let config = try scratch.write("detection: {sticky_seconds: 0, pre_trigger_packets: 64, pre_trigger_seconds: 1000}\n", to: "two.yaml")
        let run = try DetectionReplay.run([.init(name: "vm1", path: capture, mac: vmMAC.description)], in: scratch,
                                          label: "two", learning: 60, config: config)
        let vm = try run.summary.vm("vm1")
        let tags = run.mirrorFrames.map(DetectionFrames.tag)
        print("\(name): \(vm.mirrored) mirrored, \(vm.preTrigger) pre-trigger; last copies \(tags.suffix(6).joined(separator: " "))")

        XCTAssertEqual(vm.anomalous, 2)
        XCTAssertEqual(Array(tags.prefix(65)), (32..<96).map { "n\($0)" } + ["trig1"], "trigger 1 and its 64 pre-trigger copies")
        XCTAssertEqual(vm.mirrored, UInt64(run.mirrorRecords.count))
        XCTAssertEqual(Array(tags.suffix(4)), ["n97", "n98", "n99", "trig2"], "trigger 2's pre-trigger copies")
        XCTAssertEqual(vm.preTrigger + vm.budgetDrops + vm.mirrorDrops, 67, "every pre-trigger candidate is sent or counted as dropped")
    }

    // MARK: Budget

    func testVMBudgetCapsMasscanCopies() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.spliced("masscan", attack: "masscan-tcp-1000-ports.pcap", attacker: "172.31.15.102", in: scratch)
        // Unlimited enough (the default budget): which packets the detector wants mirrored, and when.
        let free = try DetectionReplay.run([.init(name: "cam", path: scenario.path)], in: scratch, label: "free", learning: 86_400)
        let freeVM = try free.summary.vm("cam")
        XCTAssertEqual(freeVM.budgetDrops, 0)
        let score = DetectionScore(scenario: scenario, mirrored: free.mirrorFrames, learningSeconds: 86_400)
        XCTAssertEqual(score.unmatched, 0)
        XCTAssertEqual(freeVM.preTrigger, 0, "masscan's trigger has no pre-trigger copies (the budget model below assumes it)")
        let times = score.matched.compactMap { $0 }.map { scenario.records[$0].timestampNanoseconds }
        let span = Double(times.last! - times.first!) / 1e9

        for rate in [100.0, 25.0] {
            let config = try scratch.write("""
                mirror:
                  devargs: ignored_by_replay
                  encapsulation: none
                  budget: {vm_packets_per_second: \(rate)}

                """, to: "budget-\(Int(rate)).yaml")
            let run = try DetectionReplay.run([.init(name: "cam", path: scenario.path)], in: scratch, label: "budget\(Int(rate))",
                                              learning: 86_400, config: config)
            let vm = try run.summary.vm("cam")
            // A token bucket on packet time: `rate` per second, one second of burst, full at the start.
            var tokens = rate, last: UInt64 = 0, allowed = 0
            for t in times {
                if last != 0 && t > last { tokens = min(rate, tokens + Double(t - last) * 1e-9 * rate) }
                if t > last { last = t }
                if tokens >= 1 {
                    tokens -= 1
                    allowed += 1
                }
            }
            print("\(name): budget \(Int(rate))/s over \(String(format: "%.2f", span)) s of attack: "
                  + "\(vm.mirrored) mirrored (model \(allowed)), \(vm.budgetDrops) budget drops, \(vm.mirrorDecisions) decisions")

            XCTAssertEqual(vm.mirrorDecisions, freeVM.mirrorDecisions, "the budget does not change decisions")
            XCTAssertEqual(vm.anomalous, freeVM.anomalous)
            XCTAssertEqual(vm.mirrored, UInt64(run.mirrorRecords.count), "mirrored = records in mirror-out")
            XCTAssertEqual(vm.mirrored + vm.budgetDrops, vm.mirrorDecisions + vm.preTrigger,
                           "every decision is mirrored or dropped by the budget")
            XCTAssertLessThanOrEqual(Double(vm.mirrored), rate * span + rate + 1, "at most rate × time + one second of burst")
            XCTAssertEqual(Double(vm.mirrored), Double(allowed), accuracy: 2, "token bucket on capture time")
            XCTAssertEqual(vm.mirrorDrops, 0)
            // The copies are a subset of the unlimited run's, in capture order.
            let sub = DetectionScore(scenario: scenario, mirrored: run.mirrorFrames, learningSeconds: 86_400)
            XCTAssertEqual(sub.unmatched, 0)
            XCTAssertTrue(Set(sub.matched.compactMap { $0 }).isSubset(of: Set(score.matched.compactMap { $0 })),
                          "the budget only removes copies")
            XCTAssertEqual(sub.firstAttackMirrored, 1, "the burst lets the start of the attack through")
        }
    }
}
