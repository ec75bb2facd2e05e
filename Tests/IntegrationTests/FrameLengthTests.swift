import PacketCapture
import XCTest

/// Frames of every length a device can deliver: bmad never reads past what it received. net_pcap
/// hands a frame over 65,535 bytes to bmad as an mbuf chain shorter than its pkt_len (the
/// driver keeps 16 bits of the length); reading it by pkt_len crashed the worker.
final class FrameLengthTests: IntegrationTestCase {
    private let vmMAC = TestFrames.mac("02:00:00:00:01:01")
    private let gateway = TestFrames.mac("02:00:00:00:00:fe")

    /// A frame of exactly `length` bytes (an experimental ethertype, a counting payload).
    private func frame(length: Int, tag: UInt8) -> [UInt8] {
        let header = TestFrames.ethernet(vmMAC, gateway, type: 0x88B5)
        return header + (0..<(length - header.count)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(tag)) }
    }

    func testReplayOfFramesUpTo68000BytesNeitherCrashesNorForwardsWhatWasNotReceived() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 0)
        let scratch = try makeScratch()
        let small = (0..<3).map { i in
            TestFrames.udp4(from: vmMAC, to: gateway, .init(10, 0, 0, 2), .init(10, 0, 0, 1), tag: "small \(i)")
        }
        let jumbo = frame(length: 9_000, tag: 1)
        let large = frame(length: 20_000, tag: 2)
        let huge = frame(length: 68_000, tag: 3)
        let input = scratch.file("big.pcap")
        try PcapFiles.write([small[0], huge, jumbo, small[1], large, small[2]], to: input)

        let forward = scratch.file("forward.pcap"), mirror = scratch.file("mirror.pcap")
        let summary = scratch.file("summary.json")
        let child = try ChildProcess(
            name: "replay-big", executable: try TestEnvironment.binary("bmad"),
            arguments: ["replay", "--vm", "vm1=\(input)@02:00:00:00:01:01", "--mirror-out", mirror,
                        "--forward-out", forward, "--summary-json", summary],
            directory: scratch.path)
        let status = try child.waitForExit(timeout: 60)
        XCTAssertEqual(status, .exited(0), child.outputTail())
        guard status == .exited(0) else { return }
        XCTAssertTrue(child.stderr.contains("vm1: 1 frames dropped"), child.outputTail())

        // Every frame that fits a consistent chain is forwarded whole, in order; the 68,000-byte
        // one is dropped. net_pcap's TX writes at most 16,128 bytes of a multi-segment frame and
        // says so in the record (original length kept).
        let out = try PcapCapture.read(path: forward).records
        XCTAssertEqual(out.map(\.originalLength), [UInt32(small[0].count), 9_000, UInt32(small[1].count), 20_000, UInt32(small[2].count)])
        guard out.count == 5 else { return }
        XCTAssertEqual(out[0].data, small[0])
        XCTAssertEqual(out[1].data, jumbo)
        XCTAssertEqual(out[2].data, small[1])
        XCTAssertEqual(out[3].data, Array(large.prefix(16_128)))
        XCTAssertEqual(out[4].data, small[2])

        let s = try JSONDecoder().decode(BmadSummary.self, from: Data(contentsOf: URL(fileURLWithPath: summary)))
        XCTAssertEqual(s.drops["invalid-chain"], 1)
        XCTAssertEqual(try s.port("vm1").rxPackets, 5)
        XCTAssertEqual(try s.port("uplink").txPackets, 5)
    }
}
