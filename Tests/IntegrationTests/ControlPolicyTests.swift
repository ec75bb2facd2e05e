import BMAContract
import Control
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Selective mirroring policies set over the control socket of a live bmad: `always`, `never`,
/// priorities. VMs are net_pcap ports read from named pipes (ControlSupport.swift), so packet
/// time is the capture time the test writes and policies change between traffic phases; the
/// mirror is Geneve, whose BMA option carries the policy id, reasons and flags of every copy.
final class ControlPolicyTests: ControlTestCase {
    static let vm1 = 101
    static let vm2 = 102

    struct Setup {
        var bmad: ControlDaemon
        var client: ControlClient
        var streams: [ControlPcapStream]
        var uplink: String
        var mirror: String
    }

    /// bmad with `vms` VMs (vm1, vm2, ...; ids 101, 102, ...) on pipes, the uplink and the
    /// Geneve mirror on capture files.
    private func start(vms: Int, detection: [String: String], in scratch: ScratchDirectory) throws -> Setup {
        let fifos = try (1...vms).map { try scratch.fifo("vm\($0).pcap") }
        let uplink = scratch.file("uplink.pcap"), mirror = scratch.file("mirror.pcap")
        let config = ControlDaemonConfig(
            uplink: "net_pcap9,tx_pcap=\(uplink)",
            vms: fifos.enumerated().map { .init(name: "vm\($0.offset + 1)", id: 101 + $0.offset, devargs: "net_pcap\($0.offset),rx_pcap=\($0.element)") },
            mirror: "net_pcap8,tx_pcap=\(mirror)", detection: detection,
            socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
        let (bmad, streams) = try startDaemon(config, in: scratch, pipes: fifos)
        return Setup(bmad: bmad, client: try bmad.client(), streams: streams, uplink: uplink, mirror: mirror)
    }

    /// Ends the captures, stops bmad (clean exit) and returns its summary.
    private func finish(_ s: Setup) throws -> JSONValue {
        s.client.close()
        for st in s.streams { st.close() }
        XCTAssertEqual(try s.bmad.stop(), .exited(0), s.bmad.child.outputTail())
        return try s.bmad.summary()
    }

    private func vm(_ summary: JSONValue, _ name: String) -> [String: JSONValue] {
        summary["vms"]?.arrayValue?.first { $0["name"]?.stringValue == name }?.objectValue ?? [:]
    }

    /// Every frame a VM sent reached the uplink, in order, and the port counters say so.
    private func assertForwarded(_ s: Setup, file: StaticString = #filePath, line: UInt = #line) throws {
        let (uplink, streams) = (s.uplink, s.streams)
        let counters = try s.bmad.portSummary()
        counters.assertConsistent(file: file, line: line)
        let total = UInt64(streams.reduce(0) { $0 + $1.count })
        XCTAssertEqual(try counters.port("uplink").txPackets, total, "uplink tx", file: file, line: line)
        for (i, st) in streams.enumerated() {
            XCTAssertEqual(try counters.port("vm\(i + 1)").rxPackets, UInt64(st.count), "vm\(i + 1) rx", file: file, line: line)
        }
        XCTAssertEqual(counters.drops.values.reduce(0, +), 0, "drops \(counters.drops)", file: file, line: line)
        let out = try PcapFiles.frames(path: uplink)
        XCTAssertEqual(out.count, streams.reduce(0) { $0 + $1.count }, "uplink capture: every frame of every VM", file: file, line: line)
        for (i, s) in streams.enumerated() {
            let mac = ControlFrames.mac(vm: Self.vm1 + i).octets
            assertSameFrames(out.filter { Array($0[6..<12]) == mac }, s.frames, "uplink capture, frames of vm\(i + 1)", file: file, line: line)
        }
    }

    /// Makes the worker take the current policy snapshot before the frames that follow.
    ///
    /// The worker loads the snapshot at the top of its loop, before its rx bursts; while a pipe
    /// is empty it waits inside the rx call with the snapshot it loaded before. So after a policy
    /// change the next burst of each VM is still judged by the previous set, and only the one
    /// after it by the new set (with a polling PMD the loop comes round within microseconds).
    /// One burst per VM of `neutral` frames, which no policy of the test mirrors, carries the
    /// worker round its loop.
    private func passQuiescentPoint(_ s: Setup, _ neutral: [[ControlTimedFrame]]) throws {
        precondition(neutral.count == s.streams.count && neutral.allSatisfy { $0.count == 32 })
        let before = try (0..<s.streams.count).map { try s.bmad.vmCounters(s.client, "vm\($0 + 1)")["forwarded"]?.intValue ?? 0 }
        for (stream, frames) in zip(s.streams, neutral) { try stream.send(frames) }
        for (i, n) in before.enumerated() { try s.bmad.waitForForwarded(s.client, vm: "vm\(i + 1)", n + 32) }
    }

    // MARK: always

    /// `always` for vm1's udp/53 mirrors exactly vm1's DNS queries — while learning and after —
    /// with the policy id and the forced flag; none of vm1's other normal traffic, nothing of vm2
    /// (which sends the same traffic), and every frame is still forwarded.
    func testAlwaysPolicyMirrorsExactlyOneVMsDNS() throws {
        let scratch = try makeScratch()
        let s = try start(vms: 2, detection: ["learning_seconds": "10", "pre_trigger_packets": "0"], in: scratch)

        let stored = try s.client.call("policy.add", params: [
            "id": 10, "name": "dns of vm1", "priority": 100,
            "match": ["vms": ["vm1"], "protocol": "udp", "dst_ports": "53", "direction": "out"],
            "action": ["mirror": "always"],
        ])
        XCTAssertEqual(stored["id"]?.intValue, 10, "policy.add answers the stored policy: \(stored)")
        XCTAssertEqual(stored["priority"]?.intValue, 100, "\(stored)")
        XCTAssertEqual(stored["action"]?["mirror"]?.stringValue, "always", "\(stored)")
        let list = try s.client.call("policy.list")
        XCTAssertEqual(list["generation"]?.intValue, 1, "\(list)")
        XCTAssertEqual(list.policyIDs, [10])
        XCTAssertEqual(try s.client.call("policy.show", params: ["id": 10])["name"]?.stringValue, "dns of vm1")
        XCTAssertEqual(try s.client.call("status")["policies"]?.intValue, 1)

        // Each VM's normal traffic: DNS, HTTPS and NTP; learned in the first phase (the first
        // 10 s of packet time), then the same again 100 s later, after learning.
        func normal(_ vm: Int, _ phase: String, start: UInt64) -> [ControlTimedFrame] {
            let source = "10.0.\(vm - 100).5"
            let frames = (0..<96).map { i -> [UInt8] in
                switch i % 3 {
                case 0: ControlFrames.udp(vm: vm, from: source, to: "10.0.0.2", port: 53, tag: "\(phase) vm\(vm) dns \(i)")
                case 1: ControlFrames.tcp(vm: vm, from: source, to: "10.0.0.3", port: 443, sequence: UInt32(vm * 100_000 + i) + (phase == "L" ? 0 : 50_000))
                default: ControlFrames.udp(vm: vm, from: source, to: "10.0.0.4", port: 123, tag: "\(phase) vm\(vm) ntp \(i)")
                }
            }
            return ControlFrames.timed(frames, from: start)
        }
        // One burst of NTP per VM (before the learning phase) carries the worker past the change.
        var sent: [Int: [ControlTimedFrame]] = [:]
        let warmUp = [Self.vm1, Self.vm2].map { vm in
            ControlFrames.timed((0..<32).map {
                ControlFrames.udp(vm: vm, from: "10.0.\(vm - 100).5", to: "10.0.0.4", port: 123, tag: "W vm\(vm) ntp \($0)")
            }, from: ControlFrames.t0 - ControlFrames.second)
        }
        try passQuiescentPoint(s, warmUp)
        sent[Self.vm1] = warmUp[0]
        sent[Self.vm2] = warmUp[1]
        let phases = [(Self.vm1, "L", ControlFrames.t0), (Self.vm2, "L", ControlFrames.t0),
                      (Self.vm1, "D", ControlFrames.t0 + 100 * ControlFrames.second),
                      (Self.vm2, "D", ControlFrames.t0 + 100 * ControlFrames.second)]
        for (vm, phase, start) in phases {
            let frames = normal(vm, phase, start: start)
            try s.streams[vm - Self.vm1].send(frames)
            sent[vm, default: []] += frames
        }
        try s.bmad.waitForForwarded(s.client, vm: "vm1", 224)
        try s.bmad.waitForForwarded(s.client, vm: "vm2", 224)
        let live = try s.bmad.vmCounters(s.client, "vm1")
        XCTAssertEqual(live["forced"]?.intValue, 64, "stats: vm1 forced \(live)")
        let summary = try finish(s)

        let expected = sent[Self.vm1]!.filter { ControlFrameInfo($0.bytes)?.destinationPort == 53 }
        XCTAssertEqual(expected.count, 64)
        let copies = try ControlMirrorCopy.read(s.mirror)
        XCTAssertTrue(copies.map(\.inner) == expected.map(\.bytes),
                      "mirror: exactly vm1's DNS frames, in order; got \(copies.count): \(copies.prefix(5).map { ControlFrameInfo($0.inner)?.description ?? "?" })")
        for (i, c) in copies.enumerated() {
            XCTAssertEqual(c.vni, UInt32(Self.vm1), "copy \(i): VNI")
            XCTAssertEqual(c.version, 1, "copy \(i): option version")
            XCTAssertEqual(c.policyID, 10, "copy \(i): policy id")
            XCTAssertEqual(c.flags, ControlMirrorCopy.forced, "copy \(i): flags (forced only)")
            XCTAssertEqual(c.reasons, 0, "copy \(i): no anomaly reasons (normal traffic)")
            XCTAssertEqual(c.originalLength, UInt32(c.inner.count), "copy \(i): original length")
            if i < expected.count { XCTAssertEqual(c.timestampNs, expected[i].ns, "copy \(i): timestamp = capture time") }
        }
        try assertForwarded(s)

        let v1 = vm(summary, "vm1"), v2 = vm(summary, "vm2")
        XCTAssertEqual(v1["outgoing"]?.intValue, 224, "vm1 outgoing")
        XCTAssertEqual(v1["forwarded"]?.intValue, 224, "vm1 forwarded")
        XCTAssertEqual(v1["learning"]?.intValue, 128, "vm1 learning")
        XCTAssertEqual(v1["mirrored"]?.intValue, 64, "vm1 mirrored")
        XCTAssertEqual(v1["forced"]?.intValue, 64, "vm1 forced")
        XCTAssertEqual(v1["anomalous"]?.intValue, 0, "vm1 anomalous: its normal traffic")
        XCTAssertEqual(v2["outgoing"]?.intValue, 224, "vm2 outgoing")
        XCTAssertEqual(v2["mirrored"]?.intValue, 0, "vm2 mirrored")
        XCTAssertEqual(v2["forced"]?.intValue, 0, "vm2 forced")
        XCTAssertEqual(summary["mirror"]?["sent"]?.intValue, 64, "mirror sent")
    }

    // MARK: never

    /// `never` for a destination CIDR: anomalous traffic to it was mirrored before the policy
    /// and is not after (counted as suppressed), while anomalous traffic elsewhere still is.
    /// Pre-trigger copies are off here (see testNeverPolicyTrafficIsNotSentAsPreTriggerCopies).
    func testNeverPolicyForADestinationCIDRStopsMirroringAnomaliesThere() throws {
        let scratch = try makeScratch()
        let s = try start(vms: 1, detection: ["learning_seconds": "10", "pre_trigger_packets": "0"], in: scratch)
        let stream = s.streams[0]
        let vmID = Self.vm1
        let source = "10.0.1.5"
        var seq: UInt32 = 1
        func normal(_ i: Int, _ tag: String) -> [UInt8] {
            seq += 1
            switch i % 4 {
            case 0: return ControlFrames.udp(vm: vmID, from: source, to: "10.0.0.2", port: 53, tag: "\(tag) dns \(i)")
            case 2: return ControlFrames.udp(vm: vmID, from: source, to: "198.51.100.53", port: 53, tag: "\(tag) dns2 \(i)")
            default: return ControlFrames.tcp(vm: vmID, from: source, to: "10.0.0.3", port: 443, sequence: seq)
            }
        }
        func ssh(_ host: String) -> [UInt8] {
            seq += 1
            return ControlFrames.tcp(vm: vmID, from: source, to: host, port: 22, sequence: 0x0100_0000 + seq)
        }
        // Learning: the normal traffic (including DNS to 198.51.100.53, inside the CIDR).
        try stream.send(ControlFrames.timed((0..<64).map { normal($0, "L") }, from: ControlFrames.t0))
        // Detection, no policy yet: SSH to 198.51.100.7 (a new service and host) is mirrored.
        let d1 = (0..<32).map { $0 % 4 == 1 ? ssh("198.51.100.7") : normal($0, "D1") }
        try stream.send(ControlFrames.timed(d1, from: ControlFrames.t0 + 100 * ControlFrames.second))
        try s.bmad.waitForForwarded(s.client, vm: "vm1", 96)
        let before = try ControlMirrorCopy.read(s.mirror)
        XCTAssertTrue(before.map(\.inner) == d1.filter { ControlFrameInfo($0)?.destinationPort == 22 },
                      "without a policy the SSH frames to 198.51.100.7 are mirrored (got \(before.count) copies)")

        _ = try s.client.call("policy.add", params: [
            "id": 20, "priority": 50, "match": ["dst_cidr": "198.51.100.0/24"], "action": ["mirror": "never"],
        ])
        try passQuiescentPoint(s, [ControlFrames.timed((0..<32).map { normal($0 * 4, "Q") }, from: ControlFrames.t0 + 150 * ControlFrames.second)])
        // The same anomaly toward the CIDR, and elsewhere, among normal traffic.
        let d2 = (0..<64).map { i -> [UInt8] in
            switch i % 8 {
            case 1: ssh("198.51.100.7")
            case 5: ssh("203.0.113.9")
            default: normal(i, "D2")
            }
        }
        try stream.send(ControlFrames.timed(d2, from: ControlFrames.t0 + 200 * ControlFrames.second))
        try s.bmad.waitForForwarded(s.client, vm: "vm1", 192)
        let shown = try s.client.call("vm.show", params: ["vm": "vm1"])
        XCTAssertEqual(shown["suppressed"]?.intValue, 8, "vm.show: suppressed \(shown)")
        let summary = try finish(s)

        let copies = try ControlMirrorCopy.read(s.mirror)
        let elsewhere = d2.filter { ControlFrameInfo($0)?.destination == "203.0.113.9" }
        XCTAssertEqual(elsewhere.count, 8)
        let after = Array(copies.dropFirst(before.count))
        XCTAssertTrue(after.map(\.inner) == elsewhere,
                      "with the policy only the SSH frames to 203.0.113.9 are mirrored; got \(after.map { ControlFrameInfo($0.inner)?.description ?? "?" })")
        for (i, c) in copies.enumerated() {
            XCTAssertEqual(c.policyID, 0, "copy \(i): decided by the detector, no policy")
            XCTAssertNotEqual(c.reasons & 0x2, 0, "copy \(i): new-service reason (reasons \(c.reasons))")
            XCTAssertEqual(c.flags & ControlMirrorCopy.forced, 0, "copy \(i): not forced")
            XCTAssertFalse(ControlFrameInfo(c.inner)?.destination.hasPrefix("198.51.100.") == true && i >= before.count,
                           "copy \(i): a frame to the never CIDR")
        }
        try assertForwarded(s)
        let v = vm(summary, "vm1")
        XCTAssertEqual(v["suppressed"]?.intValue, 8, "summary: suppressed = the anomalous frames to the CIDR")
        XCTAssertEqual(v["anomalous"]?.intValue, 16, "summary: anomalous = mirrored by the detector (8 before, 8 elsewhere)")
        XCTAssertEqual(v["mirrored"]?.intValue, 16, "summary: mirrored")
        XCTAssertEqual(v["outgoing"]?.intValue, 192, "summary: outgoing")
        XCTAssertEqual(v["forwarded"]?.intValue, 192, "summary: forwarded")
    }

    /// A `never` policy must keep its traffic off the mirror altogether: when an anomaly
    /// elsewhere triggers pre-trigger copies (the VM's last packets before it), packets that a
    /// `never` policy matched must not be among them.
    func testNeverPolicyTrafficIsNotSentAsPreTriggerCopies() throws {
        let scratch = try makeScratch()
        // Default pre-trigger: up to 16 earlier packets at most 2 s old.
        let s = try start(vms: 1, detection: ["learning_seconds": "10"], in: scratch)
        let vm = Self.vm1, source = "10.0.1.5"
        _ = try s.client.call("policy.add", params: [
            "id": 30, "match": ["dst_cidr": "198.51.100.0/24"], "action": ["mirror": "never"],
        ])
        func dns(_ i: Int, _ tag: String) -> [UInt8] {
            ControlFrames.udp(vm: vm, from: source, to: i % 2 == 0 ? "10.0.0.2" : "198.51.100.53", port: 53, tag: "\(tag) \(i)")
        }
        try s.streams[0].send(ControlFrames.timed((0..<64).map { dns($0, "L") }, from: ControlFrames.t0))
        // After learning: 31 normal DNS queries, half of them to the never CIDR, then one SSH
        // connection attempt elsewhere (the first anomaly: it triggers pre-trigger copies).
        let trigger = ControlFrames.tcp(vm: vm, from: source, to: "203.0.113.9", port: 22, sequence: 77)
        let d = (0..<31).map { dns($0, "D") } + [trigger]
        try s.streams[0].send(ControlFrames.timed(d, from: ControlFrames.t0 + 100 * ControlFrames.second))
        try s.bmad.waitForForwarded(s.client, vm: "vm1", 96)
        _ = try finish(s)

        let copies = try ControlMirrorCopy.read(s.mirror)
        XCTAssertEqual(copies.last?.inner, trigger, "the anomalous frame is mirrored")
        let context = copies.filter { $0.flags & ControlMirrorCopy.preTrigger != 0 }
        XCTAssertTrue(context.contains { ControlFrameInfo($0.inner)?.destination == "10.0.0.2" },
                      "pre-trigger copies of the DNS queries to 10.0.0.2 are sent (got \(copies.count) copies)")
        let leaked = copies.filter { ControlFrameInfo($0.inner)?.destination.hasPrefix("198.51.100.") == true }
        XCTAssertEqual(leaked.count, 0, "frames to the never CIDR 198.51.100.0/24 on the mirror (as pre-trigger copies, flags \(leaked.map(\.flags)))")
    }

    /// A policy's `pre_trigger_packets` overrides the global one for the anomalies it matches:
    /// the trigger to 203.0.113.0/24 brings exactly its 3 latest packets, not the default 16.
    func testPolicyPreTriggerPacketsOverridesTheGlobalCount() throws {
        let scratch = try makeScratch()
        // Default pre-trigger: up to 16 earlier packets at most 2 s old.
        let s = try start(vms: 1, detection: ["learning_seconds": "10"], in: scratch)
        let vmID = Self.vm1, source = "10.0.1.5"
        _ = try s.client.call("policy.add", params: [
            "id": 40, "match": ["dst_cidr": "203.0.113.0/24"], "action": ["mirror": "on-anomaly", "pre_trigger_packets": 3],
        ])
        func dns(_ i: Int, _ tag: String) -> [UInt8] {
            ControlFrames.udp(vm: vmID, from: source, to: "10.0.0.2", port: 53, tag: "\(tag) \(i)")
        }
        try s.streams[0].send(ControlFrames.timed((0..<64).map { dns($0, "L") }, from: ControlFrames.t0))
        let trigger = ControlFrames.tcp(vm: vmID, from: source, to: "203.0.113.9", port: 22, sequence: 77)
        let d = (0..<31).map { dns($0, "D") } + [trigger]
        try s.streams[0].send(ControlFrames.timed(d, from: ControlFrames.t0 + 100 * ControlFrames.second))
        try s.bmad.waitForForwarded(s.client, vm: "vm1", 96)
        let summary = try finish(s)

        let copies = try ControlMirrorCopy.read(s.mirror)
        XCTAssertTrue(copies.map(\.inner) == Array(d.suffix(4)),
                      "the 3 packets before the trigger, then the trigger; got \(copies.map { ControlFrameInfo($0.inner)?.description ?? "?" })")
        XCTAssertEqual(copies.filter { $0.flags & ControlMirrorCopy.preTrigger != 0 }.count, 3, "pre-trigger copies")
        XCTAssertEqual(copies.last?.policyID, 40, "the trigger's copy names the policy")
        XCTAssertEqual(vm(summary, "vm1")["pre_trigger"]?.intValue, 3, "summary: pre_trigger")
    }

    // MARK: priorities

    /// Overlapping policies: the higher priority decides, whatever the ids; on equal priority the
    /// lower id decides (for `always` against `never` in both orders). Changing a priority with
    /// policy.update and removing a policy move the decision at once.
    func testOverlappingPoliciesResolveByPriorityThenLowerID() throws {
        let scratch = try makeScratch()
        // Everything is within the learning period: only `always` policies mirror.
        let s = try start(vms: 1, detection: [:], in: scratch)
        let policies: [JSONValue] = [
            ["id": 7, "priority": 100, "match": ["protocol": "udp"], "action": ["mirror": "always"]],
            ["id": 3, "priority": 50, "match": ["protocol": "udp", "dst_ports": "53"], "action": ["mirror": "always"]],
            ["id": 9, "priority": 300, "match": ["dst_cidr": "10.9.9.0/24"], "action": ["mirror": "never"]],
            ["id": 8, "priority": 300, "match": ["protocol": "udp", "dst_ports": "5353"], "action": ["mirror": "always"]],
            ["id": 12, "priority": 400, "match": ["protocol": "udp", "dst_ports": "9999"], "action": ["mirror": "always"]],
            ["id": 11, "priority": 400, "match": ["protocol": "udp", "dst_ports": "9999"], "action": ["mirror": "never"]],
        ]
        let replaced = try s.client.call("policy.replace", params: ["policies": .array(policies)])
        XCTAssertEqual(replaced["count"]?.intValue, 6, "\(replaced)")
        XCTAssertEqual(replaced["generation"]?.intValue, 1, "\(replaced)")
        XCTAssertEqual(try s.client.call("policy.list").policyIDs, [11, 12, 8, 9, 7, 3],
                       "policy.list: priority descending, then id ascending")

        // Which policy decides each kind of frame (nil: not mirrored).
        struct Kind {
            var name: String
            var destination: String
            var port: UInt16
            var tcp = false
        }
        let kinds = [
            Kind(name: "a", destination: "10.0.0.2", port: 53),      // 7 (100) over 3 (50)
            Kind(name: "b", destination: "10.9.9.9", port: 5353),    // 8 and never 9 tie at 300: 8
            Kind(name: "c", destination: "10.0.0.2", port: 5353),    // 8 (300) over 7 (100)
            Kind(name: "d", destination: "10.9.9.9", port: 53),      // never 9 (300) over 7
            Kind(name: "e", destination: "10.0.0.2", port: 9999),    // never 11 and 12 tie at 400: 11
            Kind(name: "f", destination: "10.0.0.3", port: 443, tcp: true), // none
            Kind(name: "g", destination: "10.0.0.4", port: 123),     // 7
            Kind(name: "h", destination: "10.0.0.3", port: 443, tcp: true), // none
        ]
        var seq: UInt32 = 0
        func phase(_ p: Int) -> [[UInt8]] {
            (0..<32).map { i in
                let k = kinds[i % kinds.count]
                seq += 1
                return k.tcp ? ControlFrames.tcp(vm: Self.vm1, from: "10.0.1.5", to: k.destination, port: k.port, sequence: seq)
                    : ControlFrames.udp(vm: Self.vm1, from: "10.0.1.5", to: k.destination, port: k.port, tag: "p\(p) \(k.name) \(i)")
            }
        }
        func decider(_ frame: [UInt8], _ table: [String: UInt16]) -> UInt16? {
            guard let info = ControlFrameInfo(frame) else { return nil }
            let k = kinds.first { $0.destination == info.destination && $0.port == info.destinationPort }!
            return table[k.name]
        }

        func neutral(from start: UInt64) -> [[ControlTimedFrame]] {
            [ControlFrames.timed((0..<32).map { _ -> [UInt8] in
                seq += 1
                return ControlFrames.tcp(vm: Self.vm1, from: "10.0.1.5", to: "10.0.0.3", port: 443, sequence: seq)
            }, from: start)]
        }
        try passQuiescentPoint(s, neutral(from: ControlFrames.t0 - ControlFrames.second))
        let p1 = phase(1)
        try s.streams[0].send(ControlFrames.timed(p1, from: ControlFrames.t0))
        try s.bmad.waitForForwarded(s.client, vm: "vm1", 64)
        // Policy 7 drops below 3; the never policy 11 goes, leaving 12 alone at 400.
        _ = try s.client.call("policy.update", params: policies[0].objectValue!.merging(["priority": 10]) { $1 })
        XCTAssertEqual(try s.client.call("policy.remove", params: ["id": 11])["id"]?.intValue, 11)
        let list = try s.client.call("policy.list")
        XCTAssertEqual(list.policyIDs, [12, 8, 9, 3, 7])
        XCTAssertEqual(list["generation"]?.intValue, 3)
        try passQuiescentPoint(s, neutral(from: ControlFrames.t0 + 500 * ControlFrames.millisecond))
        let p2 = phase(2)
        try s.streams[0].send(ControlFrames.timed(p2, from: ControlFrames.t0 + ControlFrames.second))
        try s.bmad.waitForForwarded(s.client, vm: "vm1", 128)
        _ = try finish(s)

        let first: [String: UInt16] = ["a": 7, "b": 8, "c": 8, "g": 7]
        let second: [String: UInt16] = ["a": 3, "b": 8, "c": 8, "e": 12, "g": 7]
        var expected: [([UInt8], UInt16)] = []
        for f in p1 { if let id = decider(f, first) { expected.append((f, id)) } }
        for f in p2 { if let id = decider(f, second) { expected.append((f, id)) } }
        let copies = try ControlMirrorCopy.read(s.mirror)
        XCTAssertTrue(copies.map(\.inner) == expected.map(\.0),
                      "mirrored frames: \(copies.map { ControlFrameInfo($0.inner)?.description ?? "?" }) expected \(expected.map { ControlFrameInfo($0.0)?.description ?? "?" })")
        for (i, (c, e)) in zip(copies, expected).enumerated() {
            XCTAssertEqual(c.policyID, e.1, "copy \(i) (\(ControlFrameInfo(c.inner)?.description ?? "?")): the deciding policy")
            XCTAssertEqual(c.flags, ControlMirrorCopy.forced, "copy \(i): forced")
        }
        try assertForwarded(s)
    }

    // MARK: policy changes under traffic

    /// 1,000 policy.replace calls alternating between two complete sets while the VM sends a
    /// steady stream: no frame is lost, the counters add up, and every copy is consistent with
    /// one set. Workers take a new snapshot between bursts, so each rx burst (32 frames, exactly
    /// one chunk written to the pipe) is judged by one set entirely:
    ///   A = {1: always udp/53, 2: never tcp}    B = {3: always tcp, 4: never udp}
    /// Under A a burst's DNS queries are mirrored (by 1) and its SYNs are not; under B the
    /// reverse (by 3). A copy of a udp frame by 3, of a tcp frame by 1, a copy without a policy,
    /// or a burst with copies of both kinds would be a half-built or mixed policy set.
    func testAThousandPolicyChangesUnderTrafficLoseNothingAndNeverMixSets() throws {
        let scratch = try makeScratch()
        // Within the learning period (default: one day of packet time) nothing is anomalous, so
        // the policies alone decide.
        let s = try start(vms: 1, detection: [:], in: scratch)
        let setA: JSONValue = [
            ["id": 1, "priority": 10, "match": ["protocol": "udp", "dst_ports": "53"], "action": ["mirror": "always"]],
            ["id": 2, "priority": 10, "match": ["protocol": "tcp"], "action": ["mirror": "never"]],
        ]
        let setB: JSONValue = [
            ["id": 3, "priority": 10, "match": ["protocol": "tcp"], "action": ["mirror": "always"]],
            ["id": 4, "priority": 10, "match": ["protocol": "udp"], "action": ["mirror": "never"]],
        ]
        XCTAssertEqual(try s.client.call("policy.replace", params: ["policies": setA])["generation"]?.intValue, 1)
        // Burst 0: SYNs that A keeps off the mirror, judged by the empty set the worker held.
        try passQuiescentPoint(s, [ControlFrames.timed((0..<32).map {
            ControlFrames.tcp(vm: Self.vm1, from: "10.0.1.5", to: "10.0.0.3", port: 443, sequence: 0x0200_0000 + UInt32($0))
        }, from: ControlFrames.t0 - ControlFrames.second)])

        // The VM: chunks of 32 frames (16 DNS queries, 16 SYNs, interleaved), 1 ms of packet time
        // apart, written while the policies change.
        let stream = s.streams[0]
        let stop = ControlLocked(false)
        // (The writer also stops by itself after 2000 chunks.)
        let writerError = ControlLocked<String?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let chunks = ControlLocked(0)
        Thread.detachNewThread {
            var n = 0
            while true {
                let last = stop.get()
                let frames = (0..<32).map { i -> ControlTimedFrame in
                    let k = n * 32 + i
                    let bytes = i % 2 == 0
                        ? ControlFrames.udp(vm: Self.vm1, from: "10.0.1.5", to: "10.0.0.2", port: 53, tag: "q\(k)")
                        : ControlFrames.tcp(vm: Self.vm1, from: "10.0.1.5", to: "10.0.0.3", port: 443, sequence: UInt32(k))
                    return ControlTimedFrame(ns: ControlFrames.t0 + UInt64(k) * ControlFrames.millisecond, bytes: bytes)
                }
                do { try stream.send(frames) } catch {
                    writerError.set("\(error)")
                    break
                }
                n += 1
                chunks.set(n)
                // At most 64k frames, however long the policy changes take.
                if last || n >= 2000 { break }
                usleep(1000)
            }
            finished.signal()
        }
        let started = Date()
        var generation = 1
        for i in 0..<1000 {
            let r = try s.client.call("policy.replace", params: ["policies": i % 2 == 0 ? setB : setA])
            generation += 1
            XCTAssertEqual(r["generation"]?.intValue, generation)
            XCTAssertEqual(r["count"]?.intValue, 2)
        }
        let changeSeconds = Date().timeIntervalSince(started)
        stop.set(true)
        XCTAssertEqual(finished.wait(timeout: .now() + 20), .success, "the writer ends")
        XCTAssertNil(writerError.get())
        let total = stream.count
        try s.bmad.waitForForwarded(s.client, vm: "vm1", total)
        let list = try s.client.call("policy.list")
        XCTAssertEqual(list["generation"]?.intValue, 1001)
        XCTAssertEqual(list.policyIDs, [1, 2], "the last set (A) is in force")
        let summary = try finish(s)
        print("\(name): 1000 policy.replace in \(String(format: "%.2f", changeSeconds)) s while \(chunks.get()) chunks (\(total) frames) were sent")

        // Nothing lost, counters add up.
        try assertForwarded(s)
        let v = vm(summary, "vm1")
        let copies = try ControlMirrorCopy.read(s.mirror)
        XCTAssertEqual(v["outgoing"]?.intValue, total, "outgoing")
        XCTAssertEqual(v["forwarded"]?.intValue, total, "forwarded")
        XCTAssertEqual(v["mirrored"]?.intValue, copies.count, "mirrored = copies on the mirror port")
        XCTAssertEqual(summary["mirror"]?["sent"]?.intValue, copies.count, "mirror sent")
        XCTAssertEqual(v["forced"]?.intValue, copies.count, "every copy is forced by a policy")
        for key in ["budget_drops", "policy_budget_drops", "mirror_drops", "anomalous"] {
            XCTAssertEqual(v[key]?.intValue, 0, key)
        }
        XCTAssertEqual(summary["drops"]?["tx-full"]?.intValue, 0, "drops[tx-full]")

        // Every copy agrees with one set, and each burst with one set entirely.
        let frames = stream.frames
        var index: [[UInt8]: Int] = [:]
        for (i, f) in frames.enumerated() { index[f] = i }
        var perChunk: [Int: (udp: Int, tcp: Int)] = [:]
        var lastIndex = -1
        var bad: [String] = []
        for (i, c) in copies.enumerated() {
            guard let k = index[c.inner], let info = ControlFrameInfo(c.inner) else {
                bad.append("copy \(i): not a frame the VM sent")
                continue
            }
            if k <= lastIndex { bad.append("copy \(i): out of order") }
            lastIndex = k
            if c.flags != ControlMirrorCopy.forced { bad.append("copy \(i): flags \(c.flags)") }
            switch (c.policyID, info.isUDP, info.isTCP) {
            case (1, true, false): perChunk[k / 32, default: (0, 0)].udp += 1
            case (3, false, true): perChunk[k / 32, default: (0, 0)].tcp += 1
            default: bad.append("copy \(i): \(info) mirrored by policy \(c.policyID)")
            }
        }
        for (chunk, n) in perChunk.sorted(by: { $0.key < $1.key }) where !(n.udp == 16 && n.tcp == 0) && !(n.udp == 0 && n.tcp == 16) {
            bad.append("burst \(chunk): \(n.udp) DNS copies and \(n.tcp) SYN copies (one set must decide all 32 frames)")
        }
        XCTAssertTrue(bad.isEmpty, "\(bad.count) inconsistent copies: \(bad.prefix(10))")
        let underA = perChunk.values.filter { $0.udp > 0 }.count, underB = perChunk.values.filter { $0.tcp > 0 }.count
        XCTAssertNil(perChunk[0], "burst 0 (SYNs before any change) is not mirrored")
        XCTAssertEqual(underA + underB, total / 32 - 1, "every burst after the first mirrored something")
        XCTAssertGreaterThan(underA, 0, "bursts under set A")
        XCTAssertGreaterThan(underB, 0, "bursts under set B")
        var switches = 0
        var previous: Bool?
        for chunk in 1..<(total / 32) {
            let a = (perChunk[chunk]?.udp ?? 0) > 0
            if let p = previous, p != a { switches += 1 }
            previous = a
        }
        print("\(name): \(underA) bursts under A, \(underB) under B, \(switches) switches seen by the worker")
    }
}
