import Control
import Foundation
import XCTest

/// Response actions on a live bmad (`action.add`, `action.list`, `action.remove`): drop and
/// rate-limit counted packet by packet on the uplink, expiry, events, persistence. VMs are
/// net_pcap ports read from named pipes (ControlSupport.swift): the test chooses the packet
/// time, and passes the worker's quiescent point with one burst of benign frames after each
/// change (the worker holds the snapshot it loaded before waiting in the pipe read).
final class ControlActionTests: ControlTestCase {
    static let vm = 101
    static let source = "10.0.1.5"

    private func start(_ scratch: ScratchDirectory, state: String) throws -> (ControlDaemon, ControlClient, ControlPcapStream, String) {
        let run = UUID().uuidString.prefix(8)
        let fifo = try scratch.fifo("vm1-\(run).pcap")
        let uplink = scratch.file("uplink-\(run).pcap")
        let config = ControlDaemonConfig(uplink: "net_pcap9,tx_pcap=\(uplink)",
                                         vms: [.init(name: "vm1", id: Self.vm, devargs: "net_pcap0,rx_pcap=\(fifo)")],
                                         detection: ["learning_seconds": "3600"],
                                         socket: scratch.file("bmad.sock"), stateDirectory: state)
        let (bmad, streams) = try startDaemon(config, in: scratch, pipes: [fifo])
        return (bmad, try bmad.client(), streams[0], uplink)
    }

    /// 32 benign frames (NTP to 10.0.0.4): carry the worker past its quiescent point.
    private func benign(_ tag: String, at t: UInt64) -> [ControlTimedFrame] {
        ControlFrames.timed((0..<32).map { ControlFrames.udp(vm: Self.vm, from: Self.source, to: "10.0.0.4", port: 123, tag: "\(tag) \($0)") }, from: t)
    }

    /// A phase of 96 frames, 10 ms apart, cycling: benign NTP, a TCP SYN to 10.0.0.9 (port i),
    /// UDP 10.0.1.5:40000 -> 10.0.0.7:5000, UDP to 10.0.0.8 port 7.
    private func phase(_ tag: String, at t: UInt64) -> [ControlTimedFrame] {
        let frames = (0..<96).map { i -> [UInt8] in
            switch i % 4 {
            case 0: ControlFrames.udp(vm: Self.vm, from: Self.source, to: "10.0.0.4", port: 123, tag: "\(tag) ntp \(i)")
            case 1: ControlFrames.tcp(vm: Self.vm, from: Self.source, to: "10.0.0.9", port: UInt16(1 + i), sequence: UInt32(i) + (tag == "A" ? 0 : 1000))
            case 2: ControlFrames.udp(vm: Self.vm, from: Self.source, to: "10.0.0.7", port: 5000, tag: "\(tag) flow \(i)")
            default: ControlFrames.udp(vm: Self.vm, from: Self.source, to: "10.0.0.8", port: 7, tag: "\(tag) limited \(i)")
            }
        }
        return ControlFrames.timed(frames, from: t)
    }

    private func counters(_ list: JSONValue, id: Int) -> [String: Int] {
        let a = list["actions"]?.arrayValue?.first { $0["id"]?.intValue == id }
        var out: [String: Int] = [:]
        for (k, v) in a?["counters"]?.objectValue ?? [:] { out[k] = v.intValue }
        return out
    }

    /// A destination drop (TCP to 10.0.0.9), a flow drop (one UDP 5-tuple) and a rate limit of
    /// 10 packets/s to 10.0.0.8: exactly the matching frames are missing from the uplink, each
    /// action counts them, and once the actions expire (events `expired`) every frame flows.
    func testDropAndRateLimitAreEnforcedPacketByPacketUntilTheyExpire() throws {
        let scratch = try makeScratch()
        let (bmad, client, stream, uplink) = try start(scratch, state: scratch.file("state"))
        let seconds = 4.0
        let dropTCP = try client.call("action.add", params: [
            "kind": "drop", "vm": "vm1", "destination": ["cidr": "10.0.0.9/32", "proto": "tcp"],
            "seconds": .number(seconds), "priority": 10, "reason": "port scan"])
        XCTAssertEqual(dropTCP["event"]?.stringValue, "added", "\(dropTCP)")
        XCTAssertEqual(dropTCP["id"]?.intValue, 1)
        let dropFlow = try client.call("action.add", params: [
            "kind": "drop", "flow": ["src": .string(Self.source), "dst": "10.0.0.7", "proto": "udp", "src_port": 40000, "dst_port": 5000],
            "seconds": .number(seconds)])
        XCTAssertEqual(dropFlow["id"]?.intValue, 2, "\(dropFlow)")
        let limit = try client.call("action.add", params: [
            "kind": "rate-limit", "vm": "vm1", "destination": ["cidr": "10.0.0.8/32"], "packets_per_second": 10,
            "seconds": .number(seconds)])
        XCTAssertEqual(limit["id"]?.intValue, 3, "\(limit)")
        let again = try client.call("action.add", params: [
            "kind": "drop", "vm": "vm1", "destination": ["cidr": "10.0.0.9/32", "proto": "tcp"], "seconds": 1])
        XCTAssertEqual(again["event"]?.stringValue, "exists", "the same kind and target is the same action: \(again)")
        XCTAssertEqual(again["id"]?.intValue, 1)
        XCTAssertEqual(again["expires"], dropTCP["expires"], "a shorter duration does not shorten the action")

        _ = assertControlError(.invalidParams, "unknown kind") { try client.call("action.add", params: ["kind": "block", "vm": "vm1", "seconds": 5]) }
        _ = assertControlError(.notFound, "unknown VM") { try client.call("action.add", params: ["kind": "drop", "vm": "vm9", "seconds": 5]) }
        _ = assertControlError(.invalidParams, "no target") { try client.call("action.add", params: ["kind": "drop", "seconds": 5]) }
        _ = assertControlError(.invalidParams, "rate-limit without a rate") {
            try client.call("action.add", params: ["kind": "rate-limit", "vm": "vm1", "seconds": 5])
        }
        _ = assertControlError(.invalidParams, "no expiry") { try client.call("action.add", params: ["kind": "drop", "vm": "vm1"]) }
        _ = assertControlError(.notFound, "remove unknown id") { try client.call("action.remove", params: ["id": 99]) }

        let t0 = ControlFrames.t0
        var expected: [[UInt8]] = []
        let w1 = benign("W1", at: t0)
        try stream.send(w1)
        try bmad.waitForForwarded(client, vm: "vm1", 32)
        expected += w1.map(\.bytes)

        // Phase A under the actions. The rate limit's model: a bucket of 10 tokens refilled at
        // 10/s on packet time, one token per packet.
        let a = phase("A", at: t0 + ControlFrames.second)
        var tokens = 10.0, last: UInt64? = nil, passed = 0, limited = 0
        for (i, f) in a.enumerated() {
            switch i % 4 {
            case 1, 2: continue
            case 3:
                if let l = last { tokens = min(10, tokens + Double(f.ns - l) * 1e-9 * 10) }
                last = f.ns
                if tokens >= 1 { tokens -= 1; passed += 1; expected.append(f.bytes) } else { limited += 1 }
            default: expected.append(f.bytes)
            }
        }
        XCTAssertGreaterThan(limited, 0, "the phase exceeds the rate")
        try stream.send(a)
        try bmad.waitForForwarded(client, vm: "vm1", 32 + 24 + passed)
        let list = try client.call("action.list")
        XCTAssertEqual(counters(list, id: 1), ["matched": 24, "dropped": 24, "limited": 0, "mirrored": 0, "allowed": 0], "\(list)")
        XCTAssertEqual(counters(list, id: 2), ["matched": 24, "dropped": 24, "limited": 0, "mirrored": 0, "allowed": 0], "\(list)")
        XCTAssertEqual(counters(list, id: 3), ["matched": 24, "dropped": 0, "limited": limited, "mirrored": 0, "allowed": 0], "\(list)")
        let stats = try client.call("stats")
        XCTAssertEqual(try bmad.vmCounters(client, "vm1")["action_drops"]?.intValue, 48 + limited)
        XCTAssertEqual(stats["drops"]?["response-action"]?.intValue, 48 + limited, "\(stats["drops"] ?? .null)")
        XCTAssertEqual((stats["actions"]?.arrayValue ?? []).map { "\($0["id"]?.intValue ?? 0) \($0["kind"]?.stringValue ?? "") \($0["dropped"]?.intValue ?? -1) \($0["limited"]?.intValue ?? -1)" },
                       ["1 drop 24 0", "2 drop 24 0", "3 rate-limit 0 \(limited)"], "stats: per-action counters")
        XCTAssertEqual(try bmad.vmCounters(client, "vm1")["outgoing"]?.intValue, 128)

        // Expiry: the control plane removes them on the wall clock and says so.
        try waitUntil("the actions expire", timeout: seconds + 10) {
            try client.call("action.list")["actions"]?.arrayValue?.isEmpty == true
        }
        let events = try client.call("action.list")["events"]?.arrayValue ?? []
        XCTAssertEqual(events.map { "\($0["event"]?.stringValue ?? "?") \($0["id"]?.intValue ?? 0)" },
                       ["added 1", "added 2", "added 3", "exists 1", "expired 1", "expired 2", "expired 3"])

        let forwarded = try bmad.vmCounters(client, "vm1")["forwarded"]?.intValue ?? 0
        let w2 = benign("W2", at: t0 + 3 * ControlFrames.second)
        try stream.send(w2)
        expected += w2.map(\.bytes)
        try bmad.waitForForwarded(client, vm: "vm1", forwarded + 32)
        let b = phase("B", at: t0 + 4 * ControlFrames.second)
        try stream.send(b)
        expected += b.map(\.bytes)
        try bmad.waitForForwarded(client, vm: "vm1", forwarded + 32 + 96)

        client.close()
        stream.close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        assertSameFrames(try PcapFiles.frames(path: uplink), expected, "uplink: the frames the actions let through, in order")
    }

    /// Actions persist with their expiries: after a restart the one still in force is back (and
    /// enforced), the one that expired meanwhile is reported `expired`; a removal is saved too.
    func testActionsSurviveARestartWithTheirExpiries() throws {
        let scratch = try makeScratch()
        let state = scratch.file("state")
        do {
            let (bmad, client, stream, _) = try start(scratch, state: state)
            let long = try client.call("action.add", params: ["kind": "drop", "vm": "vm1", "destination": ["cidr": "10.0.0.9/32"], "seconds": 600, "reason": "kept"])
            XCTAssertEqual(long["event"]?.stringValue, "added")
            _ = try client.call("action.add", params: ["kind": "allow", "vm": "vm1", "seconds": 0.5])
            client.close()
            stream.close()
            XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        }
        Thread.sleep(forTimeInterval: 1)
        let (bmad, client, stream, uplink) = try start(scratch, state: state)
        let list = try client.call("action.list")
        let actions = list["actions"]?.arrayValue ?? []
        XCTAssertEqual(actions.map { $0["id"]?.intValue }, [1], "\(list)")
        XCTAssertEqual(actions.first?["reason"]?.stringValue, "kept")
        XCTAssertEqual(actions.first?["destination"]?["cidr"]?.stringValue, "10.0.0.9/32")
        XCTAssertEqual((list["events"]?.arrayValue ?? []).map { "\($0["event"]?.stringValue ?? "?") \($0["id"]?.intValue ?? 0)" }, ["expired 2"])
        // The restored action is enforced: of 32 frames to 10.0.0.9 and 32 benign, 32 leave.
        let t = ControlFrames.t0
        let frames = ControlFrames.timed((0..<64).map { i in
            i % 2 == 0 ? ControlFrames.udp(vm: Self.vm, from: Self.source, to: "10.0.0.4", port: 123, tag: "R \(i)")
                : ControlFrames.udp(vm: Self.vm, from: Self.source, to: "10.0.0.9", port: 53, tag: "R \(i)")
        }, from: t)
        try stream.send(frames)
        try bmad.waitForForwarded(client, vm: "vm1", 32)
        XCTAssertEqual(counters(try client.call("action.list"), id: 1)["dropped"], 32)
        // bmactl: the table with the action's counters, an add that finds it exists, a removal.
        func bmactl(_ args: [String]) throws -> CommandRun {
            try AnalyzerCommand.run(try TestEnvironment.binary("bmactl"), ["--socket", scratch.file("bmad.sock")] + args, in: scratch, label: "bmactl")
        }
        let table = try bmactl(["action", "list"])
        XCTAssertEqual(table.status, .exited(0), table.description)
        let row = table.stdout.split(separator: "\n").first { $0.hasPrefix(" 1 ") || $0.hasPrefix("1 ") }.map(String.init) ?? ""
        XCTAssertTrue(row.contains("drop") && row.contains("to 10.0.0.9/32 vm vm1") && row.contains(" 32 ") && row.contains("kept"), table.stdout)
        XCTAssertTrue(table.stdout.contains("expired"), "the events follow the table: \(table.stdout)")
        let again = try bmactl(["action", "add", "drop", "--vm", "vm1", "--destination", "10.0.0.9/32", "--seconds", "5"])
        XCTAssertEqual(again.status, .exited(0), again.description)
        XCTAssertTrue(again.stdout.hasPrefix("action 1 exists: drop until "), again.stdout)
        let bad = try bmactl(["action", "add", "block", "--vm", "vm1", "--seconds", "5"])
        XCTAssertEqual(bad.status, .exited(1), bad.description)
        XCTAssertTrue(bad.stderr.contains("kind: 'block' is not one of drop, rate-limit, force-mirror, allow"), bad.stderr)
        let removedByCLI = try bmactl(["action", "remove", "1"])
        XCTAssertEqual(removedByCLI.stdout, "action 1 removed\n", removedByCLI.description)
        let removed = try client.call("action.list")["events"]?.arrayValue?.last ?? .null
        XCTAssertEqual(removed["event"]?.stringValue, "removed")
        XCTAssertEqual(try client.call("action.list")["actions"]?.arrayValue?.count, 0)
        client.close()
        stream.close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        XCTAssertEqual(try PcapFiles.frames(path: uplink), frames.enumerated().filter { $0.offset % 2 == 0 }.map(\.element.bytes))
        let saved = try String(contentsOfFile: state + "/actions.json", encoding: .utf8)
        XCTAssertTrue(saved.contains("\"actions\":[]"), saved)
    }

    /// `bma-analyzer alerts ack ID --benign`: the scan alert of an imported masscan becomes an
    /// `allow` on its flow in bmad, recorded in the store for the console.
    func testBenignAcknowledgementAllowsTheAlertsFlowOnBmad() throws {
        let scratch = try makeScratch()
        let store = scratch.file("store")
        let masscan = try AnalyzerScenario.masscan(in: scratch)
        try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm", "101", "--vm-name", "101=vm1", masscan.path], in: scratch, label: "import")
        let list = try AnalyzerCommand.analyzerOK(["alerts", "--store", store], in: scratch, label: "alerts")
        guard let line = list.stdout.split(separator: "\n").first(where: { $0.contains("BMA SCAN vertical port scan") }),
              let id = line.components(separatedBy: "  id ").last else { return XCTFail(list.stdout) }
        let (bmad, client, stream, _) = try start(scratch, state: scratch.file("state"))
        let notFound = try AnalyzerCommand.analyzer(["alerts", "ack", "1-0", "--benign", "--store", store, "--bmad-socket", scratch.file("bmad.sock")],
                                                    in: scratch, label: "ack-unknown")
        XCTAssertEqual(notFound.status, .exited(3), notFound.description)
        let ack = try AnalyzerCommand.analyzerOK(["alerts", "ack", id, "--benign", "--store", store, "--bmad-socket", scratch.file("bmad.sock"), "--seconds", "600"],
                                                 in: scratch, label: "ack")
        XCTAssertTrue(ack.stdout.hasPrefix("allow flow tcp 192.168.1.129:"), ack.stdout)
        XCTAssertTrue(ack.stdout.contains(": bmad action 1 added"), ack.stdout)
        let actions = try client.call("action.list")["actions"]?.arrayValue ?? []
        XCTAssertEqual(actions.count, 1)
        let a = actions.first ?? .null
        XCTAssertEqual(a["kind"]?.stringValue, "allow")
        XCTAssertEqual(a["vm"]?.intValue, 101)
        XCTAssertEqual(a["flow"]?["src"]?.stringValue, "192.168.1.129")
        XCTAssertEqual(a["flow"]?["dst"]?.stringValue, "198.124.152.15")
        XCTAssertEqual(a["flow"]?["proto"]?.stringValue, "tcp")
        XCTAssertTrue(a["reason"]?.stringValue?.hasPrefix("benign (alert \(id)): BMA SCAN") == true, "\(a)")
        XCTAssertGreaterThan(a["seconds_left"]?.doubleValue ?? 0, 590)
        let records = try String(contentsOfFile: store + "/responses.jsonl", encoding: .utf8)
        XCTAssertTrue(records.contains("\"rule\":\"analyst: benign\"") && records.contains("\"action_id\":1"), records)
        client.close()
        stream.close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
    }

    /// `force-mirror` copies normal frames the detector would not mirror; `allow` keeps the
    /// detector's anomalies toward its destination off the mirror (the same anomaly elsewhere is
    /// still mirrored); every frame is still forwarded; each action counts what it did.
    func testForceMirrorCopiesNormalFramesAndAllowKeepsAnomaliesOffTheMirror() throws {
        let scratch = try makeScratch()
        let fifo = try scratch.fifo("vm1.pcap")
        let uplink = scratch.file("uplink.pcap"), mirror = scratch.file("mirror.pcap")
        let config = ControlDaemonConfig(uplink: "net_pcap9,tx_pcap=\(uplink)",
                                         vms: [.init(name: "vm1", id: Self.vm, devargs: "net_pcap0,rx_pcap=\(fifo)")],
                                         mirror: "net_pcap8,tx_pcap=\(mirror)", detection: ["learning_seconds": "10", "pre_trigger_packets": "0"],
                                         socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
        let (bmad, streams) = try startDaemon(config, in: scratch, pipes: [fifo])
        let stream = streams[0], client = try bmad.client()
        var seq: UInt32 = 1
        func normal(_ i: Int, _ tag: String) -> [UInt8] {
            seq += 1
            return i % 2 == 0 ? ControlFrames.udp(vm: Self.vm, from: Self.source, to: "10.0.0.2", port: 53, tag: "\(tag) dns \(i)")
                : ControlFrames.tcp(vm: Self.vm, from: Self.source, to: "10.0.0.3", port: 443, sequence: seq)
        }
        func ssh(_ host: String) -> [UInt8] {
            seq += 1
            return ControlFrames.tcp(vm: Self.vm, from: Self.source, to: host, port: 22, sequence: 0x0100_0000 + seq)
        }
        let t0 = ControlFrames.t0, second = ControlFrames.second
        try stream.send(ControlFrames.timed((0..<64).map { normal($0, "L") }, from: t0))
        try bmad.waitForForwarded(client, vm: "vm1", 64)
        _ = try client.call("action.add", params: ["kind": "force-mirror", "vm": "vm1", "destination": ["cidr": "10.0.0.2/32", "proto": "udp", "port": 53], "seconds": 600])
        _ = try client.call("action.add", params: ["kind": "allow", "vm": "vm1", "destination": ["cidr": "198.51.100.0/24"], "seconds": 600])
        // The worker waits in the pipe with the snapshot it held: one burst carries it round.
        let quiet = ControlFrames.timed((0..<32).map { _ in normal(1, "Q") }, from: t0 + 50 * second)
        try stream.send(quiet)
        try bmad.waitForForwarded(client, vm: "vm1", 96)
        // After learning: DNS (forced), HTTPS (normal), SSH to an allowed and to another new host.
        let d = (0..<64).map { i -> [UInt8] in
            switch i % 8 {
            case 1: ssh("198.51.100.7")
            case 5: ssh("203.0.113.9")
            default: normal(i, "D")
            }
        }
        try stream.send(ControlFrames.timed(d, from: t0 + 100 * second))
        try bmad.waitForForwarded(client, vm: "vm1", 160)
        let list = try client.call("action.list")
        client.close()
        stream.close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        XCTAssertEqual(try PcapFiles.frames(path: uplink).count, 160, "every frame forwarded")
        let copies = try ControlMirrorCopy.read(mirror).map(\.inner)
        let dns = d.filter { ControlFrameInfo($0)?.destinationPort == 53 }
        let elsewhere = d.filter { ControlFrameInfo($0)?.destination == "203.0.113.9" }
        XCTAssertEqual(dns.count, 32)
        XCTAssertEqual(elsewhere.count, 8)
        XCTAssertEqual(copies, d.filter { dns.contains($0) || elsewhere.contains($0) },
                       "copies: the forced DNS and the SSH to 203.0.113.9 (nothing while learning), not the SSH to the allowed network")
        XCTAssertEqual(counters(list, id: 1), ["matched": 32, "dropped": 0, "limited": 0, "mirrored": 32, "allowed": 0], "\(list)")
        XCTAssertEqual(counters(list, id: 2), ["matched": 8, "dropped": 0, "limited": 0, "mirrored": 0, "allowed": 8], "\(list)")
    }

    /// bmad logs every event of an action: added, exists, removed, expired.
    func testEveryEventIsLogged() throws {
        let scratch = try makeScratch()
        let config = ControlDaemonConfig(uplink: "net_null0,no-rx=1", vms: [.init(name: "vm1", id: Self.vm, devargs: "net_null1,no-rx=1")],
                                         socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
        let (bmad, _) = try startDaemon(config, in: scratch, quiet: false)
        let client = try bmad.client()
        let flow: JSONValue = ["src": .string(Self.source), "dst": "198.51.100.7", "proto": "tcp", "src_port": 40000, "dst_port": 22]
        _ = try client.call("action.add", params: ["kind": "drop", "vm": "vm1", "flow": flow, "seconds": 60, "reason": "ssh brute force"])
        _ = try client.call("action.add", params: ["kind": "drop", "vm": "vm1", "flow": flow, "seconds": 60])
        _ = try client.call("action.add", params: ["kind": "rate-limit", "destination": ["cidr": "203.0.113.0/24"], "bytes_per_second": 1e6, "seconds": 0.2])
        _ = try client.call("action.remove", params: ["id": 1])
        try waitUntil("action 2 expires", timeout: 10) { try client.call("action.list")["actions"]?.arrayValue?.isEmpty == true }
        client.close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        let lines = bmad.child.stdout.split(separator: "\n").filter { $0.contains("bmad: action ") }.map { line in
            // The expiry's time varies: keep what comes before it.
            String(line.components(separatedBy: " until ").first ?? String(line))
        }
        XCTAssertEqual(lines, [
            "bmad: action 1 added: drop flow tcp 10.0.1.5:40000 -> 198.51.100.7:22 of vm vm1",
            "bmad: action 1 exists: drop flow tcp 10.0.1.5:40000 -> 198.51.100.7:22 of vm vm1",
            "bmad: action 2 added: rate-limit destination 203.0.113.0/24",
            "bmad: action 1 removed: drop flow tcp 10.0.1.5:40000 -> 198.51.100.7:22 of vm vm1",
            "bmad: action 2 expired: rate-limit destination 203.0.113.0/24",
        ], bmad.child.stdout)
        XCTAssertTrue(bmad.child.stdout.contains("(ssh brute force)"), "the reason is logged")
    }
}
