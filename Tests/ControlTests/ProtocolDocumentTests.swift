import BMAContract
import ControlProtocol
import Foundation
import XCTest

/// docs/control-protocol.md documents exactly the methods bmad answers, with the parameters
/// each request type reads, the members each response type writes, and every error code.
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

    /// The rows of the table under "## Methods": its cells after the first `|`.
    static func methodRows() throws -> [[Substring]] {
        let text = try document
        guard let start = text.range(of: "## Methods") else { return [] }
        var rows: [[Substring]] = []
        for line in text[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count >= 4, !cells[1].contains("method"), !cells[1].contains("---") else { continue }
            rows.append(Array(cells.dropFirst()))
        }
        return rows
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

    /// method -> the documented result shape (the result cell's first `{...}` span), for the
    /// methods whose result has a fixed shape.
    static func documentedResults() throws -> [String: Shape] {
        var out: [String: Shape] = [:]
        for row in try methodRows() {
            guard let span = spans(row[2]).first(where: { $0.hasPrefix("{") }) else { continue }
            var reader = ShapeReader(text: Substring(span))
            let shape = reader.object()
            for method in spans(row[0]) { out[method] = shape }
        }
        return out
    }

    /// Each fixed-shape response, every optional member set, as bmad encodes it.
    static var responses: [BmadMethod: any Encodable] { [
        .status: StatusRequest.Status(version: "1", uptimeSeconds: 1, pid: 1, workers: 1, vms: 1, policies: 1,
                                      policyGeneration: 1, stateDirectory: "/", globalSensitivity: 1),
        .vmList: VMListRequest.VMList(vms: [.init(name: "a", id: 1, mac: "m", linkUp: true, outgoing: 1, mirrored: 1,
                                                  learning: true, frozen: true, sensitivity: 1)]),
        .baselineShow: BaselineShowRequest.Summary(vm: "a", learnedPackets: 1, learning: true, frozen: true,
                                                   services: [.init(key: "k", packets: 1, peak: 1, sizeMean: 1, sizeStd: 1)],
                                                   hosts: 1, destinations: 1, memoryBytes: 1),
        .baselineFreeze: BaselineFrozen(vm: "a", frozen: true),
        .baselineUnfreeze: BaselineFrozen(vm: "a", frozen: false),
        .baselineReset: VMDone(vm: "a"),
        .baselineExport: BaselineExportRequest.Export(vm: "a", baseline: ["format": 1]),
        .baselineImport: VMDone(vm: "a"),
        .policyList: PolicyListRequest.PolicyList(generation: 1, policies: []),
        .policyRemove: PolicyRemoveRequest.Removed(id: 1),
        .policyReplace: PolicyReplaceRequest.Replaced(generation: 1, count: 1),
        .sensitivitySet: SensitivitySetRequest.InForce(vm: "a", value: 1),
        .mirrorForce: MirrorForceRequest.Forced(vm: "a", until: "t", seconds: 1, cancelled: true, flowHash: 1),
        .actionList: ActionListRequest.ActionList(actions: [["id": 1]], events: [.init(time: "t", event: "added", id: 1, kind: "drop",
                                                                                      target: "vm a", reason: "r")]),
        .actionRemove: ActionRemoveRequest.Removed(id: 1, event: "removed"),
    ] }

    func testEveryFixedResultIsDocumentedAsItsTypeEncodesIt() throws {
        let documented = try Self.documentedResults()
        for method in BmadMethod.allCases where method.requestType.isDocument == false {
            guard let response = Self.responses[method] else {
                XCTFail("\(method.name): a typed response without an entry in this test")
                continue
            }
            guard let shape = documented[method.name] else {
                XCTFail("\(method.name): the result column documents no {...} shape")
                continue
            }
            let encoded = try JSONValue(encoding: AnyEncodable(response))
            XCTAssertEqual(shape.mismatches(encoded, at: method.name), [], "result of \(method.name)")
        }
    }

    func testEveryErrorCodeIsDocumented() throws {
        let text = try Self.document
        for code in ControlErrorCode.allCases {
            XCTAssertTrue(text.contains("| `\(code.rawValue)` |"), "error code \(code.rawValue)")
        }
    }
}

/// A result as the protocol document writes it: `{vm, until: null, services: [{key, packets}], vm?}`.
/// Only member names and nested objects count; `?` marks a member that is not always present.
struct Shape: Equatable {
    var members: [String: Shape?] = [:]

    /// Names the document and the encoded value do not share, and the same in nested objects.
    func mismatches(_ value: JSONValue, at path: String) -> [String] {
        guard let object = value.objectValue else { return ["\(path) is not an object"] }
        var out: [String] = []
        for key in Set(members.keys).symmetricDifference(object.keys).sorted() {
            out.append(members[key] == nil ? "\(path).\(key) is not documented" : "\(path).\(key) is not in the response")
        }
        for (key, nested) in members {
            guard let nested, let inner = object[key] else { continue }
            let element = inner.arrayValue?.first ?? inner
            out += nested.mismatches(element, at: "\(path).\(key)")
        }
        return out
    }
}

/// Reads a `Shape` from its text.
struct ShapeReader {
    var text: Substring

    mutating func object() -> Shape {
        var shape = Shape()
        guard text.first == "{" else { return shape }
        text.removeFirst()
        while let c = text.first, c != "}" {
            if c == "," || c == " " { text.removeFirst(); continue }
            let name = String(text.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            text.removeFirst(name.count)
            if text.first == "?" { text.removeFirst() }
            var nested: Shape?
            if text.first == ":" {
                text.removeFirst()
                while text.first == " " { text.removeFirst() }
                if text.first == "[" { text.removeFirst() }
                if text.hasPrefix("{...}") {
                    text.removeFirst(5)  // an open document
                } else if text.first == "{" {
                    nested = object()
                }
                // Skip the rest of the value (`null`, `N`, `]`, `...`) up to the next member.
                while let d = text.first, d != ",", d != "}" { text.removeFirst() }
            }
            if name.isEmpty {
                if text.first != "}" { text.removeFirst() }
                continue
            }
            shape.members[name] = .some(nested)
        }
        if !text.isEmpty { text.removeFirst() }
        return shape
    }
}

/// Encodes whatever `Encodable` it holds (the table above holds several response types).
struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

extension BmadRequest {
    /// Whether the response is an open document (its shape documented in words).
    static var isDocument: Bool { Response.self == JSONValue.self }
}
