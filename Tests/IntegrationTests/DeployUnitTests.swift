import Foundation
import XCTest

/// The systemd units in deploy/: `systemd-analyze verify` accepts them (with the test build's
/// binaries in place of /usr/local/bin), and `systemd-analyze security` rates the analyzer's
/// sandbox at most 3.0 and bmad's at most 3.5 (DPDK needs root and a few capabilities).
final class DeployUnitTests: IntegrationTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testUnitsVerifyAndTheirSandboxesRateLow() throws {
        guard let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("systemd-analyze is not installed")
        }
        let scratch = try makeScratch()
        let binaries = (try TestEnvironment.binary("bmad") as NSString).deletingLastPathComponent
        var paths: [String: String] = [:]
        for (unit, copy) in [("bmad.service", "bmad.service"), ("bmad@.service", "bmad@a.service"), ("bma-analyzer.service", "bma-analyzer.service")] {
            let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/\(unit)"), encoding: .utf8)
            paths[copy] = try scratch.write(text.replacingOccurrences(of: "/usr/local/bin/", with: binaries + "/"), to: copy)
        }
        let verify = try AnalyzerCommand.run(analyze, ["verify"] + paths.values.sorted(), in: scratch, label: "verify")
        XCTAssertEqual(verify.status, .exited(0), verify.description)
        XCTAssertEqual(verify.stderr, "", "systemd-analyze verify warns: \(verify.stderr)")

        // --threshold is the exposure × 10: security exits non-zero above it.
        for (unit, threshold) in [("bma-analyzer.service", 30), ("bmad.service", 35), ("bmad@a.service", 35)] {
            let r = try AnalyzerCommand.run(analyze, ["security", "--offline=true", "--threshold=\(threshold)", paths[unit]!], in: scratch, label: "security")
            let level = r.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") } ?? ""
            print("\(unit): \(level)")
            XCTAssertEqual(r.status, .exited(0), "\(unit) above \(Double(threshold) / 10): \(level)\n\(r.stdout.suffix(3000))")
        }
    }
}
