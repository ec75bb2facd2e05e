import CDPDK
import XCTest

/// Builds DNS messages for the parser tests.
enum DNSMessage {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(v & 0xffff)) }

    /// A name in wire form, uncompressed.
    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func pointer(_ offset: Int) -> [UInt8] { [0xc0 | UInt8(offset >> 8), UInt8(offset & 0xff)] }

    static func record(_ owner: [UInt8], type: UInt16, ttl: UInt32 = 300, cls: UInt16 = 1, _ rdata: [UInt8]) -> [UInt8] {
        owner + be16(type) + be16(cls) + be32(ttl) + be16(UInt16(rdata.count)) + rdata
    }

    static func a(_ owner: [UInt8], _ ip: UInt32, ttl: UInt32 = 300) -> [UInt8] { record(owner, type: 1, ttl: ttl, be32(ip)) }
    static func cname(_ owner: [UInt8], _ target: [UInt8], ttl: UInt32 = 300) -> [UInt8] { record(owner, type: 5, ttl: ttl, target) }

    /// Header + one question for `qname` + the answer records.
    static func response(_ qname: String, qtype: UInt16 = 1, flags: UInt16 = 0x8180, questions: UInt16 = 1,
                         answers: [[UInt8]], answerCount: UInt16? = nil) -> [UInt8] {
        be16(0x1234) + be16(flags) + be16(questions) + be16(answerCount ?? UInt16(answers.count)) + be16(0) + be16(0)
            + name(qname) + be16(qtype) + be16(1) + answers.flatMap { $0 }
    }

    /// The offset of the question name (for compression pointers).
    static let questionOffset = 12
}

/// Parses `msg` from an allocation of exactly its size, so a read past it is caught by ASan.
func dnsParse(_ msg: [UInt8], cap: Int = 16) -> [bma_dns_answer_t] { dnsParseNamed(msg, cap: cap).answers }

/// The answers and the question name's text (nil when the parser wrote none).
func dnsParseNamed(_ msg: [UInt8], cap: Int = 16) -> (answers: [bma_dns_answer_t], name: String?) {
    let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: max(msg.count, 1))
    defer { buf.deallocate() }
    buf.initialize(from: msg, count: msg.count)
    var out = [bma_dns_answer_t](repeating: bma_dns_answer_t(), count: max(cap, 1))
    var name = bma_dns_name_t()
    name.len = 0xff // never a length the parser writes
    let n = out.withUnsafeMutableBufferPointer { bma_dns_parse(buf, UInt32(msg.count), 7, $0.baseAddress, UInt32(cap), &name, 5) }
    let text = name.len == 0xff ? nil : withUnsafeBytes(of: name.text) { String(decoding: $0.prefix(Int(name.len)), as: UTF8.self) }
    return (Array(out.prefix(Int(n))), text)
}

final class DNSAnswerTests: XCTestCase {
    typealias M = DNSMessage
    let q = M.pointer(M.questionOffset)

    func testAddressesOfTheQuestionName() {
        let msg = M.response("broker.example.com", answers: [M.a(q, 0x2f59_e214, ttl: 60), M.a(q, 0x2f59_e215, ttl: 120)])
        let r = dnsParse(msg)
        XCTAssertEqual(r.count, 2)
        XCTAssertEqual(r.map(\.addr_lo), [0x0000_ffff_2f59_e214, 0x0000_ffff_2f59_e215])
        XCTAssertEqual(r.map(\.addr_hi), [0, 0])
        XCTAssertEqual(r.map(\.ttl), [60, 120])
        XCTAssertEqual(r.map(\.pkt), [7, 7])
        let h = bma_dns_name_hash("broker.example.com")
        XCTAssertNotEqual(h, 0)
        XCTAssertEqual(r.map(\.name_hash), [h, h])
        XCTAssertEqual(bma_dns_name_hash("Broker.EXAMPLE.com."), h, "case and the root dot do not matter")
        XCTAssertNotEqual(bma_dns_name_hash("broker.example.org"), h)
    }

    func testCNAMEChainsInAnyOrder() {
        // broker.example.com -> edge.cdn.net -> e1.cdn.net -> A; plus an unrelated A record.
        let edge = M.name("edge.cdn.net"), e1 = M.name("e1.cdn.net")
        let answers = [M.a(e1, 0x0a00_0001), M.cname(edge, e1), M.cname(q, edge), M.a(M.name("other.net"), 0x0a00_0002)]
        let r = dnsParse(M.response("broker.example.com", answers: answers))
        XCTAssertEqual(r.map(\.addr_lo), [0x0000_ffff_0a00_0001])
        XCTAssertEqual(r.first?.name_hash, bma_dns_name_hash("broker.example.com"))
    }

    func testAAAA() {
        let ip6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]
        let r = dnsParse(M.response("v6.example.com", qtype: 28, answers: [M.record(q, type: 28, ip6)]))
        XCTAssertEqual(r.count, 1)
        XCTAssertEqual(r.first?.addr_hi, 0x2001_0db8_0000_0000)
        XCTAssertEqual(r.first?.addr_lo, 0x42)
    }

    func testWhatGivesNothing() {
        let ok = [M.a(q, 0x0a00_0001)]
        XCTAssertEqual(dnsParse(M.response("a.example", flags: 0x0100, answers: ok)).count, 0, "a query")
        XCTAssertEqual(dnsParse(M.response("a.example", flags: 0x8183, answers: ok)).count, 0, "NXDOMAIN")
        XCTAssertEqual(dnsParse(M.response("a.example", flags: 0x8980, answers: ok)).count, 0, "opcode 1")
        XCTAssertEqual(dnsParse(M.response("a.example", questions: 2, answers: ok)).count, 0, "two questions")
        XCTAssertEqual(dnsParse(M.response("a.example", qtype: 16, answers: ok)).count, 0, "a TXT question")
        XCTAssertEqual(dnsParse(M.response("a.example", answers: [M.record(q, type: 1, M.be32(1) + [0])])).count, 0, "A of 5 bytes")
        XCTAssertEqual(dnsParse(M.response("a.example", answers: [M.record(q, type: 1, cls: 3, M.be32(1))])).count, 0, "class CH")
        XCTAssertEqual(dnsParse([]).count, 0)
        XCTAssertEqual(dnsParse(Array(repeating: 0, count: 11)).count, 0)
    }

    func testTTLWithTheTopBitIsZero() {
        let r = dnsParse(M.response("a.example", answers: [M.a(q, 1, ttl: 0x8000_0001)]))
        XCTAssertEqual(r.first?.ttl, 0)
    }

    func testCountsAndCapacityAreBounded() {
        let many = (0..<40).map { M.a(q, UInt32($0)) }
        XCTAssertEqual(dnsParse(M.response("a.example", answers: many), cap: 64).count, Int(BMA_DNS_MAX_RECORDS))
        XCTAssertEqual(dnsParse(M.response("a.example", answers: many), cap: 3).count, 3)
        // More answers claimed than present: what is there is read, nothing past the end.
        XCTAssertEqual(dnsParse(M.response("a.example", answers: [M.a(q, 1)], answerCount: 9)).count, 1)
    }

    func testHostileNames() {
        // A pointer to itself, a forward pointer, a pointer into the header, a long chain of
        // labels past 255 bytes, a reserved label type: none is followed.
        let header = M.be16(1) + M.be16(0x8180) + M.be16(1) + M.be16(1) + M.be16(0) + M.be16(0)
        let selfLoop = header + M.pointer(12) + M.be16(1) + M.be16(1)
        XCTAssertEqual(dnsParse(selfLoop).count, 0)
        let forward = M.response("a.example", answers: [M.a(M.pointer(500), 1)])
        XCTAssertEqual(dnsParse(forward).count, 0)
        let intoHeader = M.response("a.example", answers: [M.a(M.pointer(2), 1)])
        XCTAssertEqual(dnsParse(intoHeader).count, 0)
        let long = Array(repeating: "abcdefghijklmnopqrstuvwxyz0123456789", count: 8).joined(separator: ".")
        XCTAssertEqual(dnsParse(M.response(long, answers: [M.a(q, 1)])).count, 0)
        XCTAssertEqual(bma_dns_name_hash(long), 0)
        let reserved = header + [0x40, 1, 0] + M.be16(1) + M.be16(1)
        XCTAssertEqual(dnsParse(reserved).count, 0)
        // Two CNAMEs pointing at each other end the chain without a loop.
        let x = M.name("x.example"), y = M.name("y.example")
        XCTAssertEqual(dnsParse(M.response("a.example", answers: [M.cname(x, y), M.cname(y, x), M.a(x, 1)])).count, 0)
    }

    func testEveryTruncationAndRandomBytesAreSafe() {
        let edge = M.name("edge.cdn.net")
        // The CNAME's target follows the question (name, type, class) and the CNAME's owner
        // pointer and fixed fields: a later record's owner points at it.
        let target = M.questionOffset + M.name("broker.example.com").count + 4 + 2 + 10
        let msg = M.response("broker.example.com", answers: [M.cname(q, edge), M.a(M.pointer(target), 0x0a00_0001), M.a(q, 2)])
        XCTAssertEqual(dnsParse(msg).count, 2)
        for cut in 0..<msg.count { XCTAssertLessThanOrEqual(dnsParse(Array(msg.prefix(cut))).count, 2) }
        var rng = SplitMix(state: 9)
        for _ in 0..<20_000 {
            var m = msg
            for _ in 0..<1 + rng.below(4) { m[rng.below(m.count)] = rng.byte() }
            _ = dnsParse(Array(m.prefix(rng.below(m.count + 1))))
            _ = dnsParse((0..<rng.below(80)).map { _ in rng.byte() })
        }
    }
}
