import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The analysis node on a disk that fills up: it keeps running, counts what it could not store,
/// and raises a storage alert.
final class AnalyzerDiskFullTests: IntegrationTestCase {
    func testAFullDiskKeepsTheAnalyzerAliveCountsDropsAndRaisesAStorageAlert() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to mount a small tmpfs") }
        let scratch = try makeScratch()
        // 8 MiB of frames into a 2 MiB tmpfs.
        let vmMAC = DetectionFrames.mac("02:00:00:00:0d:01"), gw = DetectionFrames.mac("02:00:00:00:0d:fe")
        let vmIP = DetectionFrames.ip("10.13.0.5"), sink = DetectionFrames.ip("198.51.100.13")
        let template = DetectionFrames.udp(from: vmMAC, to: gw, vmIP, sink, sourcePort: 40000, destinationPort: 9000, tag: "", payloadLength: 1000)
        let path = scratch.file("fill.pcap")
        let writer = try PcapWriter(path: path, resolution: .nanoseconds)
        let t0: UInt64 = 1_700_000_000 * 1_000_000_000
        let count = 8 * 1024 * 1024 / template.count
        for i in 0..<count { try writer.write(timestampNanoseconds: t0 + UInt64(i) * 1_000_000, data: template) }
        try writer.close()

        let mountPoint = scratch.file("small-disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = try AnalyzerCommand.run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint], in: scratch, label: "mount")
        guard mounted.status == .exited(0) else { throw XCTSkip("cannot mount a tmpfs here: \(mounted.stderr)") }
        defer { _ = try? AnalyzerCommand.run("/bin/umount", ["-l", mountPoint], in: scratch, label: "umount") }

        let store = mountPoint + "/store"
        // The alerts go to another disk; the index on the full one may not take them.
        let evePath = scratch.file("eve.json")
        let r = try AnalyzerCommand.analyzer(["import", "--store", store, "--eve", evePath, "--vm", "13", "--min-free-bytes", "0", path],
                                             in: scratch, label: "import-full", timeout: 60)
        XCTAssertFalse(r.crashed, r.description)
        XCTAssertEqual(r.status, .exited(0), "the import finishes although the disk is full\n\(r)")
        XCTAssertTrue(r.stdout.contains("\(count) packets"), r.description)
        XCTAssertTrue(r.stdout.contains("could not be stored"), "the import reports the drops\n\(r)")

        // What could not be stored is counted, and a storage alert is raised and kept.
        let eve = (try? String(contentsOfFile: evePath, encoding: .utf8)) ?? ""
        let alerts = try AnalyzerCommand.analyzer(["alerts", "--store", store, "--json"], in: scratch, label: "alerts-full")
        let storage = (eve + alerts.stdout).split(separator: "\n").filter { $0.contains("\"category\":\"Storage\"") }
        XCTAssertFalse(storage.isEmpty, "a storage alert in eve.json or the index\neve: \(eve.prefix(500))\nalerts: \(alerts)")
        var total: UInt64 = 0
        let files = (try? FileManager.default.contentsOfDirectory(atPath: store)) ?? []
        for f in files where f.hasSuffix(".pcapng") {
            total += (try? FileManager.default.attributesOfItem(atPath: store + "/" + f)[.size] as? UInt64) ?? 0
        }
        XCTAssertLessThan(total, 2 * 1024 * 1024, "segments fit the 2 MiB disk")
        XCTAssertGreaterThan(total, 0, "something was stored before the disk filled")
    }
}
