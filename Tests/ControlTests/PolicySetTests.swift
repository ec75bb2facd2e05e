import Control
import XCTest

final class PolicySetTests: XCTestCase {
    func p(_ id: UInt16, _ priority: Int = 0, _ mirror: PolicyAction.Mirror = .always) -> Policy {
        Policy(id: id, priority: priority, action: PolicyAction(mirror: mirror))
    }

    func testEvaluationOrderIsPriorityThenID() throws {
        let s = try PolicySet([p(5, 0), p(3, 10), p(1, 0), p(9, -5), p(2, 10), p(4, 1000), p(7, -1000)])
        XCTAssertEqual(s.policies.map(\.id), [4, 2, 3, 1, 5, 9, 7])
        XCTAssertEqual(s.generation, 0)
        XCTAssertEqual(s.count, 7)
        XCTAssertEqual(s.policy(id: 3)?.priority, 10)
        XCTAssertNil(s.policy(id: 6))
    }

    func testAddAssignsNextFreeIDAndRejectsDuplicates() throws {
        var s = PolicySet()
        XCTAssertEqual(s.nextFreeID(), 1)
        XCTAssertEqual(try s.add(Policy(priority: 1)).id, 1)
        XCTAssertEqual(try s.add(p(10)).id, 10)
        XCTAssertEqual(try s.add(Policy()).id, 11)
        XCTAssertEqual(s.generation, 3)
        XCTAssertThrowsError(try s.add(p(10, 5))) { error in
            let e = error as? PolicyError
            XCTAssertEqual(e?.kind, .conflict)
            XCTAssertEqual(e?.field, "id")
        }
        XCTAssertThrowsError(try s.add(Policy(match: PolicyMatch(vlan: 5000)))) {
            XCTAssertEqual(($0 as? PolicyError)?.field, "match.vlan")
            XCTAssertEqual(($0 as? PolicyError)?.kind, .invalidParams)
        }
        XCTAssertEqual(s.generation, 3, "failed calls change nothing")
        XCTAssertEqual(s.policies.map(\.id), [1, 10, 11])
        // a removed id is not reused at once
        try s.remove(id: 11)
        XCTAssertEqual(try s.add(Policy()).id, 11)
        try s.remove(id: 1)
        XCTAssertEqual(try s.add(Policy()).id, 12)
        // once 65535 is taken, the lowest free id
        try s.add(p(65535))
        XCTAssertEqual(try s.add(Policy()).id, 1)
        XCTAssertEqual(s.nextFreeID(), 2)
    }

    func testAllIDsInUse() throws {
        var s = try PolicySet((1...UInt16.max).map { p($0) })
        XCTAssertNil(s.nextFreeID())
        XCTAssertThrowsError(try s.add(Policy())) { XCTAssertEqual(($0 as? PolicyError)?.kind, .conflict) }
    }

    func testUpdateAndRemove() throws {
        var s = try PolicySet([p(1, 0), p(2, 0)], generation: 7)
        let updated = try s.update(Policy(id: 2, name: "now first", priority: 50))
        XCTAssertEqual(updated.name, "now first")
        XCTAssertEqual(s.policies.map(\.id), [2, 1])
        XCTAssertEqual(s.generation, 8)
        XCTAssertThrowsError(try s.update(p(3))) {
            XCTAssertEqual(($0 as? PolicyError)?.kind, .notFound)
            XCTAssertEqual(($0 as? PolicyError)?.field, "id")
        }
        XCTAssertThrowsError(try s.update(Policy(priority: 1))) { XCTAssertEqual(($0 as? PolicyError)?.field, "id") }
        XCTAssertThrowsError(try s.update(Policy(id: 1, priority: 5000))) { XCTAssertEqual(($0 as? PolicyError)?.field, "priority") }
        XCTAssertEqual(s.generation, 8)
        XCTAssertEqual(s.policy(id: 1), p(1, 0))

        XCTAssertEqual(try s.remove(id: 2).name, "now first")
        XCTAssertEqual(s.generation, 9)
        XCTAssertThrowsError(try s.remove(id: 2)) { XCTAssertEqual(($0 as? PolicyError)?.kind, .notFound) }
        XCTAssertEqual(s.generation, 9)
        XCTAssertEqual(s.policies.map(\.id), [1])
    }

    func testReplaceAllIsAllOrNothing() throws {
        var s = try PolicySet([p(1), p(2)], generation: 4)
        let before = s

        XCTAssertThrowsError(try s.replaceAll(with: [p(5), p(6), p(5, 3)])) { error in
            let e = error as? PolicyError
            XCTAssertEqual(e?.field, "policies[2].id")
            XCTAssertEqual(e?.kind, .conflict)
        }
        XCTAssertEqual(s, before)
        XCTAssertThrowsError(try s.replaceAll(with: [p(5), Policy(id: 6, match: PolicyMatch(sizeMin: 9, sizeMax: 1))])) {
            XCTAssertEqual(($0 as? PolicyError)?.field, "policies[1].match.size_max")
        }
        XCTAssertEqual(s, before)
        XCTAssertThrowsError(try s.replaceAll(with: [p(5), Policy(priority: 1)])) {
            XCTAssertEqual(($0 as? PolicyError)?.field, "policies[1].id")
        }
        XCTAssertEqual(s, before)

        try s.replaceAll(with: [p(8, -1), p(9, 1)])
        XCTAssertEqual(s.policies.map(\.id), [9, 8])
        XCTAssertEqual(s.generation, 5)
        try s.replaceAll(with: [])
        XCTAssertTrue(s.isEmpty)
        XCTAssertEqual(s.generation, 6)
    }

    func testInitRejectsDuplicatesAndInvalid() {
        XCTAssertThrowsError(try PolicySet([p(1), p(1)])) { XCTAssertEqual(($0 as? PolicyError)?.field, "policies[1].id") }
        XCTAssertThrowsError(try PolicySet([Policy()])) { XCTAssertEqual(($0 as? PolicyError)?.field, "policies[0].id") }
    }

    func testDecideUsesPriorityThenLowerID() throws {
        let pkt = PolicyPacket(vmID: 1, vmName: "web1")
        var s = PolicySet()
        XCTAssertNil(s.decide(packet: pkt))
        try s.add(p(20, 0, .never))
        XCTAssertEqual(s.decide(packet: pkt)?.id, 20)
        try s.add(p(10, 0, .always))
        XCTAssertEqual(s.decide(packet: pkt)?.id, 10, "equal priority: the lower id wins")
        try s.add(p(30, 1, .onAnomaly))
        XCTAssertEqual(s.decide(packet: pkt)?.id, 30, "the higher priority wins")
        try s.add(Policy(id: 5, priority: 100, match: PolicyMatch(vms: [.name("db1")])))
        XCTAssertEqual(s.decide(packet: pkt)?.id, 30, "a policy that does not match does not decide")
    }
}
