import Dataplane
import Foundation
import XCTest

/// Response actions in the Prometheus metrics: per VM (zeros included) and per action in force.
final class ActionMetricsTests: XCTestCase {
    func testActionCountersAreExported() throws {
        let json = """
            {"uptime_s": 1, "ports": [], "lcores": [], "drops": {"response-action": 7}, "malformed": {}, "broadcast_copies": 0,
             "vms": [
               {"name": "web1", "id": 101, "seen": 10, "outgoing": 10, "incoming": 0, "forwarded": 3, "learning": 0, "anomalous": 0,
                "sticky": 0, "forced": 0, "suppressed": 0, "mirror_decisions": 0, "reasons": {}, "mirrored": 0, "mirrored_bytes": 0,
                "mirrored_incoming": 0, "pre_trigger": 0, "budget_drops": 0, "policy_budget_drops": 0, "mirror_drops": 0, "action_drops": 7},
               {"name": "web2", "id": 102, "seen": 0, "outgoing": 0, "incoming": 0, "forwarded": 0, "learning": 0, "anomalous": 0,
                "sticky": 0, "forced": 0, "suppressed": 0, "mirror_decisions": 0, "reasons": {}, "mirrored": 0, "mirrored_bytes": 0,
                "mirrored_incoming": 0, "pre_trigger": 0, "budget_drops": 0, "policy_budget_drops": 0, "mirror_drops": 0}],
             "mirror": {"sent": 0, "sent_bytes": 0, "nombuf": 0, "ringfull": 0, "too_big": 0},
             "actions": [{"id": 3, "kind": "rate-limit", "matched": 9, "dropped": 0, "limited": 7, "mirrored": 0, "allowed": 0}]}
            """
        let text = try JSONDecoder().decode(StatsSnapshot.self, from: Data(json.utf8)).prometheus()
        XCTAssertTrue(text.contains("bma_vm_action_drops_total{vm=\"web1\",vm_id=\"101\"} 7"), text)
        XCTAssertTrue(text.contains("bma_vm_action_drops_total{vm=\"web2\",vm_id=\"102\"} 0"), "zero when none: \(text)")
        XCTAssertTrue(text.contains("bma_action_packets_total{action=\"3\",kind=\"rate-limit\",outcome=\"limited\"} 7"), text)
        XCTAssertTrue(text.contains("bma_action_packets_total{action=\"3\",kind=\"rate-limit\",outcome=\"matched\"} 9"), text)
        XCTAssertTrue(text.contains("bma_drops_total{reason=\"response-action\"} 7"), text)
    }
}
