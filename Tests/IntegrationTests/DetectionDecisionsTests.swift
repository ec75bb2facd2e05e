import PacketCapture
import Foundation
import XCTest

/// `bmad replay --decisions`: one JSON line per mirrored packet, saying why, and the same bytes
/// from two replays of one capture.
final class DetectionDecisionsTests: IntegrationTestCase {
    func testEveryMirroredPacketIsExplainedAndTwoRunsAgree() throws {
        let scratch = try makeScratch()
        let attack = try PcapCapture.read(path: try TestEnvironment.capture("masscan-tcp-1000-ports.pcap"))
        let scenario = try DetectionScenario.spliced("lockhub masscan", attack: attack, attacker: "172.31.15.102",
                                                     into: "benign-lockhub-week.pcap", day: 4, in: scratch)
        var runs: [(ReplayRun, Data)] = []
        for label in ["first", "second"] {
            let path = scratch.file("\(label).decisions.jsonl")
            let run = try DetectionReplay.run([.init(name: "hub", path: scenario.path)], in: scratch, label: label,
                                              learning: 86_400, decisions: path)
            runs.append((run, try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        let (run, data) = runs[0]
        XCTAssertEqual(data, runs[1].1, "the decisions of two replays differ")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run.mirrorPath)),
                       try Data(contentsOf: URL(fileURLWithPath: runs[1].0.mirrorPath)), "mirror-out files differ")

        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, run.mirrorRecords.count, "one line per mirrored packet")
        var kinds: [String: Int] = [:]
        for (i, line) in lines.enumerated() {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                XCTFail("line \(i + 1) is not a JSON object: \(line)")
                continue
            }
            // In mirror order, with the mirrored frame's capture time.
            XCTAssertEqual((o["ts_ns"] as? NSNumber)?.uint64Value, run.mirrorRecords[i].timestampNanoseconds, "line \(i + 1)")
            XCTAssertEqual(o["vm"] as? String, "hub")
            let kind = o["kind"] as? String ?? "?"
            kinds[kind, default: 0] += 1
            XCTAssertNotNil(o["reasons"] as? [String], "line \(i + 1)")
            XCTAssertNotNil((o["threshold"] as? NSNumber)?.doubleValue, "line \(i + 1)")
            if kind != "pre-trigger" {
                let score = (o["score"] as? NSNumber)?.doubleValue ?? -1
                let threshold = (o["threshold"] as? NSNumber)?.doubleValue ?? 99
                let scores = o["scores"] as? [String: Double] ?? [:]
                if kind == "trigger" || kind == "anomalous" {
                    XCTAssertGreaterThanOrEqual(score, threshold - 1e-4, "line \(i + 1): anomalous below its threshold")
                    // The reasons that fired are those whose sub-score reached the threshold.
                    for r in o["reasons"] as? [String] ?? [] where r != "new-destination" && r != "new-service" {
                        XCTAssertGreaterThanOrEqual(scores[r] ?? 0, threshold - 1e-4, "line \(i + 1): \(r)")
                    }
                    XCTAssertEqual(scores.values.max() ?? 0, score, accuracy: 1e-3, "line \(i + 1): score is the largest sub-score")
                }
            }
        }
        // The scan: a trigger, then anomalous packets; port 1883 to the broker is not in it.
        XCTAssertGreaterThanOrEqual(kinds["trigger"] ?? 0, 1)
        XCTAssertGreaterThanOrEqual(kinds["anomalous"] ?? 0, 900, "\(kinds)")
        let masscanLine = lines.first { $0.contains("\"kind\":\"trigger\"") }.map(String.init) ?? ""
        XCTAssertTrue(masscanLine.contains("\"proto\":6"), masscanLine)
        print("\(name): \(lines.count) decisions \(kinds); first trigger: \(masscanLine)")
    }

    /// Without learning, the lock hub's first packets to its MQTT broker are mirrored; the broker
    /// was resolved by a DNS answer in the capture, so the decisions name it as text.
    func testDestinationsKnownByNameReadAsText() throws {
        let scratch = try makeScratch()
        let path = scratch.file("names.decisions.jsonl")
        _ = try DetectionReplay.run([.init(name: "hub", path: try TestEnvironment.capture("benign-lockhub-week.pcap"))], in: scratch,
                                    label: "names", learning: 0, decisions: path)
        let lines = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).split(separator: "\n")
        var named: [String: Int] = [:]
        for line in lines {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let text = o["dst_name"] as? String else { continue }
            named[text, default: 0] += 1
            XCTAssertNotNil(o["dst_name_hash"] as? String, "a name comes with its hash: \(line)")
        }
        XCTAssertGreaterThan(named["a1guxefynxg.iot-as-mqtt.us-west-1.aliyuncs.com"] ?? 0, 0, "\(named)")
        print("\(name): \(lines.count) decisions, by name: \(named)")
    }

    func testBadDecisionsPathIsAUsageError() throws {
        let scratch = try makeScratch()
        let bmad = try TestEnvironment.binary("bmad")
        let child = try ChildProcess(name: "replay-bad-decisions", executable: bmad, arguments: [
            "replay", "--vm", "cam=\(try TestEnvironment.capture("icmp-portscan.pcap"))", "--mirror-out", scratch.file("m.pcap"),
            "--decisions", scratch.file("no/such/dir/d.jsonl"),
        ], directory: scratch.path)
        XCTAssertEqual(try child.waitForExit(timeout: 30), .exited(2))
        XCTAssertTrue(child.stderr.contains("--decisions"), child.stderr)
    }
}
