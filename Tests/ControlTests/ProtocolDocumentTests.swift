import ControlProtocol
import Foundation
import XCTest

/// docs/control-protocol.md documents exactly the methods bmad answers, with the parameters
/// each reads, and every error code.
final class ProtocolDocumentTests: XCTestCase {
    static var document: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return try String(contentsOf: root.appendingPathComponent("docs/control-protocol.md"), encoding: .utf8)
        }
    }

    /// The `code` spans of a table cell: "`vm`, optional `flow: {...}`" -> ["vm", "flow: {...}"].
    static func spans(_ cell: Substring) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// method -> documented parameter names, from the table under "## Methods".
    static func documentedMethods() throws -> [String: Set<String>] {
        let text = try document
        guard let start = text.range(of: "## Methods") else { return [:] }
        var out: [String: Set<String>] = [:]
        for line in text[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count >= 4, !cells[1].contains("method"), !cells[1].contains("---") else { continue }
            let parameters = Set(spans(cells[2]).map { String($0.prefix { $0 != ":" }) })
            for method in spans(cells[1]) { out[method] = parameters }
        }
        return out
    }

    func testEveryMethodIsDocumentedWithItsParameters() throws {
        let documented = try Self.documentedMethods()
        XCTAssertEqual(Set(documented.keys), Set(BmadMethod.allCases.map(\.name)), "methods in docs/control-protocol.md")
        for method in BmadMethod.allCases {
            XCTAssertEqual(documented[method.name], method.parameters, "parameters of \(method.name)")
        }
    }

    func testEveryErrorCodeIsDocumented() throws {
        let text = try Self.document
        for code in ControlErrorCode.allCases {
            XCTAssertTrue(text.contains("| `\(code.rawValue)` |"), "error code \(code.rawValue)")
        }
    }
}
