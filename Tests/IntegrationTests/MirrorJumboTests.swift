import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Jumbo and multi-segment frames are mirrored whole (a chain of mirror mbufs), or cut to the
/// snaplen with the truncated flag; the copies are checked byte for byte and decoded by tshark.
/// Before, a copy larger than one mirror mbuf (about 2,100 bytes of frame) was dropped as
/// `too_big`: a VM with a 9,000-byte MTU evaded the mirror.
final class MirrorJumboTests: IntegrationTestCase {
    static let vmID = 77
    static let vmMAC = TestFrames.mac("02:00:00:00:01:4d")
    static let gateway = TestFrames.mac("02:00:00:00:00:fe")
    /// Frame lengths: jumbo, in between, one segment, a runt-sized one; each to its own port.
    static let lengths = [9_000, 60, 4_000, 1_514, 9_000, 2_200, 8_192, 9_000]
    static let headerLength = ["geneve": 78, "vxlan": 50, "erspan2": 50, "none": 0]

    static func frames() -> [[UInt8]] {
        lengths.enumerated().map { i, length in
            let tag = String((0..<(length - 42)).map { Character(UnicodeScalar(UInt8(97 + ($0 + i) % 26))) })
            return TestFrames.udp4(from: vmMAC, to: gateway, .init(10, 0, 0, 5), .init(198, 51, 100, 7),
                                   sourcePort: 40000, destinationPort: 2000 + UInt16(i), tag: tag)
        }
    }

    private func mirrorYAML(_ encapsulation: String, out: String, snaplen: Int) -> String {
        """
        mirror:
          devargs: 'net_pcap7,tx_pcap=\(out)'
          encapsulation: \(encapsulation)
          collectors: [192.0.2.10]
          next_hop_mac: '02:00:00:00:00:99'
          source_ip: 192.0.2.1
          snaplen: \(snaplen)
        detection:
          learning_seconds: 0

        """
    }

    /// Checks the mirror capture against the frames: every one copied, whole or cut at `snaplen`,
    /// behind `encapsulation`'s headers; the Geneve option tells the original length and whether
    /// the copy was cut.
    private func checkCopies(_ records: [PcapRecord], of frames: [[UInt8]], encapsulation: String, snaplen: Int,
                             file: StaticString = #filePath, line: UInt = #line) {
        let hlen = Self.headerLength[encapsulation]!
        XCTAssertEqual(records.count, frames.count, "\(encapsulation): copies", file: file, line: line)
        for (i, (r, f)) in zip(records, frames).enumerated() {
            let kept = snaplen > 0 ? min(snaplen, f.count) : f.count
            XCTAssertEqual(r.data.count, hlen + kept, "\(encapsulation) copy \(i): length", file: file, line: line)
            guard r.data.count == hlen + kept else { continue }
            XCTAssertTrue(r.data[hlen...].elementsEqual(f.prefix(kept)), "\(encapsulation) copy \(i): bytes", file: file, line: line)
            if encapsulation == "geneve" {
                let option = Array(r.data[54..<78])
                let original = option[12..<16].reduce(0) { $0 << 8 | Int($1) }
                XCTAssertEqual(original, f.count, "copy \(i): original length", file: file, line: line)
                XCTAssertEqual(option[1] & 0x04 != 0, kept < f.count, "copy \(i): truncated flag", file: file, line: line)
            }
        }
    }

    /// tshark decodes the tunnel and the inner UDP datagram of every copy.
    private func checkTshark(_ path: String, encapsulation: String, snaplen: Int, in scratch: ScratchDirectory,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let vni = encapsulation == "erspan2" ? "erspan.spanid" : "\(encapsulation).vni"
        let rows = try DetectionTshark.fields(path, ["udp.dstport"] + (encapsulation == "none" ? [] : [vni]), in: scratch,
                                              label: "tshark-\(encapsulation)-\(snaplen)")
        XCTAssertEqual(rows.count, Self.lengths.count, file: file, line: line)
        for (i, row) in rows.enumerated() {
            let ports = row[0].split(separator: ",").map(String.init)
            XCTAssertEqual(ports.last, String(2000 + i), "\(encapsulation) copy \(i): inner UDP port \(row)", file: file, line: line)
            if encapsulation != "none" {
                XCTAssertEqual(row.count > 1 ? UInt64(row[1].hasPrefix("0x") ? UInt64(row[1].dropFirst(2), radix: 16) ?? 0 : UInt64(row[1]) ?? 0) : nil,
                               UInt64(Self.vmID), "\(encapsulation) copy \(i): VM id \(row)", file: file, line: line)
            }
        }
    }

    func testJumboFramesFromANetPcapVMAreMirroredWholeInEveryEncapsulation() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        let scratch = try makeScratch()
        let frames = Self.frames()
        let capture = scratch.file("vm.pcap")
        try PcapFiles.write(frames, to: capture)
        for (encapsulation, snaplen) in [("geneve", 0), ("vxlan", 0), ("erspan2", 0), ("none", 0), ("geneve", 3000)] {
            let label = "\(encapsulation)-\(snaplen)"
            let out = scratch.file("\(label).pcap")
            let bmad = try startBmad(
                BmadConfiguration(uplink: "net_null9,no-rx=1",
                                  vms: [.init(name: "vm", id: Self.vmID, devargs: "net_pcap0,rx_pcap=\(capture)")],
                                  extraYAML: mirrorYAML(encapsulation, out: out, snaplen: snaplen)),
                in: scratch, name: "bmad-\(label)", options: .init(exitWhenIdleMs: 1000))
            XCTAssertEqual(try bmad.waitForExit(timeout: 40), .exited(0), bmad.child.outputTail())
            if encapsulation == "geneve" && snaplen == 0 {
                XCTAssertTrue(bmad.stdout.contains("warning: mirror: the mirror port's MTU is 1500; geneve copies of 9018-byte frames (78 bytes of headers) need 9082"),
                              bmad.child.outputTail())
            }
            let s = try DetectionSummary.read(path: bmad.summaryPath)
            XCTAssertEqual(s.mirror.sent, UInt64(frames.count), "\(label): sent")
            XCTAssertEqual(s.mirror.tooBig + s.mirror.nombuf + s.mirror.ringfull, 0, "\(label): mirror drops")
            checkCopies(try PcapCapture.read(path: out).records, of: frames, encapsulation: encapsulation, snaplen: snaplen)
            try checkTshark(out, encapsulation: encapsulation, snaplen: snaplen, in: scratch)
        }
    }

    func testJumboFramesFromAVirtioVMWithMergeableBuffersAreForwardedAndMirroredWhole() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 512, testpmd: true)
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        let scratch = try makeScratch()
        let frames = Self.frames()
        let capture = scratch.file("vm.pcap")
        try PcapFiles.write(frames, to: capture)
        let socket = scratch.file("vm.sock"), uplink = scratch.file("uplink.pcap"), out = scratch.file("mirror.pcap")
        let bmad = try startBmad(
            BmadConfiguration(uplink: "net_pcap9,tx_pcap=\(uplink)",
                              vms: [.init(name: "vm", id: Self.vmID, devargs: "net_vhost0,iface=\(socket),queues=1")],
                              extraYAML: mirrorYAML("geneve", out: out, snaplen: 0)),
            in: scratch)
        try waitForSocket(socket, of: bmad)
        // A virtio driver with mergeable RX buffers that sends multi-segment jumbo frames.
        let vm = try startVM("vm", socket: socket, options: .init(
            rxPcap: capture, virtioArgs: ",mrg_rxbuf=1", testpmdArgs: ["--max-pkt-len=9018", "--mbuf-size=9300"]), in: scratch)
        try bmad.waitForLinkUp("vm")
        try vm.startForwarding()
        try waitUntil("the uplink and the mirror hold \(frames.count) frames", timeout: 40, interval: 0.1,
                      context: { "uplink \(PcapFiles.completeRecords(path: uplink)), mirror \(PcapFiles.completeRecords(path: out))\n" + vm.child.outputTail() }) {
            PcapFiles.completeRecords(path: uplink) >= frames.count && PcapFiles.completeRecords(path: out) >= frames.count
        }
        try vm.stopAndQuit()
        XCTAssertEqual(try bmad.stop(signal: SIGINT), .exited(0), bmad.child.outputTail())

        assertSameFrames(try PcapFiles.frames(path: uplink), frames, "uplink capture")
        checkCopies(try PcapCapture.read(path: out).records, of: frames, encapsulation: "geneve", snaplen: 0)
        try checkTshark(out, encapsulation: "geneve", snaplen: 0, in: scratch)
        let s = try bmad.summary()
        XCTAssertEqual(s.drops["invalid-chain"], 0)
        XCTAssertEqual(s.mirror.sent, UInt64(frames.count), "every frame copied once")
        s.assertConsistent()
    }
}
