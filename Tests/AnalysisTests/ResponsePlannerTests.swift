@testable import Analysis
import XCTest

/// Response rules: which alerts they match, what they plan, the blast-radius limit, protected
/// VMs, dry run.
final class ResponsePlannerTests: XCTestCase {
    static let second: UInt64 = 1_000_000_000

    func alert(_ signature: String, severity: Int, vm: String = "cam1", proto: String? = "TCP") -> Alert {
        Alert(timestamp: "2026-12-06T03:00:00.000000+0000", flow_id: 7, community_id: nil, src_ip: "192.168.1.129", src_port: 61000,
              dest_ip: "198.124.152.15", dest_port: 443, proto: proto, host: "hv1", vm: vm,
              alert: .init(signature: signature, signature_id: 1, category: "scan", severity: severity),
              bma: .init(module: "scan"), pcap: nil)
    }

    func planner(_ rules: [ResponseRule], dryRun: Bool = false, protected: Set<UInt32> = []) -> ResponsePlanner {
        ResponsePlanner(rules: rules, dryRun: dryRun, protectedVMs: protected, vmIDs: ["cam1": 101, "cam2": 102])
    }

    func testSignaturePatternSeverityAndVMSelectTheAlerts() {
        let rule = ResponseRule(name: "scans", signature: "BMA *port scan*", severity: 2, vms: ["cam1", "103"], action: "drop",
                                target: .destination, seconds: 60)
        XCTAssertTrue(rule.matches(alert("BMA TCP port scan", severity: 2), vmID: 101))
        XCTAssertTrue(rule.matches(alert("bma udp PORT SCAN of a host", severity: 1), vmID: 101), "case-insensitive; more severe")
        XCTAssertFalse(rule.matches(alert("BMA TCP port scan", severity: 3), vmID: 101), "less severe")
        XCTAssertFalse(rule.matches(alert("BMA DNS tunnel", severity: 1), vmID: 101))
        XCTAssertFalse(rule.matches(alert("BMA TCP port scan", severity: 2, vm: "cam2"), vmID: 102))
        XCTAssertTrue(rule.matches(alert("BMA TCP port scan", severity: 2, vm: "vm103"), vmID: 103), "a VM by id")
        XCTAssertTrue(ResponseRule.glob("*", "anything"))
        XCTAssertTrue(ResponseRule.glob("a*b*c", "axxbyyc"))
        XCTAssertFalse(ResponseRule.glob("a*b*c", "axxcyyb"))
        XCTAssertFalse(ResponseRule.glob("exact", "exactly"))
    }

    func testPlansCarryTheAlertsTargetAndTheBlastRadiusLimitsEachRule() {
        var p = planner([
            ResponseRule(name: "dst", signature: "*scan*", action: "drop", target: .destination, seconds: 30, maxPerMinute: 2),
            ResponseRule(name: "flow", signature: "*scan*", action: "force-mirror", target: .flow, seconds: 10, maxPerMinute: 100),
        ])
        let t = 1_000 * Self.second
        let first = p.plan(alert("port scan", severity: 2), nowNs: t)
        XCTAssertEqual(first.map(\.outcome), [.act, .act])
        XCTAssertEqual(first[0].targetText, "destination 198.124.152.15 tcp of vm 101")
        XCTAssertEqual(first[1].targetText, "flow tcp 192.168.1.129:61000 -> 198.124.152.15:443 of vm 101")
        XCTAssertEqual(first[0].vmID, 101)
        XCTAssertEqual(p.plan(alert("port scan", severity: 2), nowNs: t + Self.second).map(\.outcome), [.act, .act])
        XCTAssertEqual(p.plan(alert("port scan", severity: 2), nowNs: t + 2 * Self.second).map(\.outcome), [.limited, .act],
                       "the third action of 'dst' within a minute is held back")
        XCTAssertEqual(p.plan(alert("port scan", severity: 2), nowNs: t + 60 * Self.second).map(\.outcome), [.act, .act],
                       "a minute after the first, one more is allowed")
    }

    func testProtectedVMsDryRunAndAlertsWithoutATarget() {
        let rule = ResponseRule(name: "any", action: "drop", target: .flow, seconds: 30)
        var guarded = planner([rule], protected: [102])
        XCTAssertEqual(guarded.plan(alert("x", severity: 1, vm: "cam2"), nowNs: 1).map(\.outcome), [.protected])
        XCTAssertEqual(guarded.plan(alert("x", severity: 1, vm: "cam1"), nowNs: 1).map(\.outcome), [.act])
        XCTAssertEqual(guarded.plan(alert("x", severity: 1, vm: "cam1", proto: "ARP"), nowNs: 1).map(\.outcome), [.untargetable])
        XCTAssertEqual(guarded.plan(alert("x", severity: 1, vm: "unknown"), nowNs: 1).map(\.outcome), [.untargetable])
        var dry = planner([rule], dryRun: true)
        XCTAssertEqual(dry.plan(alert("x", severity: 1), nowNs: 1).map(\.outcome), [.dryRun])
    }

    func testAtMostNDistinctVMsPerMinute() {
        var p = planner([ResponseRule(name: "r", action: "drop", target: .vm, seconds: 30, maxPerMinute: 100, maxVMsPerMinute: 2)])
        p.vmIDs["cam3"] = 103
        let t = 1_000 * Self.second
        XCTAssertEqual(p.plan(alert("x", severity: 1, vm: "cam1"), nowNs: t).map(\.outcome), [.act])
        XCTAssertEqual(p.plan(alert("x", severity: 1, vm: "cam2"), nowNs: t + 1).map(\.outcome), [.act])
        XCTAssertEqual(p.plan(alert("x", severity: 1, vm: "cam3"), nowNs: t + 2).map(\.outcome), [.limited], "a third VM within the minute")
        XCTAssertEqual(p.plan(alert("y", severity: 1, vm: "cam1"), nowNs: t + 3).map(\.outcome), [.act], "a VM already acted on")
        XCTAssertEqual(p.plan(alert("x", severity: 1, vm: "cam3"), nowNs: t + 61 * Self.second).map(\.outcome), [.act], "a minute later")
    }
}
