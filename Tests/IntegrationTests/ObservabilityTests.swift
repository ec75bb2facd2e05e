import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Prometheus metrics and DPDK telemetry of a running bmad.
final class ObservabilityTests: IntegrationTestCase {
    func testPrometheusMetricsAndTelemetryShowTheVMAndItsCounters() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 0)
        guard let telemetry = TestEnvironment.which("dpdk-telemetry.py") else { throw XCTSkip("dpdk-telemetry.py not installed") }
        let scratch = try makeScratch()
        let bmad = try TestEnvironment.binary("bmad")
        let capture = try TestEnvironment.capture("benign-camera-week.pcap")
        let port = 20_000 + Int(getpid() % 20_000)
        let config = try scratch.write("""
            uplink: 'net_null0,no-rx=1'
            vms:
              - {name: cam, id: 7, devargs: 'net_pcap0,rx_pcap=\(capture)'}
            metrics: {listen: '127.0.0.1:\(port)'}
            control: {socket: '\(scratch.file("bmad.sock"))', state_dir: '\(scratch.file("state"))'}

            """, to: "bmad.yaml")
        let prefix = DPDKRuntime.newPrefix("observe")
        let child = try ChildProcess(
            name: "bmad", executable: bmad,
            arguments: ["-l", "0,1", "--no-huge", "-m", "512", "--file-prefix", prefix, "--no-pci",
                        "--", "--config", config, "--exit-when-idle", "4000"],
            directory: scratch.path)
        child.afterExit.append { DPDKRuntime.removeFiles(prefix: prefix) }
        defer { _ = child.kill(signal: SIGINT) }
        try child.waitForLine(containing: "forwarding on worker lcores", timeout: 20)
        Thread.sleep(forTimeInterval: 1.5) // the capture is replayed; telemetry publishes every second

        let metrics = try run("/usr/bin/python3", ["-c", "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:\(port)/metrics', timeout=5).read().decode())"], in: scratch)
        XCTAssertTrue(metrics.contains("bma_port_rx_packets_total{port=\"cam\",role=\"vm\"} 24022"), metrics)
        XCTAssertTrue(metrics.contains("# TYPE bma_vm_mirror_decisions_total counter"), metrics)
        XCTAssertTrue(metrics.contains("bma_malformed_total{reason=\"ipv4-total-long\"} 14671"), metrics)
        // Reasons never seen are there at zero, so rate() and alerts work from the start.
        XCTAssertTrue(metrics.contains("bma_malformed_total{reason=\"ipv4-ihl\"} 0"), metrics)
        XCTAssertTrue(metrics.contains("bma_malformed_total{reason=\"tcp-offset\"} 0"), metrics)
        let missing = try run("/usr/bin/python3", ["-c", """
            import urllib.request, urllib.error
            try:
                urllib.request.urlopen('http://127.0.0.1:\(port)/nothing', timeout=5)
            except urllib.error.HTTPError as e:
                print(e.code)
            """], in: scratch)
        XCTAssertEqual(missing.trimmingCharacters(in: .whitespacesAndNewlines), "404")

        let answers = try run("/bin/sh", ["-c", "printf '/bma/vms\\n/bma/vm,cam\\n/bma/stats\\n' | \(telemetry) -f \(prefix)"], in: scratch)
        XCTAssertTrue(answers.contains("{\"/bma/vms\": [\"cam\"]}"), answers)
        XCTAssertTrue(answers.contains("\"outgoing\": 24022"), answers)
        XCTAssertTrue(answers.contains("\"reason_new_service\""), answers)
        XCTAssertTrue(answers.contains("\"cam_rx_packets\": 24022"), answers)
        XCTAssertEqual(try child.waitForExit(timeout: 20), .exited(0), child.outputTail())
    }

    private func run(_ executable: String, _ arguments: [String], in scratch: ScratchDirectory) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
