import CDPDK
import XCTest

@testable import Dataplane

/// A VM's detection state is fixed at creation, whatever the VM sends.
final class DetectorMemoryTests: DataplaneTestCase {
    func testMemoryPerVMIsBelowOneMebibyte() {
        XCTAssertLessThan(Baseline.memoryBytes, 1 << 20, "\(Baseline.memoryBytes) bytes")
        XCTAssertGreaterThan(Baseline.memoryBytes, 0)
        let d = Detector()
        defer { d.deallocate() }
        XCTAssertEqual(d.baseline.services.capacity, Baseline.serviceCapacity)
        XCTAssertEqual(d.baseline.hosts.capacity, Baseline.hostCapacity)
        XCTAssertEqual(d.baseline.destinations.capacity, Baseline.destinationCapacity)
        XCTAssertEqual(d.shortTerm.recentHosts.capacity, ShortTerm.recentHostCapacity)
        XCTAssertEqual(d.shortTerm.recentDestinations.capacity, ShortTerm.recentDestinationCapacity)
        XCTAssertEqual(d.shortTerm.suspects.capacity, ShortTerm.suspectCapacity)
        XCTAssertEqual(d.context.habits.table.capacity, Habits.capacity)
        XCTAssertEqual(d.context.names.table.capacity, DNSNames.capacity)
        XCTAssertEqual(d.context.prefixes.capacity, DetectionContext.prefixCapacity)
    }

    private func assertBounded(_ d: Detector, file: StaticString = #filePath, line: UInt = #line) {
        let b = d.baseline, s = d.shortTerm
        XCTAssertLessThanOrEqual(b.services.count, b.services.capacity, file: file, line: line)
        XCTAssertLessThanOrEqual(b.hosts.count, b.hosts.capacity, file: file, line: line)
        XCTAssertLessThanOrEqual(b.destinations.count, b.destinations.capacity, file: file, line: line)
        XCTAssertLessThanOrEqual(s.recentHosts.count, s.recentHosts.capacity, file: file, line: line)
        XCTAssertLessThanOrEqual(s.recentDestinations.count, s.recentDestinations.capacity, file: file, line: line)
        XCTAssertLessThanOrEqual(s.suspects.count, s.suspects.capacity, file: file, line: line)
        XCTAssertLessThanOrEqual(d.context.habits.table.count, d.context.habits.table.capacity, file: file, line: line)
        XCTAssertLessThanOrEqual(d.context.prefixes.count, d.context.prefixes.capacity, file: file, line: line)
    }

    /// 100,000 distinct destinations (address and port) in the learning period, then 100,000 more
    /// after it. Descriptors are filled directly from one parsed template.
    func testTablesStayWithinCapacityAfterManyDistinctDestinations() {
        var h = DetectorHarness(learningSeconds: 10)
        defer { h.deallocate() }
        let template = TestFrame.parse(TestFrame.tcp(dst: Hosts.web, dstPort: 443, flags: 0x02))
        XCTAssertEqual(template.dst_ip_lo, 0x0000_ffff_c0a8_010a, "v4-mapped 192.168.1.10")

        func packet(_ i: Int) -> bma_pkt_t {
            var p = template
            p.dst_ip_lo = 0x0000_ffff_0000_0000 | UInt64(0x0b00_0000 + i)  // 11.0.0.0 + i
            p.dst_port = UInt16(1 + i % 65_000)
            return p
        }
        var t = h.now
        for i in 0..<100_000 {
            t += 50_000  // 20,000 packets/s: 5 s, all in the learning period
            XCTAssertTrue(h.send(packet(i), at: t).learning)
            if i % 10_000 == 0 { assertBounded(h.detector) }
        }
        assertBounded(h.detector)
        XCTAssertGreaterThan(h.detector.baseline.hosts.evictions, 0)
        XCTAssertGreaterThan(h.detector.baseline.destinations.evictions, 0)
        XCTAssertGreaterThan(h.detector.baseline.services.evictions, 0)
        XCTAssertEqual(h.detector.baseline.learnedPackets, 100_000)

        t = h.detector.baseline.firstNs + 10 * ns
        var anomalies = 0
        for i in 100_000..<200_000 {
            t += 50_000
            let v = h.send(packet(i), at: t)
            XCTAssertFalse(v.learning)
            if v.anomalous { anomalies += 1 }
            if i % 10_000 == 0 { assertBounded(h.detector) }
        }
        assertBounded(h.detector)
        XCTAssertGreaterThan(h.detector.shortTerm.recentHosts.evictions, 0)
        XCTAssertGreaterThan(h.detector.shortTerm.recentDestinations.evictions, 0)
        XCTAssertGreaterThan(h.detector.shortTerm.suspects.evictions, 0)
        XCTAssertGreaterThan(anomalies, 90_000, "a sweep of 100,000 hosts is anomalous")
    }
}
