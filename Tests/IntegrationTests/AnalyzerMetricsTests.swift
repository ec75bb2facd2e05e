import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `bma-analyzer serve --metrics-listen`: Prometheus text that promtool accepts, and counters
/// that follow what the node did (datagrams received and refused, packets stored, alerts per
/// module and per signature).
final class AnalyzerMetricsTests: IntegrationTestCase {
    func testMetricsCountIngestStorageAndAlerts() throws {
        let scratch = try makeScratch()
        let port = try AnalyzerSensorTests.freeUDPPort()
        let metricsPort = try AnalyzerSensorTests.freeUDPPort()
        let analyzer = try ChildProcess(
            name: "analyzer", executable: try TestEnvironment.binary("bma-analyzer"),
            arguments: ["serve", "--store", scratch.file("store"), "--socket", scratch.file("an.sock"), "--geneve-port", String(port),
                        "--vxlan-port", "0", "--sensor", "hv1=127.0.0.2", "--no-loopback-sensor", "--status-interval", "0",
                        "--metrics-listen", "localhost:\(metricsPort)"],
            directory: scratch.path)
        defer { _ = analyzer.kill(signal: SIGTERM, grace: 5) }
        try analyzer.waitForLine(containing: "Prometheus metrics on http://localhost:\(metricsPort)/metrics", timeout: 15)

        let scan = AnalyzerSensorTests.forgedScan()
        try AnalyzerSensorTests.send(scan, from: "127.0.0.3", port: port) // not a sensor
        try AnalyzerSensorTests.send(scan, from: "127.0.0.2", port: port)
        let n = AnalyzerSensorTests.scanPorts
        var text = ""
        try waitUntil("the scan stored and alerted", timeout: 20, interval: 0.2, context: { text }) {
            text = try Self.scrape(port: metricsPort)
            let v = Self.samples(text)
            return v["bma_analyzer_store_packets_total"] == Double(n) && (v["bma_analyzer_module_alerts_total{module=\"scan\"}"] ?? 0) >= 1
        }
        let v = Self.samples(text)
        XCTAssertEqual(v["bma_analyzer_ingest_received_packets_total"], Double(2 * n), text)
        XCTAssertEqual(v["bma_analyzer_ingest_decoded_packets_total"], Double(n))
        XCTAssertEqual(v["bma_analyzer_ingest_dropped_packets_total{reason=\"unknownSensor\"}"], Double(n))
        XCTAssertEqual(v["bma_analyzer_ingest_dropped_packets_total{reason=\"badVersion\"}"], 0, "reasons never seen are there at zero")
        XCTAssertEqual(v["bma_analyzer_queue_dropped_packets_total"], 0)
        XCTAssertGreaterThan(v["bma_analyzer_store_bytes"] ?? 0, 0)
        XCTAssertTrue(v.keys.contains { $0.hasPrefix("bma_analyzer_alerts_total{signature=") }, text)
        XCTAssertEqual(v.filter { $0.key.hasPrefix("bma_analyzer_alerts_total{") }.values.reduce(0, +),
                       v.filter { $0.key.hasPrefix("bma_analyzer_module_alerts_total{") }.values.reduce(0, +),
                       "alerts per signature and per module add up")

        if let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: FileManager.default.isExecutableFile(atPath:)) {
            let file = try scratch.write(text, to: "metrics.txt")
            let check = try AnalyzerCommand.run("/bin/sh", ["-c", "\(promtool) check metrics < \(file)"], in: scratch, label: "promtool")
            XCTAssertEqual(check.status, .exited(0), check.description)
            XCTAssertEqual(check.stdout + check.stderr, "", "promtool's remarks: \(check.description)")
        } else {
            print("promtool not installed (Debian package prometheus): format not checked")
        }
    }

    /// `GET /metrics`; the body.
    static func scrape(port: Int) throws -> String {
        let r = try ConsoleHTTP.get(port: port, "/metrics")
        guard r.status == 200 else { throw ScratchError(message: "GET /metrics: \(r.status) \(r.text.prefix(200))") }
        return r.text
    }

    /// Sample lines: "name{labels}" → value.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }
}
