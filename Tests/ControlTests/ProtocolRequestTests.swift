import BMAContract
import Control
import Foundation
import XCTest

/// Every method's typed request reads back what it writes, through `params` and through Codable,
/// and keeps the protocol's `invalid-params` messages.
final class ProtocolRequestTests: XCTestCase {
    func testEveryMethodHasItsOwnRequestType() {
        for method in BmadMethod.allCases {
            XCTAssertEqual(method.requestType.method, method)
        }
        XCTAssertEqual(Set(BmadMethod.allCases.map { ObjectIdentifier($0.requestType) }).count, BmadMethod.allCases.count)
    }

    func testExamplesRoundTripThroughParamsAndCodable() throws {
        for method in BmadMethod.allCases {
            try roundTrip(method.requestType)
        }
    }

    private func roundTrip<Request: BmadRequest>(_: Request.Type) throws {
        let example = Request.example
        XCTAssertEqual(try Request(params: Params(example.params)), example, "\(Request.method.name) through params")
        let data = try JSONEncoder().encode(example)
        XCTAssertEqual(try JSONDecoder().decode(Request.self, from: data), example, "\(Request.method.name) through Codable")
        XCTAssertEqual(try JSONValue.parse(Array(data)), .object(example.params), "\(Request.method.name) encodes its params")
    }

    func testRequestsWriteWhatBmactlAlwaysSent() {
        XCTAssertEqual(MirrorForceRequest(vm: .name("web1"), seconds: 0).params, ["vm": "web1", "seconds": 0])
        XCTAssertEqual(SensitivitySetRequest.set(2, vm: .id(101)).params, ["value": 2, "vm": 101])
        XCTAssertEqual(SensitivitySetRequest.reset().params, ["reset": true])
        XCTAssertEqual(PolicyAddRequest(policy: ["name": "a"]).params, ["name": "a"])
        XCTAssertEqual(PolicyAddRequest(policy: ["name": "a"], allowFutureVM: true).params, ["name": "a", "allow_future_vm": true])
        XCTAssertEqual(PolicyReplaceRequest(policies: []).params, ["policies": []])
        XCTAssertEqual(BaselineResetRequest(vm: VMReference(text: "7")).params, ["vm": 7])
        XCTAssertEqual(ActionAddRequest(action: ["kind": "drop", "vm": "web1"], seconds: 60).params,
                       ["kind": "drop", "vm": "web1", "seconds": 60])
        XCTAssertEqual(ActionRemoveRequest(id: 3).params, ["id": 3])
    }

    func testReadingKeepsTheProtocolsMessages() {
        XCTAssertEqual(message { _ = try MirrorForceRequest(params: Params(["vm": "web1"])) }, "seconds: is required (a number)")
        XCTAssertEqual(message { _ = try MirrorForceRequest(params: Params(["vm": "web1", "seconds": 90_000])) },
                       "seconds: must be between 0 and 86400, got 90000")
        XCTAssertEqual(message { _ = try MirrorForceRequest(params: Params(["vm": "web1", "seconds": 1, "flow": ["src": "a"]])) },
                       "flow.dst: is required (a string)")
        XCTAssertEqual(message { _ = try SensitivitySetRequest(params: Params(["value": 101])) },
                       "value: must be between 0 and 100, got 101")
        XCTAssertEqual(message { _ = try PolicyShowRequest(params: Params(["id": 0])) }, "id: must be between 1 and 65535, got 0")
        XCTAssertEqual(message { _ = try BaselineShowRequest(params: Params([:])) }, "vm: is required (a VM name or id)")
        XCTAssertEqual(message { _ = try PolicyAddRequest(params: Params(["allow_future_vm": "yes"])) },
                       "allow_future_vm: must be true or false, got a string")
        XCTAssertEqual(message { _ = try ActionAddRequest(params: Params(["kind": "drop", "vm": "web1"])) },
                       "seconds: is required (a number)")
        XCTAssertEqual(message { _ = try ActionAddRequest(params: Params(["kind": "drop", "vm": "web1", "seconds": 0])) },
                       "seconds: must be between 0.001 and 604800, got 0")
        XCTAssertEqual(message { _ = try ActionAddRequest(params: Params(["kind": "drop", "vm": "web1", "seconds": 5, "colour": "red"])) },
                       "colour: unknown parameter")
        XCTAssertEqual(message { _ = try ActionRemoveRequest(params: Params(["id": 0])) }, "id: must be between 1 and 4294967295, got 0")
    }

    func testFlowProtocolMayBeANumber() throws {
        let request = try MirrorForceRequest(params: Params([
            "vm": 101, "seconds": 5, "flow": ["src": "10.0.0.1", "dst": "10.0.0.2", "proto": 6],
        ]))
        XCTAssertEqual(request.flow, .init(source: "10.0.0.1", destination: "10.0.0.2", protocolName: "6"))
    }

    func testResponsesWriteNullForAbsentDocumentedMembers() throws {
        let vm = VMListRequest.VM(name: "web1", id: 101, mac: nil, linkUp: nil, outgoing: 1, mirrored: 0, learning: true,
                                  frozen: false, sensitivity: nil)
        let encoded = try JSONValue(encoding: vm)
        XCTAssertEqual(encoded["mac"], .null)
        XCTAssertEqual(encoded["link_up"], .null)
        XCTAssertEqual(encoded["sensitivity"], .null)
        XCTAssertEqual(try encoded.decode(as: VMListRequest.VM.self), vm)
        let cancelled = MirrorForceRequest.Forced(vm: "web1", until: nil, seconds: nil, cancelled: true, flowHash: nil)
        XCTAssertEqual(try JSONValue(encoding: cancelled), ["vm": "web1", "until": .null, "cancelled": true])
        XCTAssertEqual(try JSONValue(encoding: SensitivitySetRequest.InForce(vm: nil, value: 3)), ["value": 3])
    }

    private func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let e as ControlError {
            XCTAssertEqual(e.code, .invalidParams)
            return e.message
        } catch {
            XCTFail("not a ControlError: \(error)")
            return nil
        }
    }
}
