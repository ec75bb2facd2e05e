import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What `kill -9` of `bma-analyzer serve` loses: at most what `status` has not yet reported as
/// written, and that is at most one flush interval old. Every packet `status` called written is
/// in the store after a restart.
final class AnalyzerCrashTests: IntegrationTestCase {
    func testKillNineKeepsEveryPacketStatusCalledWritten() throws {
        let scratch = try makeScratch()
        let store = scratch.file("store"), socket = scratch.file("an.sock")
        let port = try AnalyzerSensorTests.freeUDPPort()
        let analyzer = try ChildProcess(
            name: "analyzer", executable: try TestEnvironment.binary("bma-analyzer"),
            arguments: ["serve", "--store", store, "--socket", socket, "--geneve-port", String(port), "--vxlan-port", "0",
                        "--flush-interval", "1", "--status-interval", "0"],
            directory: scratch.path)
        defer { _ = analyzer.kill(signal: SIGKILL, grace: 1) }
        try analyzer.waitForLine(containing: "bma-analyzer: listening on 127.0.0.1: geneve \(port)", timeout: 15)

        let datagrams = AnalyzerSensorTests.forgedScan()
        try AnalyzerSensorTests.send(datagrams, from: "127.0.0.1", port: port)
        var status = try AnalyzerSensorTests.status(socket)
        // Stored at once (accepted into the store's buffer), written within the flush interval
        // (the node's housekeeping runs once a second: allow two).
        let start = Date()
        try waitUntil("every packet written", timeout: 15, interval: 0.05, context: { "\(status)" }) {
            status = try AnalyzerSensorTests.status(socket)
            return status.storage.written_packets == UInt64(datagrams.count)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3.5, "written within the flush interval (+ housekeeping)")
        XCTAssertEqual(status.storage.packets, UInt64(datagrams.count))
        XCTAssertEqual(status.storage.flush_interval_s, 1)
        let written = try XCTUnwrap(status.storage.written_packets)

        // A second burst, then kill -9 at once: what was written survives, whatever was buffered.
        try AnalyzerSensorTests.send(datagrams, from: "127.0.0.1", port: port)
        Thread.sleep(forTimeInterval: 0.2)
        let before = try AnalyzerSensorTests.status(socket)
        let writtenBeforeKill = try XCTUnwrap(before.storage.written_packets)
        XCTAssertGreaterThanOrEqual(writtenBeforeKill, written)
        _ = analyzer.kill(signal: SIGKILL, grace: 1)

        let out = scratch.file("all.pcap")
        let query = try AnalyzerCommand.analyzerOK(["query", "--store", store, "-w", out], in: scratch, label: "query")
        let kept = try XCTUnwrap(AnalyzerCommand.writtenCount(query), query.description)
        XCTAssertGreaterThanOrEqual(UInt64(kept), writtenBeforeKill, "every packet status called written is kept")
        XCTAssertLessThanOrEqual(UInt64(kept), before.storage.packets)
    }
}
