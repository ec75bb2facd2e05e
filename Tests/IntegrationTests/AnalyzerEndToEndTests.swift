import Control
import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The live path of scripts/demo: bmad with two VMs (dpdk-testpmd over vhost-user) mirrors over
/// Geneve through a net_tap port that the test moves into a network namespace, where
/// `bma-analyzer serve` listens on 192.0.2.10, stores pcapng, inspects and alerts. Both VMs
/// send the camera's benign week while bmad learns; then VM 101 (cam1) runs the masscan attack
/// and VM 102 (cam2) the iodine DNS tunnel.
final class AnalyzerEndToEndTests: IntegrationTestCase {
    static let collector = "192.0.2.10"
    static let sourceIP = "192.0.2.1"
    /// What the analyzer calls bmad's host (`--sensor`).
    static let sensorName = "hv1"
    static let nextHop = "02:00:00:00:0a:42"
    static let camera = "192.168.1.129"
    static let scanTarget = "198.124.152.15"
    static let tunnelServer = "10.0.2.20"
    static let learningSeconds = 6.0
    static let namespacePrefix = "bma-antest-"
    private static let counter = AnalyzerCounter()

    /// Started by this test (not through IntegrationTestCase): stopped in tearDown, newest first.
    private var processes: [ChildProcess] = []
    private var namespaces: [String] = []
    private var scratchForCleanup: ScratchDirectory?

    override func setUpWithError() throws {
        try super.setUpWithError()
        try TestEnvironment.requireDPDK(hugepagesMB: 512, testpmd: true)
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        guard TestEnvironment.which("ip") != nil else { throw XCTSkip("ip (iproute2) is not installed") }
    }

    override func tearDownWithError() throws {
        // The analyzer (in the namespace) first, then bmad (its exit removes the TAP), then the
        // namespace, even when the test failed or threw.
        for p in processes.reversed() { p.kill(signal: SIGTERM, grace: 5) }
        processes.removeAll()
        if let scratch = scratchForCleanup {
            for ns in namespaces {
                let r = try? AnalyzerCommand.run(ipPath, ["netns", "del", ns], in: scratch, label: "ip-netns-del", timeout: 15)
                if r?.status != .exited(0) { print("ip netns del \(ns): \(r?.description ?? "did not run")") }
            }
        }
        namespaces.removeAll()
        scratchForCleanup = nil
        try super.tearDownWithError()
    }

    private var ipPath: String { TestEnvironment.which("ip") ?? "/usr/sbin/ip" }

    @discardableResult
    private func ip(_ arguments: [String], in scratch: ScratchDirectory) throws -> CommandRun {
        let r = try AnalyzerCommand.run(ipPath, arguments, in: scratch, label: "ip", timeout: 15)
        guard r.status == .exited(0) else { throw ScratchError(message: "ip failed\n\(r)") }
        return r
    }

    /// Namespaces of earlier test processes that are gone (a crash skips tearDown).
    private func removeStaleNamespaces(in scratch: ScratchDirectory) {
        guard let list = try? ip(["netns", "list"], in: scratch) else { return }
        for line in list.stdout.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(Self.namespacePrefix),
                  let pid = Int32(name.dropFirst(Self.namespacePrefix.count).prefix { $0.isNumber }), pid != getpid(),
                  Glibc.kill(pid, 0) != 0, errno == ESRCH else { continue }
            _ = try? ip(["netns", "del", name], in: scratch)
        }
    }

    // MARK: Processes

    private func start(_ name: String, _ executable: String, _ arguments: [String], in scratch: ScratchDirectory) throws -> ChildProcess {
        let child = try ChildProcess(name: name, executable: executable, arguments: arguments, directory: scratch.path)
        processes.append(child)
        return child
    }

    /// Stops a process with SIGINT and returns how it ended (killed after `timeout`).
    private func interrupt(_ child: ChildProcess, timeout: TimeInterval = 15) throws -> ExitStatus {
        child.signalProcess(SIGINT)
        do {
            return try child.waitForExit(timeout: timeout)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
    }

    /// One VM connection: testpmd replays `capture` into the VM's socket until every frame went
    /// out, then quits. `connection` counts this VM's connections (bmad logs one link up/down
    /// each). Returns when forwarding started (the VM's first packet, near enough).
    @discardableResult
    private func replay(_ capture: String, frames: Int, vm: String, socket: String, connection: Int,
                        bmad: ChildProcess, in scratch: ScratchDirectory) throws -> Date {
        let began = Date()
        let testpmd = try startVM("\(vm)-\(connection)", socket: socket, options: .init(rxPcap: capture), in: scratch)
        try bmad.waitForLine(containing: "bmad: \(vm): link up", count: connection, timeout: 20)
        let started = Date()
        try testpmd.startForwarding()
        var sent = 0
        try waitUntil("\(vm) sent \(frames) frames", timeout: 40, interval: 0.2,
                      context: { "sent \(sent)\n" + testpmd.child.outputTail() + "\n" + bmad.outputTail() }) {
            guard testpmd.isRunning else { throw ChildProcessError.exitedEarly(testpmd.name, testpmd.child.exitStatus!, testpmd.child.outputTail()) }
            try testpmd.child.send("show port stats 0\n")
            sent = Self.lastTXPackets(testpmd.child.stdout)
            return sent >= frames
        }
        let stats = try testpmd.stopAndQuit()
        XCTAssertEqual(stats[0]?.txPackets, UInt64(frames), "\(vm) #\(connection): testpmd virtio tx")
        XCTAssertEqual(stats[0]?.txDropped, 0, "\(vm) #\(connection): testpmd virtio tx dropped")
        try bmad.waitForLine(containing: "bmad: \(vm): link down", count: connection, timeout: 15)
        print("\(vm) #\(connection): \(frames) frames in \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
        return started
    }

    /// The last "TX-packets: N" of testpmd's `show port stats`.
    static func lastTXPackets(_ output: String) -> Int {
        guard let r = output.range(of: "TX-packets: ", options: .backwards) else { return 0 }
        return Int(output[r.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    private func analyzerStatus(_ socket: String) throws -> AnalyzerStatusJSON {
        let client = try ControlClient(path: socket, timeout: 5)
        defer { client.close() }
        return try client.call("status").decode(as: AnalyzerStatusJSON.self)
    }

    private func bmadStats(_ socket: String) throws -> DetectionSummary {
        let client = try ControlClient(path: socket, timeout: 5)
        defer { client.close() }
        return try client.call("stats").decode(as: DetectionSummary.self)
    }

    // MARK: The test

    func testMirroredAttacksAreStoredInspectedAndAlerted() throws {
        let scratch = try makeScratch()
        scratchForCleanup = scratch
        removeStaleNamespaces(in: scratch)
        let n = Self.counter.next()
        let ns = "\(Self.namespacePrefix)\(getpid())-\(n)"
        let tap = "bmaan\(getpid() % 100_000)x\(n)" // at most 15 characters
        try ip(["netns", "add", ns], in: scratch)
        namespaces.append(ns)

        // Traffic: the benign week, and the attack frames alone (rewritten to the camera).
        let benign = try TestEnvironment.capture(DetectionScenario.benignFile)
        let benignCount = try PcapCapture.read(path: benign).records.count
        let masscan = try AnalyzerScenario.attackOnly(try AnalyzerScenario.masscan(in: scratch), to: "masscan.attack.pcap", in: scratch)
        let iodine = try AnalyzerScenario.attackOnly(try AnalyzerScenario.iodine(in: scratch), to: "iodine.attack.pcap", in: scratch)

        // bmad: two vhost-user VMs, the uplink on net_null, the mirror on a TAP.
        let bmadSocket = scratch.file("bmad.sock")
        let vm1Socket = scratch.file("camera1.sock"), vm2Socket = scratch.file("camera2.sock")
        let config = try scratch.write("""
            uplink: 'net_null0,no-rx=1'
            mirror:
              devargs: 'net_tap0,iface=\(tap)'
              encapsulation: geneve
              collectors: [\(Self.collector)]
              next_hop_mac: '\(Self.nextHop)'
              source_ip: \(Self.sourceIP)
            detection:
              learning_seconds: \(Int(Self.learningSeconds))
            control:
              socket: '\(bmadSocket)'
              state_dir: '\(scratch.file("bmad-state"))'
            vms:
              - {name: camera1, id: 101, devargs: 'net_vhost0,iface=\(vm1Socket),queues=1'}
              - {name: camera2, id: 102, devargs: 'net_vhost1,iface=\(vm2Socket),queues=1'}

            """, to: "bmad.yaml")
        let prefix = DPDKRuntime.newPrefix("antest-bmad")
        let bmad = try start("bmad", try TestEnvironment.binary("bmad"),
                             ["-l", "0,1", "--file-prefix", prefix, "--no-pci", "-m", "256", "--",
                              "--config", config, "--summary-json", scratch.file("bmad-summary.json")], in: scratch)
        bmad.afterExit.append { DPDKRuntime.removeFiles(prefix: prefix) }
        try waitUntil("bmad creates \(tap)", timeout: 20, interval: 0.1, context: { bmad.outputTail() }) {
            guard bmad.isRunning else { throw ChildProcessError.exitedEarly("bmad", bmad.exitStatus!, bmad.outputTail()) }
            return (try? self.ip(["link", "show", tap], in: scratch)) != nil
        }

        // The analysis node: the TAP moved into the namespace, the next hop's MAC and the
        // collector's address on it, bma-analyzer listening there.
        try ip(["link", "set", tap, "netns", ns], in: scratch)
        try ip(["netns", "exec", ns, "ip", "link", "set", "lo", "up"], in: scratch)
        try ip(["netns", "exec", ns, "ip", "link", "set", tap, "address", Self.nextHop], in: scratch)
        try ip(["netns", "exec", ns, "ip", "addr", "add", "\(Self.collector)/24", "dev", tap], in: scratch)
        try ip(["netns", "exec", ns, "ip", "link", "set", tap, "up"], in: scratch)
        let store = scratch.file("store")
        let analyzerSocket = scratch.file("an.sock")
        let analyzer = try start("analyzer", ipPath,
                                 ["netns", "exec", ns, try TestEnvironment.binary("bma-analyzer"), "serve", "--listen", Self.collector,
                                  "--sensor", "\(Self.sensorName)=\(Self.sourceIP)",
                                  "--store", store, "--socket", analyzerSocket, "--vm-name", "101=cam1", "--vm-name", "102=cam2",
                                  "--status-interval", "1"], in: scratch)
        try analyzer.waitForLine(containing: "bma-analyzer: listening on \(Self.collector): geneve 6081", timeout: 15)
        try waitUntil("the analyzer answers on its socket", timeout: 15, interval: 0.1, context: { analyzer.outputTail() }) {
            guard analyzer.isRunning else { throw ChildProcessError.exitedEarly("analyzer", analyzer.exitStatus!, analyzer.outputTail()) }
            return (try? self.analyzerStatus(analyzerSocket)) != nil
        }
        try waitUntil("bmad's vhost-user sockets exist", timeout: 20, interval: 0.1, context: { bmad.outputTail() }) {
            FileManager.default.fileExists(atPath: vm1Socket) && FileManager.default.fileExists(atPath: vm2Socket)
        }

        // Learning: both VMs send their normal week; nothing is mirrored.
        try replay(benign, frames: benignCount, vm: "camera1", socket: vm1Socket, connection: 1, bmad: bmad, in: scratch)
        let vm2Start = try replay(benign, frames: benignCount, vm: "camera2", socket: vm2Socket, connection: 1, bmad: bmad, in: scratch)
        let learned = try bmadStats(bmadSocket)
        XCTAssertEqual(learned.mirror.sent, 0, "nothing mirrored while learning: \(learned.vms.map(\.reasonText))")
        let learningEnds = vm2Start.addingTimeInterval(Self.learningSeconds + 1.5)
        if learningEnds > Date() { Thread.sleep(until: learningEnds) }

        // Detection: cam1 scans, cam2 tunnels.
        try replay(masscan.path, frames: masscan.records.count, vm: "camera1", socket: vm1Socket, connection: 2, bmad: bmad, in: scratch)
        try replay(iodine.path, frames: iodine.records.count, vm: "camera2", socket: vm2Socket, connection: 2, bmad: bmad, in: scratch)

        // Everything bmad sent reaches the analyzer (or stops arriving) and is processed.
        var sent: UInt64 = 0
        var status: AnalyzerStatusJSON?
        var lastReceived: UInt64 = 0
        var lastChange = Date()
        try waitUntil("the analyzer has processed what bmad mirrored", timeout: 20, interval: 0.2,
                      context: { "bmad sent \(sent); analyzer: \(String(describing: status))\n" + analyzer.outputTail() }) {
            sent = try bmadStats(bmadSocket).mirror.sent
            let s = try analyzerStatus(analyzerSocket)
            status = s
            if s.ingest_received != lastReceived { lastReceived = s.ingest_received; lastChange = Date() }
            let idle = s.queued == 0 && s.processed == s.ingest_decoded
            return idle && (s.ingest_received >= sent || Date().timeIntervalSince(lastChange) > 3)
        }
        let stats = try bmadStats(bmadSocket)
        let cam1 = try stats.vm("camera1"), cam2 = try stats.vm("camera2")
        print("bmad: camera1 \(cam1.outgoing) out, \(cam1.mirrored) mirrored (\(cam1.reasonText)); camera2 \(cam2.outgoing) out, "
              + "\(cam2.mirrored) mirrored (\(cam2.reasonText)); mirror sent \(stats.mirror.sent)")
        XCTAssertGreaterThan(cam1.mirrored, 20, "bmad mirrored the scan")
        XCTAssertGreaterThan(cam2.mirrored, 20, "bmad mirrored the tunnel")

        // bma-analyzer status, through its socket.
        let statusRun = try AnalyzerCommand.analyzerOK(["status", "--socket", analyzerSocket, "--json"], in: scratch, label: "status-json")
        let s = try JSONDecoder().decode(AnalyzerStatusJSON.self, from: Data(statusRun.stdout.utf8))
        print("analyzer status: \(statusRun.stdout)")
        XCTAssertLessThanOrEqual(s.ingest_received, stats.mirror.sent, "received at most what bmad sent")
        XCTAssertGreaterThanOrEqual(s.ingest_received * 100, stats.mirror.sent * 95, "received (nearly) everything bmad sent: \(s.ingest_received) of \(stats.mirror.sent)")
        XCTAssertEqual(s.ingest_decoded, s.ingest_received, "every datagram decoded; drops \(s.ingest_drops)")
        XCTAssertEqual(s.ingest_drops.values.reduce(0, +), 0, "ingest drops \(s.ingest_drops)")
        XCTAssertEqual(s.processed, s.ingest_decoded)
        XCTAssertEqual(s.queue_drops, 0)
        XCTAssertEqual(s.storage.packets, s.processed, "every packet stored")
        XCTAssertEqual(s.storage.dropped, 0)
        XCTAssertGreaterThan(s.storage.bytes, 0)
        XCTAssertGreaterThanOrEqual(s.storage.segments, 1)
        XCTAssertEqual(s.storage.directory, store)
        XCTAssertNil(s.storage.storage_alert)
        XCTAssertEqual(Set(s.modules), ["scan", "dns-tunnel", "exfiltration", "beaconing", "performance"])
        XCTAssertGreaterThanOrEqual(s.alerts_by_module["scan"] ?? 0, 1, "scan alerts: \(s.alerts_by_module)")
        XCTAssertGreaterThanOrEqual(s.alerts_by_module["dns-tunnel"] ?? 0, 1, "dns-tunnel alerts: \(s.alerts_by_module)")
        let text = try AnalyzerCommand.analyzerOK(["status", "--socket", analyzerSocket], in: scratch, label: "status-text").stdout
        XCTAssertTrue(text.contains("ingest: \(s.ingest_received) datagrams"), text)
        XCTAssertTrue(text.contains("storage: \(store): \(s.storage.packets) packets"), text)
        XCTAssertTrue(text.contains("  scan: "), text)
        XCTAssertTrue(text.contains("  dns-tunnel: "), text)

        // Stop both cleanly: the store is complete and closed.
        XCTAssertEqual(try interrupt(analyzer), .exited(0), analyzer.outputTail())
        XCTAssertTrue(analyzer.stdout.contains("bma-analyzer: stopping"), analyzer.outputTail())
        XCTAssertEqual(try interrupt(bmad), .exited(0), bmad.outputTail())
        // The demo's counters add up (its mirror port once showed TX 0 next to thousands of copies
        // sent): bmad's summary on its clean stop, port against queues and lcores, the mirror
        // port's TX against the copies sent and the VMs' mirrored counts.
        let data = try XCTUnwrap(FileManager.default.contents(atPath: scratch.file("bmad-summary.json")), "bmad wrote its summary")
        let summary = try JSONDecoder().decode(BmadSummary.self, from: data)
        summary.assertConsistent()
        let mirrorPort = try XCTUnwrap(summary.ports.first { $0.role == "mirror" }, "a mirror port in \(summary.ports.map(\.name))")
        XCTAssertEqual(mirrorPort.txPackets, summary.mirror.sent)
        XCTAssertGreaterThanOrEqual(summary.mirror.sent, cam1.mirrored + cam2.mirrored, "the copies counted while running were sent")
        let stored = s.storage.packets

        // Alerts, as EVE JSON.
        let alertsRun = try AnalyzerCommand.analyzerOK(["alerts", "--store", store, "--json"], in: scratch, label: "alerts-json")
        let objects = try EVE.objects(in: alertsRun.stdout)
        let all = objects.map(\.alert)
        print("alerts:\n" + all.map(\.summary).joined(separator: "\n"))
        let scans = all.filter { $0.alert.signature_id == EVEAlert.portScanID }
        XCTAssertGreaterThanOrEqual(scans.count, 1, "a port-scan alert: \(all.map(\.summary))")
        for scan in scans {
            XCTAssertEqual(scan.vm, "cam1", scan.summary)
            XCTAssertEqual(scan.src_ip, Self.camera, scan.summary)
            XCTAssertEqual(scan.dest_ip, Self.scanTarget, scan.summary)
            XCTAssertEqual(scan.proto, "TCP", scan.summary)
            XCTAssertEqual(scan.alert.severity, 2)
            XCTAssertTrue(scan.bma.reasons.contains("port-scan") || scan.bma.reasons.contains("new-service"),
                          "bmad's reasons for the probe: \(scan.bma.reasons)")
        }
        let tunnels = all.filter { $0.alert.signature_id == EVEAlert.dnsTunnelID }
        XCTAssertGreaterThanOrEqual(tunnels.count, 1, "a DNS-tunnel alert: \(all.map(\.summary))")
        for t in tunnels {
            XCTAssertEqual(t.vm, "cam2", t.summary)
            XCTAssertEqual(t.src_ip, Self.camera, t.summary)
            XCTAssertEqual(t.dest_ip, Self.tunnelServer, t.summary)
            XCTAssertEqual(t.dest_port, 53, t.summary)
            XCTAssertEqual(t.proto, "UDP", t.summary)
            XCTAssertEqual(t.alert.severity, 1)
            XCTAssertEqual(t.bma.details["domain"], "pirate.sea")
        }
        let now = Date().timeIntervalSince1970
        let recent = EVE.timestamp(nanoseconds: UInt64((now - 3600) * 1e9))...EVE.timestamp(nanoseconds: UInt64((now + 60) * 1e9))
        for o in objects {
            EVE.assertRequiredFields(o, o.alert.summary)
            XCTAssertEqual(o.alert.host, Self.sensorName, "the sensor is named as configured for bmad's mirror source address: \(o.alert.summary)")
            XCTAssertTrue(["cam1", "cam2"].contains(o.alert.vm), o.alert.summary)
            XCTAssertTrue(recent.contains(o.alert.timestamp), "a live alert carries the packet's (recent) time: \(o.alert.timestamp)")
            // The pcap reference names a packet of the alert's flow, of the right VM.
            try AnalyzerTshark.assertReferenceMatchesFlow(o.alert, store: store, vmID: o.alert.vm == "cam1" ? 101 : 102, in: scratch)
        }
        XCTAssertFalse(objects.isEmpty)
        for o in objects {
            XCTAssertNotNil(o.raw["community_id"], "community_id of \(o.alert.summary)")
            if let ref = o.alert.pcap, let expected = try? AnalyzerTshark.communityID("\(store)/\(ref.file)", index: ref.packet, in: scratch) {
                XCTAssertEqual(o.alert.community_id, expected, "community_id of \(o.alert.summary) (tshark's Community ID of its packet)")
            }
        }
        XCTAssertTrue(alertsRun.stdout.hasSuffix("\n"), "alerts --json ends with a newline")
        XCTAssertEqual(alertsRun.stdout.split(separator: "\n").count, objects.count, "one line per alert")
        let eveLines = try String(contentsOfFile: "\(store)/eve.json", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(try eveLines.map { try EVE.object(Data($0.utf8)).alert }, all, "eve.json holds the same alerts, one per line")

        // The stored pcapng, read by tshark: the original frames, one interface per VM named after
        // it and its sensor (readable per-packet comments are off by default).
        let segments = try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasPrefix("seg-") && $0.hasSuffix(".pcapng") }.sorted()
        XCTAssertFalse(segments.isEmpty, "segments in \(store)")
        var rows: [[String: String]] = []
        for seg in segments {
            rows += try AnalyzerTshark.rows("\(store)/\(seg)", ["frame.interface_description", "ip.src", "ip.dst", "tcp.flags.syn", "tcp.flags.ack", "udp.dstport", "dns.qry.name"],
                                            in: scratch, label: "tshark-store")
        }
        XCTAssertEqual(UInt64(rows.count), stored, "tshark reads every stored packet")
        let vm1Rows = rows.filter { ($0["frame.interface_description"] ?? "").hasPrefix("bma vm=101 ") }
        let vm2Rows = rows.filter { ($0["frame.interface_description"] ?? "").hasPrefix("bma vm=102 ") }
        XCTAssertEqual(vm1Rows.count + vm2Rows.count, rows.count, "every stored packet's interface names VM 101 or 102: \(rows.prefix(2))")
        XCTAssertTrue(vm1Rows.allSatisfy { $0["ip.src"] == Self.camera && $0["ip.dst"] == Self.scanTarget }, "VM 101's packets are the scan's")
        let syns = vm1Rows.filter { AnalyzerTshark.isSet($0["tcp.flags.syn"]) && !AnalyzerTshark.isSet($0["tcp.flags.ack"]) }
        XCTAssertGreaterThanOrEqual(syns.count, 20, "the scan's SYNs are in the store")
        XCTAssertTrue(vm1Rows.allSatisfy { ($0["frame.interface_description"] ?? "").contains("sensor=\(Self.sensorName)") },
                      "interface: \(vm1Rows.first?["frame.interface_description"] ?? "")")
        XCTAssertTrue(vm2Rows.allSatisfy { $0["ip.dst"] == Self.tunnelServer && $0["udp.dstport"] == "53" && ($0["dns.qry.name"] ?? "").hasSuffix("pirate.sea") },
                      "VM 102's packets are the tunnel's queries")

        // query: a VM's packets out to pcap, byte for byte the frames the VM sent (those mirrored).
        for (vm, sent, expectedRows) in [(101, masscan.records, vm1Rows.count), (102, iodine.records, vm2Rows.count)] {
            let out = scratch.file("vm\(vm).pcap")
            let q = try AnalyzerCommand.analyzerOK(["query", "--store", store, "--vm", String(vm), "-w", out], in: scratch, label: "query-\(vm)")
            XCTAssertEqual(AnalyzerCommand.writtenCount(q), expectedRows, "query --vm \(vm)\n\(q)")
            let frames = try PcapCapture.read(path: out).records.map(\.data)
            XCTAssertEqual(frames.count, expectedRows)
            XCTAssertTrue(AnalyzerScenario.isSubsequence(frames, of: sent.map(\.data)),
                          "VM \(vm)'s stored frames are frames it sent, in order (\(frames.count) of \(sent.count))")
            let read = try AnalyzerTshark.rows(out, ["ip.src", "ip.dst"], in: scratch, label: "tshark-query")
            XCTAssertEqual(read.count, frames.count, "tshark reads the query's output")
            XCTAssertTrue(read.allSatisfy { $0["ip.src"] == Self.camera }, "\(read.prefix(2))")
        }
        XCTAssertGreaterThanOrEqual(vm1Rows.count * 100, Int(cam1.mirrored) * 95, "VM 101: stored \(vm1Rows.count) of \(cam1.mirrored) mirrored")
        XCTAssertGreaterThanOrEqual(vm2Rows.count * 100, Int(cam2.mirrored) * 95, "VM 102: stored \(vm2Rows.count) of \(cam2.mirrored) mirrored")

        // The tunnel's flow, by --flow, from the alert.
        if let t = tunnels.first, let sport = t.src_port {
            let out = scratch.file("tunnel-flow.pcap")
            let q = try AnalyzerCommand.analyzerOK(["query", "--store", store, "--vm", "102", "--flow", "\(Self.camera),\(Self.tunnelServer),udp,\(sport),53", "-w", out],
                                                   in: scratch, label: "query-flow")
            let frames = try AnalyzerTshark.rows(out, ["udp.srcport", "udp.dstport"], in: scratch, label: "tshark-flow")
            XCTAssertGreaterThanOrEqual(frames.count, 1, q.description)
            XCTAssertTrue(frames.allSatisfy { $0["udp.srcport"] == String(sport) && $0["udp.dstport"] == "53" }, "\(frames.prefix(3))")
        }
    }
}
