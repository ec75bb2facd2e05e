import PacketCapture
import XCTest

/// A VM on a net_pcap port replays a real capture; bmad forwards it to a net_pcap uplink.
final class VMToUplinkPcapTests: IntegrationTestCase {
    func testReplayedCaptureReachesUplinkByteIdenticalAndCountersAddUp() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        let capture = try TestEnvironment.capture("benign-camera-week.pcap")
        let input = try PcapFiles.frames(path: capture)
        XCTAssertEqual(input.count, 24_022, "benign-camera-week.pcap changed")
        let inputBytes = input.reduce(UInt64(0)) { $0 + UInt64($1.count) }

        let scratch = try makeScratch()
        let uplinkOut = scratch.file("uplink-out.pcap")
        let bmad = try startBmad(
            BmadConfiguration(
                uplink: "net_pcap9,tx_pcap=\(uplinkOut)",
                vms: [.init(name: "vm1", id: 1, devargs: "net_pcap0,rx_pcap=\(capture)")]),
            in: scratch, options: .init(exitWhenIdleMs: 1000))
        XCTAssertEqual(try bmad.waitForExit(timeout: 40), .exited(0), bmad.child.outputTail())

        // The uplink saw every frame, byte for byte, in capture order.
        assertSameFrames(try PcapFiles.frames(path: uplinkOut), input, "uplink capture")

        let s = try bmad.summary()
        s.assertConsistent()
        let vm = try s.port("vm1"), up = try s.port("uplink")
        XCTAssertEqual(vm.role, "vm")
        XCTAssertEqual(vm.vmId, 1)
        XCTAssertEqual(up.role, "uplink")
        XCTAssertEqual(vm.rxPackets, 24_022)
        XCTAssertEqual(vm.rxBytes, inputBytes)
        XCTAssertEqual(up.txPackets, 24_022)
        XCTAssertEqual(up.txBytes, inputBytes)
        XCTAssertEqual(vm.txPackets, 0)
        XCTAssertEqual(up.rxPackets, 0)
        XCTAssertEqual(vm.txFull + up.txFull, 0)
        // The devices agree with bmad's own counters.
        XCTAssertEqual(vm.device.ipackets, 24_022)
        XCTAssertEqual(vm.device.ibytes, inputBytes)
        XCTAssertEqual(up.device.opackets, 24_022)
        XCTAssertEqual(up.device.obytes, inputBytes)
        XCTAssertEqual(vm.device.imissed + vm.device.ierrors + vm.device.rxNombuf + up.device.oerrors, 0)
        // Nothing dropped, nothing broadcast (no uplink traffic).
        XCTAssertEqual(s.drops, ["unknown-destination": 0, "tx-full": 0, "invalid-chain": 0])
        XCTAssertEqual(s.broadcastCopies, 0)
        XCTAssertEqual(s.lcores.count, 1)
        XCTAssertEqual(s.lcores.first?.lcore, 1)
        XCTAssertEqual(vm.queues.map(\.lcore), [1])
    }
}
