import BMAContract
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// Helpers of the console tests (ConsoleTests, ConsoleBrowserTests): a store filled the way a
// collector would see bmad's mirror, and plain HTTP requests to the console.

/// A store holding what bmad mirrored of two scenarios: the camera's week with masscan (VM 101,
/// cam1) and with the iodine DNS tunnel (VM 102, cam2) at day 4, one day of learning. `bmad
/// replay` writes the mirrored frames and its decisions; each frame is wrapped in Geneve with the
/// BMA option of its decision (reasons, score, flags), as bmad's mirror port sends them; and
/// `bma-analyzer import` stores and inspects the capture.
struct ConsoleStoreFixture {
    static let vmID: UInt32 = 101
    static let vmName = "cam1"
    static let tunnelVMID: UInt32 = 102
    static let tunnelVMName = "cam2"

    var store: String
    /// Mirrored packets of cam1 with each reason.
    var reasons: [String: Int]
    /// The masscan attack's first and last packet times (ns).
    var attackSpan: ClosedRange<UInt64>

    static func make(in scratch: ScratchDirectory) throws -> ConsoleStoreFixture {
        let masscan = try AnalyzerScenario.masscan(in: scratch)
        let iodine = try AnalyzerScenario.iodine(in: scratch)
        var records: [PcapRecord] = []
        var reasons: [String: Int] = [:]
        for (scenario, name, id) in [(masscan, vmName, vmID), (iodine, tunnelVMName, tunnelVMID)] {
            let decisions = scratch.file("\(name)-decisions.jsonl")
            let replay = try DetectionReplay.run([.init(name: name, path: scenario.path)], in: scratch, label: "console-\(name)",
                                                 learning: 86400, decisions: decisions, timeout: 120)
            let lines = try String(contentsOfFile: decisions, encoding: .utf8).split(separator: "\n")
            guard lines.count == replay.mirrorRecords.count, !lines.isEmpty else {
                throw ScratchError(message: "\(name): \(lines.count) decisions for \(replay.mirrorRecords.count) mirrored frames")
            }
            for (record, line) in zip(replay.mirrorRecords, lines) {
                let d = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
                let names = d["reasons"] as? [String] ?? []
                if id == vmID { for n in names { reasons[n, default: 0] += 1 } }
                let bits = names.compactMap(Reason.named).reduce(0) { $0 | $1.rawValue }
                let kind = d["kind"] as? String
                var flags: UInt8 = kind == "pre-trigger" ? 0x01 : kind == "sticky" ? 0x02 : 0
                if d["forced"] as? Bool == true { flags |= 0x08 }
                let score = UInt32(((d["score"] as? Double) ?? 0) * 1000)
                let ts = (d["ts_ns"] as? NSNumber)?.uint64Value ?? record.timestampNanoseconds
                let frame = geneveFrame(record.data, originalLength: record.originalLength, vm: id, flags: flags, reasons: bits,
                                        scoreMilli: score, timestampNs: ts)
                records.append(PcapRecord(timestampNanoseconds: ts, data: frame))
            }
        }
        // As one collector receives both hosts' copies: in time order.
        records.sort { $0.timestampNanoseconds < $1.timestampNanoseconds }
        let geneve = scratch.file("mirror-geneve.pcap")
        let writer = try PcapWriter(path: geneve, resolution: .nanoseconds)
        for r in records { try writer.write(r) }
        try writer.close()
        let store = scratch.file("store")
        try AnalyzerCommand.analyzerOK(["import", "--store", store, "--vm-name", "\(vmID)=\(vmName)", "--vm-name", "\(tunnelVMID)=\(tunnelVMName)",
                                        geneve], in: scratch, label: "import-geneve", timeout: 120)
        let attack = masscan.attackIndices.map { masscan.records[$0].timestampNanoseconds }
        return ConsoleStoreFixture(store: store, reasons: reasons, attackSpan: attack.min()!...attack.max()!)
    }

    /// Ethernet/IPv4/UDP 6081/Geneve with the BMA option (README "Mirror wire format").
    static func geneveFrame(_ inner: [UInt8], originalLength: UInt32, vm: UInt32, flags: UInt8, reasons: UInt32,
                            scoreMilli: UInt32, timestampNs: UInt64) -> [UInt8] {
        let be16 = DetectionFrames.be16, be32 = DetectionFrames.be32
        let option = be16(0xFFF0) + [0x42, 6] + [1, flags] + be16(0) + be32(reasons) + be32(scoreMilli)
            + be32(originalLength) + be32(UInt32(timestampNs >> 32)) + be32(UInt32(truncatingIfNeeded: timestampNs))
        let geneve: [UInt8] = [7, 0] + be16(0x6558) + be32(vm << 8) + option
        let udpLength = 8 + geneve.count + inner.count
        let udp = be16(49152) + be16(6081) + be16(UInt16(udpLength)) + be16(0)
        var ip: [UInt8] = [0x45, 0] + be16(UInt16(20 + udpLength)) + [0, 0, 0x40, 0, 64, 17, 0, 0]
            + [192, 0, 2, 1] + [192, 0, 2, 10]
        var sum: UInt32 = 0
        for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        ip[10] = UInt8(~sum >> 8 & 0xFF)
        ip[11] = UInt8(~sum & 0xFF)
        let ethernet: [UInt8] = [0x02, 0, 0, 0, 0, 0x0A, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]
        return ethernet + ip + udp + geneve + inner
    }
}

/// One HTTP response from the console.
struct ConsoleResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

enum ConsoleHTTP {
    /// `GET path` on 127.0.0.1:port (HTTP/1.1, connection closed after), at most `timeout` seconds.
    static func get(port: Int, _ path: String, authorization: String? = nil, timeout: Int = 30) throws -> ConsoleResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ScratchError(message: "socket: \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw ScratchError(message: "connect 127.0.0.1:\(port): \(errno)") }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let authorization { request += "Authorization: \(authorization)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 { throw ScratchError(message: "GET \(path): read: \(errno) (timeout \(timeout) s?)") }
            if n == 0 { break }
            response += buffer[0..<n]
        }
        guard let end = response.firstRange(of: [13, 10, 13, 10]) else { throw ScratchError(message: "GET \(path): no header in \(response.count) bytes") }
        let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1."), let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            throw ScratchError(message: "GET \(path): bad status line \(head.first ?? "")")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return ConsoleResponse(status: status, headers: headers, body: Array(response[end.upperBound...]))
    }

    /// The hrefs of a page, in order.
    static func links(_ html: String) -> [String] {
        html.components(separatedBy: "href=\"").dropFirst().compactMap { $0.split(separator: "\"", maxSplits: 1).first.map(String.init) }
            .map { $0.replacingOccurrences(of: "&amp;", with: "&") }
    }

    /// The analyzer serving `store` with its console on a free port; the port.
    static func serve(store: String, in scratch: ScratchDirectory, extra: [String] = []) throws -> (ChildProcess, Int) {
        let udp = try AnalyzerSensorTests.freeUDPPort()
        let analyzer = try ChildProcess(
            name: "analyzer-console", executable: try TestEnvironment.binary("bma-analyzer"),
            arguments: ["serve", "--store", store, "--socket", scratch.file("an.sock"), "--geneve-port", String(udp), "--vxlan-port", "0",
                        "--status-interval", "0", "--console-listen", "127.0.0.1:0"] + extra,
            directory: scratch.path)
        try analyzer.waitForLine(containing: "bma-analyzer: listening on", timeout: 30)
        guard let line = analyzer.stdoutLines(containing: "console on http://").first,
              let port = Int(line.split(separator: ":").last?.prefix { $0.isNumber } ?? "") else {
            analyzer.kill(signal: SIGKILL)
            throw ScratchError(message: "no console line:\n\(analyzer.outputTail())")
        }
        return (analyzer, port)
    }
}
