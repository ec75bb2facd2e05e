import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One bmad per configuration: a second one started by hand on the same configuration refuses
/// before EAL starts, names the running pid, and leaves the running one's sockets and outputs
/// alone. And bmad's command line: EAL and bmad options on the wrong side of `--` are explained,
/// and bmad picks its own file prefix and a quiet vhost log level.
final class SingleInstanceTests: IntegrationTestCase {
    func testSecondBmadOnSameConfigurationRefusesAndLeavesTheFirstForwarding() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 512, testpmd: true)
        let capture = try TestEnvironment.capture("benign-camera-week.pcap")
        let input = try PcapFiles.frames(path: capture)

        let scratch = try makeScratch()
        let socket = scratch.file("vm1.sock")
        let uplinkOut = scratch.file("uplink-out.pcap")
        let first = try startBmad(
            BmadConfiguration(
                uplink: "net_pcap9,tx_pcap=\(uplinkOut)",
                vms: [.init(name: "vm1", id: 1, devargs: "net_vhost0,iface=\(socket),queues=1")]),
            in: scratch)
        try waitForSocket(socket, of: first)
        let vm = try startVM("vm1", socket: socket, options: .init(rxPcap: capture), in: scratch)
        try first.waitForLinkUp("vm1")
        let before = try identities([socket, scratch.file("bmad.sock"), uplinkOut])

        // The same configuration, with the mistake of the issue: no file prefix of its own
        // would have been "rte"; here it gets one so a failure cannot disturb other tests.
        let prefix = DPDKRuntime.newPrefix("second")
        let second = try ChildProcess(
            name: "second", executable: TestEnvironment.binary("bmad"),
            arguments: ["-l", "0,1", "--file-prefix", prefix, "--no-pci", "-m", "64", "--", "--config", first.configPath],
            directory: scratch.path)
        var ealStarted = false
        second.afterExit.append {
            ealStarted = FileManager.default.fileExists(atPath: "\(DPDKRuntime.runtimeDirectory)/\(prefix)")
            DPDKRuntime.removeFiles(prefix: prefix)
        }
        let status = try second.waitForExit(timeout: 15)
        XCTAssertEqual(status, .exited(1), second.outputTail())
        XCTAssertEqual(second.stderr.split(separator: "\n").count, 1, "one line: \(second.stderr)")
        XCTAssertTrue(second.stderr.contains("pid \(first.pid)"), "names the running bmad: \(second.stderr)")
        XCTAssertTrue(second.stderr.contains(scratch.file("bmad.lock")), "names the lock: \(second.stderr)")
        XCTAssertFalse(ealStarted, "the second bmad started EAL")
        XCTAssertEqual(second.stdout, "")

        // The first one's files are the same files, and it still forwards the whole capture.
        XCTAssertEqual(try identities([socket, scratch.file("bmad.sock"), uplinkOut]), before)
        XCTAssertTrue(first.isRunning)
        try vm.startForwarding()
        try waitUntil("the uplink capture holds \(input.count) frames", timeout: 40, interval: 0.1,
                      context: { "uplink has \(PcapFiles.completeRecords(path: uplinkOut))\n" + vm.child.outputTail() }) {
            PcapFiles.completeRecords(path: uplinkOut) >= input.count
        }
        try vm.stopAndQuit()
        try first.waitForLinkDown("vm1")
        XCTAssertEqual(try first.stop(signal: SIGINT), .exited(0), first.child.outputTail())
        assertSameFrames(try PcapFiles.frames(path: uplinkOut), input, "uplink capture")

        // The vhost library's negotiation chatter stays out of the log by default.
        // (With --log-level=lib.vhost.*:info, one connect and disconnect print about 70 lines.)
        XCTAssertFalse((first.child.stdout + first.child.stderr).contains("VHOST_CONFIG"),
                       "vhost info lines in the log:\n\(first.child.outputTail())")

        // Once the first one stopped, the lock is free again.
        let third = try startBmad(BmadConfiguration(uplink: "net_null0,no-rx=1", vms: [.init(name: "vm1", id: 1, devargs: "net_null1,no-rx=1")]),
                                  in: scratch, options: .init(exitWhenIdleMs: 200))
        XCTAssertEqual(try third.waitForExit(), .exited(0), third.child.outputTail())
    }

    func testBmadNamesItsFilePrefixAfterTheConfiguration() throws {
        try TestEnvironment.requireDPDK(hugepagesMB: 128)
        let scratch = try makeScratch()
        let stem = DPDKRuntime.newPrefix("named")
        let config = try scratch.write("""
            uplink: 'net_null0,no-rx=1'
            vms: [{name: vm1, id: 1, devargs: 'net_null1,no-rx=1'}]
            control: {socket: '\(scratch.file("c.sock"))', state_dir: '\(scratch.file("state"))'}
            """, to: "\(stem).yaml")
        let child = try ChildProcess(name: "bmad", executable: TestEnvironment.binary("bmad"),
                                     arguments: ["-l", "0,1", "--no-pci", "-m", "64", "--", "--config", config, "--exit-when-idle", "200"],
                                     directory: scratch.path)
        child.afterExit.append { DPDKRuntime.removeFiles(prefix: stem) }
        XCTAssertEqual(try child.waitForExit(timeout: 20), .exited(0), child.outputTail())
        XCTAssertTrue(child.stderr.contains("\(DPDKRuntime.runtimeDirectory)/\(stem)/"), "EAL runtime files under the config's name:\n\(child.outputTail())")
    }

    func testOptionsOnTheWrongSideOfTheSeparatorAreExplained() throws {
        let bmad = try TestEnvironment.binary("bmad")
        let scratch = try makeScratch()
        let cases: [([String], [String])] = [
            (["-l", "0-3", "--config", "/etc/bma/bmad.yaml"], ["'-l' is an EAL (DPDK) option", "without '--'"]),
            (["--config", "/etc/bma/bmad.yaml", "--", "-l", "0-3"], ["'--config' is a bmad option", "before '--'"]),
            (["-l", "0-3", "--", "--config", "x.yaml", "--vdev=net_null0"], ["'--vdev' is an EAL (DPDK) option", "after '--'"]),
        ]
        // bmad's own options, read by swift-argument-parser like the other tools'.
        for (arguments, mentions) in [
            (["--", "--confg", "/etc/bma/bmad.yaml"], ["unknown option '--confg'; did you mean '--config'?"]),
            (["--", "--quiet"], ["--config PATH is required"]),
            (["--", "--config", "x.yaml", "--stats-interval", "abc"], ["'abc'", "--stats-interval"]),
            (["--", "--config", scratch.file("none.yaml")], ["\(scratch.file("none.yaml")): cannot read the configuration file: no such file"]),
        ] {
            let child = try ChildProcess(name: "bmad", executable: bmad, arguments: arguments, directory: scratch.path)
            XCTAssertEqual(try child.waitForExit(timeout: 10), .exited(2), "\(arguments): \(child.stderr)")
            XCTAssertEqual(child.stderr.split(separator: "\n").count, 1, "\(arguments): \(child.stderr)")
            for text in mentions { XCTAssertTrue(child.stderr.contains(text), "\(arguments): '\(text)' in \(child.stderr)") }
        }
        for (arguments, mentions) in cases {
            let child = try ChildProcess(name: "bmad", executable: bmad, arguments: arguments, directory: scratch.path)
            XCTAssertEqual(try child.waitForExit(timeout: 10), .exited(2), "\(arguments): \(child.stderr)")
            XCTAssertEqual(child.stderr.split(separator: "\n").count, 1, "\(arguments): \(child.stderr)")
            XCTAssertTrue(child.stderr.contains("bmad [EAL options] -- --config PATH"), child.stderr)
            for text in mentions { XCTAssertTrue(child.stderr.contains(text), "\(arguments): '\(text)' in \(child.stderr)") }
        }
    }

    /// Device and inode of each path: a file removed and created again is another file.
    private func identities(_ paths: [String]) throws -> [String] {
        try paths.map { path in
            var st = stat()
            guard lstat(path, &st) == 0 else { throw ScratchError(message: "\(path): \(String(cString: strerror(errno)))") }
            return "\(path) \(st.st_dev):\(st.st_ino)"
        }
    }
}
