import Foundation
import XCTest

/// The analyzer's `response:` section: a mistake stops `serve` with one line naming the field
/// (exit 2) before it opens anything; a valid one is announced.
final class ResponseConfigTests: IntegrationTestCase {
    func testMistakesInResponseRulesNameTheField() throws {
        let scratch = try makeScratch()
        let cases: [(String, String)] = [
            ("    - {name: r, action: block, seconds: 5}", "response.rules[0].action: 'block' is not one of drop, rate-limit, force-mirror, allow"),
            ("    - {name: r, action: drop, target: host, seconds: 5}", "response.rules[0].target: 'host' is not one of flow, destination, vm"),
            ("    - {name: r, action: drop}", "response.rules[0].seconds: is required"),
            ("    - {name: r, action: rate-limit, seconds: 5}", "response.rules[0].packets_per_second: rate-limit needs packets_per_second or bytes_per_second"),
            ("    - {name: r, action: drop, seconds: 5, max_per_minit: 3}", "response.rules[0].max_per_minit: unknown parameter"),
        ]
        for (i, (rule, message)) in cases.enumerated() {
            let yaml = try scratch.write("""
                store: '\(scratch.file("store-\(i)"))'
                socket: '\(scratch.file("an-\(i).sock"))'
                console_listen: 'off'
                response:
                  socket: /nonexistent/bmad.sock
                  rules:
                \(rule)

                """, to: "analyzer-\(i).yaml")
            let run = try AnalyzerCommand.analyzer(["serve", "--config", yaml], in: scratch, label: "serve-\(i)", timeout: 20)
            XCTAssertEqual(run.status, .exited(2), run.description)
            XCTAssertTrue(run.stderr.contains(message), "\(message)\n\(run.stderr)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "one line: \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("store-\(i)")), "nothing opened")
        }
    }
}
