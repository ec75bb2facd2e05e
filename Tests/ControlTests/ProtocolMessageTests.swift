import Control
import XCTest

final class ProtocolMessageTests: XCTestCase {
    func testEveryContractErrorCode() {
        XCTAssertEqual(ControlErrorCode.allCases.map(\.rawValue), [
            "parse-error", "invalid-request", "method-not-found", "invalid-params", "not-found", "conflict",
            "request-too-large", "busy", "permission-denied", "internal",
        ])
    }

    func testWellFormedRequests() throws {
        let r = try ControlRequest(line: #"{"id": 1, "method": "policy.add", "params": {"id": 10, "name": "x"}}"#)
        XCTAssertEqual(r.id, 1)
        XCTAssertEqual(r.method, "policy.add")
        XCTAssertEqual(r.params, ["id": 10, "name": "x"])

        let noParams = try ControlRequest(line: #"{"method":"status"}"#)
        XCTAssertNil(noParams.id)
        XCTAssertEqual(noParams.params, [:])

        XCTAssertEqual(try ControlRequest(line: #"{"id":"abc","method":"status","extra":[1]}"#).id, "abc")
        XCTAssertNil(try ControlRequest(line: #"{"id":null,"method":"status"}"#).id)
        XCTAssertEqual(try ControlRequest(line: "  {\"id\":2.5,\"method\":\"s\"}\r").id, 2.5)

        let out = ControlRequest(id: 7, method: "vm.show", params: ["vm": "web1"])
        let line = out.encodedLine()
        XCTAssertEqual(line.last, UInt8(ascii: "\n"))
        XCTAssertEqual(try ControlRequest(line: line.dropLast()), out)
    }

    func testMalformedRequestsGetTheContractsErrors() {
        let cases: [(String, ControlErrorCode, JSONValue?)] = [
            ("", .parseError, nil),
            ("   ", .parseError, nil),
            ("not json", .parseError, nil),
            ("{\"id\":1,\"method\":\"status\"", .parseError, nil),
            ("[1,2]", .parseError, nil),
            ("\"status\"", .parseError, nil),
            ("42", .parseError, nil),
            ("null", .parseError, nil),
            ("{\"id\":1,\"method\":\"a\"} {}", .parseError, nil),
            ("{\"id\":1}", .invalidRequest, 1),
            ("{}", .invalidRequest, nil),
            ("{\"id\":\"x\",\"method\":5}", .invalidRequest, "x"),
            ("{\"id\":3,\"method\":null}", .invalidRequest, 3),
            ("{\"id\":3,\"method\":\"\"}", .invalidRequest, 3),
            ("{\"id\":2,\"method\":\"status\",\"params\":[]}", .invalidRequest, 2),
            ("{\"id\":2,\"method\":\"status\",\"params\":\"a\"}", .invalidRequest, 2),
            ("{\"id\":2,\"method\":\"status\",\"params\":null}", .invalidRequest, 2),
            ("{\"id\":{\"a\":1},\"method\":\"status\"}", .invalidRequest, nil),
            ("{\"id\":true,\"method\":\"status\"}", .invalidRequest, nil),
            ("{\"id\":[1],\"method\":\"status\"}", .invalidRequest, nil),
        ]
        for (line, code, id) in cases {
            XCTAssertThrowsError(try ControlRequest(line: line), line) { error in
                let rejection = error as! ControlRequest.Rejection
                XCTAssertEqual(rejection.error.code, code, line)
                XCTAssertEqual(rejection.id, id, line)
                XCTAssertFalse(rejection.error.message.isEmpty, line)
            }
        }
        for bytes: [UInt8] in [[0x7B, 0xFF, 0x7D], [0x00], [0x7B, 0x22, 0x00, 0x22, 0x3A, 0x31, 0x7D], Array(repeating: 0x5B, count: 65536)] {
            XCTAssertThrowsError(try ControlRequest(line: bytes)) { error in
                XCTAssertEqual((error as! ControlRequest.Rejection).error.code, .parseError)
            }
        }
    }

    func testResponsesAreOneLine() throws {
        let ok = ControlResponse(id: 1, result: ["b": 2, "a": "x\ny"])
        XCTAssertEqual(String(decoding: ok.encodedLine(), as: UTF8.self), "{\"id\":1,\"result\":{\"a\":\"x\\ny\",\"b\":2}}\n")
        let failed = ControlResponse(id: nil, error: ControlError(.busy, "too many"))
        XCTAssertEqual(String(decoding: failed.encodedLine(), as: UTF8.self),
                       "{\"id\":null,\"error\":{\"code\":\"busy\",\"message\":\"too many\"}}\n")
        let strID = ControlResponse(id: "q", error: ControlError(.invalidParams, "vm: is required"))
        for r in [ok, failed, strID, ControlResponse(id: 3, result: .null)] {
            XCTAssertEqual(try ControlResponse(line: r.encodedLine().dropLast()), r)
        }
        XCTAssertEqual(ok.json["result"]?["b"], 2)
        XCTAssertEqual(failed.json["error"]?["code"], "busy")
    }

    func testMalformedResponses() {
        for line in ["", "[]", "{\"id\":1}", "{\"id\":1,\"result\":1,\"error\":{\"code\":\"busy\",\"message\":\"\"}}",
                     "{\"id\":1,\"error\":{\"message\":\"m\"}}", "{\"id\":1,\"error\":{\"code\":\"nope\",\"message\":\"m\"}}"] {
            XCTAssertThrowsError(try ControlResponse(line: Array(line.utf8)), line)
        }
    }
}
