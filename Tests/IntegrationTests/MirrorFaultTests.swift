import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Faults on the mirror side never reach production: an exhausted mirror pool and a collector
/// port that takes nothing drop copies (counted), while every frame is still forwarded at the
/// same rate.
final class MirrorFaultTests: IntegrationTestCase {
    static let vmMAC = TestFrames.mac("02:00:00:00:01:0a")
    static let gateway = TestFrames.mac("02:00:00:00:00:fe")

    private func geneve(_ devargs: String, mbufs: Int = 8191) -> String {
        """
        mirror:
          devargs: '\(devargs)'
          encapsulation: geneve
          collectors: [192.0.2.10]
          next_hop_mac: '02:00:00:00:00:99'
          source_ip: 192.0.2.1
          mbufs: \(mbufs)
        detection:
          learning_seconds: 0

        """
    }

    func testAnExhaustedMirrorPoolDropsCopiesAndForwardsEveryFrame() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        let scratch = try makeScratch()
        // 2,000 jumbo frames, each to a new port (each one anomalous): a copy takes 5 mirror mbufs.
        let frames = (0..<2_000).map { i in
            TestFrames.udp4(from: Self.vmMAC, to: Self.gateway, .init(10, 0, 0, 5), .init(198, 51, 100, 7),
                            sourcePort: 40000, destinationPort: UInt16(1000 + i), tag: String(repeating: "x", count: 8_958))
        }
        let capture = scratch.file("vm.pcap"), uplink = scratch.file("uplink.pcap")
        try PcapFiles.write(frames, to: capture)
        // net_ring keeps what it is sent until someone reads its ring, and nobody does: the
        // mirror pool (1,023 mbufs) runs dry.
        let bmad = try startBmad(
            BmadConfiguration(uplink: "net_pcap9,tx_pcap=\(uplink)",
                              vms: [.init(name: "vm", id: 1, devargs: "net_pcap0,rx_pcap=\(capture)")],
                              extraYAML: geneve("net_ring0", mbufs: 1023)),
            in: scratch, options: .init(exitWhenIdleMs: 1000))
        XCTAssertEqual(try bmad.waitForExit(timeout: 60), .exited(0), bmad.child.outputTail())

        assertSameFrames(try PcapFiles.frames(path: uplink), frames, "uplink capture")
        let s = try DetectionSummary.read(path: bmad.summaryPath)
        let vm = try s.vm("vm")
        XCTAssertEqual(vm.forwarded, UInt64(frames.count))
        XCTAssertGreaterThan(s.mirror.nombuf, 0, "the pool ran dry")
        XCTAssertGreaterThan(s.mirror.sent, 0)
        XCTAssertLessThan(s.mirror.sent, 1_023 / 5 + 1, "at most what the pool holds was sent")
        // Every copy asked for is sent or counted.
        XCTAssertEqual(vm.mirrored + vm.mirrorDrops, vm.mirrorDecisions - vm.budgetDrops, "\(vm)")
        XCTAssertEqual(s.mirror.sent + s.mirror.nombuf + s.mirror.ringfull + s.mirror.tooBig, vm.mirrored + vm.mirrorDrops)
    }

    /// Forwarded packets per second over `seconds`, and the last stats, read with bmactl.
    private func forwardRate(_ bmad: BmadProcess, socket: String, seconds: Double) throws -> (rate: Double, stats: [String: Any]) {
        func stats() throws -> [String: Any] {
            let child = try ChildProcess(name: "bmactl-stats", executable: try TestEnvironment.binary("bmactl"),
                                         arguments: ["--socket", socket, "--json", "stats"], directory: "/")
            XCTAssertEqual(try child.waitForExit(timeout: 10), .exited(0), child.outputTail())
            return try JSONSerialization.jsonObject(with: Data(child.stdout.utf8)) as? [String: Any] ?? [:]
        }
        func forwarded(_ s: [String: Any]) -> Double {
            ((s["vms"] as? [[String: Any]]) ?? []).reduce(0) { $0 + (($1["forwarded"] as? Double) ?? 0) }
        }
        let a = try stats(), t0 = Date()
        usleep(UInt32(seconds * 1_000_000))
        let b = try stats()
        return ((forwarded(b) - forwarded(a)) / Date().timeIntervalSince(t0), b)
    }

    func testACollectorPortThatTakesNothingLeavesTheForwardingRateUnchanged() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 512)
        let scratch = try makeScratch()
        let capture = try TestEnvironment.capture("benign-camera-week.pcap")
        var rates: [String: Double] = [:]
        var mirrors: [String: [String: Any]] = [:]
        // Reachable: net_null takes every copy. Unreachable: a vhost-user port nobody connected.
        for (label, mirror) in [("reachable", "net_null2,no-rx=1"), ("unreachable", "net_vhost2,iface=\(scratch.file("collector.sock"))"),
                                ("reachable-again", "net_null2,no-rx=1")] {
            let bmad = try startBmad(
                BmadConfiguration(uplink: "net_null1,no-rx=1",
                                  vms: [.init(name: "vm", id: 1, devargs: "net_pcap0,rx_pcap=\(capture),infinite_rx=1")],
                                  mempool: (mbufs: 65535, cache: 256, dataRoom: 2176), extraYAML: geneve(mirror)),
                in: scratch, name: label, options: .init(memoryMB: 512))
            let socket = scratch.file("\(label).sock")
            try waitUntil("control socket", timeout: 20, context: { bmad.child.outputTail() }) {
                FileManager.default.fileExists(atPath: socket)
            }
            let add = try ChildProcess(name: "policy-\(label)", executable: try TestEnvironment.binary("bmactl"),
                                       arguments: ["--socket", socket, "policy", "add", "--name", "all", "--mirror", "always"], directory: "/")
            XCTAssertEqual(try add.waitForExit(timeout: 10), .exited(0), add.outputTail())
            usleep(500_000)
            let (rate, stats) = try forwardRate(bmad, socket: socket, seconds: 3)
            rates[label] = rate
            mirrors[label] = stats["mirror"] as? [String: Any]
            XCTAssertEqual(try bmad.stop(signal: SIGINT), .exited(0), bmad.child.outputTail())
        }
        print("forwarding rates (packets/s): \(rates); mirror: \(mirrors)")
        // The two reachable runs bracket the unreachable one and show the machine's noise. Toward
        // a port that takes nothing each copy is still made and then freed; the debug build's
        // rate measured 0.78 to 1.03 of the slower reachable run on an idle 2-core machine, so
        // the check is that forwarding goes on at a rate of the same order (60 %).
        let reachable = min(rates["reachable"] ?? 0, rates["reachable-again"] ?? 0)
        XCTAssertGreaterThan(reachable, 0)
        XCTAssertGreaterThan(rates["unreachable"] ?? 0, 0.6 * reachable, "\(rates)")
        let down = mirrors["unreachable"] ?? [:]
        XCTAssertEqual(down["sent"] as? Double, 0)
        XCTAssertGreaterThan((down["ringfull"] as? Double) ?? 0, 0, "copies the port did not take are counted")
        XCTAssertGreaterThan((mirrors["reachable"]?["sent"] as? Double) ?? 0, 0)
    }
}
