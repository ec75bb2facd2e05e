import CDPDK
import Foundation
import XCTest

@testable import Dataplane

/// The texts of DNS names a VM keeps: bounded, held for their TTL and for as long as the
/// baseline knows the name, evicting the names that matter least; learned from answers and
/// carried by the baseline document.
final class NameTextsTests: XCTestCase {
    let s: UInt64 = 1_000_000_000

    func record(_ t: inout NameTexts, _ name: String, expires: UInt64, at now: UInt64, hosts: FixedTable<Baseline.Host>) {
        let bytes = Array(name.utf8) + [0]
        bytes.withUnsafeBufferPointer {
            t.record(bma_dns_name_hash(name), text: $0.baseAddress!, length: bytes.count - 1, expiresNs: expires, at: now, hosts: hosts)
        }
    }

    /// `n` names whose hashes share one home slot: together they fill one probe neighbourhood.
    func collidingNames(_ n: Int) -> [String] {
        var byHome: [Int: [String]] = [:]
        for i in 0..<100_000 {
            let name = "n\(i).example.com"
            let home = NameTexts.home(bma_dns_name_hash(name))
            byHome[home, default: []].append(name)
            if byHome[home]!.count == n { return byHome[home]! }
        }
        XCTFail("no \(n) colliding names")
        return []
    }

    func testBoundedWhateverIsAnswered() {
        var t = NameTexts()
        let hosts = FixedTable(capacity: Baseline.hostCapacity, empty: Baseline.Host())
        defer { t.deallocate(); hosts.deallocate() }
        for i in 0..<(4 * NameTexts.capacity) {
            record(&t, "host\(i).example.com", expires: UInt64(i) * s + 60 * s, at: UInt64(i) * s, hosts: hosts)
            XCTAssertLessThanOrEqual(t.count, NameTexts.capacity)
        }
        XCTAssertEqual(t.count + Int(t.evictions), 4 * NameTexts.capacity, "every name took a slot, freed or evicted")
        XCTAssertEqual(t.all().count, t.count)
        let last = "host\(4 * NameTexts.capacity - 1).example.com"
        XCTAssertEqual(t.text(bma_dns_name_hash(last)), last, "the name just answered is kept")
        XCTAssertEqual(NameTexts.memoryBytes, MemoryLayout<NameTexts>.size + NameTexts.capacity * (MemoryLayout<NameTexts.Entry>.stride + 256))
    }

    func testANameWhoseTTLRanOutGoesFirst() {
        var t = NameTexts()
        let hosts = FixedTable(capacity: Baseline.hostCapacity, empty: Baseline.Host())
        defer { t.deallocate(); hosts.deallocate() }
        let names = collidingNames(NameTexts.probes + 1)
        // The first answered, and so the least recently answered, is still within its TTL; the
        // fourth ran out at 50 s.
        for (i, n) in names.prefix(NameTexts.probes).enumerated() {
            record(&t, n, expires: i == 3 ? 50 * s : 1000 * s, at: UInt64(i + 1) * s, hosts: hosts)
        }
        XCTAssertEqual(t.count, NameTexts.probes)
        record(&t, names[NameTexts.probes], expires: 1000 * s, at: 100 * s, hosts: hosts)
        XCTAssertNil(t.text(bma_dns_name_hash(names[3])), "the expired name was replaced")
        for (i, n) in names.enumerated() where i != 3 { XCTAssertEqual(t.text(bma_dns_name_hash(n)), n) }
        XCTAssertEqual(t.evictions, 1)
    }

    func testNamesTheBaselineKnowsStayAndARepeatedAnswerExtendsTheTTL() {
        var t = NameTexts()
        var hosts = FixedTable(capacity: Baseline.hostCapacity, empty: Baseline.Host())
        defer { t.deallocate(); hosts.deallocate() }
        let names = collidingNames(NameTexts.probes + 3) // the last one comes in at the end
        var inserted = false
        // The four oldest names are destinations the baseline learned; their TTLs have all run out.
        for (i, n) in names.prefix(NameTexts.probes).enumerated() {
            record(&t, n, expires: 10 * s, at: UInt64(i + 1) * s, hosts: hosts)
            if i < 4 {
                let k = DestinationKey.name(bma_dns_name_hash(n))
                _ = hosts.findOrInsert(k.0, k.1, at: UInt64(i + 1) * s, empty: Baseline.Host(), inserted: &inserted)
            }
        }
        // Name 5 is answered again, with a long TTL: no longer expired, and the latest answered.
        record(&t, names[5], expires: 1000 * s, at: 20 * s, hosts: hosts)
        record(&t, names[5], expires: 30 * s, at: 21 * s, hosts: hosts) // a shorter TTL does not shorten it
        record(&t, names[NameTexts.probes], expires: 1000 * s, at: 100 * s, hosts: hosts)
        // The victim: expired, not known, least recently answered: name 4.
        XCTAssertNil(t.text(bma_dns_name_hash(names[4])))
        record(&t, names[NameTexts.probes + 1], expires: 1000 * s, at: 101 * s, hosts: hosts)
        XCTAssertNil(t.text(bma_dns_name_hash(names[6])), "then name 6 (name 5's TTL was extended)")
        for i in [0, 1, 2, 3, 5, 7, NameTexts.probes, NameTexts.probes + 1] {
            XCTAssertEqual(t.text(bma_dns_name_hash(names[i])), names[i], "name \(i)")
        }
        // When every name is known, the least recently answered goes.
        for i in [5, 7, NameTexts.probes, NameTexts.probes + 1] {
            let k = DestinationKey.name(bma_dns_name_hash(names[i]))
            _ = hosts.findOrInsert(k.0, k.1, at: 200 * s, empty: Baseline.Host(), inserted: &inserted)
        }
        let more = names[NameTexts.probes + 2]
        record(&t, more, expires: 1000 * s, at: 300 * s, hosts: hosts)
        XCTAssertNil(t.text(bma_dns_name_hash(names[0])))
        XCTAssertEqual(t.text(bma_dns_name_hash(more)), more)
    }

    func testAnAnswerTeachesTheTextAndTheDocumentCarriesIt() throws {
        var h = DetectorHarness(learningSeconds: 10)
        defer { h.deallocate() }
        var text = bma_dns_name_t()
        let name = "web.example.com"
        withUnsafeMutableBytes(of: &text.text) { $0.copyBytes(from: Array(name.utf8)) }
        text.len = UInt8(name.utf8.count)
        let hash = bma_dns_name_hash(name)
        let a = bma_dns_answer_t(addr_hi: 0, addr_lo: 0x0000_ffff_0000_0000 | UInt64(Hosts.web), name_hash: hash, ttl: 300, pkt: 0, name: 0)
        withUnsafePointer(to: &text) { h.detector.take(a, names: $0, at: h.now) }
        XCTAssertEqual(h.detector.context.texts.text(hash), name)
        NormalTraffic.run(&h, seconds: 30)

        let doc = BaselineDocument(h.detector)
        let named = doc.hosts.filter { $0.name != nil }
        XCTAssertEqual(named.map(\.name), [name], "the host learned by name carries its text")
        XCTAssertEqual(named.first?.k1, String(hash, radix: 16))
        let back = try JSONDecoder().decode(BaselineDocument.self, from: try JSONEncoder().encode(doc))
        XCTAssertEqual(back, doc)

        // A restored baseline names it without any answer.
        var d = Detector()
        defer { d.deallocate() }
        try back.restore(into: &d)
        XCTAssertEqual(d.context.texts.text(hash), name)
        XCTAssertEqual(d.context.names.answers, 0)

        // A name that is not text as the parser writes it, or on a host not learned by name, is refused.
        for (i, bad) in [(doc.hosts.firstIndex { $0.name != nil }!, "a\"b"), (doc.hosts.firstIndex { $0.name != nil }!, String(repeating: "a", count: 254)),
                         (doc.hosts.firstIndex { $0.name == nil }!, "web.example.com")] {
            var wrong = doc
            wrong.hosts[i].name = bad
            XCTAssertThrowsError(try wrong.restore(into: &d)) { XCTAssertTrue("\($0)".contains("hosts[\(i)].name"), "\($0)") }
        }
    }
}
