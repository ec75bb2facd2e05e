import CDPDK
import XCTest

/// The question name's text that bma_dns_parse hands out with its answers, and DNS answers
/// carried over TCP (bma_dns_frame).
final class DNSNameTextTests: XCTestCase {
    typealias M = DNSMessage
    typealias F = Frame
    let q = M.pointer(M.questionOffset)

    func testTextIsTheQuestionLowerCasedAndHashesToItsName() {
        let msg = M.response("Broker.Example.COM", answers: [M.a(q, 0x2f59_e214), M.a(q, 0x2f59_e215)])
        let r = dnsParseNamed(msg)
        XCTAssertEqual(r.name, "broker.example.com")
        XCTAssertEqual(r.answers.map(\.name), [5, 5], "each answer indexes the name written with it")
        XCTAssertEqual(bma_dns_name_hash("broker.example.com"), r.answers[0].name_hash)
    }

    func testThroughACNAMEChainTheTextIsStillTheQuestion() {
        let target = M.name("edge.cdn.example.net")
        let msg = M.response("api.example.com", answers: [M.cname(q, target), M.a(target, 0x0a00_0001)])
        let r = dnsParseNamed(msg)
        XCTAssertEqual(r.answers.count, 1)
        XCTAssertEqual(r.name, "api.example.com")
    }

    func testNoAnswersWriteNoText() {
        XCTAssertNil(dnsParseNamed(M.response("nothing.example.com", answers: [])).name)
        XCTAssertNil(dnsParseNamed(M.response("query.example.com", flags: 0x0100, answers: [M.a(q, 1)])).name)
        // An answer for another name only.
        XCTAssertNil(dnsParseNamed(M.response("a.example.com", answers: [M.a(M.name("b.example.com"), 1)])).name)
    }

    func testOddBytesReadAsQuestionMarks() {
        // Labels holding a dot, a quote, a backslash, a space and a byte above ASCII.
        let qname: [UInt8] = [5] + Array("a.b\"c".utf8) + [4] + [0x5c, 0x20, 0xff, 0x41] + [0]
        let msg = M.be16(1) + M.be16(0x8180) + M.be16(1) + M.be16(1) + M.be16(0) + M.be16(0) + qname + M.be16(1) + M.be16(1)
            + M.a(q, 0x0a00_0001)
        let r = dnsParseNamed(msg)
        XCTAssertEqual(r.answers.count, 1)
        XCTAssertEqual(r.name, "a?b?c.???a")
    }

    func testTheLongestNameFitsWithinBMA_DNS_NAME_MAX() {
        // 63 + 63 + 63 + 61 characters in four labels: 255 bytes on the wire, 253 as text.
        let labels = [63, 63, 63, 61].enumerated().map { String(repeating: Character(UnicodeScalar(UInt8(97 + $0.offset))), count: $0.element) }
        let long = labels.joined(separator: ".")
        XCTAssertEqual(long.utf8.count, Int(BMA_DNS_NAME_MAX))
        let r = dnsParseNamed(M.response(long, answers: [M.a(q, 0x0a00_0001)]))
        XCTAssertEqual(r.name, long)
        XCTAssertEqual(bma_dns_name_hash(long), r.answers.first?.name_hash)
        // One more character is not a name.
        XCTAssertNil(dnsParseNamed(M.response(long + "x", answers: [M.a(q, 0x0a00_0001)])).name)
    }

    /// bma_dns_frame on a whole frame from an allocation of exactly its size.
    private func frameAnswers(_ frame: [UInt8]) -> (answers: [bma_dns_answer_t], name: String?) {
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: frame.count)
        defer { buf.deallocate() }
        buf.initialize(from: frame, count: frame.count)
        var p = bma_pkt_t()
        bma_parse(buf, UInt32(frame.count), UInt32(frame.count), &p)
        var out = [bma_dns_answer_t](repeating: bma_dns_answer_t(), count: 8)
        var name = bma_dns_name_t()
        name.len = 0xff
        let n = out.withUnsafeMutableBufferPointer { bma_dns_frame(buf, UInt32(frame.count), &p, 3, $0.baseAddress, 8, &name, 0) }
        let text = name.len == 0xff ? nil : withUnsafeBytes(of: name.text) { String(decoding: $0.prefix(Int(name.len)), as: UTF8.self) }
        return (Array(out.prefix(Int(n))), text)
    }

    func testAnswersOverTCPWithTheirLengthPrefix() {
        let msg = M.response("lock.cloud.example.com", answers: [M.a(q, 0x2f59_e214, ttl: 30)])
        let prefixed = M.be16(UInt16(msg.count)) + msg
        for options in [0, 3] {
            let frame = F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(53, 40000, flags: 0x18, optionWords: options, payload: prefixed)))
            let r = frameAnswers(frame)
            XCTAssertEqual(r.answers.map(\.addr_lo), [0x0000_ffff_2f59_e214], "options \(options)")
            XCTAssertEqual(r.answers.map(\.pkt), [3])
            XCTAssertEqual(r.name, "lock.cloud.example.com")
        }
        // Over UDP the same message has no prefix.
        let udp = F.ether(type: ethTypeIPv4, F.ipv4(proto: 17, F.udp(53, 40000, payload: msg)))
        XCTAssertEqual(frameAnswers(udp).name, "lock.cloud.example.com")
    }

    func testPartOfATCPMessageGivesNothing() {
        let msg = M.response("lock.cloud.example.com", answers: [M.a(q, 0x2f59_e214)])
        let cases: [(String, [UInt8])] = [
            ("message longer than the segment", M.be16(UInt16(msg.count + 1)) + msg),
            ("the first half of a message", M.be16(UInt16(msg.count)) + msg.prefix(msg.count / 2)),
            ("no length prefix", msg),
            ("a lone length byte", [0]),
        ]
        for (what, payload) in cases {
            let frame = F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(53, 40000, flags: 0x18, payload: payload)))
            let r = frameAnswers(frame)
            XCTAssertEqual(r.answers.count, 0, what)
            XCTAssertNil(r.name, what)
        }
        // A query over TCP (to port 53) is not read.
        let query = F.ether(type: ethTypeIPv4, F.ipv4(proto: 6, F.tcp(40000, 53, flags: 0x18, payload: M.be16(UInt16(msg.count)) + msg)))
        XCTAssertEqual(frameAnswers(query).answers.count, 0)
    }
}
