import Foundation
import Testing
@testable import Analysis

@Suite("inspect: external modules")
struct InspectExternalModuleTests {
    static let hasTshark = FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark")
    static let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    /// Polls `condition` every 20 ms for at most `seconds`.
    static func wait(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    static func iodinePackets(_ count: Int, vmID: UInt32 = 7) throws -> [MirroredPacket] {
        InspectSupport.packets(Array(try RealCaptures.read(RealCaptures.iodine).records.prefix(count)), vmID: vmID)
    }

    static func configuration(_ name: String, _ command: [String]) -> ExternalModule.Configuration {
        var configuration = ExternalModule.Configuration(name: name, command: command)
        configuration.batchDelayNs = 20_000_000
        configuration.restartBackoffNs = 100_000_000
        configuration.maxRestartBackoffNs = 400_000_000
        return configuration
    }

    /// Feeds packets through `inspect`, returning the longest call.
    @discardableResult
    static func feed(_ module: ExternalModule, _ packets: [MirroredPacket], alerts: inout [Alert]) -> Double {
        var longest = 0.0
        for packet in packets {
            let start = Date()
            module.inspect(packet, PacketView(frame: packet.frame)) { alerts.append($0) }
            longest = max(longest, Date().timeIntervalSince(start))
        }
        return longest
    }

    static func alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    // MARK: With tshark

    @Test("tshark -T ek in stream mode: one wrapped alert per packet, attributed to it",
          .enabled(if: hasTshark && RealCaptures.available), .timeLimit(.minutes(1)))
    func tsharkEK() throws {
        let module = ExternalModule(configuration: Self.configuration("tshark", ["tshark", "-l", "-n", "-r", "-", "-T", "ek"]),
                                    alerts: AlertBuilder(vmNames: [7: "dns1"]))
        defer { module.stop() }
        var alerts: [Alert] = []
        Self.feed(module, try Self.iodinePackets(30), alerts: &alerts)
        #expect(Self.wait(30) { module.stats.alerts >= 30 }, "\(module.stats)")
        alerts += module.drainAlerts()
        #expect(alerts.count == 30)
        let stats = module.stats
        #expect(stats.ignoredLines == 30 && stats.invalidLines == 0 && stats.packetsWritten == 30 && stats.crashes == 0)
        let first = try #require(alerts.first)
        #expect(first.alert.signature == "external:tshark" && first.alert.signature_id == 9_201_000 && first.alert.severity == 3)
        #expect(first.bma.module == "tshark" && first.vm == "dns1" && first.host == "host-a")
        #expect(first.src_ip == "10.0.2.30" && first.dest_port == 53 && first.bma.details["packet_number"] == "1")
        #expect(first.bma.details["output"]?.contains("\"layers\"") == true)
        let numbers = alerts.compactMap { $0.bma.details["packet_number"].flatMap(Int.init) }
        #expect(numbers == Array(1...30))
    }

    @Test("tshark -T fields behind a Python filter raising its own alerts",
          .enabled(if: hasTshark && hasPython && RealCaptures.available), .timeLimit(.minutes(1)))
    func tsharkFieldsFilter() throws {
        let filter = """
        import sys, json
        for line in sys.stdin:
            number, source, name, qtype = (line.rstrip("\\n").split("\\t") + ["", "", "", ""])[:4]
            if qtype == "10":
                print(json.dumps({"packet_number": int(number), "alert": {"signature": "DNS NULL query",
                    "signature_id": 9201500, "category": "Covert Channel", "severity": 1},
                    "bma": {"details": {"qname_prefix": name[:12]}}}), flush=True)
        """
        let script = "tshark -l -n -r - -T fields -e frame.number -e ip.src -e dns.qry.name -e dns.qry.type "
            + "-Y 'dns.flags.response == 0' 2>/dev/null | python3 -u -c \"$FILTER\""
        var configuration = Self.configuration("null-queries", ["/bin/sh", "-c", script])
        configuration.environment = ["FILTER": filter]
        let module = ExternalModule(configuration: configuration)
        defer { module.stop() }
        var alerts: [Alert] = []
        let packets = try Self.iodinePackets(60)
        let queries = packets.filter { PacketView(frame: $0.frame).dns?.isResponse == false }.count
        Self.feed(module, packets, alerts: &alerts)
        #expect(Self.wait(30) { module.stats.alerts >= queries }, "\(module.stats)")
        alerts += module.drainAlerts()
        #expect(alerts.count == queries)
        let alert = try #require(alerts.first)
        #expect(alert.alert.signature == "DNS NULL query" && alert.alert.signature_id == 9_201_500 && alert.alert.severity == 1)
        #expect(alert.alert.category == "Covert Channel" && alert.bma.module == "null-queries")
        #expect(alert.src_ip == "10.0.2.30" && alert.dest_ip == "10.0.2.20" && alert.vm == "vm7")
        #expect(alert.bma.details["qname_prefix"]?.isEmpty == false)
    }

    @Test("per-batch mode: tshark without -l answers at the end of each batch",
          .enabled(if: hasTshark && RealCaptures.available), .timeLimit(.minutes(1)))
    func perBatch() throws {
        var configuration = Self.configuration("tshark-batch", ["tshark", "-n", "-r", "-", "-T", "ek"])
        configuration.mode = .perBatch
        configuration.batchPackets = 10
        let module = ExternalModule(configuration: configuration)
        defer { module.stop() }
        var alerts: [Alert] = []
        Self.feed(module, try Self.iodinePackets(25), alerts: &alerts)
        #expect(Self.wait(40) { module.stats.alerts >= 25 && module.stats.cleanExits >= 3 }, "\(module.stats)")
        alerts += module.drainAlerts()
        let stats = module.stats
        #expect(alerts.count == 25 && stats.crashes == 0 && stats.restarts == 0 && stats.starts == 3)
        // Numbers restart with each child.
        #expect(alerts.compactMap { $0.bma.details["packet_number"] }.filter { $0 == "1" }.count == 3)
    }

    // MARK: Misbehaving programs

    @Test("a program that stops reading is killed as hung, with its group, and restarted", .timeLimit(.minutes(1)))
    func hang() throws {
        var configuration = Self.configuration("sleeper", ["/bin/sh", "-c", "sleep 1000; true"])
        configuration.hangTimeoutNs = 1_000_000_000
        let module = ExternalModule(configuration: configuration)
        defer { module.stop() }
        #expect(Self.wait(5) { module.stats.running })
        let firstPID = try #require(module.stats.pid)
        var alerts: [Alert] = []
        var longest = 0.0
        let frame = InspectFrames.udp("10.0.0.1", 1, "10.0.0.2", 2, payload: [UInt8](repeating: 7, count: 200))
        let start = Date()
        var index: UInt64 = 0
        while Date().timeIntervalSince(start) < 4 {
            longest = max(longest, Self.feed(module, [InspectSupport.packet(frame, at: 1_000 + index)], alerts: &alerts))
            index += 1
            Thread.sleep(forTimeInterval: 0.005)
        }
        let stats = module.stats
        #expect(stats.killedHung >= 1 && stats.restarts >= 1, "\(stats)")
        #expect(!Self.alive(firstPID))
        #expect(longest < 0.05)
        #expect(alerts.isEmpty)
    }

    @Test("an idle program with nothing to read is not hung", .timeLimit(.minutes(1)))
    func idleIsNotHung() throws {
        var configuration = Self.configuration("idle", ["sleep", "1000"])
        configuration.hangTimeoutNs = 300_000_000
        let module = ExternalModule(configuration: configuration)
        defer { module.stop() }
        #expect(Self.wait(5) { module.stats.running })
        Thread.sleep(forTimeInterval: 1.5)
        let stats = module.stats
        #expect(stats.killedHung == 0 && stats.starts == 1 && stats.running, "\(stats)")
    }

    @Test("a program that exits at once is restarted with growing backoff", .timeLimit(.minutes(1)))
    func crashLoop() throws {
        let module = ExternalModule(configuration: Self.configuration("crasher", ["/bin/sh", "-c", "exit 1"]))
        defer { module.stop() }
        var alerts: [Alert] = []
        let packets = (0..<200).map { InspectSupport.packet(InspectFrames.icmpEcho("10.0.0.1", "10.0.0.2"), at: UInt64($0)) }
        let start = Date()
        var longest = 0.0
        while Date().timeIntervalSince(start) < 3 {
            longest = max(longest, Self.feed(module, Array(packets.prefix(5)), alerts: &alerts))
            Thread.sleep(forTimeInterval: 0.01)
        }
        let stats = module.stats
        #expect(stats.crashes >= 3 && stats.restarts >= 2, "\(stats)")
        // 100, 200, 400, 400... ms apart: about 8 starts in 3 s, not hundreds.
        #expect(stats.starts <= 15)
        #expect(stats.lastExit == "exit status 1")
        #expect(longest < 0.05)
    }

    @Test("a program printing a million lines is killed for flooding; its alerts stay bounded",
          .enabled(if: hasPython), .timeLimit(.minutes(1)))
    func flood() throws {
        var configuration = Self.configuration("flood", [
            "python3", "-c", "import sys\nfor i in range(1000000): sys.stdout.write('{\"n\": %d}\\n' % i)\nimport time\ntime.sleep(100)",
        ])
        configuration.maxLinesPerSecond = 1_000
        configuration.outboxLimit = 100
        configuration.restartBackoffNs = 2_000_000_000
        configuration.maxRestartBackoffNs = 2_000_000_000
        let module = ExternalModule(configuration: configuration)
        defer { module.stop() }
        #expect(Self.wait(15) { module.stats.killedFlooding >= 1 }, "\(module.stats)")
        let stats = module.stats
        #expect(stats.lines <= 1_001 + 1 && stats.alerts == 100 && stats.alertsDropped > 0)
        #expect(module.drainAlerts().count == 100)
    }

    @Test("a line over the size limit is a flood too", .enabled(if: hasPython), .timeLimit(.minutes(1)))
    func longLine() throws {
        var configuration = Self.configuration("long", [
            "python3", "-c", "import sys, time\nsys.stdout.write('x' * 300000)\nsys.stdout.flush()\ntime.sleep(100)",
        ])
        configuration.maxLineBytes = 64 * 1024
        configuration.restartBackoffNs = 5_000_000_000
        let module = ExternalModule(configuration: configuration)
        defer { module.stop() }
        #expect(Self.wait(15) { module.stats.killedLongLine >= 1 }, "\(module.stats)")
        #expect(module.stats.alerts == 0)
    }

    @Test("a full input queue drops and counts, and the caller never waits", .timeLimit(.minutes(1)))
    func queueBound() throws {
        var configuration = Self.configuration("slow", ["/bin/sh", "-c", "sleep 1000; true"])
        configuration.queuePackets = 50
        configuration.hangTimeoutNs = 60_000_000_000
        let module = ExternalModule(configuration: configuration)
        defer { module.stop() }
        let frame = InspectFrames.udp("10.0.0.1", 1, "10.0.0.2", 2, payload: [UInt8](repeating: 1, count: 1_400))
        let packets = (0..<2_000).map { InspectSupport.packet(frame, at: UInt64($0)) }
        var alerts: [Alert] = []
        let start = Date()
        Self.feed(module, packets, alerts: &alerts)
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(Self.wait(5) { module.stats.packetsWritten > 0 })
        let stats = module.stats
        #expect(stats.packetsQueued + stats.packetsDropped == 2_000)
        #expect(stats.packetsDropped >= 1_700, "\(stats)")
    }

    @Test("a command that does not exist is counted and retried; stop ends everything", .timeLimit(.minutes(1)))
    func missingCommandAndStop() throws {
        let module = ExternalModule(configuration: Self.configuration("missing", ["/nonexistent/bma-tool"]))
        #expect(Self.wait(5) { module.stats.spawnFailures >= 2 })
        #expect(module.stats.lastError?.contains("/nonexistent/bma-tool") == true)
        module.stop()

        let sleeper = ExternalModule(configuration: Self.configuration("sleeper", ["sleep", "1000"]))
        #expect(Self.wait(5) { sleeper.stats.running })
        let pid = try #require(sleeper.stats.pid)
        sleeper.stop()
        #expect(!Self.alive(pid) && !sleeper.stats.running)
        // Packets after stop are dropped, not queued.
        var alerts: [Alert] = []
        Self.feed(sleeper, [InspectSupport.packet(InspectFrames.icmpEcho("10.0.0.1", "10.0.0.2"), at: 1)], alerts: &alerts)
        #expect(sleeper.stats.packetsDropped == 1)
    }

    // MARK: Mapping

    @Test("output lines map to alerts")
    func mapping() throws {
        let mapper = ExternalAlertMapper(name: "ext", signatureID: 9_201_007, category: "External Module", severity: 3,
                                         packetNumberPaths: ExternalModule.Configuration(name: "x", command: []).packetNumberPaths,
                                         maxDetailBytes: 64, alerts: AlertBuilder(vmNames: [4: "four"]))
        let frame = InspectFrames.tcp("10.0.0.1", 1_234, "10.0.0.2", 80, flags: TCPFlag.syn)
        let packet = InspectSupport.packet(frame, at: 1_615_216_935_831_389_000, vmID: 4)
        let reference = ExternalPacketReference(packet: packet, view: PacketView(frame: frame))
        let other = ExternalPacketReference(packet: InspectSupport.packet([], at: 0, vmID: 9), view: PacketView(frame: []))
        func map(_ text: String) -> ExternalAlertMapper.Outcome {
            mapper.map(Array(text.utf8)[...], packets: { $0 == 3 ? reference : nil }, latest: other)
        }
        guard case let .alert(eve) = map(#"{"event_type":"alert","src_ip":"192.0.2.1","src_port":5,"dest_ip":"192.0.2.2","dest_port":6,"proto":"UDP","alert":{"signature":"X","signature_id":77,"category":"C","severity":1},"packet_number":"3","bma":{"score":2.5,"details":{"a":1}}}"#) else {
            Issue.record("not an alert"); return
        }
        #expect(eve.alert.signature == "X" && eve.alert.signature_id == 77 && eve.alert.category == "C" && eve.alert.severity == 1)
        #expect(eve.src_ip == "192.0.2.1" && eve.src_port == 5 && eve.dest_port == 6 && eve.proto == "UDP")
        #expect(eve.vm == "four" && eve.timestamp == "2021-03-08T15:22:15.831389+0000" && eve.bma.score == 2.5)
        #expect(eve.bma.details["a"] == "1" && eve.bma.details["output_truncated"] != nil)

        guard case let .alert(wrapped) = map(#"{"_source":{"layers":{"frame":{"frame.number":["3"]}}},"x":1}"#) else {
            Issue.record("not wrapped"); return
        }
        #expect(wrapped.alert.signature == "external:ext" && wrapped.alert.signature_id == 9_201_007)
        #expect(wrapped.src_ip == "10.0.0.1" && wrapped.dest_port == 80 && wrapped.vm == "four")

        guard case let .alert(unnumbered) = map(#"{"y":2}"#) else { Issue.record("not wrapped"); return }
        #expect(unnumbered.vm == "vm9")  // the latest packet written

        guard case .ignored = map(#"{"index":{"_index":"packets-2021-03-08","_type":"doc"}}"#) else { Issue.record("index"); return }
        guard case .ignored = map("   ") else { Issue.record("blank"); return }
        guard case .invalid = map("not json") else { Issue.record("garbage"); return }
        guard case .invalid = map("[1,2]") else { Issue.record("array"); return }
    }
}
