import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Frames from the uplink go to the VM that owns the destination MAC; broadcast and multicast
/// go to every VM; unicast to an unknown MAC is dropped and counted.
final class UplinkToVMTests: IntegrationTestCase {
    static let vm1MAC = TestFrames.mac("02:00:00:00:00:01")
    static let vm2MAC = TestFrames.mac("02:00:00:00:00:02")
    static let unknownMAC = TestFrames.mac("02:00:00:00:00:99")
    static let routerMAC = TestFrames.mac("02:aa:00:00:00:01")
    static let router = IPv4Address(10, 0, 0, 1)

    /// A frame from the uplink and which VMs must receive it.
    struct UplinkFrame {
        var bytes: [UInt8]
        var to: Set<Int>
    }

    static func unicast(_ mac: MACAddress, _ ip: IPv4Address, _ tag: String, to vms: Set<Int>) -> UplinkFrame {
        UplinkFrame(bytes: TestFrames.udp4(from: routerMAC, to: mac, router, ip, tag: tag), to: vms)
    }

    /// Unicast to each VM, to an unknown MAC, broadcast and multicast (IPv4 and IPv6), interleaved;
    /// the last frame goes to a VM.
    static func mixedUplinkTraffic(vm1: MACAddress, vm2: MACAddress) -> [UplinkFrame] {
        let vm1IP = IPv4Address(10, 0, 0, 11), vm2IP = IPv4Address(10, 0, 0, 12)
        let all: Set<Int> = [0, 1]
        let v6Source: [UInt8] = [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]
        let v6AllNodes: [UInt8] = [0xFF, 0x02] + [UInt8](repeating: 0, count: 13) + [1]
        return [
            unicast(vm1, vm1IP, "u0 to vm1", to: [0]),
            unicast(vm2, vm2IP, "u1 to vm2", to: [1]),
            UplinkFrame(bytes: TestFrames.arpRequest(from: routerMAC, router, asking: vm1IP), to: all),
            unicast(unknownMAC, IPv4Address(10, 0, 0, 99), "u3 to unknown", to: []),
            unicast(vm1, vm1IP, "u4 to vm1", to: [0]),
            UplinkFrame(bytes: TestFrames.udp4(from: routerMAC, to: TestFrames.mac("01:00:5e:00:00:fb"), router,
                                               IPv4Address(224, 0, 0, 251), sourcePort: 5353, destinationPort: 5353,
                                               tag: "u5 mdns multicast"), to: all),
            unicast(vm2, vm2IP, "u6 to vm2", to: [1]),
            UplinkFrame(bytes: TestFrames.udp6(from: routerMAC, to: TestFrames.mac("33:33:00:00:00:01"),
                                               sourceIP: v6Source, destinationIP: v6AllNodes, tag: "u7 all-nodes"), to: all),
            unicast(unknownMAC, IPv4Address(10, 0, 0, 99), "u8 to unknown", to: []),
            unicast(vm1, vm1IP, "u9 to vm1", to: [0]),
            UplinkFrame(bytes: TestFrames.udp4(from: routerMAC, to: MACAddress(rawValue: 0xFFFF_FFFF_FFFF), router,
                                               IPv4Address(10, 0, 0, 255), tag: "u10 broadcast"), to: all),
            unicast(vm2, vm2IP, "u11 to vm2", to: [1]),
        ]
    }

    // MARK: Configured MACs

    func testUplinkFramesReachTheVMOwningTheConfiguredMACAndBroadcastReachesAll() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        let scratch = try makeScratch()
        let traffic = Self.mixedUplinkTraffic(vm1: Self.vm1MAC, vm2: Self.vm2MAC)
        let uplinkIn = scratch.file("uplink-in.pcap")
        try PcapFiles.write(traffic.map(\.bytes), to: uplinkIn)
        let empty = scratch.file("empty.pcap")
        try PcapFiles.write([], to: empty)

        let bmad = try startBmad(
            BmadConfiguration(
                uplink: "net_pcap9,rx_pcap=\(uplinkIn),tx_pcap=\(scratch.file("uplink-out.pcap"))",
                vms: [
                    .init(name: "vm1", id: 1, devargs: "net_pcap0,rx_pcap=\(empty),tx_pcap=\(scratch.file("vm1-out.pcap"))",
                          mac: Self.vm1MAC.description),
                    .init(name: "vm2", id: 2, devargs: "net_pcap1,rx_pcap=\(empty),tx_pcap=\(scratch.file("vm2-out.pcap"))",
                          mac: Self.vm2MAC.description),
                ]),
            in: scratch)
        // The last uplink frame goes to a VM: once every VM has its frames, bmad has handled all.
        try waitForDelivery(traffic, scratch: scratch, vmCount: 2, of: bmad)
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())

        try checkDelivery(traffic, scratch: scratch, vmCount: 2)
        let s = try bmad.summary()
        s.assertConsistent()
        try checkCounters(s, traffic: traffic, vmRx: [0, 0])
        XCTAssertEqual(try s.port("vm1").mac, "02:00:00:00:00:01")
        XCTAssertEqual(try s.port("vm2").mac, "02:00:00:00:00:02")
        XCTAssertEqual(PcapFiles.completeRecords(path: scratch.file("uplink-out.pcap")), 0, "nothing goes back to the uplink")
    }

    // MARK: Learned MAC

    /// vm1 has no configured MAC: bmad learns it from the first frame vm1 sends. The uplink's
    /// input is a named pipe that the test fills only after that frame has reached the uplink,
    /// so the learning happens before any uplink frame exists, whatever the polling order.
    func testUplinkFramesReachTheVMWhoseMACWasLearnedFromItsTraffic() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        let scratch = try makeScratch()
        let learnedMAC = TestFrames.mac("02:00:00:00:00:11")
        let traffic = Self.mixedUplinkTraffic(vm1: learnedMAC, vm2: Self.vm2MAC)
        let announce = TestFrames.arpRequest(from: learnedMAC, IPv4Address(10, 0, 0, 11), asking: Self.router)
        let vm1In = scratch.file("vm1-in.pcap"), empty = scratch.file("empty.pcap")
        try PcapFiles.write([announce], to: vm1In)
        try PcapFiles.write([], to: empty)
        let uplinkIn = try scratch.fifo("uplink-in.pcap")
        let uplinkOut = scratch.file("uplink-out.pcap")

        let bmad = try startBmad(
            BmadConfiguration(
                uplink: "net_pcap9,rx_pcap=\(uplinkIn),tx_pcap=\(uplinkOut)",
                vms: [
                    .init(name: "vm1", id: 1, devargs: "net_pcap0,rx_pcap=\(vm1In),tx_pcap=\(scratch.file("vm1-out.pcap"))"),
                    .init(name: "vm2", id: 2, devargs: "net_pcap1,rx_pcap=\(empty),tx_pcap=\(scratch.file("vm2-out.pcap"))",
                          mac: Self.vm2MAC.description),
                ]),
            in: scratch)
        // net_pcap opens the uplink capture while bmad probes its ports: give it the file header,
        // then wait for vm1's frame on the uplink before writing any uplink frame. Closing the
        // pipe ends the uplink capture (EOF); until then bmad's reader waits on it.
        var pipe = try openFIFOForWriting(uplinkIn, while: bmad)
        defer { if pipe >= 0 { close(pipe) } }
        try writeAll(pipe, try pcapBytes([]))
        try waitUntil("vm1's frame reached the uplink", timeout: 20, context: { bmad.child.outputTail() }) {
            PcapFiles.completeRecords(path: uplinkOut) >= 1
        }
        let body = try pcapBytes(traffic.map(\.bytes)).dropFirst(PcapFormat.fileHeaderLength)
        try writeAll(pipe, Array(body))
        close(pipe)
        pipe = -1

        try waitForDelivery(traffic, scratch: scratch, vmCount: 2, of: bmad)
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())

        assertSameFrames(try PcapFiles.frames(path: uplinkOut), [announce], "uplink capture")
        try checkDelivery(traffic, scratch: scratch, vmCount: 2)
        let s = try bmad.summary()
        s.assertConsistent()
        try checkCounters(s, traffic: traffic, vmRx: [1, 0])
        XCTAssertEqual(try s.port("vm1").mac, "02:00:00:00:00:11", "vm1's learned MAC")
    }

    // MARK: A VM that has not learned its MAC yet

    /// Until a VM without a configured MAC has sent a frame, bmad knows no MAC for it: a frame
    /// from the uplink to 00:00:00:00:00:00 is unicast to an unknown MAC like any other.
    func testUplinkFrameToAllZeroMACIsDroppedWhileAVMHasNoMACYet() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
        let scratch = try makeScratch()
        let zeroMAC = MACAddress(rawValue: 0)
        let traffic = [
            Self.unicast(zeroMAC, IPv4Address(10, 0, 0, 12), "z0 to 00:00:00:00:00:00", to: []),
            Self.unicast(Self.vm1MAC, IPv4Address(10, 0, 0, 11), "z1 to vm1", to: [0]),
        ]
        let uplinkIn = scratch.file("uplink-in.pcap"), empty = scratch.file("empty.pcap")
        try PcapFiles.write(traffic.map(\.bytes), to: uplinkIn)
        try PcapFiles.write([], to: empty)
        let bmad = try startBmad(
            BmadConfiguration(
                uplink: "net_pcap9,rx_pcap=\(uplinkIn),tx_pcap=\(scratch.file("uplink-out.pcap"))",
                vms: [
                    .init(name: "vm1", id: 1, devargs: "net_pcap0,rx_pcap=\(empty),tx_pcap=\(scratch.file("vm1-out.pcap"))",
                          mac: Self.vm1MAC.description),
                    .init(name: "vm2", id: 2, devargs: "net_pcap1,rx_pcap=\(empty),tx_pcap=\(scratch.file("vm2-out.pcap"))"),
                ]),
            in: scratch)
        try waitForDelivery(traffic, scratch: scratch, vmCount: 2, of: bmad)
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())

        let s = try bmad.summary()
        s.assertConsistent()
        XCTAssertNil(try s.port("vm2").mac, "vm2 sent nothing, so it has no MAC")
        assertSameFrames(try PcapFiles.frames(path: scratch.file("vm1-out.pcap")), [traffic[1].bytes], "vm1 capture")
        let vm2Out = try PcapFiles.frames(path: scratch.file("vm2-out.pcap"))
        let vm2Tx = try s.port("vm2").txPackets
        // 0 marks a VM whose MAC is not known yet; it must never match a destination.
        assertSameFrames(vm2Out, [], "vm2 capture")
        XCTAssertEqual(s.drops["unknown-destination"], 1, "drops[unknown-destination]")
        XCTAssertEqual(vm2Tx, 0, "vm2 tx")
    }

    // MARK: Checks

    /// Waits until every VM's output capture holds at least as many frames as are addressed to it.
    private func waitForDelivery(_ traffic: [UplinkFrame], scratch: ScratchDirectory, vmCount: Int, of bmad: BmadProcess) throws {
        let expected = (0..<vmCount).map { vm in traffic.filter { $0.to.contains(vm) }.count }
        let counts = { (0..<vmCount).map { PcapFiles.completeRecords(path: scratch.file("vm\($0 + 1)-out.pcap")) } }
        try waitUntil("the VMs received \(expected) frames", timeout: 20,
                      context: { "they have \(counts())\n" + bmad.child.outputTail() }) {
            if !bmad.isRunning { throw ChildProcessError.exitedEarly("bmad", bmad.child.exitStatus!, bmad.child.outputTail()) }
            return zip(counts(), expected).allSatisfy { $0 >= $1 }
        }
    }

    /// Every VM's output capture holds exactly the frames addressed to it, in uplink order.
    private func checkDelivery(_ traffic: [UplinkFrame], scratch: ScratchDirectory, vmCount: Int,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        for vm in 0..<vmCount {
            let got = try PcapFiles.frames(path: scratch.file("vm\(vm + 1)-out.pcap"))
            assertSameFrames(got, traffic.filter { $0.to.contains(vm) }.map(\.bytes), "vm\(vm + 1) capture", file: file, line: line)
        }
    }

    private func checkCounters(_ s: BmadSummary, traffic: [UplinkFrame], vmRx: [UInt64],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let up = try s.port("uplink")
        XCTAssertEqual(up.rxPackets, UInt64(traffic.count), "uplink rx", file: file, line: line)
        XCTAssertEqual(up.rxBytes, traffic.reduce(0) { $0 + UInt64($1.bytes.count) }, "uplink rx bytes", file: file, line: line)
        XCTAssertEqual(up.device.ipackets, UInt64(traffic.count), "uplink device ipackets", file: file, line: line)
        XCTAssertEqual(up.txPackets, vmRx.reduce(0, +), "uplink tx", file: file, line: line)
        for (i, rx) in vmRx.enumerated() {
            let p = try s.port("vm\(i + 1)")
            let mine = traffic.filter { $0.to.contains(i) }
            XCTAssertEqual(p.txPackets, UInt64(mine.count), "vm\(i + 1) tx", file: file, line: line)
            XCTAssertEqual(p.txBytes, mine.reduce(0) { $0 + UInt64($1.bytes.count) }, "vm\(i + 1) tx bytes", file: file, line: line)
            XCTAssertEqual(p.device.opackets, UInt64(mine.count), "vm\(i + 1) device opackets", file: file, line: line)
            XCTAssertEqual(p.rxPackets, rx, "vm\(i + 1) rx", file: file, line: line)
        }
        let unknown = traffic.filter { $0.to.isEmpty }.count
        let flooded = traffic.filter { $0.to.count > 1 }.count
        XCTAssertEqual(s.drops["unknown-destination"], UInt64(unknown), "drops[unknown-destination]", file: file, line: line)
        XCTAssertEqual(s.drops["tx-full"], 0, "drops[tx-full]", file: file, line: line)
        XCTAssertEqual(s.broadcastCopies, UInt64(flooded * (vmRx.count - 1)), "broadcast_copies", file: file, line: line)
        XCTAssertEqual(s.malformed, [:], "the crafted frames are well-formed", file: file, line: line)
    }

    // MARK: Named pipe

    /// Opens the write end of `fifo` once bmad has opened its read end (bounded wait).
    private func openFIFOForWriting(_ fifo: String, while bmad: BmadProcess) throws -> Int32 {
        var fd: Int32 = -1
        try waitUntil("bmad opens \(fifo)", timeout: 20, context: { bmad.child.outputTail() }) {
            fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { return true }
            guard errno == ENXIO else { throw ScratchError(message: "open \(fifo): \(String(cString: strerror(errno)))") }
            if !bmad.isRunning { throw ChildProcessError.exitedEarly("bmad", bmad.child.exitStatus!, bmad.child.outputTail()) }
            return false
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ScratchError(message: "write to pipe: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// A classic pcap file's bytes, as PcapWriter writes them.
    private func pcapBytes(_ frames: [[UInt8]]) throws -> [UInt8] {
        let scratch = try makeScratch()
        let path = scratch.file("frames.pcap")
        try PcapFiles.write(frames, to: path)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
