import Foundation
import XCTest

/// contrib/wireshark/bma.lua on a real mirror capture: bmad's Geneve copies and the analyzer's
/// pcapng export of the same packets give the same bma.* fields, and display filters on them work.
extension MirrorEncapsulationTests {
    static let dissector = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("contrib/wireshark/bma.lua").path

    func testLuaDissectorShowsTheMetadataOfGeneveCopiesAndStoredPackets() throws {
        let scratch = try makeScratch()
        let vm = try vmCapture(in: scratch)
        let run = try runLive(encapsulation: "geneve", capture: vm.path, in: scratch, label: "lua")
        let lua = ["-X", "lua_script:\(Self.dissector)"]
        let names = ["bma.source", "bma.vm", "bma.version", "bma.policy", "bma.reasons", "bma.reason", "bma.flag", "bma.score",
                     "bma.orig_len", "bma.timestamp_ns", "geneve.option.unknown.data", "tcp.dstport"]
        let rows = try DetectionTshark.fields(run.path, names, extra: lua, in: scratch, label: "lua-geneve")
            .map { Dictionary(uniqueKeysWithValues: zip(names, $0 + Array(repeating: "", count: max(0, names.count - $0.count)))) }
        XCTAssertEqual(rows.count, Self.ports.count)
        for (i, r) in rows.enumerated() {
            // The fields against the option's bytes as Wireshark's own Geneve dissector shows them.
            let hex = r["geneve.option.unknown.data"] ?? ""
            let data = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(Array(hex)[$0...$0 + 1]), radix: 16) }
            guard data.count == 24 else { XCTFail("frame \(i): option data '\(hex)'"); continue }
            let be = { (o: Int, n: Int) in data[o..<o + n].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            XCTAssertEqual(r["bma.source"], "geneve-option", "frame \(i)")
            XCTAssertEqual(r["bma.vm"], String(Self.vmID), "frame \(i)")
            XCTAssertEqual(r["bma.version"], "1", "frame \(i)")
            XCTAssertEqual(r["bma.policy"], String(be(2, 2)), "frame \(i)")
            XCTAssertEqual(UInt64(r["bma.reasons"]?.dropFirst(2) ?? "", radix: 16), be(4, 4), "frame \(i): reasons \(r)")
            XCTAssertEqual(Double(r["bma.score"] ?? ""), Double(be(8, 4)) / 1000, "frame \(i)")
            XCTAssertEqual(r["bma.orig_len"], String(be(12, 4)), "frame \(i)")
            XCTAssertEqual(r["bma.orig_len"], "74", "frame \(i)")
            XCTAssertEqual(r["bma.timestamp_ns"], String(be(16, 8)), "frame \(i)")
            let expected = ["new-destination", "new-service", "fan-out", "port-scan", "rate-spike", "size-outlier", "protocol-shift"]
                .enumerated().filter { be(4, 4) & (1 << UInt64($0.offset)) != 0 }.map(\.element)
            XCTAssertFalse(expected.isEmpty, "frame \(i) has a reason")
            XCTAssertEqual(r["bma.reason"], expected.joined(separator: ","), "frame \(i)")
            XCTAssertEqual(r["bma.flag"], "", "frame \(i): no flag")
        }
        // Display filters on the fields.
        let newService = rows.filter { ($0["bma.reason"] ?? "").split(separator: ",").contains("new-service") }.count
        XCTAssertGreaterThan(newService, 0)
        let filtered = try DetectionTshark.fields(run.path, ["tcp.dstport"], extra: lua + ["-Y", "bma.reason == \"new-service\" && bma.vm == \(Self.vmID)"],
                                                  in: scratch, label: "lua-filter")
        XCTAssertEqual(filtered.count, newService, "bma.reason == \"new-service\"")
        XCTAssertEqual(try DetectionTshark.fields(run.path, ["tcp.dstport"], extra: lua + ["-Y", "bma.reason == \"dns-tunnel\""],
                                                  in: scratch, label: "lua-none").count, 0)

        // The same copies stored by the analyzer and exported as pcapng: the comment's fields.
        let store = scratch.file("store")
        try AnalyzerCommand.analyzerOK(["import", "--store", store, run.path], in: scratch, label: "import")
        let export = scratch.file("export.pcapng")
        try AnalyzerCommand.analyzerOK(["query", "--store", store, "--format", "pcapng", "-w", export], in: scratch, label: "query")
        let stored = try DetectionTshark.fields(export, ["bma.source", "bma.vm", "bma.reason", "bma.score", "bma.encap", "tcp.dstport"],
                                                extra: lua, in: scratch, label: "lua-pcapng")
        XCTAssertEqual(stored.count, rows.count)
        for (s, r) in zip(stored, rows) {
            XCTAssertEqual(s, ["pcapng-comment", String(Self.vmID), r["bma.reason"]!, s[3], "geneve", r["tcp.dstport"]!], "\(s)")
            XCTAssertEqual(Double(s[3]), Double(r["bma.score"] ?? ""), "score from the comment: \(s)")
        }
    }
}
