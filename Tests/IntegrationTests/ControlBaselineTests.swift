import Control
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Commands that change a VM's detection state through its worker: baseline.reset,
/// baseline.freeze/unfreeze, baseline.show, and mirror.force, against a live bmad whose VM is a
/// net_pcap port read from a named pipe (ControlSupport.swift).
///
/// These commands go through the worker's mailbox and are applied between bursts, and while the
/// pipe is empty the worker waits inside a read: each is sent with one burst of filler frames
/// (`ControlDaemon.callThroughWorker`), which the worker judges before applying the command.
/// The fillers are the VM's normal traffic and are counted in what follows.
final class ControlBaselineTests: ControlTestCase {
    static let vmID = 101
    static let source = "10.0.1.5"

    struct Setup {
        var bmad: ControlDaemon
        var client: ControlClient
        var stream: ControlPcapStream
        var mirror: String
    }

    private func start(detection: [String: String], in scratch: ScratchDirectory) throws -> Setup {
        let fifo = try scratch.fifo("vm1.pcap")
        let mirror = scratch.file("mirror.pcap")
        let config = ControlDaemonConfig(
            uplink: "net_pcap9,tx_pcap=\(scratch.file("uplink.pcap"))",
            vms: [.init(name: "vm1", id: Self.vmID, devargs: "net_pcap0,rx_pcap=\(fifo)")],
            mirror: "net_pcap8,tx_pcap=\(mirror)", detection: detection,
            socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
        let (bmad, streams) = try startDaemon(config, in: scratch, pipes: [fifo])
        return Setup(bmad: bmad, client: try bmad.client(), stream: streams[0], mirror: mirror)
    }

    private var sequence: UInt32 = 0

    /// The VM's normal traffic: DNS to 10.0.0.2 and HTTPS to 10.0.0.3, alternating.
    private func normal(_ n: Int, from start: UInt64, step: UInt64 = 10 * ControlFrames.millisecond) -> [ControlTimedFrame] {
        ControlFrames.timed((0..<n).map { i -> [UInt8] in
            sequence += 1
            return i % 2 == 0
                ? ControlFrames.udp(vm: Self.vmID, from: Self.source, to: "10.0.0.2", port: 53, tag: "n\(sequence)")
                : ControlFrames.tcp(vm: Self.vmID, from: Self.source, to: "10.0.0.3", port: 443, sequence: sequence)
        }, from: start, step: step)
    }

    /// 32 frames: `novel` (a new service on a new host, UDP `port` to `host`) at positions where
    /// `pick` is true, normal traffic elsewhere.
    private func mixed(from start: UInt64, _ novel: [(port: UInt16, host: String, pick: (Int) -> Bool)]) -> [ControlTimedFrame] {
        let base = normal(32, from: start)
        return base.enumerated().map { i, f in
            guard let n = novel.first(where: { $0.pick(i) }) else { return f }
            sequence += 1
            return ControlTimedFrame(ns: f.ns, bytes: ControlFrames.udp(vm: Self.vmID, from: Self.source, to: n.host, port: n.port, tag: "x\(sequence)"))
        }
    }

    private func learned(_ s: Setup) throws -> Int? {
        try s.client.call("vm.show", params: ["vm": "vm1"])["learned_packets"]?.intValue
    }

    private func send(_ s: Setup, _ frames: [ControlTimedFrame]) throws {
        try s.stream.send(frames)
        try s.bmad.waitForForwarded(s.client, vm: "vm1", s.stream.count)
    }

    private func isNovel(_ frame: [UInt8], port: UInt16) -> Bool { ControlFrameInfo(frame)?.destinationPort == port }

    // MARK: reset and freeze

    /// After baseline.reset the VM learns again: within the new learning period a new service
    /// is not mirrored, and learned_packets starts again from 0. After baseline.freeze nothing is
    /// learned (learned_packets does not move, not even for normal traffic): a service first used
    /// while frozen stays anomalous after the learning period, while one used before the freeze
    /// was learned. baseline.unfreeze learns again.
    func testResetLearnsAgainAndFreezeStopsLearning() throws {
        let scratch = try makeScratch()
        // Packet time is the capture time written here: a learning period of 10 s, then
        // detection; no pre-trigger copies, so only the anomalous frames themselves are mirrored.
        let s = try start(detection: ["learning_seconds": "10", "pre_trigger_packets": "0"], in: scratch)
        let t = ControlFrames.t0, sec = ControlFrames.second
        var mirrored: [[UInt8]] = []

        // Learning from the first packet (t), then a filler burst and a look at the baseline.
        try send(s, normal(64, from: t))
        XCTAssertEqual(try learned(s), 64, "vm.show: learned_packets after 64 learning frames")
        let shown = try s.bmad.callThroughWorker("baseline.show", params: ["vm": "vm1"], stream: s.stream, fillers: normal(32, from: t + sec))
        XCTAssertEqual(shown["vm"]?.stringValue, "vm1")
        XCTAssertEqual(shown["learned_packets"]?.intValue, 96, "baseline.show: the 64 frames and the 32 fillers: \(shown)")
        XCTAssertEqual(Set(shown["services"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []), ["udp/53", "tcp/443"], "\(shown)")
        XCTAssertEqual(shown["hosts"]?.intValue, 2, "\(shown)")
        XCTAssertEqual(shown["frozen"]?.boolValue, false, "\(shown)")
        XCTAssertEqual(shown["learning"]?.boolValue, true, "baseline.show: the VM is 1 s (packet time) into its 10 s learning period")

        // After learning: a new service on a new host is anomalous and mirrored.
        let d1 = mixed(from: t + 100 * sec, [(7000, "10.0.0.7", { $0 % 4 == 1 })])
        try send(s, d1)
        mirrored += d1.map(\.bytes).filter { isNovel($0, port: 7000) }
        XCTAssertEqual(PcapFiles.completeRecords(path: s.mirror), 8, "udp/7000 mirrored after learning")
        XCTAssertEqual(try learned(s), 120, "normal traffic after learning is learned (96 + 24), anomalies are not")

        // Reset: everything learned is forgotten (the fillers were learned just before).
        let reset = try s.bmad.callThroughWorker("baseline.reset", params: ["vm": "vm1"], stream: s.stream, fillers: normal(32, from: t + 101 * sec))
        XCTAssertEqual(reset, ["vm": "vm1"])
        XCTAssertEqual(try learned(s), 0, "vm.show: learned_packets right after baseline.reset")
        let listed = try s.client.call("vm.list")["vms"]?[0]
        XCTAssertEqual(listed?["learning"]?.boolValue, true, "vm.list: learning again after the reset: \(listed ?? .null)")
        // The next packets (these fillers) start a new learning period, at t + 102 s.
        let again = try s.bmad.callThroughWorker("baseline.show", params: ["vm": "vm1"], stream: s.stream, fillers: normal(32, from: t + 102 * sec))
        XCTAssertEqual(again["learned_packets"]?.intValue, 32, "baseline.show after the reset: only the 32 frames since: \(again)")
        XCTAssertEqual(again["services"]?.arrayValue?.compactMap { $0["packets"]?.intValue }, [16, 16], "\(again)")
        XCTAssertEqual(again["hosts"]?.intValue, 2, "\(again)")

        // Within the new learning period the same new service is not mirrored: it is learned.
        try send(s, mixed(from: t + 103 * sec, [(7000, "10.0.0.7", { $0 % 4 == 1 })]))
        XCTAssertEqual(PcapFiles.completeRecords(path: s.mirror), 8, "nothing mirrored while learning again")
        XCTAssertEqual(try learned(s), 64)

        // Freeze (still within the learning period): the fillers are learned before it applies.
        let frozen = try s.bmad.callThroughWorker("baseline.freeze", params: ["vm": "vm1"], stream: s.stream, fillers: normal(32, from: t + 104 * sec))
        XCTAssertEqual(frozen, ["vm": "vm1", "frozen": true])
        XCTAssertEqual(try learned(s), 96)
        XCTAssertEqual(try s.client.call("vm.show", params: ["vm": "vm1"])["frozen"]?.boolValue, true, "vm.show: frozen")
        XCTAssertEqual(try s.client.call("vm.list")["vms"]?[0]?["frozen"]?.boolValue, true, "vm.list: frozen")

        // Frozen and learning: a new service (udp/8000) is not mirrored, and nothing is learned.
        try send(s, mixed(from: t + 105 * sec, [(8000, "10.0.0.8", { $0 % 4 == 1 })]))
        XCTAssertEqual(PcapFiles.completeRecords(path: s.mirror), 8, "nothing mirrored within the learning period")
        XCTAssertEqual(try learned(s), 96, "frozen: learned_packets does not move")

        // After the learning period: udp/8000 (seen only while frozen) is still anomalous;
        // udp/7000 (learned before the freeze) is normal; normal traffic is not learned.
        let d2 = mixed(from: t + 200 * sec, [(8000, "10.0.0.8", { $0 % 4 == 1 }), (7000, "10.0.0.7", { $0 % 4 == 3 })])
        try send(s, d2)
        mirrored += d2.map(\.bytes).filter { isNovel($0, port: 8000) }
        XCTAssertEqual(PcapFiles.completeRecords(path: s.mirror), 16, "udp/8000 mirrored, udp/7000 not")
        XCTAssertEqual(try learned(s), 96, "frozen: learned_packets does not move")

        // Unfreeze (the fillers are judged while still frozen), then normal traffic is learned.
        let thawed = try s.bmad.callThroughWorker("baseline.unfreeze", params: ["vm": "vm1"], stream: s.stream, fillers: normal(32, from: t + 201 * sec))
        XCTAssertEqual(thawed, ["vm": "vm1", "frozen": false])
        XCTAssertEqual(try learned(s), 96)
        try send(s, normal(32, from: t + 202 * sec))
        XCTAssertEqual(try learned(s), 128, "unfrozen: normal traffic is learned again")

        s.client.close()
        s.stream.close()
        XCTAssertEqual(try s.bmad.stop(), .exited(0), s.bmad.child.outputTail())
        let copies = try ControlMirrorCopy.read(s.mirror)
        XCTAssertTrue(copies.map(\.inner) == mirrored, "mirror: udp/7000 after learning, udp/8000 after the frozen learning period")
        for (i, c) in copies.enumerated() {
            XCTAssertNotEqual(c.reasons & 0x2, 0, "copy \(i): new-service (reasons \(c.reasons))")
            XCTAssertEqual(c.policyID, 0, "copy \(i): no policy")
            XCTAssertEqual(c.flags, 0, "copy \(i): flags")
        }
        let vm = try s.bmad.summary()["vms"]?[0]
        XCTAssertEqual(vm?["outgoing"]?.intValue, s.stream.count, "outgoing")
        XCTAssertEqual(vm?["forwarded"]?.intValue, s.stream.count, "forwarded")
        XCTAssertEqual(vm?["anomalous"]?.intValue, 16, "anomalous")
        XCTAssertEqual(vm?["baseline"]?["learned_packets"]?.intValue, 128, "summary baseline")
    }

    /// A command the worker does not take within the mailbox timeout is answered `internal`,
    /// which docs/control-protocol.md defines as "the daemon could not do it; nothing was
    /// changed". Here the worker waits in the read of an empty pipe, so baseline.reset times
    /// out; the reset must then not happen later, when traffic resumes.
    func testACommandTheWorkerDidNotTakeChangesNothing() throws {
        let scratch = try makeScratch()
        let s = try start(detection: ["learning_seconds": "10", "pre_trigger_packets": "0"], in: scratch)
        let t = ControlFrames.t0
        try send(s, normal(64, from: t))
        XCTAssertEqual(try learned(s), 64)
        assertControlError(.internal, "baseline.reset while the worker waits for input") {
            try s.client.call("baseline.reset", params: ["vm": "vm1"])
        }
        XCTAssertEqual(try learned(s), 64, "nothing changed yet")
        try send(s, normal(32, from: t + ControlFrames.second))
        XCTAssertEqual(try learned(s), 96, "the refused reset is not applied afterwards (64 + 32 learned)")
        s.client.close()
        s.stream.close()
        XCTAssertEqual(try s.bmad.stop(), .exited(0), s.bmad.child.outputTail())
    }

    // MARK: forced mirroring

    /// mirror.force mirrors the VM's normal traffic, flagged forced, until the time runs out.
    ///
    /// The clock: bmad computes `until` as wall-clock now + seconds, and compares it with each
    /// packet's time, which for a net_pcap port is the capture time. So the frames here carry
    /// the wall-clock time at which they are written (the learning period is passed with older
    /// capture times), and the test waits for the expiry in real time: frames written before
    /// it are mirrored, frames written after it are not. (A vhost-user VM has TSC time, which
    /// bmad aligns with the wall clock; the comparison is the same.)
    func testForceMirrorsNormalTrafficUntilItExpires() throws {
        let scratch = try makeScratch()
        let s = try start(detection: ["learning_seconds": "5", "pre_trigger_packets": "0"], in: scratch)
        let w0 = ControlFrames.now
        try send(s, normal(64, from: w0 - 60 * ControlFrames.second))
        try send(s, normal(32, from: ControlFrames.now, step: 1000))
        XCTAssertEqual(PcapFiles.completeRecords(path: s.mirror), 0, "normal traffic after learning is not mirrored")

        let seconds = 3.0
        let before = ControlFrames.now
        let forced = try s.bmad.callThroughWorker("mirror.force", params: ["vm": "vm1", "seconds": .number(seconds)],
                                                  stream: s.stream, fillers: normal(32, from: ControlFrames.now, step: 1000))
        let after = ControlFrames.now
        XCTAssertEqual(forced["vm"]?.stringValue, "vm1", "\(forced)")
        if let text = forced["until"]?.stringValue, let until = ISO8601DateFormatter().date(from: text) {
            let u = until.timeIntervalSince1970
            XCTAssertGreaterThanOrEqual(u, Double(before) / 1e9 + seconds - 1, "until \(text)")
            XCTAssertLessThanOrEqual(u, Double(after) / 1e9 + seconds + 1, "until \(text)")
        } else {
            XCTFail("mirror.force: no ISO 8601 `until` in \(forced)")
        }
        XCTAssertEqual(PcapFiles.completeRecords(path: s.mirror), 0, "the fillers came before the force")

        // While forced: every frame is mirrored.
        let during = normal(32, from: ControlFrames.now, step: 1000)
        XCTAssertLessThan(Double(during.last!.ns - before) / 1e9, seconds - 0.5, "the frames are well within the forced period")
        try send(s, during)
        let shown = try s.client.call("vm.show", params: ["vm": "vm1"])
        XCTAssertEqual(shown["forced"]?.intValue, 32, "vm.show: forced \(shown)")
        let keys = shown.objectValue?.keys.filter { $0 != "forced" && ($0.contains("force") || $0.contains("until") || $0.contains("expir")) } ?? []
        XCTAssertFalse(keys.isEmpty, "vm.show names when forced mirroring ends (keys: \(shown.objectValue?.keys.sorted() ?? []))")

        // After the expiry (at most `after` + seconds): nothing is mirrored any more.
        let expiry = after + UInt64(seconds * 1e9) + 300 * ControlFrames.millisecond
        while ControlFrames.now < expiry { Thread.sleep(forTimeInterval: 0.05) }
        let later = normal(32, from: ControlFrames.now, step: 1000)
        try send(s, later)

        s.client.close()
        s.stream.close()
        XCTAssertEqual(try s.bmad.stop(), .exited(0), s.bmad.child.outputTail())
        let copies = try ControlMirrorCopy.read(s.mirror)
        XCTAssertTrue(copies.map(\.inner) == during.map(\.bytes), "mirror: exactly the frames sent while forced (got \(copies.count))")
        for (i, c) in copies.enumerated() {
            XCTAssertEqual(c.flags, ControlMirrorCopy.forced, "copy \(i): forced flag")
            XCTAssertEqual(c.policyID, 0, "copy \(i): no policy")
            XCTAssertEqual(c.reasons, 0, "copy \(i): not anomalous")
            XCTAssertEqual(c.vni, UInt32(Self.vmID), "copy \(i): VNI")
            if i < during.count { XCTAssertEqual(c.timestampNs, during[i].ns, "copy \(i): the capture time") }
        }
        let vm = try s.bmad.summary()["vms"]?[0]
        XCTAssertEqual(vm?["forced"]?.intValue, 32, "summary: forced")
        XCTAssertEqual(vm?["mirrored"]?.intValue, 32, "summary: mirrored")
        XCTAssertEqual(vm?["anomalous"]?.intValue, 0, "summary: anomalous")
        XCTAssertEqual(vm?["forwarded"]?.intValue, s.stream.count, "summary: forwarded")
    }
}
