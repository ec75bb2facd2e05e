import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// Helpers of the analyzer tests (AnalyzerEndToEndTests, AnalyzerCommandTests): running
// `bma-analyzer` and other commands to completion, reading its EVE JSON and status output, the
// attack frames of a labelled scenario, and tshark on what the store holds.

// MARK: - Commands

/// One finished command.
struct CommandRun: CustomStringConvertible {
    var command: String
    var status: ExitStatus
    var stdout: String
    var stderr: String

    var description: String {
        "\(command): \(status)\n--- stdout ---\n\(String(stdout.suffix(4000)))\n--- stderr ---\n\(String(stderr.suffix(4000)))"
    }

    /// A crash, an abort or a Swift runtime trap, as opposed to an orderly exit.
    var crashed: Bool {
        if case .signaled = status { return true }
        return stderr.contains("Fatal error") || stderr.contains("Stack dump") || stderr.contains("Illegal instruction")
            || stderr.contains("Segmentation fault")
    }
}

enum AnalyzerCommand {
    private static let counter = AnalyzerCounter()

    /// Runs `executable` to completion (at most `timeout` seconds; then it is killed and this
    /// throws), with its output in files of `scratch`.
    static func run(_ executable: String, _ arguments: [String], in scratch: ScratchDirectory, label: String,
                    timeout: TimeInterval = 60) throws -> CommandRun {
        let name = "\(label)-\(counter.next())"
        let child = try ChildProcess(name: name, executable: executable, arguments: arguments, directory: scratch.path)
        let status: ExitStatus
        do {
            status = try child.waitForExit(timeout: timeout)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
        let command = ([executable] + arguments).joined(separator: " ")
        return CommandRun(command: command, status: status, stdout: child.stdout, stderr: child.stderr)
    }

    /// `bma-analyzer ARGS...`.
    static func analyzer(_ arguments: [String], in scratch: ScratchDirectory, label: String = "analyzer",
                         timeout: TimeInterval = 60) throws -> CommandRun {
        try run(try TestEnvironment.binary("bma-analyzer"), arguments, in: scratch, label: label, timeout: timeout)
    }

    /// `bma-analyzer ARGS...`, which must exit 0 (else this throws with its output).
    @discardableResult
    static func analyzerOK(_ arguments: [String], in scratch: ScratchDirectory, label: String = "analyzer",
                           timeout: TimeInterval = 60) throws -> CommandRun {
        let r = try analyzer(arguments, in: scratch, label: label, timeout: timeout)
        guard r.status == .exited(0) else { throw ScratchError(message: "expected exit status 0\n\(r)") }
        return r
    }

    /// The count in `query`'s "N packets written to PATH" line.
    static func writtenCount(_ run: CommandRun) -> Int? {
        guard let line = run.stdout.split(separator: "\n").last(where: { $0.contains("packets written to") }) else { return nil }
        return Int(line.prefix { $0.isNumber })
    }
}

final class AnalyzerCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

// MARK: - EVE JSON

/// An alert as `bma-analyzer alerts --json` and `eve.json` give it, decoded field by field.
struct EVEAlert: Decodable, Equatable {
    struct Signature: Decodable, Equatable {
        var signature: String
        var signature_id: Int
        var category: String
        var severity: Int
    }

    struct BMA: Decodable, Equatable {
        var module: String
        var reasons: [String]
        var count: Int
        var details: [String: String]
    }

    struct Pcap: Decodable, Equatable {
        var file: String
        var packet: Int
    }

    var timestamp: String
    var event_type: String
    var flow_id: UInt64
    var community_id: String?
    var src_ip: String?
    var src_port: UInt16?
    var dest_ip: String?
    var dest_port: UInt16?
    var proto: String?
    var host: String
    var vm: String
    var alert: Signature
    var bma: BMA
    var pcap: Pcap?

    static let portScanID = 9_200_100
    static let dnsTunnelID = 9_200_200

    var summary: String {
        "\(vm) \(alert.signature_id) \(proto ?? "-") \(src_ip ?? "-"):\(src_port.map(String.init) ?? "-") -> "
            + "\(dest_ip ?? "-"):\(dest_port.map(String.init) ?? "-") pcap \(pcap.map { "\($0.file)#\($0.packet)" } ?? "-")"
    }
}

/// One JSON object of an EVE stream: the raw object (to check which keys are there) and the
/// decoded alert.
struct EVEObject {
    var raw: [String: Any]
    var text: String
    var alert: EVEAlert
}

enum EVE {
    /// The fields every alert line must carry (the EVE fields plus BMA's), as dotted key paths.
    /// `community_id` is checked apart (see the tests).
    static let requiredFields = [
        "timestamp", "event_type", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "host", "vm",
        "alert.signature", "alert.signature_id", "alert.category", "alert.severity", "bma.reasons", "pcap.file", "pcap.packet",
    ]

    /// bmad's reason names (README, "Mirror wire format").
    static let reasonNames: Set<String> = ["new-destination", "new-service", "fan-out", "port-scan", "rate-spike",
                                           "size-outlier", "protocol-shift"]

    /// Every top-level JSON object in `text`, whether or not they are separated by newlines
    /// (a tolerant reader: the tests check the line structure separately).
    static func objects(in text: String) throws -> [EVEObject] {
        let bytes = Array(text.utf8)
        var out: [EVEObject] = []
        var depth = 0, inString = false, escaped = false, start = -1
        for (i, b) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"):
                if depth == 0 { start = i }
                depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 {
                    let slice = Array(bytes[start...i])
                    out.append(try object(Data(slice)))
                }
            default:
                break
            }
        }
        guard depth == 0, !inString else { throw ScratchError(message: "unterminated JSON object in: \(String(text.suffix(300)))") }
        return out
    }

    static func object(_ data: Data) throws -> EVEObject {
        let text = String(decoding: data, as: UTF8.self)
        guard let raw = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ScratchError(message: "not a JSON object: \(text)")
        }
        do {
            return EVEObject(raw: raw, text: text, alert: try JSONDecoder().decode(EVEAlert.self, from: data))
        } catch {
            throw ScratchError(message: "EVE line does not decode as an alert (\(error)): \(text)")
        }
    }

    /// The value at a dotted key path, nil when a key is missing.
    static func value(_ raw: [String: Any], _ path: String) -> Any? {
        var current: Any? = raw
        for key in path.split(separator: ".") {
            guard let dict = current as? [String: Any] else { return nil }
            current = dict[String(key)]
        }
        return current
    }

    /// Asserts that the object has every required field.
    static func assertRequiredFields(_ object: EVEObject, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for field in requiredFields where value(object.raw, field) == nil {
            XCTFail("\(what): EVE line has no '\(field)': \(object.text)", file: file, line: line)
        }
        XCTAssertEqual(object.alert.event_type, "alert", "\(what): event_type", file: file, line: line)
        XCTAssertTrue(isEVETimestamp(object.alert.timestamp), "\(what): timestamp '\(object.alert.timestamp)' is not YYYY-MM-DDTHH:MM:SS.uuuuuu+0000",
                      file: file, line: line)
        XCTAssertGreaterThan(object.alert.flow_id, 0, "\(what): flow_id", file: file, line: line)
        XCTAssertLessThan(object.alert.flow_id, UInt64(1) << 53, "\(what): flow_id fits a double", file: file, line: line)
        XCTAssertTrue((1...3).contains(object.alert.alert.severity), "\(what): severity \(object.alert.alert.severity)", file: file, line: line)
        XCTAssertTrue(Set(object.alert.bma.reasons).isSubset(of: reasonNames), "\(what): reasons \(object.alert.bma.reasons)", file: file, line: line)
    }

    /// 2021-03-11T15:22:15.831389+0000
    static func isEVETimestamp(_ s: String) -> Bool {
        let c = Array(s)
        guard c.count == 31 else { return false }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] + Array(20...25) + Array(27...30)
        return digits.allSatisfy { c[$0].isNumber } && c[4] == "-" && c[7] == "-" && c[10] == "T" && c[13] == ":"
            && c[16] == ":" && c[19] == "." && c[26] == "+"
    }

    /// The EVE timestamp of `nanoseconds` (microseconds, UTC), as the analyzer writes it: such
    /// strings compare in time order.
    static func timestamp(nanoseconds: UInt64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        let seconds = nanoseconds / 1_000_000_000
        let micros = String((nanoseconds % 1_000_000_000) / 1_000)
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            + "." + String(repeating: "0", count: 6 - micros.count) + micros + "+0000"
    }
}

// MARK: - Status

/// `bma-analyzer status --json` (Sources/Analysis/Node/AnalyzerNode.swift, AnalyzerStatus),
/// decoded field by field.
struct AnalyzerStatusJSON: Decodable {
    struct Storage: Decodable {
        var directory: String
        var segments: Int
        var bytes: UInt64
        var packets: UInt64
        var dropped: UInt64
        var deleted_segments: UInt64
        var storage_alert: String?
        var written_packets: UInt64?
        var durable_packets: UInt64?
        var index_bytes: UInt64?
        var flush_interval_s: Double?
    }

    var uptime_s: Double
    var processed: UInt64
    var queue_drops: UInt64
    var queued: Int
    var ingest_received: UInt64
    var ingest_decoded: UInt64
    var ingest_bytes: UInt64
    var ingest_drops: [String: UInt64]
    var storage: Storage
    var alerts_by_module: [String: Int]
    var alerts_emitted: Int
    var alerts_folded: Int
    var modules: [String]
}

// MARK: - Scenarios and frames

enum AnalyzerScenario {
    /// The masscan and iodine scenarios as scripts/demo builds them (attack spliced into day 4
    /// of the camera's week, the attacker rewritten to the camera).
    static func masscan(in scratch: ScratchDirectory) throws -> DetectionScenario {
        try DetectionScenario.spliced("masscan", attack: "masscan-tcp-1000-ports.pcap", attacker: "172.31.15.102", in: scratch)
    }

    static func iodine(in scratch: ScratchDirectory) throws -> DetectionScenario {
        try DetectionScenario.spliced("iodine", attack: "iodine-dns-tunnel.pcap", attacker: "10.0.2.30", in: scratch)
    }

    /// The attack records alone, in order (scripts/demo's `attack_only`), written to `name`.
    static func attackOnly(_ scenario: DetectionScenario, to name: String, in scratch: ScratchDirectory) throws -> (path: String, records: [PcapRecord]) {
        let records = scenario.attackIndices.map { scenario.records[$0] }
        let path = scratch.file(name)
        let writer = try PcapWriter(path: path, resolution: .nanoseconds)
        for r in records { try writer.write(r) }
        try writer.close()
        return (path, records)
    }

    /// Whether `frames` is `all` with some frames left out (same order, nothing else).
    static func isSubsequence(_ frames: [[UInt8]], of all: [[UInt8]]) -> Bool {
        var j = 0
        for f in frames {
            while j < all.count && all[j] != f { j += 1 }
            if j == all.count { return false }
            j += 1
        }
        return true
    }
}

// MARK: - tshark

enum AnalyzerTshark {
    /// tshark prints booleans as 1/0 (4.0) or True/False (newer).
    static func isSet(_ value: String?) -> Bool { value == "1" || value == "True" || value == "true" }

    /// The fields of one packet of a capture (0-based `index`), or nil when it has fewer packets.
    static func packet(_ file: String, index: Int, _ fields: [String], extra: [String] = [], in scratch: ScratchDirectory) throws -> [String: String]? {
        let rows = try DetectionTshark.fields(file, fields, extra: extra + ["-Y", "frame.number == \(index + 1)"], in: scratch, label: "tshark-packet")
        guard let row = rows.first else { return nil }
        return Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($0.element, $0.offset < row.count ? row[$0.offset] : "") })
    }

    /// Every packet of a capture as field dictionaries.
    static func rows(_ file: String, _ fields: [String], in scratch: ScratchDirectory, label: String) throws -> [[String: String]] {
        try DetectionTshark.fields(file, fields, in: scratch, label: label).map { row in
            Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($0.element, $0.offset < row.count ? row[$0.offset] : "") })
        }
    }

    /// The Community ID (v1, seed 0) tshark computes for one packet.
    static func communityID(_ file: String, index: Int, in scratch: ScratchDirectory) throws -> String? {
        try packet(file, index: index, ["communityid"], extra: ["--enable-protocol", "communityid"], in: scratch)?["communityid"]
    }

    static let flowFields = ["ip.src", "ip.dst", "ip.proto", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "frame.interface_description"]

    /// Asserts that the packet an alert's pcap reference names is in the store and belongs to the
    /// alert's flow (either direction), and that its interface names VM `vmID`.
    static func assertReferenceMatchesFlow(_ a: EVEAlert, store: String, vmID: UInt32, in scratch: ScratchDirectory,
                                           file: StaticString = #filePath, line: UInt = #line) throws {
        guard let ref = a.pcap else {
            XCTFail("alert has no pcap reference: \(a.summary)", file: file, line: line)
            return
        }
        let path = "\(store)/\(ref.file)"
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("alert's pcap file \(ref.file) is not in the store: \(a.summary)", file: file, line: line)
            return
        }
        guard let p = try packet(path, index: ref.packet, flowFields, in: scratch) else {
            XCTFail("\(ref.file) has no packet \(ref.packet): \(a.summary)", file: file, line: line)
            return
        }
        let sport = p["tcp.srcport"].flatMap { $0.isEmpty ? nil : $0 } ?? p["udp.srcport"] ?? ""
        let dport = p["tcp.dstport"].flatMap { $0.isEmpty ? nil : $0 } ?? p["udp.dstport"] ?? ""
        let packetEnds = [[p["ip.src"] ?? "", sport], [p["ip.dst"] ?? "", dport]]
        let alertEnds = [[a.src_ip ?? "", a.src_port.map(String.init) ?? ""], [a.dest_ip ?? "", a.dest_port.map(String.init) ?? ""]]
        XCTAssertTrue(packetEnds == alertEnds || packetEnds == alertEnds.reversed(),
                      "packet \(ref.file)#\(ref.packet) is \(packetEnds), not of the alert's flow: \(a.summary)", file: file, line: line)
        let proto = ["TCP": "6", "UDP": "17", "ICMP": "1"][a.proto ?? ""]
        XCTAssertEqual(p["ip.proto"], proto, "protocol of \(ref.file)#\(ref.packet): \(a.summary)", file: file, line: line)
        XCTAssertTrue((p["frame.interface_description"] ?? "").hasPrefix("bma vm=\(vmID) "),
                      "interface of \(ref.file)#\(ref.packet) is '\(p["frame.interface_description"] ?? "")', expected VM \(vmID)", file: file, line: line)
    }
}
