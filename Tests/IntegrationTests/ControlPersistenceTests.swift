import Control
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The state directory: policies survive `kill -9` in the middle of a stream of saves (each
/// restart loads a complete, valid set: the last acknowledged one or the one being saved), and
/// learned baselines survive a clean restart.
final class ControlPersistenceTests: ControlTestCase {
    static let vmID = 101

    /// What the client believes: policy id → priority, and the generation that set has.
    struct Model: Equatable, CustomStringConvertible {
        var generation = 0
        var priorities: [Int: Int] = [:]
        var description: String { "generation \(generation), \(priorities.count) policies" }
    }

    /// Progress of the saving thread, read by the test after the kill.
    struct Progress {
        var acked = 0
        var model = Model()
        /// The set as it would be if the request in flight was saved.
        var inFlight: Model?
        var error: String?
        var done = false
    }

    /// Five rounds: start bmad on the same state directory, check the set it restored, then
    /// stream 100 policy.add/policy.update calls from a second thread and SIGKILL bmad after a
    /// random number of them (and a random fraction of a millisecond). A sixth start checks the
    /// last round and stops cleanly.
    func testPolicySetSurvivesKill9DuringAStreamOfSaves() throws {
        let scratch = try makeScratch()
        let state = scratch.file("state")
        let config = ControlDaemonConfig(uplink: "net_null0,no-rx=1", vms: [.init(name: "vm1", id: Self.vmID, devargs: "net_null1,no-rx=1")],
                                         socket: scratch.file("bmad.sock"), stateDirectory: state)
        var expected: (acked: Model, inFlight: Model?) = (Model(), nil)
        var nextID = 1
        var outcomes: [String] = []
        for round in 0...5 {
            let (bmad, _) = try startDaemon(config, in: scratch, name: "bmad", quiet: false)
            let client = try bmad.client()
            // The restored set: valid, and the acknowledged one or the one that was in flight.
            let list = try client.call("policy.list")
            var restored = Model(generation: list["generation"]?.intValue ?? -1)
            for p in list["policies"]?.arrayValue ?? [] {
                if let id = p["id"]?.intValue { restored.priorities[id] = p["priority"]?.intValue ?? 0 }
            }
            let order = (list["policies"]?.arrayValue ?? []).map { ($0["priority"]?.intValue ?? 0, $0["id"]?.intValue ?? 0) }
            XCTAssertTrue(zip(order, order.dropFirst()).allSatisfy { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) },
                          "round \(round): policy.list in evaluation order")
            let matches = restored == expected.acked || restored == expected.inFlight
            XCTAssertTrue(matches, "round \(round): restored \(restored); acknowledged \(expected.acked), in flight \(expected.inFlight.map { "\($0)" } ?? "none")")
            outcomes.append(restored == expected.acked ? "acked" : "in-flight")
            XCTAssertEqual(try client.call("status")["policy_generation"]?.intValue, restored.generation)
            let log = bmad.child.stdout
            XCTAssertFalse(log.contains("saved policies ignored"), "round \(round): \(log)")
            if restored.generation > 0 {
                XCTAssertTrue(log.contains("\(restored.priorities.count) policies restored (generation \(restored.generation))"), "round \(round): \(log)")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: state).filter { $0.contains(".tmp-") }
            XCTAssertEqual(leftovers, [], "round \(round): temporary files of the killed bmad are removed at start")
            if round == 5 {
                client.close()
                XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
                break
            }

            // The stream of saves.
            let progress = ControlLocked(Progress(acked: 0, model: restored))
            let finished = DispatchSemaphore(value: 0)
            let start = ControlUnchecked((client, nextID))
            Thread.detachNewThread {
                let (c, firstID) = start.value
                var id = firstID
                var model = progress.get().model
                for i in 0..<100 {
                    var next = model
                    next.generation += 1
                    let params: [String: JSONValue]
                    let method: String
                    if i % 2 == 0 || model.priorities.isEmpty {
                        method = "policy.add"
                        let priority = Int.random(in: -1000...1000)
                        params = ["id": .number(Double(id)), "priority": .number(Double(priority)),
                                  "match": ["protocol": "udp", "dst_ports": .string(String(1000 + id % 60000))],
                                  "action": ["mirror": i % 3 == 0 ? "never" : "always"]]
                        next.priorities[id] = priority
                        id += 1
                    } else {
                        method = "policy.update"
                        let target = model.priorities.keys.randomElement()!
                        let priority = Int.random(in: -1000...1000)
                        params = ["id": .number(Double(target)), "priority": .number(Double(priority)),
                                  "match": ["protocol": "tcp"], "action": ["mirror": "always"]]
                        next.priorities[target] = priority
                    }
                    progress.update { $0.inFlight = next }
                    do {
                        _ = try c.call(method, params: params)
                    } catch {
                        progress.update { $0.error = "\(method): \(error)" }
                        break
                    }
                    model = next
                    progress.update {
                        $0.acked += 1
                        $0.model = next
                        $0.inFlight = nil
                    }
                }
                progress.update { $0.done = true }
                finished.signal()
            }
            let target = Int.random(in: 5...95)
            try waitUntil("\(target) saves acknowledged", timeout: 30, interval: 0.0002, context: { bmad.child.outputTail() }) {
                let p = progress.get()
                if p.done { throw ScratchError(message: "the saves ended early: \(p.error ?? "done")") }
                return p.acked >= target
            }
            usleep(UInt32.random(in: 0...1000))
            bmad.kill9()
            XCTAssertEqual(finished.wait(timeout: .now() + 20), .success, "round \(round): the saving thread ends")
            let p = progress.get()
            XCTAssertNotNil(p.error, "round \(round): the kill interrupted the stream (acked \(p.acked))")
            expected = (p.model, p.inFlight)
            nextID += 100
            client.close()
        }
        print("\(name): restarts found the \(outcomes.joined(separator: ", ")) set")
    }

    /// A baseline learned in one run is saved when bmad stops and restored when it starts again
    /// on the same state directory: baseline.show gives the same learned packets, the log says
    /// "baseline restored", and the VM is judged against it at once (no new learning period):
    /// a new service is mirrored, normal traffic is not.
    func testBaselinesPersistAcrossACleanRestart() throws {
        let scratch = try makeScratch()
        let t = ControlFrames.t0, sec = ControlFrames.second
        func normal(_ n: Int, from start: UInt64, tag: String) -> [ControlTimedFrame] {
            ControlFrames.timed((0..<n).map { i -> [UInt8] in
                i % 2 == 0 ? ControlFrames.udp(vm: Self.vmID, from: "10.0.1.5", to: "10.0.0.2", port: 53, tag: "\(tag) \(i)")
                    : ControlFrames.tcp(vm: Self.vmID, from: "10.0.1.5", to: "10.0.0.3", port: 443, sequence: UInt32(i) + (tag == "one" ? 0 : 1000))
            }, from: start)
        }
        let first = normal(64, from: t, tag: "one")
        var second = normal(32, from: t + 100 * sec, tag: "two")
        for i in stride(from: 1, to: 32, by: 4) {
            second[i].bytes = ControlFrames.udp(vm: Self.vmID, from: "10.0.1.5", to: "10.0.0.7", port: 7000, tag: "novel \(i)")
        }
        func writeCapture(_ frames: [ControlTimedFrame], _ name: String) throws -> String {
            let path = scratch.file(name)
            let w = try PcapWriter(path: path)
            for f in frames { try w.write(timestampNanoseconds: f.ns, data: f.bytes) }
            try w.close()
            return path
        }
        func config(_ capture: String, mirror: String) -> ControlDaemonConfig {
            ControlDaemonConfig(uplink: "net_null0,no-rx=1", vms: [.init(name: "vm1", id: Self.vmID, devargs: "net_pcap0,rx_pcap=\(capture)")],
                                mirror: "net_pcap8,tx_pcap=\(mirror)", encapsulation: "none",
                                detection: ["learning_seconds": "10", "pre_trigger_packets": "0"],
                                socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
        }

        // First run: learns 64 frames, stops cleanly (saving the baseline).
        let (one, _) = try startDaemon(config(try writeCapture(first, "one.pcap"), mirror: scratch.file("mirror-one.pcap")),
                                       in: scratch, name: "one", quiet: false)
        var client = try one.client()
        try one.waitForForwarded(client, vm: "vm1", 64)
        let learned = try client.call("baseline.show", params: ["vm": "vm1"])
        XCTAssertEqual(learned["learned_packets"]?.intValue, 64, "\(learned)")
        let exported = try client.call("baseline.export", params: ["vm": "vm1"])["baseline"]
        client.close()
        XCTAssertEqual(try one.stop(), .exited(0), one.child.outputTail())
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("state/baseline-vm1.json")), "the baseline file")
        XCTAssertEqual(PcapFiles.completeRecords(path: scratch.file("mirror-one.pcap")), 0, "nothing mirrored while learning")

        // Second run: restored before the VM's first frame.
        let (two, _) = try startDaemon(config(try writeCapture(second, "two.pcap"), mirror: scratch.file("mirror-two.pcap")),
                                       in: scratch, name: "two", quiet: false)
        client = try two.client()
        try two.waitForForwarded(client, vm: "vm1", 32)
        XCTAssertEqual(two.child.stdoutLines(containing: "vm1: baseline restored").map(String.init),
                       ["bmad: vm1: baseline restored (64 packets learned, 2 services, 2 hosts)"], two.child.outputTail())
        let shown = try client.call("baseline.show", params: ["vm": "vm1"])
        XCTAssertEqual(shown["learned_packets"]?.intValue, 64 + 24, "restored 64, plus the 24 normal frames since: \(shown)")
        XCTAssertEqual(Set(shown["services"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []),
                       Set(learned["services"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []), "the restored services")
        XCTAssertEqual(shown["hosts"], learned["hosts"])
        XCTAssertNotNil(exported, "baseline.export")
        client.close()
        XCTAssertEqual(try two.stop(), .exited(0), two.child.outputTail())
        let novel = second.map(\.bytes).filter { ControlFrameInfo($0)?.destinationPort == 7000 }
        XCTAssertEqual(novel.count, 8)
        assertSameFrames(try PcapFiles.frames(path: scratch.file("mirror-two.pcap")), novel,
                         "mirror of the second run: the new service only (judged against the restored baseline)")
        let vm = try two.summary()["vms"]?[0]
        XCTAssertEqual(vm?["learning"]?.intValue, 0, "no learning period after the restore")
        XCTAssertEqual(vm?["anomalous"]?.intValue, 8)
    }
}
