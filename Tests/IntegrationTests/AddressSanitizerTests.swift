import Foundation
import XCTest

/// bmad's whole life under AddressSanitizer when the binaries under test are built with it
/// (`swift build --sanitize=address`; docs/robustness.md, "AddressSanitizer"): EAL on hugepages,
/// the ports, a worker forwarding and mirroring a real week of traffic, a clean stop, and the same
/// through `bmad replay`. LeakSanitizer is on: a leak, like the MAC table a stopped dataplane never
/// freed, makes bmad exit non-zero with a report. With an ordinary build the test is skipped.
final class AddressSanitizerTests: IntegrationTestCase {
    private static let sanitizer = ["ASAN_OPTIONS=detect_leaks=1"]

    /// Whether the executable carries AddressSanitizer's runtime (linked in statically by swiftc).
    private static func isInstrumented(_ path: String) throws -> Bool {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return data.range(of: Data("__asan_init".utf8)) != nil
    }

    private func requireSanitizedBmad() throws -> String {
        let bmad = try TestEnvironment.binary("bmad")
        guard try Self.isInstrumented(bmad) else { throw XCTSkip("\(bmad) is not built with --sanitize=address") }
        return bmad
    }

    private func assertNoReport(_ child: ChildProcess, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse((child.stdout + child.stderr).contains("Sanitizer"), child.outputTail(lines: 80), file: file, line: line)
    }

    func testBmadForwardsMirrorsAndStopsWithoutASanitizerReport() throws {
        _ = try requireSanitizedBmad()
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        let scratch = try makeScratch()
        let capture = try TestEnvironment.capture(DetectionScenario.benignFile)
        let mirror = """
            mirror:
              devargs: 'net_pcap7,tx_pcap=\(scratch.file("mirror.pcap"))'
              encapsulation: geneve
              collectors: [192.0.2.10]
              next_hop_mac: '02:00:00:00:00:99'
              source_ip: 192.0.2.1
            detection:
              learning_seconds: 0

            """
        let bmad = try startBmad(
            BmadConfiguration(uplink: "net_null9,no-rx=1", vms: [.init(name: "cam", id: 7, devargs: "net_pcap0,rx_pcap=\(capture)")],
                              extraYAML: mirror),
            in: scratch, name: "bmad-asan", options: .init(exitWhenIdleMs: 1000, environment: Self.sanitizer))
        XCTAssertEqual(try bmad.waitForExit(timeout: 120), .exited(0), bmad.child.outputTail(lines: 80))
        assertNoReport(bmad.child)
        let s = try DetectionSummary.read(path: bmad.summaryPath)
        XCTAssertGreaterThan(s.mirror.sent, 0, "copies went through the mirror path")
    }

    func testReplayRunsWithoutASanitizerReport() throws {
        let bmad = try requireSanitizedBmad()
        let scratch = try makeScratch()
        let capture = try TestEnvironment.capture(DetectionScenario.benignFile)
        let child = try ChildProcess(
            name: "replay-asan", executable: "/usr/bin/env",
            arguments: Self.sanitizer + [bmad, "replay", "--vm", "cam=\(capture)", "--mirror-out", scratch.file("mirror.pcap"),
                                         "--forward-out", scratch.file("forward.pcap"), "--summary-json", scratch.file("summary.json")],
            directory: scratch.path)
        defer { child.kill(signal: SIGKILL) }   // only if it outlived the wait
        XCTAssertEqual(try child.waitForExit(timeout: 300), .exited(0), child.outputTail(lines: 80))
        assertNoReport(child)
    }
}
