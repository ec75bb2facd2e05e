import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A VM's virtio driver (testpmd with virtio_user) connects to bmad's vhost-user port, sends a
/// little, and goes away, cycle after cycle (a clean quit and a crash in turn): bmad's open file
/// descriptors and resident memory stay flat, and every cycle's frames reach the uplink.
///
/// Cycles: $BMA_VHOST_CHURN_CYCLES (default 100, about a minute).
final class VhostChurnTests: IntegrationTestCase {
    static var cycles: Int { Int(ProcessInfo.processInfo.environment["BMA_VHOST_CHURN_CYCLES"] ?? "") ?? 100 }
    /// Cycles before the first measurement (pools, rings and vhost state warm up).
    static let warmUp = 3
    static let frames = 100

    func testFileDescriptorsAndMemoryStayFlatOverVhostChurn() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 512, testpmd: true)
        let scratch = try makeScratch()
        let socket = scratch.file("vm1.sock")
        let vmMAC = DetectionFrames.mac("02:00:00:00:02:01"), gw = DetectionFrames.mac("02:00:00:00:02:fe")
        let capture = scratch.file("vm1.pcap")
        try PcapCapture(header: PcapFileHeader(byteOrder: .littleEndian, resolution: .microseconds),
                        records: (0..<Self.frames).map { i in
                            PcapRecord(timestampNanoseconds: UInt64(i) * 1000, data: DetectionFrames.udp(
                                from: vmMAC, to: gw, DetectionFrames.ip("10.2.0.5"), DetectionFrames.ip("10.2.0.9"),
                                destinationPort: 7000, tag: "c\(i)"))
                        }).write(path: capture)
        let bmad = try startBmad(
            BmadConfiguration(uplink: "net_null0,no-rx=1",
                              vms: [.init(name: "vm1", id: 1, devargs: "net_vhost0,iface=\(socket),queues=1")]),
            in: scratch, options: .init(statsInterval: 0.1))
        try waitForSocket(socket, of: bmad)

        var samples: [(fds: Int, rssKB: Int)] = []
        for cycle in 1...Self.cycles {
            let before = bmad.statsLines.last?.ports["uplink"]?.tx ?? 0
            let vm = try startVM("vm1-c\(cycle)", socket: socket, options: .init(rxPcap: capture, mbufs: 2048), in: scratch)
            try bmad.waitForLinkUp("vm1", count: cycle)
            try vm.startForwarding()
            try waitUntil("cycle \(cycle): \(Self.frames) frames on the uplink after \(before)", timeout: 20,
                          context: { bmad.child.outputTail() + "\n" + vm.child.outputTail() }) {
                if !bmad.isRunning { throw ChildProcessError.exitedEarly("bmad", bmad.child.exitStatus!, bmad.child.outputTail()) }
                return (bmad.statsLines.last?.ports["uplink"]?.tx ?? 0) >= before + UInt64(Self.frames)
            }
            if cycle % 2 == 0 { vm.crash() } else { _ = try vm.stopAndQuit() }
            try bmad.waitForLinkDown("vm1", count: cycle)
            if cycle >= Self.warmUp { samples.append(try Self.usage(bmad.pid)) }
        }
        let first = try XCTUnwrap(samples.first), last = try XCTUnwrap(samples.last)
        let fdRange = samples.map(\.fds).min()!...samples.map(\.fds).max()!
        let rssGrowth = last.rssKB - first.rssKB
        print("\(name): \(Self.cycles) cycles: descriptors \(first.fds) → \(last.fds) (range \(fdRange)), "
              + "resident \(first.rssKB) kB → \(last.rssKB) kB (\(rssGrowth >= 0 ? "+" : "")\(rssGrowth) kB)")
        XCTAssertEqual(last.fds, first.fds, "descriptors after every cycle: \(samples.map(\.fds))")
        XCTAssertLessThanOrEqual(fdRange.upperBound - fdRange.lowerBound, 2, "\(samples.map(\.fds))")
        XCTAssertLessThanOrEqual(rssGrowth, 2048, "resident memory: \(samples.map(\.rssKB))")
        XCTAssertEqual(bmad.linkEvents("vm1").up, Self.cycles)
        XCTAssertEqual(try bmad.stop(signal: SIGTERM), .exited(0), bmad.child.outputTail())
        let s = try bmad.summary()
        XCTAssertEqual(try s.port("uplink").txPackets, UInt64(Self.cycles * Self.frames), "every cycle's frames forwarded")
    }

    /// Open descriptors and VmRSS of a process.
    static func usage(_ pid: pid_t) throws -> (fds: Int, rssKB: Int) {
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
        return (fds, kb)
    }
}
