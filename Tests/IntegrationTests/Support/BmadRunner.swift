import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A `bmad` configuration file, written as YAML.
struct BmadConfiguration {
    struct VM {
        var name: String
        var id: Int
        var devargs: String
        var mac: String? = nil
        var sensitivity: Double? = nil
    }

    var uplink: String
    var mirror: String? = nil
    var vms: [VM]
    var workers: [Int]? = nil
    var mempool: (mbufs: Int, cache: Int, dataRoom: Int)? = nil
    var queues: (rx: Int, tx: Int)? = nil
    /// More top-level YAML (a `mirror:` block, `detection:`), written as is.
    var extraYAML = ""

    var yaml: String {
        var out = "uplink: \(quote(uplink))\n" + extraYAML
        if let mirror { out += "mirror: \(quote(mirror))\n" }
        if let workers { out += "workers: [\(workers.map(String.init).joined(separator: ", "))]\n" }
        if let mempool { out += "mempool: {mbufs: \(mempool.mbufs), cache: \(mempool.cache), data_room: \(mempool.dataRoom)}\n" }
        if let queues { out += "queues: {rx_descriptors: \(queues.rx), tx_descriptors: \(queues.tx)}\n" }
        out += "vms:\n"
        for vm in vms {
            out += "  - name: \(quote(vm.name))\n    id: \(vm.id)\n    devargs: \(quote(vm.devargs))\n"
            if let mac = vm.mac { out += "    mac: \(quote(mac))\n" }
            if let s = vm.sensitivity { out += "    sensitivity: \(s)\n" }
        }
        return out
    }

    /// Single-quoted YAML scalar: devargs hold ',' '=' and '/'.
    private func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
}

/// A running `bmad` (EAL `-l 0,1`: main lcore 0, one worker on lcore 1).
final class BmadProcess {
    let child: ChildProcess
    let prefix: String
    let configPath: String
    let summaryPath: String

    struct Options {
        var lcores = "0,1"
        /// EAL `--lcores` map instead of `-l` (e.g. "0@0,1@1,2@1": two workers sharing CPU 1).
        var lcoreMap: String? = nil
        var memoryMB = 256
        var exitWhenIdleMs: Int? = nil
        var statsInterval: Double? = nil
        var extraEAL: [String] = []
        /// Another bmad binary than the test build's (e.g. the release build).
        var binary: String? = nil
        /// Extra environment ("NAME=value"), e.g. an LD_PRELOAD.
        var environment: [String] = []
    }

    init(_ config: BmadConfiguration, in scratch: ScratchDirectory, name: String = "bmad", options: Options = Options()) throws {
        let bmad = try options.binary ?? TestEnvironment.binary("bmad")
        // Each bmad gets its own control socket and state directory in the scratch directory.
        let control = "control: {socket: '\(scratch.file("\(name).sock"))', state_dir: '\(scratch.file("\(name)-state"))'}\n"
        configPath = try scratch.write(config.yaml + control, to: "\(name).yaml")
        summaryPath = scratch.file("\(name)-summary.json")
        prefix = DPDKRuntime.newPrefix(name)
        let lcoreArgs = options.lcoreMap.map { ["--lcores", $0] } ?? ["-l", options.lcores]
        var args = lcoreArgs + ["--file-prefix", prefix, "--no-pci", "-m", "\(options.memoryMB)"] + options.extraEAL
        args += ["--", "--config", configPath, "--summary-json", summaryPath]
        if let ms = options.exitWhenIdleMs { args += ["--exit-when-idle", "\(ms)"] }
        if let s = options.statsInterval { args += ["--stats-interval", "\(s)"] }
        if options.environment.isEmpty {
            child = try ChildProcess(name: name, executable: bmad, arguments: args, directory: scratch.path)
        } else {
            child = try ChildProcess(name: name, executable: "/usr/bin/env", arguments: options.environment + [bmad] + args,
                                     directory: scratch.path)
        }
        let prefix = prefix
        child.afterExit.append { DPDKRuntime.removeFiles(prefix: prefix) }
    }

    var pid: pid_t { child.pid }
    var isRunning: Bool { child.isRunning }
    var stdout: String { child.stdout }

    /// Waits for the `n`-th "bmad: <port>: link up" line.
    func waitForLinkUp(_ port: String, count: Int = 1, timeout: TimeInterval = 20) throws {
        try child.waitForLine(containing: "bmad: \(port): link up", count: count, timeout: timeout)
    }

    func waitForLinkDown(_ port: String, count: Int = 1, timeout: TimeInterval = 10) throws {
        try child.waitForLine(containing: "bmad: \(port): link down", count: count, timeout: timeout)
    }

    func linkEvents(_ port: String) -> (up: Int, down: Int) {
        (child.stdoutLines(containing: "bmad: \(port): link up").count,
         child.stdoutLines(containing: "bmad: \(port): link down").count)
    }

    /// Stops bmad with `signal` and returns how it exited. A bmad that does not stop within
    /// `timeout` is killed and the test fails.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 15) throws -> ExitStatus {
        child.signalProcess(signal)
        do {
            return try child.waitForExit(timeout: timeout)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
    }

    /// Waits for bmad to exit by itself (`--exit-when-idle`).
    @discardableResult
    func waitForExit(timeout: TimeInterval = 30) throws -> ExitStatus {
        do {
            return try child.waitForExit(timeout: timeout)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
    }

    /// The summary JSON bmad wrote on exit.
    func summary() throws -> BmadSummary {
        guard let data = FileManager.default.contents(atPath: summaryPath) else {
            throw ScratchError(message: "bmad wrote no summary at \(summaryPath)\n\(child.outputTail())")
        }
        return try JSONDecoder().decode(BmadSummary.self, from: data)
    }

    /// The `--stats-interval` lines printed so far, oldest first.
    var statsLines: [StatsLine] {
        child.stdout.split(separator: "\n").compactMap(StatsLine.init)
    }
}

/// One `--stats-interval` line: `[   1.2s] vm1 rx 10 (5/s) tx 0 | uplink rx 0 (0/s) tx 10 | drops 0`.
struct StatsLine {
    var uptime: Double
    var ports: [String: (rx: UInt64, tx: UInt64)]
    var drops: UInt64

    init?(_ line: Substring) {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
        guard let t = Double(line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces).dropLast()) else { return nil }
        uptime = t
        ports = [:]
        drops = 0
        for part in line[line.index(after: close)...].split(separator: "|") {
            let w = part.split(separator: " ")
            if w.count == 2, w[0] == "drops", let d = UInt64(w[1]) {
                drops = d
            } else if w.count == 6, w[1] == "rx", w[4] == "tx", let rx = UInt64(w[2]), let tx = UInt64(w[5]) {
                ports[String(w[0])] = (rx, tx)
            } else {
                return nil
            }
        }
    }
}

/// The summary JSON of bmad (Sources/Dataplane/StatsSnapshot.swift), decoded field by field so a
/// renamed or missing field fails the test.
struct BmadSummary: Decodable {
    struct Queue: Decodable {
        var queue: Int
        var lcore: UInt32
        var rxPackets, rxBytes, txPackets, txBytes, txFull: UInt64

        enum CodingKeys: String, CodingKey {
            case queue, lcore, rxPackets = "rx_packets", rxBytes = "rx_bytes", txPackets = "tx_packets"
            case txBytes = "tx_bytes", txFull = "tx_full"
        }
    }

    struct Device: Decodable {
        var ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors: UInt64
        var rxNombuf: UInt64

        enum CodingKeys: String, CodingKey {
            case ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rxNombuf = "rx_nombuf"
        }
    }

    struct Port: Decodable {
        var name: String
        var role: String
        var vmId: UInt32?
        var portId: UInt16
        var driver: String
        var devargs: String
        var mac: String?
        var linkUp: Bool?
        var linkChanges: UInt64
        var rxPackets, rxBytes, txPackets, txBytes, txFull: UInt64
        var queues: [Queue]
        var device: Device

        enum CodingKeys: String, CodingKey {
            case name, role, vmId = "vm_id", portId = "port_id", driver, devargs, mac, linkUp = "link_up"
            case linkChanges = "link_changes", rxPackets = "rx_packets", rxBytes = "rx_bytes"
            case txPackets = "tx_packets", txBytes = "tx_bytes", txFull = "tx_full", queues, device
        }
    }

    struct Lcore: Decodable {
        var lcore: UInt32
        var worker: Int
        var loops, bursts, rxPackets, txPackets: UInt64

        enum CodingKeys: String, CodingKey {
            case lcore, worker, loops, bursts, rxPackets = "rx_packets", txPackets = "tx_packets"
        }
    }

    struct VM: Decodable {
        var name: String
        var mirrored, mirroredIncoming, mirroredBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case name, mirrored, mirroredIncoming = "mirrored_incoming", mirroredBytes = "mirrored_bytes"
        }
    }

    struct Mirror: Decodable {
        var sent, sentBytes: UInt64

        enum CodingKeys: String, CodingKey { case sent, sentBytes = "sent_bytes" }
    }

    var uptimeSeconds: Double
    var ports: [Port]
    var lcores: [Lcore]
    var drops: [String: UInt64]
    var malformed: [String: UInt64]
    var broadcastCopies: UInt64
    var vms: [VM]
    var mirror: Mirror

    enum CodingKeys: String, CodingKey {
        case uptimeSeconds = "uptime_s", ports, lcores, drops, malformed, broadcastCopies = "broadcast_copies", vms, mirror
    }

    func port(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Port {
        guard let p = ports.first(where: { $0.name == name }) else {
            XCTFail("summary has no port '\(name)' (ports: \(ports.map(\.name)))", file: file, line: line)
            throw ScratchError(message: "no port \(name)")
        }
        return p
    }

    /// Invariants of every summary: per-queue counters sum to the port totals; per-lcore rx/tx
    /// sum to the port rx/tx; the tx-full drop equals the ports' tx_full; the copies the VMs
    /// count are the copies the mirror queue sent are what the mirror port transmitted.
    func assertConsistent(file: StaticString = #filePath, line: UInt = #line) {
        for p in ports {
            XCTAssertEqual(p.queues.reduce(0) { $0 + $1.rxPackets }, p.rxPackets, "\(p.name): queue rx_packets sum", file: file, line: line)
            XCTAssertEqual(p.queues.reduce(0) { $0 + $1.rxBytes }, p.rxBytes, "\(p.name): queue rx_bytes sum", file: file, line: line)
            XCTAssertEqual(p.queues.reduce(0) { $0 + $1.txPackets }, p.txPackets, "\(p.name): queue tx_packets sum", file: file, line: line)
            XCTAssertEqual(p.queues.reduce(0) { $0 + $1.txBytes }, p.txBytes, "\(p.name): queue tx_bytes sum", file: file, line: line)
            XCTAssertEqual(p.queues.reduce(0) { $0 + $1.txFull }, p.txFull, "\(p.name): queue tx_full sum", file: file, line: line)
        }
        XCTAssertEqual(lcores.reduce(0) { $0 + $1.rxPackets }, ports.reduce(0) { $0 + $1.rxPackets }, "lcore rx_packets sum", file: file, line: line)
        XCTAssertEqual(lcores.reduce(0) { $0 + $1.txPackets }, ports.reduce(0) { $0 + $1.txPackets }, "lcore tx_packets sum", file: file, line: line)
        XCTAssertEqual(drops["tx-full"], ports.reduce(0) { $0 + $1.txFull }, "drops[tx-full] vs ports' tx_full", file: file, line: line)
        XCTAssertEqual(vms.reduce(0) { $0 + $1.mirrored + $1.mirroredIncoming }, mirror.sent, "VMs' copies vs mirror sent", file: file, line: line)
        XCTAssertEqual(vms.reduce(0) { $0 + $1.mirroredBytes }, mirror.sentBytes, "VMs' copied bytes vs mirror sent_bytes", file: file, line: line)
        if let port = ports.first(where: { $0.role == "mirror" }) {
            XCTAssertEqual(port.txPackets, mirror.sent, "mirror port tx_packets vs mirror sent", file: file, line: line)
            XCTAssertEqual(port.txBytes, mirror.sentBytes, "mirror port tx_bytes vs mirror sent_bytes", file: file, line: line)
        } else {
            XCTAssertEqual(mirror.sent, 0, "copies sent without a mirror port", file: file, line: line)
        }
    }
}

/// Runs bmad on a configuration file that must be rejected, and returns how it ended.
struct RejectedRun {
    var status: ExitStatus
    var stdout: String
    var stderr: String
    /// Whether EAL had created its runtime directory, i.e. bmad got as far as starting EAL.
    var ealStarted: Bool
}

extension BmadProcess {
    /// Runs `bmad -l 0,1 --file-prefix P --no-pci -m 64 -- --config <file> ...` to completion.
    static func runExpectingRejection(config contents: Data, in scratch: ScratchDirectory, name: String) throws -> RejectedRun {
        let bmad = try TestEnvironment.binary("bmad")
        let config = scratch.file("\(name).yaml")
        try contents.write(to: URL(fileURLWithPath: config))
        let prefix = DPDKRuntime.newPrefix(name)
        let child = try ChildProcess(
            name: name, executable: bmad,
            arguments: ["-l", "0,1", "--file-prefix", prefix, "--no-pci", "-m", "64", "--",
                        "--config", config, "--summary-json", scratch.file("\(name)-summary.json"),
                        // Should the configuration be accepted after all, the run still ends.
                        "--exit-when-idle", "200"],
            directory: scratch.path)
        var ealStarted = false
        child.afterExit.append {
            ealStarted = FileManager.default.fileExists(atPath: "\(DPDKRuntime.runtimeDirectory)/\(prefix)")
            DPDKRuntime.removeFiles(prefix: prefix)
        }
        let status: ExitStatus
        do {
            status = try child.waitForExit(timeout: 15)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
        return RejectedRun(status: status, stdout: child.stdout, stderr: child.stderr, ealStarted: ealStarted)
    }
}
