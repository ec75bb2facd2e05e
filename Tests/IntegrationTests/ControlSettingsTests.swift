import BMAContract
import Control
import Foundation
import XCTest

/// Sensitivities are settings with one owner: the configuration, overridden by what
/// `sensitivity.set` saved in the state directory. A saved baseline never brings one back, and
/// `status` reports the global value in force from the start.
final class ControlSettingsTests: ControlTestCase {
    func config(_ scratch: ScratchDirectory, global: Double, vm: Double?) -> ControlDaemonConfig {
        ControlDaemonConfig(uplink: "net_null0,no-rx=1",
                            vms: [.init(name: "vm1", id: 101, devargs: "net_null1,no-rx=1", sensitivity: vm),
                                  .init(name: "vm2", id: 102, devargs: "net_null2,no-rx=1")],
                            detection: ["sensitivity": "\(global)"],
                            socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
    }

    func sensitivities(_ client: ControlClient) throws -> (global: Double?, vm1: Double?, vm2: Double?) {
        let vms = try client.call(VMListRequest()).vms
        func of(_ name: String) -> Double? { vms.first { $0.name == name }?.sensitivity }
        return (try client.call(StatusRequest()).globalSensitivity, of("vm1"), of("vm2"))
    }

    func testConfiguredSensitivitiesWinOverSavedBaselinesAndRunTimeOnesAreSaved() throws {
        let scratch = try makeScratch()

        // First run: the configured values are in force and reported from the start.
        let (one, _) = try startDaemon(config(scratch, global: 1.5, vm: 2), in: scratch, name: "one", quiet: false)
        var client = try one.client()
        var s = try sensitivities(client)
        XCTAssertEqual(s.global, 1.5, "status reports the configured global sensitivity, not null")
        XCTAssertEqual(s.vm1, 2)
        XCTAssertNil(s.vm2, "vm2 follows the global one")
        XCTAssertEqual(try client.call(SensitivitySetRequest.set(3)).value, 3)
        XCTAssertEqual(try client.call(SensitivitySetRequest.set(0.5, vm: .name("vm2"))), .init(vm: "vm2", value: 0.5))
        s = try sensitivities(client)
        XCTAssertEqual([s.global, s.vm1, s.vm2], [3, 2, 0.5])
        client.close()
        XCTAssertEqual(try one.stop(), .exited(0), one.child.outputTail())

        // A baseline saved by an older bmad carried the VM's sensitivity: it is ignored now.
        let baseline = scratch.file("state/baseline-vm1.json")
        var doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: baseline))) as? [String: Any])
        XCTAssertNil(doc["sensitivity"], "a baseline document holds no sensitivity")
        doc["sensitivity"] = 9
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: baseline))

        // Second run, vms[0].sensitivity changed in the file: the file's value is in force; the
        // run-time ones were restored.
        let (two, _) = try startDaemon(config(scratch, global: 1.5, vm: 4), in: scratch, name: "two", quiet: false)
        client = try two.client()
        s = try sensitivities(client)
        XCTAssertEqual([s.global, s.vm1, s.vm2], [3, 4, 0.5], two.child.outputTail())
        XCTAssertEqual(two.child.stdoutLines(containing: "vm1: baseline restored").count, 1, two.child.outputTail())

        // Reset: the configuration's values apply again, and stay so after a restart.
        XCTAssertEqual(try client.call(SensitivitySetRequest.reset()), .init(vm: nil, value: 1.5))
        XCTAssertEqual(try client.result(of: SensitivitySetRequest.reset(vm: .name("vm2"))), ["vm": "vm2", "value": .null])
        s = try sensitivities(client)
        XCTAssertEqual(s.global, 1.5)
        XCTAssertNil(s.vm2)
        client.close()
        XCTAssertEqual(try two.stop(), .exited(0), two.child.outputTail())

        let (three, _) = try startDaemon(config(scratch, global: 1.5, vm: 4), in: scratch, name: "three", quiet: false)
        client = try three.client()
        s = try sensitivities(client)
        XCTAssertEqual(s.global, 1.5)
        XCTAssertEqual(s.vm1, 4)
        XCTAssertNil(s.vm2)
        client.close()
        XCTAssertEqual(try three.stop(), .exited(0), three.child.outputTail())
    }

    /// The default applies when the file gives none, and status says so.
    func testStatusReportsTheDefaultGlobalSensitivity() throws {
        let scratch = try makeScratch()
        var c = config(scratch, global: 1, vm: nil)
        c.detection = [:]
        let (bmad, _) = try startDaemon(c, in: scratch)
        let client = try bmad.client()
        XCTAssertEqual(try client.call(StatusRequest()).globalSensitivity, 1)
        XCTAssertEqual(try client.call(ConfigShowRequest())["detection"]?["sensitivity"]?.doubleValue, 1)
        client.close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
    }
}
