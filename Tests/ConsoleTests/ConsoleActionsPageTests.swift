import Analysis
import BMAContract
import Foundation
import Testing
@testable import Console

/// The actions page lists what the analyzer's response rules did (the store's responses.jsonl),
/// newest first, with each action's expiry and whether it is still in force.
@Suite("Console: actions page")
struct ConsoleActionsPageTests {
    @Test("actions sent to bmad with their expiry, and the dry-run ones")
    func listsResponses() throws {
        let (store, dir, _) = try ConsolePagesTests.makeStore()
        defer { store.store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let now = SystemClock.wallNanoseconds()
        let records = [
            ResponseRecord(alert_ns: now - 120_000_000_000, done_ns: now - 119_990_000_000, rule: "block-scans", outcome: "added", kind: "drop",
                           target: "destination 10.0.0.9 tcp of vm 7", vm: 7, seconds: 60, signature: "BMA SCAN x",
                           alert_timestamp: "t", action_id: 1, expires_ns: now - 60_000_000_000),
            ResponseRecord(alert_ns: now - 1_000_000_000, done_ns: now - 990_000_000, rule: "block-scans", outcome: "added", kind: "drop",
                           target: "destination 10.0.0.77 tcp of vm 7", vm: 7, seconds: 300, signature: "BMA SCAN y",
                           alert_timestamp: "t", action_id: 2, expires_ns: now + 299_000_000_000),
            ResponseRecord(alert_ns: now, done_ns: now, rule: "watch", outcome: "dry-run", kind: "force-mirror",
                           target: "vm 7", vm: 7, seconds: 30, signature: "BMA SCAN z", alert_timestamp: "t"),
        ]
        let lines = try records.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        try lines.write(toFile: dir + "/" + ResponseRecord.fileName, atomically: true, encoding: .utf8)
        let page = String(decoding: try ConsolePagesTests.pages(store).actions(ConsoleRequest(query: [:])).body, as: UTF8.self)
        #expect(!page.contains("No response actions are configured"))
        #expect(page.contains("<b>2</b>actions sent to bmad") && page.contains("<b>1</b>in force now") && page.contains("<b>1</b>dry run / held back"))
        let rows: [String] = Array(page.components(separatedBy: "<tr>")[2...])
        #expect(rows.count == 3)
        #expect(rows[0].contains("dry-run") && rows[0].contains("force-mirror"), "newest first")
        #expect(rows[1].contains("10.0.0.77") && rows[1].contains("<b>in force</b>") && rows[1].contains(HTML.time(now + 299_000_000_000)))
        #expect(rows[2].contains("10.0.0.9 tcp") && rows[2].contains("expired"))
        #expect(rows[1].contains("web7"), "the VM by its name, linked")
    }
}
