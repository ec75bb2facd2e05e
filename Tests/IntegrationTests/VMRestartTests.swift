import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A VM that crashes and comes back, again and again, while it streams: bmad keeps running,
/// sees each link go down and up, and forwards again after every restart.
final class VMRestartTests: IntegrationTestCase {
    static let restarts = 10
    /// Frames the uplink must gain after each restart before the VM is killed again.
    static let framesPerRound: UInt64 = 30_000

    func testBmadSurvivesRepeatedVMCrashesMidStream() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 512, testpmd: true)
        let capture = try TestEnvironment.capture("benign-camera-week.pcap")
        let scratch = try makeScratch()
        let socket = scratch.file("vm1.sock")
        // The stream is endless, so the uplink is net_null (a capture file would grow by hundreds
        // of MB/s); bmad's live counter line gives the uplink's tx count.
        let bmad = try startBmad(
            BmadConfiguration(
                uplink: "net_null0,no-rx=1",
                vms: [.init(name: "vm1", id: 1, devargs: "net_vhost0,iface=\(socket),queues=1")]),
            in: scratch, options: .init(statsInterval: 0.1))
        let bmadPid = bmad.pid
        try waitForSocket(socket, of: bmad)

        var uplinkAtKill: [UInt64] = []
        for round in 1...Self.restarts {
            // infinite_rx preloads the whole capture: one mbuf per frame plus room for the rings.
            let vm = try startVM("vm1-r\(round)", socket: socket,
                                 options: .init(rxPcap: capture, infiniteRx: true, mbufs: 32_768), in: scratch)
            try bmad.waitForLinkUp("vm1", count: round)
            let before = latestUplinkTx(bmad)
            try vm.startForwarding()
            try waitUntil("round \(round): the uplink forwards \(Self.framesPerRound) more frames than \(before)",
                          timeout: 20, context: { bmad.child.outputTail() + "\n" + vm.child.outputTail() }) {
                if !bmad.isRunning { throw ChildProcessError.exitedEarly("bmad", bmad.child.exitStatus!, bmad.child.outputTail()) }
                return latestUplinkTx(bmad) >= before + Self.framesPerRound
            }
            XCTAssertTrue(vm.isRunning, "round \(round): the VM still streams when it is killed")
            vm.crash()
            uplinkAtKill.append(latestUplinkTx(bmad))
            try bmad.waitForLinkDown("vm1", count: round)
            XCTAssertTrue(bmad.isRunning, "round \(round): bmad is still running after the VM died")
            XCTAssertEqual(bmad.pid, bmadPid)
        }
        XCTAssertEqual(uplinkAtKill, uplinkAtKill.sorted(), "the uplink count only grows")
        XCTAssertEqual(Set(uplinkAtKill).count, Self.restarts, "the uplink count grows in every round")
        let events = bmad.linkEvents("vm1")
        XCTAssertEqual(events.up, Self.restarts, "link up lines")
        XCTAssertEqual(events.down, Self.restarts, "link down lines")

        XCTAssertEqual(try bmad.stop(signal: SIGTERM), .exited(0), bmad.child.outputTail())
        XCTAssertTrue(bmad.stdout.contains("bmad: stopped"))
        let s = try bmad.summary()
        s.assertConsistent()
        let vmPort = try s.port("vm1"), up = try s.port("uplink")
        XCTAssertEqual(vmPort.linkChanges, UInt64(2 * Self.restarts), "vm1 link_changes")
        XCTAssertEqual(vmPort.linkUp, false)
        XCTAssertEqual(up.linkChanges, 0)
        XCTAssertGreaterThanOrEqual(vmPort.rxPackets, UInt64(Self.restarts) * Self.framesPerRound)
        XCTAssertGreaterThanOrEqual(vmPort.rxPackets, uplinkAtKill.last ?? 0)
        XCTAssertEqual(up.txPackets, vmPort.rxPackets, "everything the VM sent went to the uplink")
        XCTAssertEqual(up.txBytes, vmPort.rxBytes)
        XCTAssertEqual(up.device.opackets, up.txPackets)
        XCTAssertEqual(s.drops, ["unknown-destination": 0, "tx-full": 0, "invalid-chain": 0])
    }

    /// The uplink's tx count on bmad's latest live counter line (0 before the first line).
    private func latestUplinkTx(_ bmad: BmadProcess) -> UInt64 {
        bmad.statsLines.last?.ports["uplink"]?.tx ?? 0
    }
}
