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

    /// `GET /metrics` over a plain TCP connection; the body.
    static func scrape(port: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ScratchError(message: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw ScratchError(message: "connect: \(errno)") }
        let request = Array("GET /metrics HTTP/1.0\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.0 200"), let body = text.range(of: "\r\n\r\n") else { throw ScratchError(message: "response: \(text.prefix(200))") }
        return String(text[body.upperBound...])
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
