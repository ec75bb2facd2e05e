import PacketCapture
import XCTest

/// Two forwarding workers (lcores 1 and 2, sharing CPU 1 on a 2-core machine: correctness, not
/// speed) serve four VMs replaying real captures. Every worker sends on its own TX queue of the
/// uplink and of the mirror (net_pcap: one file per queue). Each VM's frames reach the uplink
/// whole and in their order, the work is spread over both workers, the counters add up, and
/// every VM's mirror copies are byte for byte those of a run with one worker: a VM's detection
/// does not depend on which worker owns it or on what the other worker does.
final class TwoWorkersTests: IntegrationTestCase {
    static let captures = ["benign-camera-week.pcap", "masscan-tcp-1000-ports.pcap", "iodine-dns-tunnel.pcap",
                           "nmap-port80-sweep.pcap"]

    struct Run {
        /// What each uplink TX queue (worker) sent.
        var uplinks: [[[UInt8]]]
        var mirrorByVM: [Int: [[UInt8]]]
        var summary: BmadSummary
    }

    func run(label: String, lcoreMap: String, workers: Int, in scratch: ScratchDirectory) throws -> Run {
        let uplinks = (0..<workers).map { scratch.file("\(label)-uplink-\($0).pcap") }
        let mirrors = (0..<workers).map { scratch.file("\(label)-mirror-\($0).pcap") }
        var vms: [BmadConfiguration.VM] = []
        for (i, name) in Self.captures.enumerated() {
            vms.append(.init(name: "vm\(i + 1)", id: i + 1, devargs: "net_pcap\(i),rx_pcap=\(try TestEnvironment.capture(name))"))
        }
        // Copies of everything new (no learning), no budget: what is mirrored is what is judged.
        let config = BmadConfiguration(
            uplink: "net_pcap8," + uplinks.map { "tx_pcap=\($0)" }.joined(separator: ","), vms: vms,
            extraYAML: """
                mirror: {devargs: 'net_pcap9,\(mirrors.map { "tx_pcap=\($0)" }.joined(separator: ","))', encapsulation: geneve, collectors: [192.0.2.10], \
                budget: {vm_packets_per_second: 0, total_packets_per_second: 0, vm_bytes_per_second: 0, total_bytes_per_second: 0}}
                detection: {learning_seconds: 0}

                """)
        let bmad = try startBmad(config, in: scratch, name: label,
                                 options: .init(lcoreMap: lcoreMap, memoryMB: 512, exitWhenIdleMs: 1500))
        XCTAssertEqual(try bmad.waitForExit(timeout: 120), .exited(0), bmad.child.outputTail())
        var byVM: [Int: [[UInt8]]] = [:]
        // A VM's copies all leave through the queue of the worker that owns it: one file.
        for f in try mirrors.flatMap({ try PcapFiles.frames(path: $0) }) {
            // Ethernet 14 + IPv4 20 + UDP 8, then the Geneve base header: the VNI is bytes 4..6.
            guard f.count > 48 else { XCTFail("\(label): short mirror frame"); continue }
            let vni = Int(f[46]) << 16 | Int(f[47]) << 8 | Int(f[48])
            byVM[vni, default: []].append(f)
        }
        return Run(uplinks: try uplinks.map { try PcapFiles.frames(path: $0) }, mirrorByVM: byVM, summary: try bmad.summary())
    }

    func testTwoWorkersForwardEveryVMInOrderAndDetectAsOne() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 1024)
        let scratch = try makeScratch()
        let inputs = try Self.captures.map { try PcapFiles.frames(path: try TestEnvironment.capture($0)) }

        let two = try run(label: "two", lcoreMap: "0@0,1@1,2@1", workers: 2, in: scratch)
        let one = try run(label: "one", lcoreMap: "0@0,1@1", workers: 1, in: scratch)

        // Every frame of every VM on the uplink, each VM's in its own order on its worker's queue.
        XCTAssertEqual(two.uplinks.reduce(0) { $0 + $1.count }, inputs.reduce(0) { $0 + $1.count })
        for (i, input) in inputs.enumerated() {
            let inOrder = two.uplinks.contains { sent in
                var next = 0
                for f in sent where next < input.count && f == input[next] { next += 1 }
                return next == input.count
            }
            XCTAssertTrue(inOrder, "vm\(i + 1): frames on the uplink in order")
        }
        XCTAssertTrue(two.uplinks.allSatisfy { !$0.isEmpty }, "both workers sent on the uplink")

        // Both workers polled VMs; each VM by one of them; the counters add up.
        let s = two.summary
        s.assertConsistent()
        XCTAssertEqual(s.lcores.map(\.lcore).sorted(), [1, 2])
        for l in s.lcores { XCTAssertGreaterThan(l.rxPackets, 0, "lcore \(l.lcore) received nothing") }
        var owners: Set<UInt32> = []
        for i in 1...inputs.count {
            let port = try s.port("vm\(i)")
            XCTAssertEqual(port.rxPackets, UInt64(inputs[i - 1].count), "vm\(i) rx")
            let polling = Set(port.queues.filter { $0.rxPackets > 0 }.map(\.lcore))
            XCTAssertEqual(polling.count, 1, "vm\(i) polled by one worker")
            owners.formUnion(polling)
        }
        XCTAssertEqual(owners, [1, 2], "VMs spread over both workers")
        XCTAssertEqual(one.summary.lcores.map(\.lcore), [1])

        // The same copies, byte for byte, per VM, as with one worker.
        for vm in 1...inputs.count {
            let a = two.mirrorByVM[vm] ?? [], b = one.mirrorByVM[vm] ?? []
            XCTAssertGreaterThan(b.count, 0, "vm\(vm): nothing mirrored")
            XCTAssertEqual(a.count, b.count, "vm\(vm): copies with two workers vs one")
            XCTAssertTrue(a == b, "vm\(vm): the copies differ between two workers and one")
        }
    }
}
