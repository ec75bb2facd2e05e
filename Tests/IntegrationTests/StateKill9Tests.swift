import Control
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of bmad while it saves its state, many times over: policies are added and updated
/// over the control socket (each change saved before it is acknowledged) and the VM's baseline is saved every
/// 20 ms, so the kill lands in the middle of both kinds of save. After each kill the state
/// directory holds complete files only; the next start restores the acknowledged policies (or
/// those plus the one in flight) and the last saved baseline, which never shrinks.
///
/// Rounds: $BMA_KILL9_ROUNDS (default 100, about a minute and a half; 200 in docs/robustness.md).
final class StateKill9Tests: ControlTestCase {
    static var rounds: Int { Int(ProcessInfo.processInfo.environment["BMA_KILL9_ROUNDS"] ?? "") ?? 100 }
    static let policies = 50

    /// Save number k adds policy k (k <= 50), later ones update policy (k - 1) % 50 + 1; the
    /// priority says which save wrote it.
    static func request(_ k: Int) -> (method: String, id: Int, priority: Int) {
        (k <= policies ? "policy.add" : "policy.update", (k - 1) % policies + 1, k % 1000)
    }

    /// Policy id → priority after the first `n` saves.
    static func expected(after n: Int) -> [Int: Int] {
        var set: [Int: Int] = [:]
        for k in stride(from: 1, through: n, by: 1) { set[request(k).id] = request(k).priority }
        return set
    }

    func testStateSurvivesKill9DuringPolicyAndBaselineSaves() throws {
        let scratch = try makeScratch()
        let state = scratch.file("state")
        // The VM replays 64 UDP frames forever: its baseline keeps learning, so every save differs.
        let vm = DetectionFrames.mac("02:00:00:00:01:01"), gw = DetectionFrames.mac("02:00:00:00:01:fe")
        let frames = (0..<64).map { i in
            DetectionFrames.udp(from: vm, to: gw, DetectionFrames.ip("10.1.0.5"), DetectionFrames.ip("10.1.0.\(100 + i % 8)"),
                                destinationPort: UInt16(5000 + i % 4), tag: "k\(i)")
        }
        let capture = scratch.file("vm1.pcap")
        try PcapCapture(header: PcapFileHeader(byteOrder: .littleEndian, resolution: .microseconds),
                        records: frames.enumerated().map { PcapRecord(timestampNanoseconds: UInt64($0.offset) * 1_000_000, data: $0.element) })
            .write(path: capture)
        let config = ControlDaemonConfig(uplink: "net_null0,no-rx=1",
                                         vms: [.init(name: "vm1", id: 101, devargs: "net_pcap0,rx_pcap=\(capture),infinite_rx=1")],
                                         socket: scratch.file("bmad.sock"), stateDirectory: state, saveSeconds: 0.02)
        let baselineFile = "\(state)/baseline-vm1.json"

        var acked = 0             // policies 1...acked were acknowledged
        var learned = 0           // learned packets of the baseline file left by the last kill
        var baselineSaves = 0, killsWithPolicyInFlight = 0, inFlightSaved = 0
        for round in 0...Self.rounds {
            let (bmad, _) = try startDaemon(config, in: scratch, name: "bmad-\(round)", quiet: false)
            let client = try bmad.client()
            var restored: [Int: Int] = [:]
            for p in try client.call("policy.list")["policies"]?.arrayValue ?? [] {
                if let id = p["id"]?.intValue { restored[id] = p["priority"]?.intValue }
            }
            if restored == Self.expected(after: acked + 1) && restored != Self.expected(after: acked) {
                acked += 1 // the save in flight had reached the disk
                inFlightSaved += 1
            }
            XCTAssertEqual(restored, Self.expected(after: acked), "round \(round): after \(acked) acknowledged saves")
            let log = bmad.child.stdout
            XCTAssertFalse(log.contains("ignored"), "round \(round): \(log)")
            if learned > 0 {
                XCTAssertTrue(log.contains("vm1: baseline restored (\(learned) packets learned"), "round \(round): expected \(learned): \(log)")
            }
            // Temporary files of the killed bmads are gone (the running one may be writing its own).
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: state)
                .filter { $0.contains(".tmp") && !$0.hasSuffix(".tmp-\(bmad.child.pid)") }
            XCTAssertEqual(leftovers, [], "round \(round)")
            if round == Self.rounds {
                client.close()
                XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
                break
            }

            // Add policies one by one until a random number is acknowledged, then kill bmad at a
            // random moment while the next one (and a baseline save) may be under way.
            let target = acked + Int.random(in: 1...12)
            let inFlight = ControlLocked(false)
            let confirmed = ControlLocked(acked)
            let sender = ControlUnchecked(client)
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                var k = confirmed.get()
                while k < target + 1000 {
                    k += 1
                    let r = Self.request(k)
                    inFlight.set(true)
                    do {
                        _ = try sender.value.call(r.method, params: [
                            "id": .number(Double(r.id)), "priority": .number(Double(r.priority)),
                            "match": ["protocol": "udp", "dst_ports": .string(String(1000 + r.id))], "action": ["mirror": "never"]])
                    } catch { break }
                    confirmed.set(k)
                    inFlight.set(false)
                }
                done.signal()
            }
            try waitUntil("\(target) policy saves acknowledged", timeout: 30, interval: 0.0005, context: { bmad.child.outputTail() }) {
                confirmed.get() >= target
            }
            usleep(UInt32.random(in: 0...20_000))
            bmad.kill9()
            XCTAssertEqual(done.wait(timeout: .now() + 20), .success, "round \(round)")
            acked = confirmed.get()
            if inFlight.get() { killsWithPolicyInFlight += 1 }
            client.close()

            // What the kill left: a complete baseline document, never smaller than the last one.
            if let data = FileManager.default.contents(atPath: baselineFile) {
                let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                let now = try XCTUnwrap(object?["learned_packets"] as? Int, "round \(round): a complete baseline document")
                XCTAssertGreaterThanOrEqual(now, learned, "round \(round): the saved baseline never goes back")
                if now > learned { baselineSaves += 1 }
                learned = now
            }
        }
        print("\(name): \(Self.rounds) kills, \(killsWithPolicyInFlight) with a policy save in flight (\(inFlightSaved) of them on disk), "
              + "\(baselineSaves) with a newer baseline saved, \(acked) policy saves, baseline \(learned) packets")
        XCTAssertGreaterThan(learned, 0, "the baseline was saved at all")
    }
}
