import BMAContract
import Dataplane
import Foundation

/// `bmad replay --decisions PATH`: one JSON line per mirrored packet, in mirror order, saying
/// why: time, VM, 5-tuple, reasons with their sub-scores, score, threshold, and whether the copy
/// was the trigger, anomalous, sticky, pre-trigger or forced; the DNS name the destination was
/// known by, as text (from the answers in the captures, read by the workers' parser). Fixed
/// formatting, so two replays of one capture write the same bytes.
final class ReplayDecisions {
    let handle: FileHandle
    let vmNames: [String]
    /// Texts of the DNS names answered in the captures, by bma_dns_name_hash.
    let dnsNames: [UInt64: String]
    var buffer = ""
    private(set) var written = 0

    init(path: String, vmNames: [String], dnsNames: [UInt64: String] = [:]) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.vmNames = vmNames
        self.dnsNames = dnsNames
    }

    /// Writes what the workers recorded so far.
    func drain(_ logs: [DecisionLog]) {
        for log in logs {
            log.drain { buffer += Self.line($0, vmNames: vmNames, dnsNames: dnsNames) + "\n" }
        }
        flush()
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer.utf8))
        written += buffer.utf8.count
        buffer = ""
    }

    func close() {
        flush()
        try? handle.close()
    }

    static func kind(_ k: UInt8) -> String {
        if k & DecisionRecord.preTrigger != 0 { return "pre-trigger" }
        if k & DecisionRecord.trigger != 0 { return "trigger" }
        if k & DecisionRecord.anomalous != 0 { return "anomalous" }
        if k & DecisionRecord.sticky != 0 { return "sticky" }
        return "forced"
    }

    static func number(_ x: Float) -> String { String(format: "%.4f", Double(x)) }

    static func address(_ hi: UInt64, _ lo: UInt64, l3: UInt8) -> String {
        if l3 == 1 || l3 == 3 { return IPv4Text.format(UInt32(truncatingIfNeeded: lo)) }
        return IPAddressText.formatIPv6(hi: hi, lo: lo)
    }

    static func mac(_ m: UInt64) -> String {
        (0..<6).map { String(format: "%02x", (m >> (40 - 8 * UInt64($0))) & 0xff) }.joined(separator: ":")
    }

    static func line(_ r: DecisionRecord, vmNames: [String], dnsNames: [UInt64: String] = [:]) -> String {
        let vm = Int(r.vm) < vmNames.count ? vmNames[Int(r.vm)] : String(r.vm)
        var f: [String] = [
            "\"ts_ns\":\(r.tsNs)", "\"vm\":\"\(vm)\"", "\"kind\":\"\(kind(r.kind))\"",
        ]
        if r.kind & DecisionRecord.forced != 0 { f.append("\"forced\":true") }
        let ip = r.l3 == 1 || r.l3 == 2
        if ip || r.l3 == 3 {
            f.append("\"src\":\"\(address(r.srcHi, r.srcLo, l3: r.l3))\"")
            f.append("\"dst\":\"\(address(r.dstHi, r.dstLo, l3: r.l3))\"")
        } else {
            f.append("\"src_mac\":\"\(mac(r.srcMAC))\"")
            f.append("\"dst_mac\":\"\(mac(r.dstMAC))\"")
            f.append("\"ethertype\":\(r.ethertype)")
        }
        if ip {
            f.append("\"proto\":\(r.proto)")
            if r.proto == 6 || r.proto == 17 || r.proto == 132 {
                f.append("\"src_port\":\(r.srcPort)")
                f.append("\"dst_port\":\(r.dstPort)")
            }
        }
        if r.name != 0 {
            // Texts are printable ASCII without quotes or backslashes (bma_dns_name_t): no escaping.
            if let text = dnsNames[r.name] { f.append("\"dst_name\":\"\(text)\"") }
            f.append("\"dst_name_hash\":\"\(String(r.name, radix: 16))\"")
        }
        if r.housekeeping != 0 { f.append("\"housekeeping\":\"\(Housekeeping.name(r.housekeeping))\"") }
        let reasons = Reason(rawValue: r.reasons).names.map { "\"\($0)\"" }
        f.append("\"reasons\":[\(reasons.joined(separator: ","))]")
        if r.kind & DecisionRecord.preTrigger == 0 {
            var subs: [String] = []
            for (reason, name) in Reason.all {
                let x = r.scores[reason.rawValue.trailingZeroBitCount]
                if x >= 0.0001 { subs.append("\"\(name)\":\(number(x))") }
            }
            f.append("\"scores\":{\(subs.joined(separator: ","))}")
            f.append("\"score\":\(number(r.score))")
        }
        f.append("\"threshold\":\(number(r.threshold))")
        return "{" + f.joined(separator: ",") + "}"
    }
}
