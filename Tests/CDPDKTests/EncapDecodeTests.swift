import CDPDK
import Foundation
import XCTest

/// Writes encapsulated copies of a real frame to a pcap file and checks that tshark decodes the
/// tunnel and the inner frame: what an analyzer (Wireshark, Suricata, Zeek) will see.
final class EncapDecodeTests: XCTestCase {
    typealias F = EncapFixture

    static func tsharkPath() -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for d in dirs + ["/usr/bin", "/usr/local/bin"] {
            let p = "\(d)/tshark"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// A classic little-endian pcap (microseconds, Ethernet) holding `frames`.
    static func pcap(_ frames: [[UInt8]]) -> Data {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { le16(UInt16(v & 0xffff)) + le16(UInt16(v >> 16)) }
        var b = le32(0xa1b2_c3d4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(65535) + le32(1)
        for (i, f) in frames.enumerated() {
            b += le32(1_700_000_000 + UInt32(i)) + le32(0) + le32(UInt32(f.count)) + le32(UInt32(f.count))
            b += f
        }
        return Data(b)
    }

    /// Runs `tshark -r file -V` and returns the verbose text of each frame.
    func decode(_ frames: [[UInt8]]) throws -> [String] {
        guard let tshark = Self.tsharkPath() else { throw XCTSkip("tshark is not installed") }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("bma-encap-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("encap.pcap")
        try Self.pcap(frames).write(to: file)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: tshark)
        p.arguments = ["-n", "-r", file.path, "-V", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
        // A private, empty configuration: no user preference can change the decode.
        var env = ProcessInfo.processInfo.environment
        env["WIRESHARK_CONFIG_DIR"] = dir.path
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "tshark exit status")
        let text = String(decoding: data, as: UTF8.self)
        // Each frame's tree starts with a line "Frame N: ...".
        var frames: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Frame ") { frames.append("") }
            if !frames.isEmpty { frames[frames.count - 1] += line + "\n" }
        }
        return frames
    }

    func encapsulated(_ kind: UInt32, _ meta: bma_mirror_meta_t, inner: [UInt8], orig: Int? = nil) -> [UInt8] {
        let e = F.encap(kind)
        let (n, h) = F.build(e, meta, inner: inner.count, orig: orig)
        XCTAssertEqual(n, F.headerLen(e))
        return Array(h[0..<n]) + inner
    }

    func assertContains(_ text: String, _ needles: [String], _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        for s in needles where !text.contains(s) {
            XCTFail("\(what): tshark output lacks \"\(s)\"\n\(text)", file: file, line: line)
        }
    }

    /// What tshark must show of the outer IPv4 header and of the inner TCP SYN.
    func outerAndInner(collector: UInt32, srcPort: UInt16) -> [String] {
        let c = "\(collector >> 24).\((collector >> 16) & 0xff).\((collector >> 8) & 0xff).\(collector & 0xff)"
        return [
            "Internet Protocol Version 4, Src: 10.1.0.1, Dst: \(c)",
            "Internet Protocol Version 4, Src: 10.0.0.5, Dst: 192.168.7.9",
            "Transmission Control Protocol, Src Port: \(srcPort), Dst Port: 443",
            "Flags: 0x002 (SYN)",
        ]
    }

    func count(_ s: String, in text: String) -> Int { text.components(separatedBy: s).count - 1 }

    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    func testTsharkDecodesEveryEncapsulation() throws {
        let vx = F.meta(vm: 0x00_1234, hash: 4)
        let gn = F.meta(vm: 0x00_abcd, hash: 5, flags: UInt16(BMA_MF_STICKY))
        let er = F.meta(vm: 0x0000_0321, hash: 6)
        let cut = F.tcpSyn(srcPort: 40003)
        let frames = [
            encapsulated(UInt32(BMA_ENCAP_VXLAN), vx, inner: F.tcpSyn(srcPort: 40000)),
            encapsulated(UInt32(BMA_ENCAP_GENEVE), gn, inner: F.tcpSyn(srcPort: 40001)),
            encapsulated(UInt32(BMA_ENCAP_ERSPAN2), er, inner: F.tcpSyn(srcPort: 40002)),
            // Truncated to Ethernet + IPv4 + 20 bytes of TCP: the MSS option is cut.
            encapsulated(UInt32(BMA_ENCAP_ERSPAN2), er, inner: Array(cut[0..<54]), orig: cut.count),
        ]
        let trees = try decode(frames)
        XCTAssertEqual(trees.count, frames.count)
        guard trees.count == frames.count else { return }

        // VXLAN
        assertContains(trees[0], [
            "Dst Port: 4789",
            "Virtual eXtensible Local Area Network",
            "VXLAN Network Identifier (VNI): 4660",
        ] + outerAndInner(collector: F.collectors[4 % 3], srcPort: 40000), "vxlan")

        // Geneve, with the BMA option: version, flags, policy, reasons, score, length, time.
        let synLen = UInt32(F.tcpSyn().count)
        let option: [UInt8] = [UInt8(BMA_GENEVE_OPT_VERSION), UInt8(BMA_MF_STICKY)] + F.put16(0x0102)
            + F.put32(0x8000_0005) + F.put32(4_250) + F.put32(synLen)
            + F.put32(UInt32(gn.ts_ns >> 32)) + F.put32(UInt32(gn.ts_ns & 0xffff_ffff))
        assertContains(trees[1], [
            "Dst Port: 6081",
            "Generic Network Virtualization Encapsulation, VNI: 0x00abcd",
            "Version: 0",
            "Protocol Type: Transparent Ethernet bridging (0x6558)",
            "Virtual Network Identifier (VNI): 0x00abcd (43981)",
            "Options: (28 bytes)",
            "Class: Experimental (0xfff0)",
            "Type: 0x42 (Non-critical)",
            "Length: 28 bytes",
            "Option Data: \(hex(option))",
        ] + outerAndInner(collector: F.collectors[5 % 3], srcPort: 40001), "geneve")

        // ERSPAN type II
        assertContains(trees[2], [
            "Generic Routing Encapsulation (ERSPAN)",
            "Sequence Number Bit: Yes",
            "Protocol Type: ERSPAN (0x88be)",
            "Sequence Number: \(UInt32(truncatingIfNeeded: er.ts_ns / 1000))",
            "Encapsulated Remote Switch Packet ANalysis Type II",
            "Version: Type II (1)",
            "Vlan: 0",
            "Truncated: Not truncated (0)",
            "SpanID: 801",
            "Index: 0",
        ] + outerAndInner(collector: F.collectors[6 % 3], srcPort: 40002), "erspan2")

        // The truncated ERSPAN copy: the T bit; the inner headers up to the cut still decode.
        assertContains(trees[3], [
            "Encapsulated Remote Switch Packet ANalysis Type II",
            "Truncated: Truncated (1)",
            "SpanID: 801",
            "Internet Protocol Version 4, Src: 10.0.0.5, Dst: 192.168.7.9",
            "Transmission Control Protocol, Src Port: 40003, Dst Port: 443",
        ], "erspan2 truncated")

        for (i, t) in trees.enumerated() {
            // Outer and inner IPv4 checksums verified by tshark.
            XCTAssertEqual(count("[Header checksum status: Good]", in: t), 2, "frame \(i + 1)\n\(t)")
            // The rest only for whole copies: a cut TCP segment cannot verify, nor decode whole.
            if i < 3 {
                XCTAssertFalse(t.contains("Bad"), "frame \(i + 1)\n\(t)")
                XCTAssertFalse(t.contains("Expert Info (Error"), "frame \(i + 1)\n\(t)")
                XCTAssertEqual(count("[Checksum Status: Good]", in: t), 1, "frame \(i + 1): inner TCP\n\(t)")
                XCTAssertFalse(t.contains("Malformed"), "frame \(i + 1)\n\(t)")
            }
        }
    }
}
