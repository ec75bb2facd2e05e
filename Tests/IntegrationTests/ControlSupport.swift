import Control
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// Helpers of the control-plane tests (Control*Tests): a live bmad with its own configuration
// (detection settings, a Geneve mirror, a control socket and state directory the test chooses),
// VM ports fed through named pipes while bmad runs, the control client, and a decoder for the
// mirror's Geneve copies.
//
// How a VM is driven: its port is `net_pcap0,rx_pcap=FIFO`. net_pcap reads the pipe with
// libpcap (blocking stdio reads), stamps every frame with its capture time, and bmad uses that as
// the packet clock. So the test decides the packet time of every frame (a learning period can be
// passed in one frame), and can change policies between traffic phases. Three consequences
// shape the tests:
//
// - One rx burst is 32 frames and net_pcap returns a burst only when it has read 32 records
//   (or at end of file): every phase writes a multiple of 32 frames per VM, and with several
//   VMs on the one worker every VM gets the same number of bursts.
// - While the pipe is open and empty the worker sits in that read. Control requests that only
//   read counters or publish policies do not need the worker; those that go through its
//   mailbox (baseline.show/reset/freeze, mirror.force) are applied between bursts, so they are
//   sent from a second thread and followed by one burst of filler frames (see
//   `ControlDaemon.callThroughWorker`). Likewise the worker takes a new policy snapshot at the
//   top of its loop, before that read: the burst after a policy change is still judged by the
//   snapshot it held (ControlPolicyTests.passQuiescentPoint).
// - bmad is started with `--quiet`: its log calls `fflush(NULL)`, which waits for the lock of
//   every stdio stream, including the one the worker holds while it waits in that read, so a
//   log line would stall the control plane until the next frame arrives (see
//   ControlRobustnessTests.testControlAnswersWhileAVMPipeIsIdle).

// MARK: - Test case

/// Base of the control tests: skips without root or hugepages, and stops what a test started
/// (pipes first: a worker waiting in a pipe read cannot stop until the pipe reaches its end).
class ControlTestCase: IntegrationTestCase {
    private var daemons: [ControlDaemon] = []
    private var streams: [ControlPcapStream] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        try TestEnvironment.requireDPDK(hugepagesMB: 256)
    }

    override func tearDownWithError() throws {
        for s in streams { s.close() }
        streams.removeAll()
        for d in daemons.reversed() { d.child.kill(signal: SIGTERM, grace: 5) }
        daemons.removeAll()
        try super.tearDownWithError()
    }

    /// Starts bmad; for each pipe in `pipes` (in VM order) waits until bmad opens it and writes
    /// the capture header (bmad probes its ports one by one and blocks on each header), then
    /// waits until the control socket answers.
    func startDaemon(_ config: ControlDaemonConfig, in scratch: ScratchDirectory, name: String = "bmad",
                     quiet: Bool = true, pipes: [String] = []) throws -> (ControlDaemon, [ControlPcapStream]) {
        let daemon = try ControlDaemon(config, in: scratch, name: name, quiet: quiet)
        daemons.append(daemon)
        var opened: [ControlPcapStream] = []
        for p in pipes {
            let s = try ControlPcapStream(fifo: p, reader: daemon)
            streams.append(s)
            opened.append(s)
        }
        try daemon.waitUntilServing()
        return (daemon, opened)
    }
}

// MARK: - bmad

/// A bmad configuration with the sections the control tests need.
struct ControlDaemonConfig {
    struct VM {
        var name: String
        var id: Int
        var devargs: String
        /// `vms[].sensitivity` (nil: not given).
        var sensitivity: Double? = nil
        /// `vms[].mac` (nil: learned from what the VM sends).
        var mac: String? = nil
    }

    var uplink: String
    var vms: [VM]
    /// Mirror port devargs (nil: no mirror).
    var mirror: String? = nil
    var encapsulation = "geneve"
    /// `detection:` entries, e.g. ["learning_seconds": "10"].
    var detection: [String: String] = [:]
    var socket: String
    var stateDirectory: String
    var group: String? = nil
    var saveSeconds: Double? = nil

    static let collector = "192.0.2.10"
    static let mirrorSource = "192.0.2.1"
    static let nextHop = "02:00:00:00:00:99"

    var yaml: String {
        var out = "uplink: \(Self.quote(uplink))\n"
        if let mirror {
            out += """
                mirror:
                  devargs: \(Self.quote(mirror))
                  encapsulation: \(encapsulation)
                  collectors: [\(Self.collector)]
                  next_hop_mac: '\(Self.nextHop)'
                  source_ip: \(Self.mirrorSource)

                """
        }
        if !detection.isEmpty {
            out += "detection:\n" + detection.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)\n" }.joined()
        }
        out += "control:\n  socket: \(Self.quote(socket))\n  state_dir: \(Self.quote(stateDirectory))\n"
        if let group { out += "  group: \(Self.quote(group))\n" }
        if let saveSeconds { out += "  save_seconds: \(saveSeconds)\n" }
        out += "vms:\n"
        for vm in vms {
            out += "  - name: \(Self.quote(vm.name))\n    id: \(vm.id)\n    devargs: \(Self.quote(vm.devargs))\n"
            if let s = vm.sensitivity { out += "    sensitivity: \(s)\n" }
            if let mac = vm.mac { out += "    mac: \(Self.quote(mac))\n" }
        }
        return out
    }

    private static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
}

/// A running bmad (`-l 0,1`: main lcore 0 serves the control socket, one worker on lcore 1).
final class ControlDaemon {
    let child: ChildProcess
    let config: ControlDaemonConfig
    let summaryPath: String
    private let prefix: String
    private static let starts = ControlCounter()

    init(_ config: ControlDaemonConfig, in scratch: ScratchDirectory, name: String, quiet: Bool) throws {
        let bmad = try TestEnvironment.binary("bmad")
        self.config = config
        // A name per start: a test may restart bmad on the same state directory.
        let run = "\(name)-\(Self.starts.next())"
        let path = try scratch.write(config.yaml, to: "\(run).yaml")
        summaryPath = scratch.file("\(run)-summary.json")
        prefix = DPDKRuntime.newPrefix(name)
        var args = ["-l", "0,1", "--file-prefix", prefix, "--no-pci", "-m", "256", "--",
                    "--config", path, "--summary-json", summaryPath]
        if quiet { args.append("--quiet") }
        child = try ChildProcess(name: run, executable: bmad, arguments: args, directory: scratch.path)
        let prefix = prefix
        child.afterExit.append { DPDKRuntime.removeFiles(prefix: prefix) }
    }

    var socket: String { config.socket }
    var isRunning: Bool { child.isRunning }

    func checkRunning() throws {
        if !child.isRunning { throw ChildProcessError.exitedEarly(child.name, child.exitStatus!, child.outputTail()) }
    }

    /// Waits until `status` is answered on the control socket.
    func waitUntilServing(timeout: TimeInterval = 30) throws {
        var last = ""
        try waitUntil("bmad answers on \(socket)", timeout: timeout, interval: 0.05, context: { "last error: \(last)\n" + self.child.outputTail() }) {
            try checkRunning()
            do {
                let c = try ControlClient(path: socket, timeout: 5)
                defer { c.close() }
                _ = try c.call("status")
                return true
            } catch {
                last = "\(error)"
                return false
            }
        }
    }

    /// A new connection to the control socket.
    func client(timeout: Double = 10) throws -> ControlClient {
        try ControlClient(path: socket, timeout: timeout)
    }

    /// The VM's counters as `stats` gives them (`vms[]` of the summary).
    func vmCounters(_ client: ControlClient, _ vm: String) throws -> [String: JSONValue] {
        let stats = try client.call("stats")
        guard let o = stats["vms"]?.arrayValue?.first(where: { $0["name"]?.stringValue == vm })?.objectValue else {
            throw ScratchError(message: "stats has no VM \(vm): \(stats)")
        }
        return o
    }

    /// Waits until the VM has forwarded at least `count` frames to the uplink: every frame of
    /// those bursts has been judged and its mirror copy (made before forwarding) written.
    func waitForForwarded(_ client: ControlClient, vm: String, _ count: Int, timeout: TimeInterval = 20) throws {
        var seen = -1
        try waitUntil("\(vm) forwarded \(count) frames", timeout: timeout, interval: 0.01,
                      context: { "forwarded: \(seen)\n" + self.child.outputTail() }) {
            try checkRunning()
            seen = try vmCounters(client, vm)["forwarded"]?.intValue ?? -1
            return seen >= count
        }
    }

    /// Sends a request that the VM's worker must apply (its mailbox), while the worker waits in
    /// the read of `stream`: the request goes out from another thread; once bmad's main thread
    /// waits for the worker (it sleeps in 100 µs steps: its wchan shows a nanosleep, instead of
    /// the poll of its main loop; at most 1 s is given to see that), `fillers` (one burst: 32
    /// frames) are written, so that the worker finishes its burst and, at the top of its loop,
    /// applies the command. The fillers are judged before the command takes effect.
    func callThroughWorker(_ method: String, params: [String: JSONValue], stream: ControlPcapStream,
                           fillers: [ControlTimedFrame]) throws -> JSONValue {
        precondition(fillers.count == 32, "one burst of fillers")
        let client = try self.client(timeout: 15)
        let outcome = ControlLocked<Result<JSONValue, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let call = ControlUnchecked((client, method, params))
        Thread.detachNewThread {
            let (c, m, p) = call.value
            let r = Result { try c.call(m, params: p) }
            outcome.set(r)
            done.signal()
        }
        let wchan = "/proc/\(child.pid)/wchan"
        let deadline = Date().addingTimeInterval(1)
        var seen = 0
        Thread.sleep(forTimeInterval: 0.02)
        while Date() < deadline && seen < 2 {
            let w = (try? String(contentsOfFile: wchan, encoding: .utf8)) ?? ""
            seen = w.contains("nanosleep") ? seen + 1 : 0
            Thread.sleep(forTimeInterval: 0.005)
        }
        try stream.send(fillers)
        guard done.wait(timeout: .now() + 20) == .success, let result = outcome.get() else {
            throw ScratchError(message: "\(method): no answer within 20 s\n\(child.outputTail())")
        }
        client.close()
        return try result.get()
    }

    /// SIGTERM and wait; a bmad that does not stop within `timeout` is killed and the test fails.
    @discardableResult
    func stop(timeout: TimeInterval = 15) throws -> ExitStatus {
        child.signalProcess(SIGTERM)
        do {
            return try child.waitForExit(timeout: timeout)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
    }

    /// SIGKILL, as a crash; reaps it (and removes its DPDK files).
    func kill9() {
        child.kill(signal: SIGKILL)
    }

    /// The port, queue and lcore counters of the summary written at exit.
    func portSummary() throws -> BmadSummary {
        guard let data = FileManager.default.contents(atPath: summaryPath) else {
            throw ScratchError(message: "bmad wrote no summary at \(summaryPath)\n\(child.outputTail())")
        }
        return try JSONDecoder().decode(BmadSummary.self, from: data)
    }

    /// The summary JSON written at exit.
    func summary() throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: summaryPath) else {
            throw ScratchError(message: "bmad wrote no summary at \(summaryPath)\n\(child.outputTail())")
        }
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }
}

// MARK: - Feeding a VM port

/// A frame and its capture time (ns; a multiple of 1000, since pcap keeps microseconds).
struct ControlTimedFrame {
    var ns: UInt64
    var bytes: [UInt8]
}

/// The write end of a named pipe that a net_pcap port of bmad reads as a capture file.
final class ControlPcapStream: @unchecked Sendable {
    let path: String
    private var fd: Int32 = -1
    private let lock = NSLock()
    private(set) var written: [ControlTimedFrame] = []

    /// Opens the pipe once bmad has opened its read end (bounded wait) and writes the header.
    init(fifo path: String, reader: ControlDaemon, timeout: TimeInterval = 20) throws {
        self.path = path
        var fd: Int32 = -1
        try waitUntil("bmad opens \(path)", timeout: timeout, context: { reader.child.outputTail() }) {
            fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { return true }
            guard errno == ENXIO else { throw ScratchError(message: "open \(path): \(String(cString: strerror(errno)))") }
            try reader.checkRunning()
            return false
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        // Room for whole phases (and for phases of other VMs written before this one's).
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        self.fd = fd
        // Classic pcap, microseconds, little endian, Ethernet.
        var header: [UInt8] = []
        for v: UInt32 in [0xA1B2_C3D4] { header += Self.le32(v) }
        header += [2, 0, 4, 0] + Self.le32(0) + Self.le32(0) + Self.le32(65535) + Self.le32(1)
        try writeAll(header)
    }

    deinit { close() }

    /// Writes the frames (records with their capture times).
    func send(_ frames: [ControlTimedFrame]) throws {
        var bytes: [UInt8] = []
        for f in frames {
            precondition(f.ns % 1000 == 0, "capture times are microseconds")
            let us = f.ns / 1000
            bytes += Self.le32(UInt32(us / 1_000_000)) + Self.le32(UInt32(us % 1_000_000))
            bytes += Self.le32(UInt32(f.bytes.count)) + Self.le32(UInt32(f.bytes.count)) + f.bytes
        }
        try writeAll(bytes)
        lock.lock()
        written += frames
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return written.count
    }

    var frames: [[UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        return written.map(\.bytes)
    }

    /// End of the capture: net_pcap sees end of file and the worker stops waiting on it.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { throw ScratchError(message: "\(path) is closed") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ScratchError(message: "write to \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    static func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)]
    }
}

// MARK: - Frames

/// The crafted traffic of the control tests: each frame names itself in its payload (UDP) or
/// sequence number (TCP), so every frame of a run is distinct.
enum ControlFrames {
    static let gateway = DetectionFrames.mac("02:00:00:00:00:fe")
    /// 2023-11-14T22:13:20Z: packet time of the tests that choose their own clock.
    static let t0: UInt64 = 1_700_000_000 * 1_000_000_000
    static let second: UInt64 = 1_000_000_000
    static let millisecond: UInt64 = 1_000_000

    static func mac(vm: Int) -> MACAddress { DetectionFrames.mac(String(format: "02:00:00:00:01:%02x", vm)) }
    static func ip(_ text: String) -> IPv4Address { DetectionFrames.ip(text) }

    static func udp(vm: Int, from source: String, to destination: String, port: UInt16, tag: String) -> [UInt8] {
        DetectionFrames.udp(from: mac(vm: vm), to: gateway, ip(source), ip(destination),
                            sourcePort: 40000 + port % 1000, destinationPort: port, tag: tag)
    }

    static func tcp(vm: Int, from source: String, to destination: String, port: UInt16, sequence: UInt32) -> [UInt8] {
        DetectionFrames.tcpSyn(from: mac(vm: vm), to: gateway, ip(source), ip(destination),
                               sourcePort: 50000 + UInt16(sequence % 10000), destinationPort: port, sequence: sequence)
    }

    /// `frames` stamped from `start`, `step` apart.
    static func timed(_ frames: [[UInt8]], from start: UInt64, step: UInt64 = 10 * millisecond) -> [ControlTimedFrame] {
        frames.enumerated().map { ControlTimedFrame(ns: start + UInt64($0.offset) * step, bytes: $0.element) }
    }

    /// Wall-clock now in ns, rounded down to the microsecond.
    static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)) / 1000 * 1000
    }
}

/// What the tests read back from a frame: IPv4 protocol, destination and destination port.
struct ControlFrameInfo: Equatable, CustomStringConvertible {
    var proto: UInt8
    var destination: String
    var destinationPort: UInt16

    init?(_ frame: [UInt8]) {
        guard frame.count >= 38, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4 else { return nil }
        let ihl = Int(frame[14] & 0x0F) * 4
        proto = frame[23]
        destination = frame[30..<34].map(String.init).joined(separator: ".")
        guard frame.count >= 14 + ihl + 4 else { return nil }
        destinationPort = UInt16(frame[14 + ihl + 2]) << 8 | UInt16(frame[14 + ihl + 3])
    }

    var isUDP: Bool { proto == 17 }
    var isTCP: Bool { proto == 6 }
    var description: String { "\(proto == 6 ? "tcp" : proto == 17 ? "udp" : "ip\(proto)")/\(destinationPort) to \(destination)" }
}

// MARK: - Mirror copies

/// One Geneve copy from the mirror port: outer Ethernet/IPv4/UDP 6081, Geneve with the BMA
/// option (class 0xFFF0, type 0x42, 24 bytes at offset 54), then the copied frame at 78.
struct ControlMirrorCopy {
    static let forced: UInt8 = 0x08
    static let sticky: UInt8 = 0x02
    static let preTrigger: UInt8 = 0x01

    var vni: UInt32
    var version: UInt8
    var flags: UInt8
    var policyID: UInt16
    var reasons: UInt32
    var scoreMilli: UInt32
    var originalLength: UInt32
    var timestampNs: UInt64
    var inner: [UInt8]

    enum DecodeError: Error, CustomStringConvertible {
        case notGeneve(String)
        var description: String { if case .notGeneve(let s) = self { return "not a BMA Geneve copy: \(s)" }; return "" }
    }

    init(_ d: [UInt8]) throws {
        func be16(_ o: Int) -> UInt32 { UInt32(d[o]) << 8 | UInt32(d[o + 1]) }
        func be32(_ o: Int) -> UInt32 { be16(o) << 16 | be16(o + 2) }
        guard d.count >= 78 else { throw DecodeError.notGeneve("\(d.count) bytes") }
        guard be16(12) == 0x0800, d[23] == 17, be16(36) == 6081 else { throw DecodeError.notGeneve("not UDP 6081: \(hex(d))") }
        guard d[42] & 0x3F == 7, be16(44) == 0x6558, be16(50) == 0xFFF0, d[52] == 0x42, d[53] & 0x1F == 6 else {
            throw DecodeError.notGeneve("no BMA option: \(hex(d))")
        }
        vni = be32(45) & 0xFF_FFFF
        version = d[54]
        flags = d[55]
        policyID = UInt16(be16(56))
        reasons = be32(58)
        scoreMilli = be32(62)
        originalLength = be32(66)
        timestampNs = UInt64(be32(70)) << 32 | UInt64(be32(74))
        inner = Array(d[78...])
    }

    /// Every record of a mirror capture, decoded.
    static func read(_ path: String) throws -> [ControlMirrorCopy] {
        try PcapCapture.read(path: path).records.map { try ControlMirrorCopy($0.data) }
    }
}

// MARK: - Small things

/// A value shared between threads behind a lock.
final class ControlLocked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
    func set(_ v: T) {
        lock.lock()
        value = v
        lock.unlock()
    }
    func update<R>(_ body: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// Hands a value to another thread that alone uses it from then on.
struct ControlUnchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

final class ControlCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// Asserts that `body` fails with the control error `code`; returns the message.
@discardableResult
func assertControlError(_ code: ControlErrorCode, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                        _ body: () throws -> Any) -> String? {
    do {
        let r = try body()
        XCTFail("\(what): expected \(code.rawValue), got the result \(r)", file: file, line: line)
    } catch let e as ControlError {
        XCTAssertEqual(e.code, code, "\(what): \(e.message)", file: file, line: line)
        return e.message
    } catch {
        XCTFail("\(what): expected \(code.rawValue), got \(error)", file: file, line: line)
    }
    return nil
}

extension JSONValue {
    /// The ids of `policy.list`'s policies, in its order.
    var policyIDs: [Int] { self["policies"]?.arrayValue?.compactMap { $0["id"]?.intValue } ?? [] }
}
