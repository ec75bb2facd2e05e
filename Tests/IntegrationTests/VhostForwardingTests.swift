import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A VM driven by a real virtio driver (testpmd's virtio_user) over vhost-user sends a real
/// capture through bmad's net_vhost port to a net_pcap uplink.
final class VhostForwardingTests: IntegrationTestCase {
    func testVirtioVMReplayReachesUplinkByteIdentical() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 512, testpmd: true)
        let capture = try TestEnvironment.capture("benign-camera-week.pcap")
        let input = try PcapFiles.frames(path: capture)
        let inputBytes = input.reduce(UInt64(0)) { $0 + UInt64($1.count) }

        let scratch = try makeScratch()
        let socket = scratch.file("vm1.sock")
        let uplinkOut = scratch.file("uplink-out.pcap")
        let bmad = try startBmad(
            BmadConfiguration(
                uplink: "net_pcap9,tx_pcap=\(uplinkOut)",
                vms: [.init(name: "vm1", id: 1, devargs: "net_vhost0,iface=\(socket),queues=1")]),
            in: scratch)
        try waitForSocket(socket, of: bmad)

        let vm = try startVM("vm1", socket: socket, options: .init(rxPcap: capture), in: scratch)
        try bmad.waitForLinkUp("vm1")
        try vm.startForwarding()
        try waitUntil("the uplink capture holds \(input.count) frames", timeout: 40, interval: 0.1,
                      context: { "uplink has \(PcapFiles.completeRecords(path: uplinkOut))\n" + vm.child.outputTail() }) {
            PcapFiles.completeRecords(path: uplinkOut) >= input.count
        }
        let vmStats = try vm.stopAndQuit()
        try bmad.waitForLinkDown("vm1")
        XCTAssertEqual(try bmad.stop(signal: SIGINT), .exited(0), bmad.child.outputTail())

        assertSameFrames(try PcapFiles.frames(path: uplinkOut), input, "uplink capture")

        // testpmd's view: its pcap port received the capture, its virtio port sent all of it.
        XCTAssertEqual(vmStats[1]?.rxPackets, UInt64(input.count), "testpmd net_pcap rx")
        XCTAssertEqual(vmStats[0]?.txPackets, UInt64(input.count), "testpmd virtio tx")
        XCTAssertEqual(vmStats[0]?.txDropped, 0, "testpmd virtio tx dropped")

        let s = try bmad.summary()
        s.assertConsistent()
        let vmPort = try s.port("vm1"), up = try s.port("uplink")
        XCTAssertEqual(vmPort.driver, "net_vhost")
        XCTAssertEqual(vmPort.rxPackets, vmStats[0]?.txPackets, "bmad vm1 rx vs testpmd forwarded")
        XCTAssertEqual(vmPort.rxPackets, UInt64(input.count))
        XCTAssertEqual(vmPort.rxBytes, inputBytes)
        XCTAssertEqual(up.txPackets, UInt64(input.count))
        XCTAssertEqual(up.txBytes, inputBytes)
        XCTAssertEqual(vmPort.device.ipackets, UInt64(input.count))
        XCTAssertEqual(up.device.opackets, UInt64(input.count))
        XCTAssertEqual(s.drops, ["unknown-destination": 0, "tx-full": 0, "invalid-chain": 0])
        // The VM connected once and left once.
        XCTAssertEqual(vmPort.linkChanges, 2)
        XCTAssertEqual(vmPort.linkUp, false)
        XCTAssertEqual(bmad.linkEvents("vm1").up, 1)
        XCTAssertEqual(bmad.linkEvents("vm1").down, 1)
    }
}
