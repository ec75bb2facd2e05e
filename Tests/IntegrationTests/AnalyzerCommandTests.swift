import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `bma-analyzer` without a running node or DPDK: `import` of the labelled scenarios and of
/// broken files, `query` and `alerts` filters, `status` without a server, and retention by size.
final class AnalyzerCommandTests: IntegrationTestCase {
    static let camera = "192.168.1.129"
    static let scanTarget = "198.124.152.15"
    static let tunnelServer = "10.0.2.20"

    // MARK: Scenarios

    /// Imports masscan as VM 101 (cam1) and iodine as VM 102 (cam2), in two runs, into one store.
    private func importScenarios(store: String, in scratch: ScratchDirectory) throws -> (masscan: DetectionScenario, iodine: DetectionScenario) {
        let masscan = try AnalyzerScenario.masscan(in: scratch)
        let iodine = try AnalyzerScenario.iodine(in: scratch)
        let names = ["--vm-name", "101=cam1", "--vm-name", "102=cam2"]
        let first = try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm", "101"] + names + [masscan.path], in: scratch, label: "import-masscan")
        XCTAssertTrue(first.stdout.contains("\(masscan.path): \(masscan.records.count) packets"), first.description)
        XCTAssertTrue(first.stdout.contains("imported \(masscan.records.count) packets into \(store)"), first.description)
        let second = try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm", "102"] + names + [iodine.path], in: scratch, label: "import-iodine")
        XCTAssertTrue(second.stdout.contains("imported \(iodine.records.count) packets into \(store)"), second.description)
        return (masscan, iodine)
    }

    private func alerts(_ store: String, _ extra: [String] = [], in scratch: ScratchDirectory) throws -> (run: CommandRun, objects: [EVEObject]) {
        let run = try AnalyzerCommand.analyzerOK(["alerts", "--store", store, "--json"] + extra, in: scratch, label: "alerts")
        return (run, try EVE.objects(in: run.stdout))
    }

    /// The attack's first and last capture times as EVE timestamps.
    private func attackSpan(_ s: DetectionScenario) -> ClosedRange<String> {
        EVE.timestamp(nanoseconds: s.records[s.attackIndices.first!].timestampNanoseconds)
            ... EVE.timestamp(nanoseconds: s.records[s.attackIndices.last!].timestampNanoseconds)
    }

    func testImportOfTheScenariosRaisesThePortScanAndDNSTunnelAlerts() throws {
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        let scratch = try makeScratch()
        let store = scratch.file("store")
        let (masscan, iodine) = try importScenarios(store: store, in: scratch)
        let (run, objects) = try alerts(store, in: scratch)
        let all = objects.map(\.alert)
        print("alerts:\n" + all.map(\.summary).joined(separator: "\n"))

        // The port scan: cam1 scanning the target, from the camera, during the attack.
        let scans = all.filter { $0.alert.signature_id == EVEAlert.portScanID }
        XCTAssertEqual(scans.count, 1, "one port-scan alert (the scan lasts 10 s, the window is 60 s): \(all.map(\.summary))")
        if let scan = scans.first {
            XCTAssertEqual(scan.vm, "cam1")
            XCTAssertEqual(scan.src_ip, Self.camera)
            XCTAssertEqual(scan.dest_ip, Self.scanTarget)
            XCTAssertEqual(scan.proto, "TCP")
            XCTAssertEqual(scan.host, masscan.path, "an imported packet's sensor is its file")
            XCTAssertEqual(scan.alert.category, "Detection of a Network Scan")
            XCTAssertEqual(scan.alert.severity, 2)
            XCTAssertEqual(scan.bma.module, "scan")
            XCTAssertEqual(scan.bma.reasons, [], "imported VM traffic carries no bmad reasons")
            XCTAssertTrue(attackSpan(masscan).contains(scan.timestamp), "scan alert at \(scan.timestamp), attack \(attackSpan(masscan))")
            try AnalyzerTshark.assertReferenceMatchesFlow(scan, store: store, vmID: 101, in: scratch)
        }
        // The tunnel: cam2 querying the iodine server.
        let tunnels = all.filter { $0.alert.signature_id == EVEAlert.dnsTunnelID }
        XCTAssertEqual(tunnels.count, 1, "one DNS-tunnel alert: \(all.map(\.summary))")
        if let tunnel = tunnels.first {
            XCTAssertEqual(tunnel.vm, "cam2")
            XCTAssertEqual(tunnel.src_ip, Self.camera)
            XCTAssertEqual(tunnel.dest_ip, Self.tunnelServer)
            XCTAssertEqual(tunnel.dest_port, 53)
            XCTAssertEqual(tunnel.proto, "UDP")
            XCTAssertEqual(tunnel.alert.severity, 1)
            XCTAssertEqual(tunnel.alert.category, "Covert Channel")
            XCTAssertEqual(tunnel.bma.module, "dns-tunnel")
            XCTAssertEqual(tunnel.bma.details["domain"], "pirate.sea")
            XCTAssertTrue(attackSpan(iodine).contains(tunnel.timestamp), "tunnel alert at \(tunnel.timestamp), attack \(attackSpan(iodine))")
            try AnalyzerTshark.assertReferenceMatchesFlow(tunnel, store: store, vmID: 102, in: scratch)
        }
        // No attack is pinned on the wrong VM.
        XCTAssertFalse(all.contains { $0.alert.signature_id == EVEAlert.portScanID && $0.vm != "cam1" }, all.map(\.summary).description)
        XCTAssertFalse(all.contains { $0.alert.signature_id == EVEAlert.dnsTunnelID && $0.vm != "cam2" }, all.map(\.summary).description)

        // Every alert: the EVE fields, and a pcap reference to a packet of its flow.
        for o in objects {
            EVE.assertRequiredFields(o, o.alert.summary)
            try AnalyzerTshark.assertReferenceMatchesFlow(o.alert, store: store, vmID: o.alert.vm == "cam1" ? 101 : 102, in: scratch)
        }
        for o in objects {
            XCTAssertNotNil(o.raw["community_id"], "community_id of \(o.alert.summary)")
            if let ref = o.alert.pcap, let expected = try? AnalyzerTshark.communityID("\(store)/\(ref.file)", index: ref.packet, in: scratch) {
                XCTAssertEqual(o.alert.community_id, expected, "community_id of \(o.alert.summary) (tshark's Community ID of its packet)")
            }
        }
        XCTAssertTrue(run.stdout.hasSuffix("\n"), "alerts --json ends with a newline")
        XCTAssertEqual(run.stdout.split(separator: "\n").count, objects.count, "one line per alert: \(String(run.stdout.prefix(300)))")

        // eve.json holds the same alerts, one per line.
        let eve = try String(contentsOfFile: "\(store)/eve.json", encoding: .utf8)
        let eveLines = eve.split(separator: "\n")
        // Same alerts; eve.json is in emission order, the index lists them by time.
        let order = { (a: EVEAlert, b: EVEAlert) in (a.timestamp, a.vm, a.alert.signature_id) < (b.timestamp, b.vm, b.alert.signature_id) }
        XCTAssertEqual(try eveLines.map { try EVE.object(Data($0.utf8)).alert }.sorted(by: order), all.sorted(by: order),
                       "eve.json lines vs alerts --json")

        // --vm filters, by the name the alerts carry.
        let cam1 = try alerts(store, ["--vm", "cam1"], in: scratch).objects.map(\.alert)
        let cam2 = try alerts(store, ["--vm", "cam2"], in: scratch).objects.map(\.alert)
        XCTAssertEqual(cam1, all.filter { $0.vm == "cam1" }, "alerts --vm cam1")
        XCTAssertEqual(cam2, all.filter { $0.vm == "cam2" }, "alerts --vm cam2")
        XCTAssertEqual(cam1.count + cam2.count, all.count, "every alert names cam1 or cam2")
        XCTAssertTrue(cam1.contains { $0.alert.signature_id == EVEAlert.portScanID })
        XCTAssertTrue(cam2.contains { $0.alert.signature_id == EVEAlert.dnsTunnelID })
        // By id or vm<ID> as well: the store remembers the names import was given.
        XCTAssertEqual(try alerts(store, ["--vm", "101"], in: scratch).objects.map(\.alert), cam1, "alerts --vm 101")
        XCTAssertEqual(try alerts(store, ["--vm", "vm102"], in: scratch).objects.map(\.alert), cam2, "alerts --vm vm102")
        let nobody = try AnalyzerCommand.analyzerOK(["alerts", "--store", store, "--vm", "zebra"], in: scratch, label: "alerts-none")
        XCTAssertEqual(nobody.stdout, "no alerts for VM zebra (store \(store))\n", "an empty result says what was searched")
        let typo = try AnalyzerCommand.analyzer(["alerts", "--store", store, "--vm", "cam9"], in: scratch, label: "alerts-typo")
        XCTAssertEqual(typo.status, .exited(3), typo.description)
        XCTAssertTrue(typo.stderr.contains("did you mean 'cam1'?"), typo.description)
        // query takes the name too, and refuses one the store does not know.
        let byID = try AnalyzerCommand.analyzerOK(["query", "--store", store, "--vm", "101", "-w", scratch.file("by-id.pcap")], in: scratch, label: "query-id")
        let byName = try AnalyzerCommand.analyzerOK(["query", "--store", store, "--vm", "cam1", "-w", scratch.file("by-name.pcap")], in: scratch, label: "query-name")
        XCTAssertEqual(AnalyzerCommand.writtenCount(byName), masscan.records.count, byName.description)
        XCTAssertEqual(AnalyzerCommand.writtenCount(byID), AnalyzerCommand.writtenCount(byName))
        let unknown = try AnalyzerCommand.analyzer(["query", "--store", store, "--vm", "zebra", "-w", scratch.file("z.pcap")], in: scratch, label: "query-unknown")
        XCTAssertEqual(unknown.status, .exited(3), unknown.description)
        XCTAssertTrue(unknown.stderr.contains("no VM named 'zebra'") && unknown.stderr.contains("cam1=101"), unknown.description)
        // Relative times as separate arguments (--since -1h), and the other forms.
        for since in ["-1h", "yesterday", "2021-03-11T00:00Z", "2021-03-11"] {
            XCTAssertNoThrow(try alerts(store, ["--since", since], in: scratch), "--since \(since)")
        }
        XCTAssertEqual(try alerts(store, ["--since", "2021-03-01T00:00Z"], in: scratch).objects.count, all.count, "--since without seconds")
        // --since: the scan (2021-03-11) but nothing before; a time after every packet: nothing.
        let later = try alerts(store, ["--since", "2030-01-01T00:00:00Z"], in: scratch).objects
        XCTAssertEqual(later.count, 0, "alerts --since 2030")
        // The readable list names the VM and the signature.
        let text = try AnalyzerCommand.analyzerOK(["alerts", "--store", store], in: scratch, label: "alerts-text")
        XCTAssertTrue(text.stdout.contains("cam1  BMA SCAN vertical port scan of one host  TCP \(Self.camera):"), text.stdout)
        XCTAssertTrue(text.stdout.contains("cam2  BMA DNS tunnel suspected"), text.stdout)

        // Replaying a capture gives the same alerts (packet time, not wall time): masscan again,
        // into a fresh store.
        let again = scratch.file("store-again")
        try AnalyzerCommand.analyzerOK(["import", "--store", again, "--vm", "101", "--vm-name", "101=cam1", masscan.path], in: scratch, label: "import-again")
        let repeated = try alerts(again, in: scratch).objects.map(\.alert)
        func stable(_ a: EVEAlert) -> EVEAlert {
            var a = a
            a.pcap?.file = "" // segment names carry the wall clock
            return a
        }
        // (Only the attack's alerts: the wall-clock ticks pinned in
        // testImportOfACaptureThatStartsWithAPortScanRaisesTheAlert may land elsewhere in the
        // benign week on each run.)
        let attack = { (a: EVEAlert) in a.alert.signature_id == EVEAlert.portScanID || a.alert.signature_id == EVEAlert.dnsTunnelID }
        XCTAssertEqual(repeated.filter(attack).map(stable), all.filter { $0.vm == "cam1" }.filter(attack).map(stable),
                       "the same masscan import gives the same alerts")
    }

    /// A capture that is nothing but a 20-port scan (the scan module's threshold, within 0.2 s)
    /// raises the port-scan alert, as the same scan after one unrelated packet does.
    func testImportOfACaptureThatStartsWithAPortScanRaisesTheAlert() throws {
        let scratch = try makeScratch()
        let vmMAC = DetectionFrames.mac("02:00:00:00:0b:01"), gw = DetectionFrames.mac("02:00:00:00:0b:fe")
        let vmIP = DetectionFrames.ip("10.20.0.5"), target = DetectionFrames.ip("198.51.100.50")
        let syns = (0..<20).map { p in
            DetectionFrames.tcpSyn(from: vmMAC, to: gw, vmIP, target, sourcePort: 45000, destinationPort: UInt16(2000 + p), sequence: UInt32(p))
        }
        let other = DetectionFrames.udp(from: vmMAC, to: gw, vmIP, DetectionFrames.ip("198.51.100.60"), destinationPort: 53, tag: "other")
        func scanAlerts(_ frames: [[UInt8]], _ label: String) throws -> [EVEAlert] {
            let pcap = scratch.file("\(label).pcap")
            try PcapFiles.write(frames, to: pcap, startNanoseconds: 1_700_000_000 * 1_000_000_000) // 1 ms apart
            let store = scratch.file("store-\(label)")
            try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm", "3", pcap], in: scratch, label: "import-\(label)")
            let run = try AnalyzerCommand.analyzerOK(["alerts", "--store", store, "--json"], in: scratch, label: "alerts-\(label)")
            return try EVE.objects(in: run.stdout).map(\.alert).filter { $0.alert.signature_id == EVEAlert.portScanID }
        }
        let after = try scanAlerts([other] + syns, "after-other")
        XCTAssertEqual(after.count, 1, "the scan after one other packet: \(after.map(\.summary))")
        XCTAssertEqual(after.first?.dest_ip, "198.51.100.50")
        XCTAssertEqual(after.first?.bma.details["distinct_ports"], "20")

        let alone = try scanAlerts(syns, "alone")
        XCTAssertEqual(alone.count, 1, "the scan alone: \(alone.map(\.summary))")
    }

    // MARK: Broken input

    func testImportOfBrokenFilesFailsWithAClearMessage() throws {
        let scratch = try makeScratch()
        let store = scratch.file("store")
        let fm = FileManager.default

        // Material: a good small capture, and a segment the analyzer wrote from it.
        let vmMAC = DetectionFrames.mac("02:00:00:00:07:01"), gw = DetectionFrames.mac("02:00:00:00:07:fe")
        let frames = (0..<64).map { i in
            DetectionFrames.udp(from: vmMAC, to: gw, DetectionFrames.ip("10.7.0.1"), DetectionFrames.ip("198.51.100.70"),
                                destinationPort: 7000, tag: "frame \(i)", payloadLength: 200)
        }
        let good = scratch.file("good.pcap")
        try PcapFiles.write(frames, to: good)
        let segmentStore = scratch.file("segment-store")
        try AnalyzerCommand.analyzerOK(["import", "--store", segmentStore, "--vm", "7", good], in: scratch, label: "import-good")
        guard let segment = try fm.contentsOfDirectory(atPath: segmentStore).first(where: { $0.hasSuffix(".pcapng") }) else {
            XCTFail("the import wrote no segment")
            return
        }
        let segmentBytes = try Data(contentsOf: URL(fileURLWithPath: "\(segmentStore)/\(segment)"))
        let goodBytes = try Data(contentsOf: URL(fileURLWithPath: good))

        func file(_ name: String, _ data: Data) throws -> String {
            let path = scratch.file(name)
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func pcapHeader(linkType: UInt32) -> [UInt8] {
            le32(0xA1B2_C3D4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(65535) + le32(linkType)
        }
        var generator = SystemRandomNumberGenerator()
        let garbage = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) } + [0x42])

        // (file, what the message must say)
        let cases: [(String, String)] = [
            (try file("garbage.bin", Data([0x13, 0x37, 0xC0, 0xDE]) + garbage), "magic"),
            (try file("empty.pcap", Data()), "too short"),
            (try file("three-bytes.pcap", Data([0xD4, 0xC3, 0xB2])), "too short"),
            (try file("truncated.pcap", goodBytes.prefix(goodBytes.count - 100)), "cut short"),
            (try file("header-only-cut.pcap", goodBytes.prefix(20)), "pcap"),
            (try file("huge-record.pcap", Data(pcapHeader(linkType: 1) + le32(1) + le32(0) + le32(0xFFFF_FFF0) + le32(0xFFFF_FFF0) + [1, 2, 3])), "corrupt"),
            (try file("raw-ip.pcap", Data(pcapHeader(linkType: 101) + le32(1) + le32(0) + le32(20) + le32(20) + [UInt8](repeating: 0x45, count: 20))), "not Ethernet"),
            (try file("garbage.pcapng", Data([0x0A, 0x0D, 0x0D, 0x0A]) + garbage), "pcapng"),
            (try file("truncated.pcapng", segmentBytes.prefix(segmentBytes.count / 2)), "cut short"),
            (scratch.file("does-not-exist.pcap"), "exist"),
        ]
        for (path, phrase) in cases {
            let name = (path as NSString).lastPathComponent
            let r = try AnalyzerCommand.analyzer(["import", "--store", store, "--vm", "5", path], in: scratch, label: "import-broken")
            XCTAssertFalse(r.crashed, "\(name): crashed\n\(r)")
            XCTAssertEqual(r.status, .exited(1), "\(name): exit status\n\(r)")
            let message = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(message.hasPrefix("bma-analyzer: \(path): "), "\(name): the message names the file: '\(message)'")
            XCTAssertTrue(message.contains(phrase), "\(name): the message says '\(phrase)': '\(message)'")
            XCTAssertEqual(message.split(separator: "\n").count, 1, "\(name): one line, no trace: '\(message)'")
            XCTAssertFalse(r.stdout.contains("imported"), "\(name): nothing reported as imported\n\(r)")
        }
        let r = try? AnalyzerCommand.analyzer(["import", "--store", store, "--vm", "5", scratch.file("garbage.bin")], in: scratch, label: "import-garbage")
        XCTAssertFalse(r?.stderr.contains("pcapng is not supported") ?? true, "message: \(r?.stderr ?? "")")
        // A directory is not a capture either.
        let dir = try AnalyzerCommand.analyzer(["import", "--store", store, "--vm", "5", scratch.path], in: scratch, label: "import-dir")
        XCTAssertEqual(dir.status, .exited(1), dir.description)
        XCTAssertFalse(dir.crashed, dir.description)
        XCTAssertTrue(dir.stderr.hasPrefix("bma-analyzer: \(scratch.path): "), dir.description)

        // The failed imports stored nothing, and the store still works.
        let out = scratch.file("all.pcap")
        let q = try AnalyzerCommand.analyzerOK(["query", "--store", store, "-w", out], in: scratch, label: "query-after")
        XCTAssertEqual(AnalyzerCommand.writtenCount(q), 0, q.description)
        XCTAssertEqual(try PcapCapture.read(path: out).records.count, 0)
        let a = try AnalyzerCommand.analyzerOK(["alerts", "--store", store], in: scratch, label: "alerts-after")
        XCTAssertEqual(a.stdout, "no alerts\n")
        let ok = try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm", "5", good], in: scratch, label: "import-after")
        XCTAssertTrue(ok.stdout.contains("imported \(frames.count) packets"), ok.description)
    }

    // MARK: query

    /// Three flows, 60 frames 0.5 s apart, into segments of 16 KiB (so that queries span several).
    func testQueryFiltersBySinceUntilAndFlowExactly() throws {
        let scratch = try makeScratch()
        let vmMAC = DetectionFrames.mac("02:00:00:00:08:01"), gw = DetectionFrames.mac("02:00:00:00:08:fe")
        let vmIP = DetectionFrames.ip("10.9.0.5"), server = DetectionFrames.ip("198.51.100.20"), web = DetectionFrames.ip("203.0.113.7")
        let t0: UInt64 = 1_700_000_000 * 1_000_000_000 // 2023-11-14T22:13:20Z
        struct Frame { var ns: UInt64; var data: [UInt8]; var flow: String }
        var frames: [Frame] = []
        for i in 0..<60 {
            let ns = t0 + UInt64(i) * 500_000_000
            switch i % 4 {
            case 0:
                frames.append(Frame(ns: ns, data: DetectionFrames.udp(from: vmMAC, to: gw, vmIP, server, sourcePort: 40000, destinationPort: 5000,
                                                                      tag: "a-req \(i)", payloadLength: 600), flow: "a"))
            case 1:
                frames.append(Frame(ns: ns, data: DetectionFrames.udp(from: gw, to: vmMAC, server, vmIP, sourcePort: 5000, destinationPort: 40000,
                                                                      tag: "a-rep \(i)", payloadLength: 600), flow: "a"))
            case 2:
                frames.append(Frame(ns: ns, data: DetectionFrames.udp(from: vmMAC, to: gw, vmIP, server, sourcePort: 40001, destinationPort: 5000,
                                                                      tag: "b \(i)", payloadLength: 600), flow: "b"))
            default:
                frames.append(Frame(ns: ns, data: DetectionFrames.tcpSyn(from: vmMAC, to: gw, vmIP, web, sourcePort: 41000, destinationPort: 443,
                                                                         sequence: UInt32(i)), flow: "c"))
            }
        }
        let input = scratch.file("flows.pcap")
        let writer = try PcapWriter(path: input, resolution: .nanoseconds)
        for f in frames { try writer.write(timestampNanoseconds: f.ns, data: f.data) }
        try writer.close()
        let store = scratch.file("store")
        try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm", "7", "--rotate-bytes", "16384", input], in: scratch, label: "import")
        let segments = try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasSuffix(".pcapng") }
        XCTAssertGreaterThanOrEqual(segments.count, 2, "the frames span several segments: \(segments)")

        var n = 0
        func query(_ args: [String], _ expected: [Frame], _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
            n += 1
            let out = scratch.file("q\(n).pcap")
            let r = try AnalyzerCommand.analyzerOK(["query", "--store", store, "-w", out] + args, in: scratch, label: "query")
            XCTAssertEqual(AnalyzerCommand.writtenCount(r), expected.count, "\(what): count printed\n\(r)", file: file, line: line)
            let got = try PcapCapture.read(path: out).records
            XCTAssertEqual(got.map(\.timestampNanoseconds), expected.map(\.ns), "\(what): timestamps", file: file, line: line)
            assertSameFrames(got.map(\.data), expected.map(\.data), what, file: file, line: line)
        }
        func at(_ seconds: Double) -> UInt64 { t0 + UInt64(seconds * 1e9) }
        func within(_ a: UInt64, _ b: UInt64) -> (Frame) -> Bool { { $0.ns >= a && $0.ns <= b } }

        try query([], frames, "everything")
        try query(["--vm", "7"], frames, "--vm 7")
        try query(["--vm", "8"], [], "--vm 8 (no such VM)")
        // Bounds are inclusive, at a frame's time exactly.
        try query(["--since", "1700000005", "--until", "1700000010"], frames.filter(within(at(5), at(10))), "--since/--until (Unix seconds)")
        try query(["--since", "1700000005.25", "--until", "1700000009.75"], frames.filter(within(at(5.25), at(9.75))), "fractional seconds")
        try query(["--since", "2023-11-14T22:13:25Z", "--until", "2023-11-14T22:13:30Z"], frames.filter(within(at(5), at(10))), "RFC 3339")
        try query(["--since", "1700000020"], frames.filter { $0.ns >= at(20) }, "--since only")
        try query(["--until", "1700000003"], frames.filter { $0.ns <= at(3) }, "--until only")
        try query(["--since", "1700000010", "--until", "1700000005"], [], "--since after --until")
        try query(["--since", "1800000000"], [], "after every packet")
        // A flow, either direction, and only it.
        let a = frames.filter { $0.flow == "a" }
        try query(["--flow", "10.9.0.5,198.51.100.20,udp,40000,5000"], a, "--flow a")
        try query(["--flow", "198.51.100.20,10.9.0.5,udp,5000,40000"], a, "--flow a reversed")
        try query(["--flow", "10.9.0.5,198.51.100.20,17,40001,5000"], frames.filter { $0.flow == "b" }, "--flow b (protocol number)")
        try query(["--flow", "10.9.0.5,203.0.113.7,tcp,41000,443"], frames.filter { $0.flow == "c" }, "--flow c (tcp)")
        try query(["--flow", "10.9.0.5,198.51.100.20,tcp,40000,5000"], [], "--flow a's ports with the wrong protocol")
        try query(["--flow", "10.9.0.5,198.51.100.20,udp,40002,5000"], [], "--flow of no packet")
        try query(["--vm", "7", "--flow", "10.9.0.5,198.51.100.20,udp,40000,5000", "--since", "1700000004", "--until", "1700000020"],
                  a.filter(within(at(4), at(20))), "--vm, --flow, --since and --until together")

        // pcapng out, read by tshark when it is there.
        if DetectionTshark.path != nil {
            let ng = scratch.file("range.pcapng")
            let r = try AnalyzerCommand.analyzerOK(["query", "--store", store, "-w", ng, "--format", "pcapng", "--flow", "10.9.0.5,203.0.113.7,tcp,41000,443"],
                                                   in: scratch, label: "query-ng")
            let rows = try AnalyzerTshark.rows(ng, ["tcp.dstport", "frame.comment"], in: scratch, label: "tshark-ng")
            XCTAssertEqual(rows.count, AnalyzerCommand.writtenCount(r))
            XCTAssertEqual(rows.count, 15)
            XCTAssertTrue(rows.allSatisfy { $0["tcp.dstport"] == "443" && ($0["frame.comment"] ?? "").hasPrefix("bma vm=7 ") }, "\(rows.prefix(3))")
        }

        // Bad arguments are refused with the option named.
        for bad in [["--flow", "10.9.0.5,198.51.100.20,udp,40000"], ["--flow", "10.9.0.5,198.51.100.20,xyz,1,2"], ["--since", "yesterday-ish"],
                    ["--format", "json"]] {
            let r = try AnalyzerCommand.analyzer(["query", "--store", store, "-w", scratch.file("bad.pcap")] + bad, in: scratch, label: "query-bad")
            XCTAssertNotEqual(r.status, .exited(0), "\(bad): \(r)")
            XCTAssertFalse(r.crashed, "\(bad): \(r)")
            XCTAssertTrue(r.stderr.contains(bad[0]), "\(bad): the message names \(bad[0]): \(r.stderr)")
        }
    }

    // MARK: status

    /// Read-only commands never create a store (issue: `query --store` created one at any path).
    func testQueryAndAlertsNeverCreateAStore() throws {
        let scratch = try makeScratch()
        let plain = try scratch.write("not a store", to: "plain-file")
        let emptyDirectory = scratch.file("empty")
        try FileManager.default.createDirectory(atPath: emptyDirectory, withIntermediateDirectories: false)
        for store in [scratch.file("typo/store"), plain, emptyDirectory] {
            for args in [["query", "--store", store, "-w", scratch.file("out.pcap")], ["alerts", "--store", store]] {
                let r = try AnalyzerCommand.analyzer(args, in: scratch, label: args[0], timeout: 30)
                XCTAssertEqual(r.status, .exited(3), r.description)
                XCTAssertFalse(r.crashed, r.description)
                let message = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                XCTAssertTrue(message.hasPrefix("bma-analyzer: store \(store): "), message)
                XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("typo")), "a store directory was created")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: emptyDirectory), [], "files were created in a directory that is no store")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("out.pcap")), "an output was written")
    }

    /// Usage errors exit 2 (as in bmad and bmactl), every error is one line naming what is wrong,
    /// and a store that cannot be created is named without a Foundation error dump.
    func testErrorsAreOneLineWithTheSharedExitCodes() throws {
        let scratch = try makeScratch()
        let cases: [([String], Int32, [String])] = [
            (["serve", "--retention-bytes", "200X"], 2, ["200X", "--retention-bytes"]),
            (["qurey"], 2, ["unknown command 'qurey'", "did you mean 'query'?"]),
            (["query", "--store", scratch.path, "-w", "x.pcap", "--bogus"], 2, ["--bogus"]),
            (["alerts", "--store", scratch.path, "--since", "last tuesday"], 2, ["--since 'last tuesday'", "yesterday"]),
            (["import", "--store", "/proc/bma-nope/store", "--vm", "1", "--rotate-bytes", "64M", "x.pcap"], 1, ["/proc/bma-nope", "No such file or directory"]),
        ]
        for (arguments, code, mentions) in cases {
            let r = try AnalyzerCommand.analyzer(arguments, in: scratch, label: "errors", timeout: 30)
            XCTAssertEqual(r.status, .exited(code), r.description)
            let message = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(message.hasPrefix("bma-analyzer: "), message)
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            XCTAssertFalse(message.contains("NSCocoaErrorDomain") || message.contains("UserInfo"), message)
            for text in mentions { XCTAssertTrue(message.contains(text), "'\(text)' in \(message)") }
        }
    }

    func testStatusWithoutANodeExits3() throws {
        let scratch = try makeScratch()
        let plain = try scratch.write("not a socket", to: "plain-file")
        for (socket, json) in [(scratch.file("no-such.sock"), false), (scratch.file("no-such.sock"), true), (plain, false)] {
            let r = try AnalyzerCommand.analyzer(["status", "--socket", socket] + (json ? ["--json"] : []), in: scratch, label: "status", timeout: 20)
            XCTAssertEqual(r.status, .exited(3), r.description)
            XCTAssertFalse(r.crashed, r.description)
            XCTAssertEqual(r.stdout, "", r.description)
            let message = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(message.hasPrefix("bma-analyzer: "), message)
            XCTAssertTrue(message.contains(socket), "the message names the socket: \(message)")
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            XCTAssertFalse(message.contains("bmad"), "the analyzer's status names bmad: \(message)")
        }
    }

    // MARK: Retention

    /// About 50 MiB of crafted frames (plus a port scan at the end) imported with
    /// --retention-bytes 5 MiB: at most 5 MiB of segments stay, the newest; alerts and query work.
    func testRetentionBytesKeepsTheNewestFiveMiB() throws {
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        let scratch = try makeScratch()
        let limit = 5 * 1024 * 1024
        let vmMAC = DetectionFrames.mac("02:00:00:00:09:01"), gw = DetectionFrames.mac("02:00:00:00:09:fe")
        let vmIP = DetectionFrames.ip("10.9.9.5"), sink = DetectionFrames.ip("198.51.100.99"), target = DetectionFrames.ip("203.0.113.99")
        // The bulk: UDP with 1400-byte payloads, each numbered; checksum 0 (none) so that a
        // template with the number patched in stays valid.
        var template = DetectionFrames.udp(from: vmMAC, to: gw, vmIP, sink, sourcePort: 40000, destinationPort: 9000, tag: "", payloadLength: 1400)
        template[40] = 0
        template[41] = 0
        let t0: UInt64 = 1_700_000_000 * 1_000_000_000
        let path = scratch.file("big.pcap")
        let writer = try PcapWriter(path: path, resolution: .nanoseconds)
        var frames: [[UInt8]] = []
        var bytes = 24
        var i = 0
        while bytes < 50 * 1024 * 1024 {
            var f = template
            withUnsafeBytes(of: UInt64(i).bigEndian) { f.replaceSubrange(42..<50, with: $0) }
            try writer.write(timestampNanoseconds: t0 + UInt64(i) * 100_000, data: f)
            frames.append(f)
            bytes += 16 + f.count
            i += 1
        }
        // Then 60 SYNs to 60 ports of one host: a port scan, in the newest segment.
        let scanStart = t0 + UInt64(i) * 100_000 + 1_000_000
        for p in 0..<60 {
            let f = DetectionFrames.tcpSyn(from: vmMAC, to: gw, vmIP, target, sourcePort: 45000, destinationPort: UInt16(1000 + p * 3),
                                           sequence: UInt32(p))
            try writer.write(timestampNanoseconds: scanStart + UInt64(p) * 1_000_000, data: f)
            frames.append(f)
            bytes += 16 + f.count
        }
        try writer.close()
        XCTAssertGreaterThanOrEqual(bytes, 50 * 1024 * 1024)

        let store = scratch.file("store")
        let started = Date()
        let r = try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm", "9", "--retention-bytes", "5M", path],
                                               in: scratch, label: "import-big", timeout: 80)
        print("import of \(frames.count) frames (\(bytes) bytes): \(String(format: "%.1f", Date().timeIntervalSince(started))) s; \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("imported \(frames.count) packets"), r.description)

        let files = try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasPrefix("seg-") }
        let sizes = try files.map { (try FileManager.default.attributesOfItem(atPath: "\(store)/\($0)")[.size] as? NSNumber)?.intValue ?? 0 }
        let total = sizes.reduce(0, +)
        print("segments kept: \(files.count), \(total) bytes")
        XCTAssertLessThanOrEqual(total, limit, "segment files hold \(total) bytes, the limit is \(limit): \(zip(files, sizes).sorted { $0.0 < $1.0 })")
        XCTAssertGreaterThanOrEqual(total, limit / 2, "retention deletes only what it must: \(total) bytes kept")
        XCTAssertTrue(files.allSatisfy { $0.hasSuffix(".pcapng") }, "\(files)")

        // query: the newest packets, a contiguous tail of the input, in order.
        let out = scratch.file("kept.pcap")
        let q = try AnalyzerCommand.analyzerOK(["query", "--store", store, "--vm", "9", "-w", out], in: scratch, label: "query-big")
        let kept = try PcapCapture.read(path: out).records.map(\.data)
        XCTAssertEqual(AnalyzerCommand.writtenCount(q), kept.count)
        XCTAssertGreaterThan(kept.count, 1000)
        XCTAssertLessThan(kept.count, frames.count / 4)
        if kept.count <= frames.count {
            XCTAssertTrue(kept == Array(frames.suffix(kept.count)), "query gives the newest \(kept.count) frames, in order")
        }
        // A flow query over what is left: the scan's SYNs to port 1000.
        let flowOut = scratch.file("syn.pcap")
        let fq = try AnalyzerCommand.analyzerOK(["query", "--store", store, "--flow", "10.9.9.5,203.0.113.99,tcp,45000,1000", "-w", flowOut],
                                                in: scratch, label: "query-flow")
        XCTAssertEqual(AnalyzerCommand.writtenCount(fq), 1, fq.description)

        // alerts: the scan is there, and its reference points at a SYN of the scan in a kept segment.
        let objects = try alerts(store, in: scratch).objects
        let scan = objects.map(\.alert).filter { $0.alert.signature_id == EVEAlert.portScanID }
        XCTAssertFalse(scan.isEmpty, "a port-scan alert: \(objects.map(\.alert.summary))")
        for s in scan {
            XCTAssertEqual(s.vm, "vm9")
            XCTAssertEqual(s.dest_ip, "203.0.113.99")
            try AnalyzerTshark.assertReferenceMatchesFlow(s, store: store, vmID: 9, in: scratch)
        }
        let text = try AnalyzerCommand.analyzerOK(["alerts", "--store", store, "--vm", "vm9"], in: scratch, label: "alerts-text")
        XCTAssertTrue(text.stdout.contains("BMA SCAN vertical port scan of one host"), text.stdout)
    }
}
