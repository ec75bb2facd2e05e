import BMAContract
import Control
import Foundation
import XCTest

/// Nothing silent: a policy naming a VM bmad does not run is refused unless the request allows
/// a future VM; a forced mirroring can be cancelled; a flow's protocol may be given by number.
final class ControlOperatorTests: ControlTestCase {
    /// bmad with one VM, web1 (id 101), on null ports: a client of it and its socket.
    private func startWeb1() throws -> (ControlClient, String) {
        let scratch = try makeScratch()
        let config = ControlDaemonConfig(uplink: "net_null0,no-rx=1", vms: [.init(name: "web1", id: 101, devargs: "net_null1,no-rx=1")],
                                         socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
        let (bmad, _) = try startDaemon(config, in: scratch)
        return (try bmad.client(), config.socket)
    }

    func testPoliciesNamingUnknownVMsAreRefusedUnlessAllowed() throws {
        let (client, _) = try startWeb1()
        defer { client.close() }

        XCTAssertThrowsError(try client.call("policy.add", params: ["id": 1, "match": ["vms": ["web9"]]])) { error in
            XCTAssertEqual((error as? ControlError)?.code, .notFound, "\(error)")
            XCTAssertTrue((error as? ControlError)?.message.hasPrefix("match.vms: no VM web9 (VMs: web1)") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try client.call("policy.replace", params: ["policies": [["id": 2, "match": ["vms": [7]]]]])) { error in
            XCTAssertEqual((error as? ControlError)?.code, .notFound, "\(error)")
        }
        XCTAssertEqual(try client.call("status")["policies"]?.intValue, 0, "nothing was added")

        XCTAssertEqual(try client.call("policy.add", params: ["id": 1, "match": ["vms": ["web1", 101]]])["id"], 1)
        let future = try client.call("policy.add", params: ["id": 3, "match": ["vms": ["web9"]], "allow_future_vm": true])
        XCTAssertEqual(future["id"], 3)
        XCTAssertNil(future["allow_future_vm"], "the flag is not part of the stored policy")
        XCTAssertThrowsError(try client.call("policy.add", params: ["id": 4, "allow_future_vm": "yes"])) { error in
            XCTAssertEqual((error as? ControlError)?.code, .invalidParams, "\(error)")
        }
        XCTAssertEqual(try client.call("status")["policies"]?.intValue, 2)

        // A mistyped VM name gets a suggestion; anything else lists the VMs.
        XCTAssertThrowsError(try client.call("vm.show", params: ["vm": "web2"])) { error in
            XCTAssertEqual((error as? ControlError)?.code, .notFound, "\(error)")
            XCTAssertEqual((error as? ControlError)?.message, "no VM web2; did you mean 'web1'?", "\(error)")
        }
        XCTAssertThrowsError(try client.call("baseline.freeze", params: ["vm": 999])) { error in
            XCTAssertEqual((error as? ControlError)?.message, "no VM 999 (VMs: web1=101)", "\(error)")
        }
    }

    func testAForcedMirroringCanBeCancelled() throws {
        let (client, _) = try startWeb1()
        defer { client.close() }

        XCTAssertNotNil(try client.call("mirror.force", params: ["vm": "web1", "seconds": 600])["until"]?.stringValue)
        XCTAssertNotNil(try client.call("vm.show", params: ["vm": "web1"])["forced_until"], "forced")
        let cancelled = try client.call("mirror.force", params: ["vm": "web1", "seconds": 0])
        XCTAssertEqual(cancelled["cancelled"], true)
        XCTAssertEqual(cancelled["until"], .null)
        XCTAssertNil(try client.call("vm.show", params: ["vm": "web1"])["forced_until"], "no longer forced")
    }

    /// bmactl sends a numeric protocol (`--flow ...,6,...`) as bmad's typed request reads it;
    /// raw clients may send the number itself.
    func testAFlowIsForcedWithItsProtocolByNumberFromBmactlAndTypedClients() throws {
        let (client, socket) = try startWeb1()
        defer { client.close() }

        let flow = MirrorForceRequest.Flow(source: "10.0.0.1", destination: "10.0.0.2", protocolName: "6",
                                           sourcePort: 1234, destinationPort: 80)
        let typed = try client.call(MirrorForceRequest(vm: .id(101), seconds: 60, flow: flow))
        XCTAssertEqual(typed.vm, "web1")
        XCTAssertEqual(typed.seconds, 60)
        let hash = try XCTUnwrap(typed.flowHash, "a flow was given")
        let byName = try client.call(MirrorForceRequest(vm: .name("web1"), seconds: 60, flow: .init(
            source: "10.0.0.1", destination: "10.0.0.2", protocolName: "tcp", sourcePort: 1234, destinationPort: 80)))
        XCTAssertEqual(byName.flowHash, hash, "tcp and 6 are the same flow")
        let raw = try client.call("mirror.force", params: ["vm": "web1", "seconds": 60, "flow": [
            "src": "10.0.0.1", "dst": "10.0.0.2", "proto": 6, "src_port": 1234, "dst_port": 80]])
        XCTAssertEqual(raw["flow_hash"]?.intValue, Int(hash))
        XCTAssertThrowsError(try client.call(MirrorForceRequest(vm: .name("web1"), seconds: 60, flow: .init(
            source: "10.0.0.1", destination: "10.0.0.2", protocolName: "arp")))) { error in
            XCTAssertEqual((error as? ControlError)?.message, "flow.proto: 'arp' is not an IP protocol (tcp, udp, icmp or a number)")
        }

        let bmactl = try ChildProcess(name: "bmactl-force", executable: try TestEnvironment.binary("bmactl"),
                                      arguments: ["--socket", socket, "--json", "mirror", "force", "web1",
                                                  "--seconds", "60", "--flow", "10.0.0.1,10.0.0.2,6,1234,80"], directory: "/")
        XCTAssertEqual(try bmactl.waitForExit(timeout: 10), .exited(0), bmactl.outputTail())
        let printed = try JSONValue.parse(bmactl.stdout)
        XCTAssertEqual(try printed.decode(as: MirrorForceRequest.Forced.self).flowHash, hash, bmactl.stdout)
    }
}
