import Control
import Foundation
import Glibc
import XCTest

/// Results shaped like docs/control-protocol.md, for a stub bmad.
enum BmactlCanned {
    static let status: JSONValue = [
        "version": "0.3.0", "uptime_s": 3723.5, "pid": 4242, "workers": 2, "vms": 2, "policies": 2,
        "policy_generation": 7, "state_dir": "/var/lib/bma",
    ]

    static let vmList: JSONValue = [
        "vms": [
            ["name": "web1", "id": 101, "mac": "52:54:00:00:01:01", "link_up": true, "outgoing": 123456,
             "mirrored": 42, "learning": false, "frozen": true, "sensitivity": 2.5],
            ["name": "db1", "id": 102, "mac": "52:54:00:00:01:02", "link_up": false, "outgoing": 999,
             "mirrored": 0, "learning": true, "frozen": false, "sensitivity": .null],
        ],
    ]

    static let dnsPolicy: JSONValue = [
        "id": 10, "name": "dns of web1", "priority": 100,
        "match": ["vms": ["web1", 102], "protocol": "udp", "dst_ports": "53,853", "direction": "out"],
        "action": ["mirror": "always", "snaplen": 128],
    ]

    static let policyList: JSONValue = [
        "generation": 7,
        "policies": [
            dnsPolicy,
            ["id": 3, "name": "quiet backups", "priority": -5,
             "match": ["src_cidr": "10.0.0.0/8", "size_min": 1000, "direction": "in"],
             "action": ["mirror": "never"]],
        ],
    ]

    static let vmShow: JSONValue = [
        "name": "web1", "id": 101, "outgoing": 123456, "anomalous": 17,
        "reasons": ["new-service": 12, "rate": 5, "size": 0],
        "baseline": ["learned_packets": 100000, "services": 4, "frozen": true],
        "forced_until": .null,
    ]

    static let baselineShow: JSONValue = [
        "vm": "web1", "learned_packets": 250000, "learning": false, "frozen": true, "hosts": 12, "destinations": 30,
        "services": [
            ["key": "udp/53", "packets": 1200, "peak": 40.5, "size_mean": 84.2, "size_std": 10.1],
            ["key": "tcp/443", "packets": 200000, "peak": 3000, "size_mean": 900, "size_std": 400],
        ],
    ]

    static let baselineDocument: JSONValue = [
        "format": 1, "first_seen": "17a2b3c4d5e6f708", "learned_packets": 250000, "frozen": true,
        "services": [["key": "3f2a", "packets": 1200, "last_seen": "17a2b3c4d5e6f999"]],
        "hosts": [], "destinations": [],
    ]

    static let config: JSONValue = [
        "control": ["socket": "/run/bma/bmad.sock", "group": "bma"],
        "vms": [["name": "web1", "id": 101], ["name": "db1", "id": 102]],
        "workers": 2,
    ]

    /// Counters after `tick` calls: every tick is one second of uptime in which web1 sends
    /// 1500 packets (20 anomalous, 10 mirrored, 4 new-service reasons) and db1 sends 10.
    static func stats(tick: Int) -> JSONValue {
        let t = Double(tick)
        func vm(_ name: String, _ id: Int, outgoing: Double, anomalous: Double, mirrored: Double, newService: Double) -> JSONValue {
            ["name": .string(name), "id": .number(Double(id)), "mac": "52:54:00:00:01:01", "seen": .number(outgoing),
             "outgoing": .number(outgoing), "incoming": 0, "forwarded": .number(outgoing), "learning": 0,
             "anomalous": .number(anomalous), "sticky": 0, "forced": 0, "suppressed": 0, "mirror_decisions": .number(mirrored),
             "reasons": ["new-service": .number(newService), "rate": 1, "size": 0],
             "mirrored": .number(mirrored), "mirrored_bytes": .number(mirrored * 100), "mirrored_incoming": 0,
             "pre_trigger": 0, "budget_drops": 2, "policy_budget_drops": 0, "mirror_drops": 1, "baseline": .null]
        }
        return [
            "uptime_s": .number(100 + t),
            "ports": [
                ["name": "uplink", "role": "uplink", "port_id": 0, "driver": "net_pcap", "devargs": "", "mac": .null,
                 "link_up": true, "link_changes": 0, "rx_packets": .number(5000 + 2000 * t), "rx_bytes": .number(3_400_000),
                 "tx_packets": .number(1510 * t), "tx_bytes": 1000, "tx_full": 0, "queues": [],
                 "device": ["ipackets": 0, "opackets": 0, "ibytes": 0, "obytes": 0, "imissed": 3, "ierrors": 0,
                            "oerrors": 0, "rx_nombuf": 0]],
            ],
            "lcores": [["lcore": 2, "worker": 0, "loops": 1_000_000, "bursts": 5000, "rx_packets": 7000, "tx_packets": 7000]],
            "drops": ["tx-full": 0, "unknown-destination": .number(12 + t)],
            "malformed": [:],
            "broadcast_copies": 4,
            "vms": [
                vm("db1", 102, outgoing: 10 * t, anomalous: 0, mirrored: 0, newService: 0),
                vm("web1", 101, outgoing: 1500 * t, anomalous: 20 * t, mirrored: 10 * t, newService: 4 * t),
            ],
            "mirror": ["sent": .number(10 * t), "sent_bytes": .number(1000 * t), "nombuf": 0, "ringfull": 0, "too_big": 0],
        ]
    }
}

/// A ControlServer answering canned results on a temporary socket, stepped on its own thread,
/// recording every request.
final class BmactlStubDaemon: @unchecked Sendable {
    enum Mode {
        case normal
        /// Results of unexpected shapes.
        case odd
        /// Answers nothing for `delay` seconds.
        case slow(Double)
    }

    let directory: String
    let path: String
    private let mode: Mode
    private let server: ControlServer
    private let lock = NSLock()
    private var stopping = false
    private var recorded: [ControlRequest] = []
    private var statsTicks = 0
    private let finished = DispatchSemaphore(value: 0)

    init(mode: Mode = .normal) throws {
        var template = Array("/tmp/bmactl-test-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        path = directory + "/bmad.sock"
        self.mode = mode
        server = try ControlServer(path: path)
        let thread = Thread { [self] in
            while !isStopping { server.step(timeoutMs: 20, handler: handle) }
            finished.signal()
        }
        thread.stackSize = 4 << 20
        thread.start()
    }

    deinit { stop() }

    func stop() {
        lock.lock()
        let already = stopping
        stopping = true
        lock.unlock()
        guard !already else { return }
        _ = finished.wait(timeout: .now() + 10)
        server.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Every request received so far.
    var requests: [ControlRequest] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    func requests(_ method: String) -> [ControlRequest] { requests.filter { $0.method == method } }

    private func handle(_ request: ControlRequest, _ peer: Peer) -> Result<JSONValue, ControlError> {
        lock.lock()
        recorded.append(request)
        lock.unlock()
        switch mode {
        case .normal: return normal(request)
        case .odd: return odd(request)
        case .slow(let delay):
            usleep(UInt32(delay * 1_000_000))
            return normal(request)
        }
    }

    private func normal(_ request: ControlRequest) -> Result<JSONValue, ControlError> {
        let p = request.params
        switch request.method {
        case "status": return .success(BmactlCanned.status)
        case "stats":
            lock.lock()
            statsTicks += 1
            let tick = statsTicks
            lock.unlock()
            return .success(BmactlCanned.stats(tick: tick))
        case "vm.list": return .success(BmactlCanned.vmList)
        case "vm.show", "baseline.show", "baseline.freeze", "baseline.unfreeze", "baseline.reset",
             "baseline.export", "baseline.import", "mirror.force":
            guard p["vm"] == "web1" || p["vm"] == 101 else {
                return .failure(ControlError(.notFound, "no VM named '\(p["vm"]?.stringValue ?? "\(p["vm"] ?? .null)")'"))
            }
            switch request.method {
            case "vm.show": return .success(BmactlCanned.vmShow)
            case "baseline.show": return .success(BmactlCanned.baselineShow)
            case "baseline.freeze": return .success(["vm": "web1", "frozen": true])
            case "baseline.unfreeze": return .success(["vm": "web1", "frozen": false])
            case "baseline.export": return .success(["vm": "web1", "baseline": BmactlCanned.baselineDocument])
            case "mirror.force": return .success(["vm": "web1", "until": 4_102_444_800])
            default: return .success(["vm": "web1"])
            }
        case "policy.list": return .success(BmactlCanned.policyList)
        case "policy.show":
            guard p["id"] == 10 else { return .failure(ControlError(.notFound, "no policy with id \(p["id"] ?? .null)")) }
            return .success(BmactlCanned.dnsPolicy)
        case "policy.add":
            if p["id"] == 10 { return .failure(ControlError(.conflict, "policy 10 already exists")) }
            var stored = p
            if stored["id"] == nil { stored["id"] = 11 }
            return .success(.object(stored))
        case "policy.update": return .success(.object(p))
        case "policy.remove": return .success(["id": p["id"] ?? .null])
        case "policy.replace": return .success(["generation": 8, "count": .number(Double(p["policies"]?.arrayValue?.count ?? 0))])
        case "sensitivity.set":
            var result: [String: JSONValue] = ["value": p["value"] ?? .null]
            if let vm = p["vm"] { result["vm"] = vm }
            return .success(.object(result))
        case "config.show": return .success(BmactlCanned.config)
        default: return .failure(.methodNotFound(request.method))
        }
    }

    private func odd(_ request: ControlRequest) -> Result<JSONValue, ControlError> {
        switch request.method {
        case "vm.list": return .success(["vms": "not a list", "note": ["nested": [1, 2, ["deep": true]]]])
        case "status": return .success(["a", 1, .null])
        case "policy.list": return .success(["policies": [["id": 1], "junk"]])
        case "stats": return .success(42)
        case "baseline.show": return .success(["vm": "web1", "services": "none", "extra": [:]])
        default: return .success(.null)
        }
    }
}

/// What one run of the bmactl binary did.
struct BmactlRun {
    var status: Int32
    var stdout: String
    var stderr: String

    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
}

/// Finds and runs the built bmactl.
enum BmactlBinary {
    /// `$BMA_BIN_DIR/bmactl`, else `<package root>/.build/debug/bmactl`.
    static var path: String {
        if let dir = ProcessInfo.processInfo.environment["BMA_BIN_DIR"], !dir.isEmpty { return dir + "/bmactl" }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/bmactl").path
    }

    static func require() throws -> String {
        let p = path
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw XCTSkip("bmactl is not built at \(p) (set BMA_BIN_DIR to the directory holding it)")
        }
        return p
    }

    /// Starts bmactl without waiting for it; its stdout and stderr go to /dev/null.
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try require())
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    private final class Collected: @unchecked Sendable {
        var data = Data()
    }

    /// Runs bmactl with `arguments` (bounded by `seconds`), feeding `stdin`.
    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                    seconds: Double = 20) throws -> BmactlRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try require())
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "BMA_SOCKET")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        let collectedOut = Collected(), collectedErr = Collected()
        let group = DispatchGroup()
        for (pipe, box) in [(out, collectedOut), (err, collectedErr)] {
            let handle = pipe.fileHandleForReading
            group.enter()
            Thread {
                box.data = handle.readDataToEndOfFile()
                group.leave()
            }.start()
        }
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < end { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            _ = group.wait(timeout: .now() + 5)
            XCTFail("bmactl \(arguments.joined(separator: " ")) did not finish within \(seconds) s")
            return BmactlRun(status: -1, stdout: "", stderr: "timed out")
        }
        _ = group.wait(timeout: .now() + 5)
        return BmactlRun(status: process.terminationStatus,
                         stdout: String(decoding: collectedOut.data, as: UTF8.self),
                         stderr: String(decoding: collectedErr.data, as: UTF8.self))
    }
}
