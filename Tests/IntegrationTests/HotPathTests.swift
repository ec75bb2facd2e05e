import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The packet path of the release build allocates nothing and does no ARC traffic in steady
/// state: counted while it runs (a malloc-counting preload on the worker thread), and read from
/// its machine code (no call to the Swift runtime's retain/release/allocation or to malloc in any
/// function the poll loop reaches).
final class HotPathTests: IntegrationTestCase {
    /// A running release bmad forwards two VMs' traffic (net_pcap infinite_rx -> net_null) on one
    /// worker: vm1's traffic is scored and learned (sensitivity 0: never flagged; pre-trigger ring
    /// filled), vm2's is all new and mirrored with Geneve copies. After a warm-up, the worker
    /// thread must make no heap call at all over a window of many thousands of bursts.
    func testWorkerMakesNoHeapCallsInSteadyState() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 300)
        let bmadPath = try TestEnvironment.releaseBinary("bmad")
        let scratch = try makeScratch()
        let counter = try AllocationCounter(in: scratch)

        let vm1 = scratch.file("vm1.pcap"), vm2 = scratch.file("vm2.pcap")
        try PcapFiles.write(Self.traffic(vm: 1), to: vm1)
        try PcapFiles.write(Self.traffic(vm: 2), to: vm2)
        let unlimited = "budget: {vm_packets_per_second: 0, total_packets_per_second: 0, vm_bytes_per_second: 0, total_bytes_per_second: 0}"
        var config = BmadConfiguration(
            uplink: "net_null0,no-rx=1",
            vms: [.init(name: "vm1", id: 1, devargs: "net_pcap1,rx_pcap=\(vm1),infinite_rx=1", sensitivity: 0),
                  .init(name: "vm2", id: 2, devargs: "net_pcap2,rx_pcap=\(vm2),infinite_rx=1")])
        config.extraYAML = """
            mirror: {devargs: 'net_null3,no-rx=1', encapsulation: geneve, collectors: [192.0.2.10], \(unlimited)}
            detection: {learning_seconds: 0, promote_seconds: 0}

            """
        // Response actions of every kind in force from the start (restored from the state
        // directory): their stage runs on every burst of both VMs.
        try FileManager.default.createDirectory(atPath: scratch.file("bmad-state"), withIntermediateDirectories: true)
        let expires = UInt64(Date().timeIntervalSince1970 + 86_400) * 1_000_000_000
        let actions = [("drop", 1, 2, ""), ("force-mirror", 1, 3, ""), ("rate-limit", 2, 1, ", \"packets_per_second\": 1000"), ("allow", 2, 4, "")]
            .enumerated().map { i, a in
                "{\"id\": \(i + 1), \"kind\": \"\(a.0)\", \"vm\": \(a.1), \"destination\": {\"cidr\": \"10.\(a.1).0.\(a.2)/32\"}, \"expires_ns\": \(expires)\(a.3)}"
            }
        _ = try scratch.write("{\"format\": \"bma-actions\", \"version\": 1, \"actions\": [\(actions.joined(separator: ", "))]}", to: "bmad-state/actions.json")
        let bmad = try startBmad(config, in: scratch, options: .init(
            memoryMB: 256, statsInterval: 0.5, binary: bmadPath, environment: counter.environment(thread: "rte-worker-1")))
        // Warm-up: the worker's first bursts may touch lazily initialised state.
        try waitUntil("bmad forwards", timeout: 20, context: { bmad.child.outputTail() }) {
            if !bmad.isRunning { throw ChildProcessError.exitedEarly("bmad", bmad.child.exitStatus!, bmad.child.outputTail()) }
            return (bmad.statsLines.last?.ports["uplink"]?.tx ?? 0) > 0
        }
        Thread.sleep(forTimeInterval: 2)
        XCTAssertTrue(counter.attached, "the preload did not start counting (LD_PRELOAD ignored?)")
        let maps = AllocationCounter.mappings(pid: bmad.pid)
        let before = counter.counts()
        let rxBefore = forwarded(bmad)
        try counter.arm()
        Thread.sleep(forTimeInterval: 3)
        let after = counter.counts()
        let rxAfter = forwarded(bmad)
        try bmad.stop(signal: SIGINT)

        let packets = rxAfter - rxBefore
        let calls = zip(after, before).map { $0 - $1 }
        let bursts = max(packets / 32, 1)
        print("worker heap calls over \(packets) packets (at least \(bursts) bursts): "
              + zip(AllocationCounter.kinds, calls).map { "\($0) \($1)" }.joined(separator: ", "))
        XCTAssertGreaterThan(packets, 100_000, "too few packets in the window to judge:\n\(bmad.child.outputTail())")
        if calls.reduce(0, +) > 0 {
            var text = "the worker made \(calls.reduce(0, +)) heap calls in steady state "
                + "(\(String(format: "%.4f", Double(calls.reduce(0, +)) / Double(bursts))) per burst); first stacks:\n"
            for s in counter.stacks() {
                text += "  \(s.kind):\n" + AllocationCounter.symbolize(s.frames, maps: maps).map { "    \($0)\n" }.joined()
            }
            XCTFail(text)
        }
        // Both paths ran: vm1 scored and learned, vm2 mirrored.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bmad.summaryPath))) as? [String: Any]
        let vms = summary?["vms"] as? [[String: Any]] ?? []
        XCTAssertEqual(vms.count, 2)
        let learned = (vms.first?["outgoing"] as? NSNumber)?.uint64Value ?? 0
        let mirrored = ((summary?["mirror"] as? [String: Any])?["sent"] as? NSNumber)?.uint64Value ?? 0
        XCTAssertGreaterThan(learned, 100_000, "vm1 outgoing")
        XCTAssertEqual((vms.first?["anomalous"] as? NSNumber)?.uint64Value, 0, "vm1 (sensitivity 0) flagged packets")
        XCTAssertGreaterThan(mirrored, 100_000, "mirror sent")
        let did = (summary?["actions"] as? [[String: Any]] ?? []).map { a in
            ["dropped", "mirrored", "limited", "allowed"].map { (a[$0] as? NSNumber)?.uint64Value ?? 0 }.max() ?? 0
        }
        XCTAssertEqual(did.count, 4, "the four actions are in force: \(summary?["actions"] ?? "none")")
        XCTAssertTrue(did.allSatisfy { $0 > 1000 }, "each action acted in steady state: \(summary?["actions"] ?? "none")")
    }

    /// Packets the uplink sent so far (from the latest stats line).
    private func forwarded(_ bmad: BmadProcess) -> UInt64 { bmad.statsLines.last?.ports["uplink"]?.tx ?? 0 }

    /// 1,024 64-byte UDP frames from VM `vm` to 16 hosts x 64 ports.
    static func traffic(vm: UInt8) -> [[UInt8]] {
        let mac = MACAddress(rawValue: 0x5254_0000_0000 | UInt64(vm))
        let gateway = TestFrames.mac("02:00:00:00:00:01")
        var frames: [[UInt8]] = []
        for i in 0..<1024 {
            let host = IPv4Address(10, vm, 0, UInt8(1 + i % 16))
            let port = UInt16(1024 + (i / 16) % 64)
            frames.append(TestFrames.udp4(from: mac, to: gateway, IPv4Address(10, 0, 0, vm), host, destinationPort: port, tag: ""))
        }
        return frames
    }

    /// No function the worker's poll loop reaches (through direct calls, in the release build's
    /// machine code) calls swift_retain/release, swift_allocObject or malloc and their kin.
    /// Control commands (`Worker.apply`, run only when one is posted) and the per-policy-change
    /// budget reset are not the packet path.
    func testHotFunctionsMakeNoARCOrAllocationCalls() throws {
        let bmadPath = try TestEnvironment.releaseBinary("bmad")
        guard TestEnvironment.which("objdump") != nil else {
            throw XCTSkip("objdump is not installed (Debian: binutils); it disassembles the release build")
        }
        let dis = try Disassembly(binary: bmadPath)
        let root = "$s9Dataplane6WorkerC3runyyF"
        guard dis.functions[root] != nil else {
            let workers = dis.functions.keys.filter { $0.hasPrefix("$s9Dataplane6Worker") }.sorted()
            XCTFail("Worker.run() (\(root)) is not in \(bmadPath): renamed? Worker functions: \(Disassembly.demangle(workers))")
            return
        }
        // Detector entry points too, should a future build call them from elsewhere.
        let entries = ["8evaluate", "5learn", "10judgeFully", "10judgeKnown"].map { "$s9Dataplane8DetectorV" + $0 }
        let detector = dis.functions.keys.filter { name in entries.contains { name.hasPrefix($0) } }
        let cold: Set = ["$s9Dataplane6WorkerC5applyyyAA0B7CommandVF"]
        let coldPrefixes = ["$s9Dataplane6WorkerC18resetPolicyBudgets"]
        let walk = dis.walk(from: [root] + detector.sorted()) { name in
            cold.contains(name) || coldPrefixes.contains { name.hasPrefix($0) }
        }
        let reached = walk.reached.keys.sorted()
        print("hot path: \(reached.count) functions reached from Worker.run(): "
              + Disassembly.demangle(reached).map { $0.split(separator: "(").first.map(String.init) ?? $0 }.joined(separator: "; "))
        if !walk.indirect.isEmpty {
            let names = walk.indirect.keys.sorted()
            print("indirect calls (not followed): " + zip(Disassembly.demangle(names), names)
                .map { "\($0.0) \(walk.indirect[$0.1]!)" }.joined(separator: ", "))
        }
        XCTAssertTrue(walk.reached.keys.contains { $0.hasPrefix("$s9Dataplane8DetectorV") || $0 == root },
                      "the walk reached nothing")
        for f in walk.findings {
            let path = Disassembly.demangle(f.path).joined(separator: " -> ")
            XCTFail("\(Disassembly.demangle([f.function])[0]) calls \(f.callee) \(f.addresses.count)x at "
                    + f.addresses.map { "0x" + String($0, radix: 16) }.joined(separator: ", ") + " (reached: \(path))"
                    + (f.emptyArrays > 0 ? "; \(f.emptyArrays) of them release _swiftEmptyArrayStorage: an empty array made "
                       + "and dropped per call (an OptionSet `[]` literal, or the rest array of a variadic call like max(a, b, c))" : ""))
        }
    }
}
