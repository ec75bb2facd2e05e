import Control
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The masscan scenario end to end, counted packet by packet: the camera's week with the masscan
/// attack spliced in is the outgoing traffic of VM 101 (a net_pcap port read from a pipe, so the
/// test paces it burst by burst on capture time); bmad mirrors over Geneve through a TAP moved
/// into a network namespace where `bma-analyzer serve` inspects; its response rule drops the
/// scanned destination on bmad through the control socket. The scan's packets stop on the
/// uplink while the camera's own traffic flows, until the action expires; in dry run nothing
/// changes and the would-be action is logged.
final class ResponseEndToEndTests: ControlTestCase {
    static let collector = ControlDaemonConfig.collector
    static let scanTarget = "198.124.152.15"
    static let namespacePrefix = "bma-rstest-"
    static let actionSeconds = 2.0
    private static let counter = AnalyzerCounter()

    private var processes: [ChildProcess] = []
    private var namespaces: [String] = []
    private var cleanupScratch: ScratchDirectory?

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard TestEnvironment.which("ip") != nil else { throw XCTSkip("ip (iproute2) is not installed") }
    }

    override func tearDownWithError() throws {
        for p in processes.reversed() { p.kill(signal: SIGTERM, grace: 5) }
        processes.removeAll()
        try super.tearDownWithError()
        if let scratch = cleanupScratch {
            for ns in namespaces { _ = try? AnalyzerCommand.run(ipPath, ["netns", "del", ns], in: scratch, label: "ip-netns-del", timeout: 15) }
        }
        namespaces.removeAll()
    }

    private var ipPath: String { TestEnvironment.which("ip") ?? "/usr/sbin/ip" }

    private func ip(_ arguments: [String], in scratch: ScratchDirectory) throws {
        let r = try AnalyzerCommand.run(ipPath, arguments, in: scratch, label: "ip", timeout: 15)
        guard r.status == .exited(0) else { throw ScratchError(message: "ip failed\n\(r)") }
    }

    /// A line of the store's responses.jsonl (the fields the tests read).
    struct ResponseRecord: Decodable {
        var alert_ns: UInt64
        var done_ns: UInt64
        var rule: String
        var outcome: String
        var kind: String
        var target: String
        var vm: UInt32?
        var signature: String

        static func read(storeDirectory: String) throws -> [ResponseRecord] {
            let text = try String(contentsOfFile: storeDirectory + "/responses.jsonl", encoding: .utf8)
            return try text.split(separator: "\n").map { try JSONDecoder().decode(ResponseRecord.self, from: Data($0.utf8)) }
        }
    }

    struct Run {
        var sent: [[UInt8]] = []
        /// Index in `sent` of every scan frame, in order.
        var scanPositions: [Int] = []
        var uplink: [[UInt8]] = []
        var actions: JSONValue = .null
        var records: [ResponseRecord] = []
        var analyzerLog = ""
        /// Chunks sent when the action was first listed, and when it was gone again.
        var listedAfterChunk: Int?
        var expiredAfterChunk: Int?
        var chunkOfPosition: [Int] = []
    }

    /// Runs the scenario with the response rule (dry run or not) and returns what happened.
    private func scenario(dryRun: Bool) throws -> Run {
        let scratch = try makeScratch()
        cleanupScratch = scratch
        let n = Self.counter.next()
        let ns = "\(Self.namespacePrefix)\(getpid())-\(n)"
        let tap = "bmars\(getpid() % 100_000)x\(n)"
        try ip(["netns", "add", ns], in: scratch)
        namespaces.append(ns)

        // The VM's outgoing frames: the week up to a day after the attack, in bursts of 32.
        let masscan = try AnalyzerScenario.masscan(in: scratch)
        let attack = Set(masscan.attackIndices)
        let lastAttack = masscan.attackIndices.last ?? 0
        let end = masscan.records.firstIndex { $0.timestampNanoseconds > masscan.records[lastAttack].timestampNanoseconds + 86_400 * 1_000_000_000 } ?? masscan.records.count
        let outgoing = masscan.outgoingIndices.filter { $0 < end }
        let usable = outgoing.count / 32 * 32
        let indices = Array(outgoing.prefix(usable))
        let firstAttackChunk = (indices.firstIndex { attack.contains($0) } ?? 0) / 32

        let fifo = try scratch.fifo("vm1.pcap")
        let uplink = scratch.file("uplink.pcap")
        let bmadSocket = scratch.file("bmad.sock")
        let config = ControlDaemonConfig(uplink: "net_pcap9,tx_pcap=\(uplink)",
                                         vms: [.init(name: "camera1", id: 101, devargs: "net_pcap0,rx_pcap=\(fifo)")],
                                         mirror: "net_tap0,iface=\(tap)", detection: ["learning_seconds": "172800"],
                                         socket: bmadSocket, stateDirectory: scratch.file("state"))
        let (bmad, streams) = try startDaemon(config, in: scratch, pipes: [fifo])
        let stream = streams[0]
        let client = try bmad.client()

        // The analysis node in the namespace, its rule acting on bmad's socket.
        try ip(["link", "set", tap, "netns", ns], in: scratch)
        for args in [["link", "set", "lo", "up"], ["link", "set", tap, "address", ControlDaemonConfig.nextHop],
                     ["addr", "add", "\(Self.collector)/24", "dev", tap], ["link", "set", tap, "up"]] {
            try ip(["netns", "exec", ns, "ip"] + args, in: scratch)
        }
        let store = scratch.file("store")
        let yaml = try scratch.write("""
            listen: \(Self.collector)
            sensors: {hv1: \(ControlDaemonConfig.mirrorSource)}
            store: '\(store)'
            socket: '\(scratch.file("an.sock"))'
            status_interval: 0
            vm_names: {101: cam1}
            response:
              socket: '\(bmadSocket)'
              dry_run: \(dryRun)
              protected_vms: [cam9]
              rules:
                - {name: block-scans, signature: "BMA SCAN*", severity: 2, vms: [cam1], action: drop, target: destination,
                   seconds: \(Self.actionSeconds), max_per_minute: 1, priority: 100}

            """, to: "analyzer.yaml")
        let analyzer = try ChildProcess(name: "analyzer", executable: ipPath,
                                        arguments: ["netns", "exec", ns, try TestEnvironment.binary("bma-analyzer"), "serve", "--config", yaml],
                                        directory: scratch.path)
        processes.append(analyzer)
        try analyzer.waitForLine(containing: "bma-analyzer: listening on \(Self.collector)", timeout: 15)
        XCTAssertTrue(analyzer.stdout.contains("response: 1 rules\(dryRun ? " (dry run" : " to")"), analyzer.outputTail())

        var run = Run()
        var processed = 0
        func send(chunk c: Int) throws {
            let frames = indices[(c * 32)..<(c * 32 + 32)].map { i -> ControlTimedFrame in
                let r = masscan.records[i]
                if attack.contains(i) { run.scanPositions.append(run.sent.count) }
                run.sent.append(r.data)
                run.chunkOfPosition.append(c)
                return ControlTimedFrame(ns: r.timestampNanoseconds / 1000 * 1000, bytes: r.data)
            }
            try stream.send(frames)
            processed += 32
            var seen = 0
            try waitUntil("bmad judged \(processed) frames", timeout: 20, interval: 0.005, context: { "outgoing \(seen)\n" + bmad.child.outputTail() }) {
                seen = try bmad.vmCounters(client, "camera1")["outgoing"]?.intValue ?? 0
                return seen >= processed
            }
        }
        func actionsInForce() throws -> Int { try client.call("action.list")["actions"]?.arrayValue?.count ?? 0 }
        /// Waits (bounded) until the analyzer has processed every copy bmad mirrored so far and,
        /// once it has a scan alert, until its action reached bmad: the scenario then does not
        /// depend on how fast this machine runs the analyzer.
        let analyzerSocket = scratch.file("an.sock")
        func letTheAnalyzerCatchUp() throws {
            let sent = try client.call("stats")["mirror"]?["sent"]?.intValue ?? 0
            var alerted = false
            try? waitUntil("the analyzer processed \(sent) copies", timeout: 3, interval: 0.01) {
                guard let status = try? ControlClient(path: analyzerSocket, timeout: 2) else { return false }
                defer { status.close() }
                let s = try status.call("status")
                alerted = (s["alerts_by_module"]?["scan"]?.intValue ?? 0) > 0
                return (s["processed"]?.intValue ?? 0) >= sent
            }
            if alerted, !dryRun { try? waitUntil("the action reaches bmad", timeout: 2, interval: 0.01) { try actionsInForce() > 0 } }
        }

        // The week before the attack, at full speed; then the attack burst by burst, each once
        // the analyzer caught up: it alerts on the mirrored scan and its rule drops the target.
        for c in 0..<firstAttackChunk { try send(chunk: c) }
        var c = firstAttackChunk
        let chunks = indices.count / 32
        let deadline = Date().addingTimeInterval(dryRun ? 3 : 15)
        while c < chunks {
            try send(chunk: c)
            c += 1
            try letTheAnalyzerCatchUp()
            if run.listedAfterChunk == nil, try actionsInForce() > 0 {
                run.listedAfterChunk = c - 1
                break
            }
            if Date() > deadline && run.scanPositions.count >= masscan.attackIndices.count / 2 { break }
        }
        if run.listedAfterChunk != nil {
            // Five more bursts under the action, then none until it expires, then the rest.
            for _ in 0..<5 where c < chunks {
                try send(chunk: c)
                c += 1
            }
            try waitUntil("the action expires", timeout: Self.actionSeconds + 10) { try actionsInForce() == 0 }
            run.expiredAfterChunk = c - 1
        }
        while c < chunks {
            try send(chunk: c)
            c += 1
        }
        run.actions = try client.call("action.list")
        client.close()
        stream.close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        analyzer.signalProcess(SIGINT)
        XCTAssertEqual(try analyzer.waitForExit(timeout: 15), .exited(0), analyzer.outputTail())
        run.analyzerLog = analyzer.stdout
        run.records = try ResponseRecord.read(storeDirectory: store)
        run.uplink = try PcapFiles.frames(path: uplink)
        print("response e2e (dry run \(dryRun)): \(run.sent.count) frames, \(run.scanPositions.count) scan, uplink \(run.uplink.count); "
              + "listed after chunk \(run.listedAfterChunk.map(String.init) ?? "-"), expired after \(run.expiredAfterChunk.map(String.init) ?? "-")\n"
              + run.analyzerLog.split(separator: "\n").filter { $0.contains("response") }.joined(separator: "\n"))
        return run
    }

    func testRuleDropsTheScannedDestinationWithinASecondUntilItExpires() throws {
        let run = try scenario(dryRun: false)
        guard let listed = run.listedAfterChunk, let expired = run.expiredAfterChunk else {
            return XCTFail("no action reached bmad\n\(run.analyzerLog)")
        }
        // The analyzer's record: one action, added by bmad within 1 s of the alert.
        let acted = run.records.filter { $0.outcome == "added" }
        XCTAssertEqual(acted.count, 1, "\(run.records)")
        if let r = acted.first {
            XCTAssertEqual(r.kind, "drop")
            XCTAssertEqual(r.target, "destination \(Self.scanTarget) tcp of vm 101")
            XCTAssertEqual(r.vm, 101)
            XCTAssertLessThan(r.done_ns - r.alert_ns, 1_000_000_000, "bmad answered within 1 s of the alert")
            XCTAssertTrue(r.signature.hasPrefix("BMA SCAN"), r.signature)
        }
        XCTAssertTrue(run.analyzerLog.contains("response block-scans: drop destination \(Self.scanTarget) tcp of vm 101 for 2.0 s: bmad action 1 added"),
                      run.analyzerLog)
        let events = (run.actions["events"]?.arrayValue ?? []).map { "\($0["event"]?.stringValue ?? "?") \($0["id"]?.intValue ?? 0)" }
        XCTAssertEqual(events, ["added 1", "expired 1"], "one action, the blast radius held the rest back: \(run.actions)")

        // Packet by packet: the uplink holds every frame sent except a contiguous run of the
        // scan's frames, which starts at most two bursts after the action was listed and ends
        // at the latest with the first burst sent after it expired.
        var missing: [Int] = []
        var j = 0
        for (i, frame) in run.sent.enumerated() {
            if j < run.uplink.count && run.uplink[j] == frame { j += 1 } else { missing.append(i) }
        }
        XCTAssertEqual(j, run.uplink.count, "the uplink holds only frames sent, in order")
        XCTAssertFalse(missing.isEmpty, "scan frames were dropped")
        let scan = run.scanPositions
        guard let first = missing.first, let a = scan.firstIndex(of: first) else { return XCTFail("dropped a frame that is not the scan's: \(missing.prefix(5))") }
        XCTAssertEqual(missing, Array(scan[a..<(a + missing.count)]), "what is missing is a contiguous run of the scan, no benign frame")
        // The worker loads the snapshot before it waits in the pipe read for the next burst, so
        // the burst after the one the action was listed after may still be judged without it.
        XCTAssertLessThanOrEqual(run.chunkOfPosition[first], listed + 2, "dropping begins at the latest two bursts after the action was listed")
        XCTAssertGreaterThan(run.chunkOfPosition[first], 0)
        let lastDropped = missing.last!
        XCTAssertLessThanOrEqual(run.chunkOfPosition[lastDropped], expired + 1, "after expiry the scan flows again")
        let after = scan.filter { run.chunkOfPosition[$0] > expired + 1 }
        XCTAssertFalse(after.isEmpty, "scan frames were sent after the action expired (and reached the uplink)")
        let benign = run.sent.count - scan.count
        XCTAssertEqual(run.uplink.count, benign + scan.count - missing.count, "every benign frame reached the uplink")
    }

    func testDryRunChangesNothingAndLogsTheWouldBeAction() throws {
        let run = try scenario(dryRun: true)
        XCTAssertNil(run.listedAfterChunk, "no action in dry run")
        XCTAssertEqual(run.actions["events"]?.arrayValue?.count, 0, "\(run.actions)")
        XCTAssertEqual(run.uplink, run.sent, "every frame reached the uplink")
        let dry = run.records.filter { $0.outcome == "dry-run" }
        XCTAssertEqual(dry.count, 1, "one would-be action (the blast radius counts dry runs too): \(run.records)")
        XCTAssertEqual(dry.first?.target, "destination \(Self.scanTarget) tcp of vm 101")
        XCTAssertTrue(run.analyzerLog.contains("response block-scans: would drop destination \(Self.scanTarget) tcp of vm 101 for 2.0 s (dry run"),
                      run.analyzerLog)
    }
}
