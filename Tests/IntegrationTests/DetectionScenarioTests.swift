import PacketCapture
import Foundation
import XCTest

/// The acceptance table of BMA's detection: labelled scenarios (the benign camera week with an
/// attack spliced in at day 4, built here with the splicer) replayed through `bmad replay` with
/// default settings and a one-day learning period, then scored as scripts/score-replay does.
///
/// | scenario | attack mirrored | benign after learning mirrored | first attack packet mirrored |
/// |---|---|---|---|
/// | masscan (172.31.15.102) | ≥ 99 % | ≤ 0.1 % | ≤ 10 |
/// | nmap port-80 sweep (10.87.1.10, scanner's packets only) | ≥ 99 % | ≤ 0.1 % | ≤ 10 |
/// | iodine DNS tunnel (10.0.2.30) | ≥ 90 % | ≤ 0.1 % | ≤ 20 |
/// | benign week alone | – | ≤ 0.1 % | – |
final class DetectionScenarioTests: IntegrationTestCase {
    static let learningSeconds = 86_400.0
    /// A replay of about 25k frames takes well under 5 s; this bounds a loaded machine.
    static let replayTimeLimit = 30.0

    /// Measured rows, printed as a table once the class has run.
    nonisolated(unsafe) static var rows: [(order: Int, text: String)] = []

    override class func tearDown() {
        if !rows.isEmpty {
            print("""
            DetectionScenarioTests: measured (bmad replay --learning 86400, default settings)
            scenario        | attack mirrored        | benign after learning mirrored | first attack pkt | mirrored | replay
            """ + "\n" + rows.sorted { $0.order < $1.order }.map(\.text).joined(separator: "\n"))
        }
        super.tearDown()
    }

    func testMasscanIsMirroredAndBenignIsNot() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.spliced("masscan", attack: "masscan-tcp-1000-ports.pcap", attacker: "172.31.15.102", in: scratch)
        XCTAssertEqual(scenario.attackIndices.count, 1005, "masscan-tcp-1000-ports.pcap changed")
        try check(scenario, order: 0, in: scratch, minAttackPercent: 99, maxFirst: 10)
    }

    func testNmapSweepIsMirroredAndBenignIsNot() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.spliced("nmap", attack: "nmap-port80-sweep.pcap", attacker: "10.87.1.10", in: scratch)
        XCTAssertEqual(scenario.attackIndices.count, 227, "nmap-port80-sweep.pcap changed (scanner's packets only)")
        try check(scenario, order: 1, in: scratch, minAttackPercent: 99, maxFirst: 10)
    }

    func testIodineTunnelIsMirroredAndBenignIsNot() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.spliced("iodine", attack: "iodine-dns-tunnel.pcap", attacker: "10.0.2.30", in: scratch)
        XCTAssertEqual(scenario.attackIndices.count, 222, "iodine-dns-tunnel.pcap changed")
        try check(scenario, order: 2, in: scratch, minAttackPercent: 90, maxFirst: 20)
    }

    func testBenignWeekAloneIsNotMirroredAfterLearning() throws {
        let scratch = try makeScratch()
        let scenario = try DetectionScenario.benignWeek()
        XCTAssertEqual(scenario.records.count, 24_022, "benign-camera-week.pcap changed")
        try check(scenario, order: 3, in: scratch, minAttackPercent: nil, maxFirst: nil)
    }

    // MARK: -

    /// Replays `scenario`, checks the summary against the capture and the mirror-out file, scores
    /// it and asserts the acceptance row.
    private func check(
        _ scenario: DetectionScenario, order: Int, in scratch: ScratchDirectory,
        minAttackPercent: Double?, maxFirst: Int?, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let label = scenario.name.replacingOccurrences(of: " ", with: "-")
        let run = try DetectionReplay.run([.init(name: "cam", path: scenario.path)], in: scratch, label: label,
                                          learning: Self.learningSeconds)
        let score = DetectionScore(scenario: scenario, mirrored: run.mirrorFrames, learningSeconds: Self.learningSeconds)
        let vm = try run.summary.vm("cam")

        let firstText = score.firstAttackMirrored.map(String.init) ?? "–"
        let attackText = scenario.attackIndices.isEmpty ? "–"
            : "\(score.attackMirrored)/\(score.attackPackets) (\(String(format: "%.2f", score.attackPercent)) %)"
        let row = [
            scenario.name.padding(toLength: 15, withPad: " ", startingAt: 0),
            attackText.padding(toLength: 22, withPad: " ", startingAt: 0),
            "\(score.benignMirrored)/\(score.benignAfterLearning) (\(String(format: "%.3f", score.benignPercent)) %)".padding(toLength: 30, withPad: " ", startingAt: 0),
            firstText.padding(toLength: 16, withPad: " ", startingAt: 0),
            String(score.mirroredTotal).padding(toLength: 8, withPad: " ", startingAt: 0),
            String(format: "%.2f s", run.seconds),
        ].joined(separator: " | ")
        Self.rows.append((order, row))
        print("\(name): \(scenario.name): \(score); replay \(String(format: "%.2f", run.seconds)) s; "
              + "summary: \(vm.mirrored) mirrored (\(vm.anomalous) anomalous, \(vm.sticky) sticky, \(vm.preTrigger) pre-trigger) \(vm.reasonText)")

        // Every mirrored frame is a frame of the scenario, in capture order.
        XCTAssertEqual(score.unmatched, 0, "\(scenario.name): mirrored frames that do not match the scenario in order", file: file, line: line)

        // The acceptance row.
        if let minAttackPercent {
            XCTAssertGreaterThanOrEqual(score.attackPercent, minAttackPercent, "\(scenario.name): attack packets mirrored: \(score)", file: file, line: line)
        }
        XCTAssertLessThanOrEqual(score.benignPercent, 0.1, "\(scenario.name): benign packets mirrored after learning: \(score)", file: file, line: line)
        XCTAssertGreaterThan(score.benignAfterLearning, 10_000, "\(scenario.name): the benign traffic after learning is the bulk of the week", file: file, line: line)
        if let maxFirst {
            if let first = score.firstAttackMirrored {
                XCTAssertLessThanOrEqual(first, maxFirst, "\(scenario.name): mirroring started late: \(score)", file: file, line: line)
            } else {
                XCTFail("\(scenario.name): no attack packet mirrored: \(score)", file: file, line: line)
            }
        }
        XCTAssertLessThan(run.seconds, Self.replayTimeLimit, "\(scenario.name): replay too slow", file: file, line: line)

        // The summary agrees with the capture and with the mirror-out file.
        let outgoing = UInt64(scenario.outgoingIndices.count)
        XCTAssertEqual(run.summary.vms.count, 1, file: file, line: line)
        XCTAssertEqual(vm.mac?.lowercased(), scenario.victimMAC.description.lowercased(), "the VM's MAC is the capture's most frequent source MAC", file: file, line: line)
        XCTAssertEqual(vm.seen, UInt64(scenario.records.count), "seen = records in the capture", file: file, line: line)
        XCTAssertEqual(vm.outgoing + vm.incoming, vm.seen, "seen = outgoing + incoming", file: file, line: line)
        XCTAssertEqual(vm.outgoing, outgoing, "outgoing = frames from the VM's MAC", file: file, line: line)
        XCTAssertEqual(vm.forwarded, vm.outgoing, "forwarded = outgoing", file: file, line: line)
        XCTAssertEqual(vm.learning, UInt64(score.outgoingInLearning), "learning = outgoing frames of the first day", file: file, line: line)
        XCTAssertEqual(vm.mirrored, UInt64(run.mirrorRecords.count), "mirrored = records in mirror-out", file: file, line: line)
        XCTAssertEqual(run.summary.mirror.sent, vm.mirrored, "mirror.sent = the VM's mirrored", file: file, line: line)
        XCTAssertEqual(vm.anomalous + vm.sticky, vm.mirrorDecisions, "mirror decisions = anomalous + sticky", file: file, line: line)
        XCTAssertEqual(vm.budgetDrops + vm.mirrorDrops, 0, "nothing dropped with the default budget", file: file, line: line)
        XCTAssertEqual(vm.mirrored, vm.mirrorDecisions + vm.preTrigger, "every decision and pre-trigger copy went out", file: file, line: line)
        XCTAssertEqual(run.summary.mirror.nombuf + run.summary.mirror.ringfull + run.summary.mirror.tooBig, 0, file: file, line: line)
        // Reason counts are per decision; a decision has at least one reason.
        XCTAssertGreaterThanOrEqual(vm.reasons.values.reduce(0, +), vm.anomalous, "reasons of anomalous packets", file: file, line: line)
        if let b = vm.baseline {
            XCTAssertEqual(b.learnedPackets, vm.outgoing - vm.mirrorDecisions,
                           "the baseline learns every outgoing packet not mirrored", file: file, line: line)
        } else {
            XCTFail("summary has no baseline for the VM", file: file, line: line)
        }
    }
}
