import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `bma-analyzer serve --config`: the documented example runs, options on the command line
/// override the file, and a mistake names the file and the field (exit 2).
final class AnalyzerConfigFileTests: IntegrationTestCase {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/analyzer.example.yaml").path

    func testExampleRunsAndCommandLineOverridesIt() throws {
        let scratch = try makeScratch()
        var yaml = try String(contentsOfFile: Self.example, encoding: .utf8)
        if getuid() != 0 { yaml = yaml.replacingOccurrences(of: "erspan: true", with: "erspan: false") }
        let config = try scratch.write(yaml, to: "analyzer.yaml")
        let store = scratch.file("store")
        let port = 20_000 + Int(getpid() % 20_000)
        let child = try ChildProcess(
            name: "serve", executable: TestEnvironment.binary("bma-analyzer"),
            arguments: ["serve", "--config", config, "--store", store, "--socket", scratch.file("a.sock"),
                        "--geneve-port", "\(port)", "--vxlan-port", "0", "--status-interval", "0"],
            directory: scratch.path)
        defer { child.kill(signal: SIGKILL, grace: 1) }
        try child.waitForLine(containing: "bma-analyzer: listening on", timeout: 20)
        child.signalProcess(SIGINT)
        XCTAssertEqual(try child.waitForExit(timeout: 20), .exited(0), child.outputTail())
        let line = child.stdoutLines(containing: "listening on").first.map(String.init) ?? ""
        // From the file: the address, the sensors; from the command line: store and ports.
        XCTAssertTrue(line.hasPrefix("bma-analyzer: listening on 127.0.0.1: geneve \(port), vxlan off"), line)
        XCTAssertTrue(line.contains("store \(store)"), line)
        XCTAssertTrue(line.contains("hv1 (192.0.2.1/32), rack4 (10.4.0.0/24, 10.5.0.0/24)"), line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/var/lib/bma-analyzer/index.sqlite") && !FileManager.default.fileExists(atPath: store))
        // The file's VM names are kept in the store for query and alerts.
        let names = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: URL(fileURLWithPath: "\(store)/vm-names.json")))
        XCTAssertEqual(names, ["101": "web1", "102": "db1"])
    }

    func testMistakesNameTheFileAndTheField() throws {
        let scratch = try makeScratch()
        let cases: [(String, [String])] = [
            ("listen: 127.0.0.1\nretention_byte: 5G\n", ["retention_byte: unknown field", "did you mean 'retention_bytes'?"]),
            ("retention_bytes: 5X\n", ["retention_bytes: '5X' is not a size"]),
            ("erspan: maybe\n", ["erspan: 'maybe' is not true or false"]),
            ("sensors: 192.0.2.1\n", ["sensors: must be a mapping"]),
            ("geneve_port: [1, 2]\n", ["geneve_port: must be a single value"]),
            ("listen: [\n", ["not valid YAML"]),
        ]
        for (yaml, mentions) in cases {
            let config = try scratch.write(yaml, to: "bad.yaml")
            let r = try AnalyzerCommand.analyzer(["serve", "--config", config, "--store", scratch.file("never")], in: scratch, label: "bad", timeout: 20)
            XCTAssertEqual(r.status, .exited(2), "\(yaml): \(r)")
            let message = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(message.hasPrefix("bma-analyzer: \(config): "), message)
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            for text in mentions { XCTAssertTrue(message.contains(text), "'\(text)' in \(message)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("never")), "a store was created for a bad configuration")
        let missing = try AnalyzerCommand.analyzer(["serve", "--config", scratch.file("none.yaml")], in: scratch, label: "missing", timeout: 20)
        XCTAssertEqual(missing.status, .exited(3), missing.description)
        XCTAssertEqual(missing.stderr, "bma-analyzer: \(scratch.file("none.yaml")): cannot read the configuration file: No such file or directory\n",
                       missing.description)
    }
}
