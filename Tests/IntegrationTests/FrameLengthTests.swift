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

    /// The live path: the same frames from a virtio VM (testpmd's virtio_user, fed by its own
    /// net_pcap port) over vhost-user. vhost builds consistent chains, so nothing is dropped as
    /// invalid; what reaches bmad of the 68,000-byte frame is what testpmd's net_pcap kept of it
    /// (a 16-bit length's worth), and bmad forwards exactly that.
    func testTheSameFramesFromAVirtioVMAreForwardedAsReceived() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 512, testpmd: true)
        let scratch = try makeScratch()
        let small = frame(length: 60, tag: 0), jumbo = frame(length: 9_000, tag: 1)
        let large = frame(length: 20_000, tag: 2), huge = frame(length: 68_000, tag: 3)
        let input = scratch.file("big.pcap")
        try PcapFiles.write([small, huge, large, jumbo, small], to: input)
        let socket = scratch.file("vm.sock"), uplink = scratch.file("uplink.pcap")
        let bmad = try startBmad(
            BmadConfiguration(uplink: "net_pcap9,tx_pcap=\(uplink)",
                              vms: [.init(name: "vm1", id: 1, devargs: "net_vhost0,iface=\(socket),queues=1")]),
            in: scratch)
        try waitForSocket(socket, of: bmad)
        let vm = try startVM("vm1", socket: socket, options: .init(rxPcap: input), in: scratch)
        try bmad.waitForLinkUp("vm1")
        try vm.startForwarding()
        try waitUntil("the uplink holds 5 frames", timeout: 30, interval: 0.1,
                      context: { bmad.child.outputTail() + vm.child.outputTail() }) {
            PcapFiles.completeRecords(path: uplink) >= 5
        }
        try vm.stopAndQuit()
        XCTAssertEqual(try bmad.stop(signal: SIGINT), .exited(0), bmad.child.outputTail())

        let out = try PcapCapture.read(path: uplink).records
        XCTAssertEqual(out.count, 5)
        guard out.count == 5 else { return }
        XCTAssertEqual(out[0].data, small)
        XCTAssertLessThan(out[1].originalLength, 65_536, "the VM could not send 68,000 bytes")
        XCTAssertEqual(out[1].data, Array(huge.prefix(out[1].data.count)))
        XCTAssertEqual(out[2].originalLength, 20_000)
        XCTAssertEqual(out[2].data, Array(large.prefix(16_128)))
        XCTAssertEqual(out[3].data, jumbo)
        XCTAssertEqual(out[4].data, small)
        let s = try bmad.summary()
        XCTAssertEqual(s.drops["invalid-chain"], 0)
        XCTAssertEqual(try s.port("vm1").rxPackets, 5)
    }
}
