import Foundation
@testable import Analysis
#if canImport(Glibc)
import Glibc
#endif

/// Runs a real, live `bmad` (as the integration tests do: the VM on a net_pcap port, the uplink on
/// net_null, the mirror port writing a pcap file) so that the decoder reads what bmad really
/// sends. Needs root and a built bmad ($BMA_BIN_DIR, else <package root>/.build/debug).
enum IngestBmad {
    static let vmID = 300
    static let sourceIP = "192.0.2.1"

    static var path: String {
        if let dir = ProcessInfo.processInfo.environment["BMA_BIN_DIR"], !dir.isEmpty { return "\(dir)/bmad" }
        // This file is <root>/Tests/AnalysisTests/Support/IngestBmad.swift.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/bmad").path
    }

    static var available: Bool { geteuid() == 0 && FileManager.default.isExecutableFile(atPath: path) }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs bmad over `capture` (the VM's outgoing frames) and returns what its mirror port sent.
    /// `mirrorExtra`: more lines of the `mirror:` mapping (indented by two spaces).
    static func mirror(encapsulation: String, snaplen: Int, capture: String, in directory: TemporaryDirectory,
                       mirrorExtra: String = "", label: String? = nil) throws -> [PcapRecord] {
        let label = label ?? "\(encapsulation)-\(snaplen)"
        let out = directory.file("\(label)-mirror.pcap")
        let config = directory.file("\(label).yaml")
        try """
        uplink: 'net_null0,no-rx=1'
        mirror:
          devargs: 'net_pcap1,tx_pcap=\(out)'
          encapsulation: \(encapsulation)
          collectors: [192.0.2.10]
          next_hop_mac: '02:00:00:00:00:99'
          source_ip: \(sourceIP)
          snaplen: \(snaplen)
        \(mirrorExtra)
        detection:
          learning_seconds: 0
        control:
          socket: '\(directory.file("\(label).sock"))'
          state_dir: '\(directory.file("\(label)-state"))'
        vms:
          - name: vm300
            id: \(vmID)
            devargs: 'net_pcap0,rx_pcap=\(capture)'

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let prefix = "bma-ingest-test-\(getpid())-\(label)"
        defer { try? FileManager.default.removeItem(atPath: "/var/run/dpdk/\(prefix)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-l", "0,1", "--no-huge", "-m", "512", "--file-prefix", prefix, "--no-pci",
                             "--", "--config", config, "--exit-when-idle", "1500", "--quiet"]
        let log = directory.file("\(label).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? logHandle.close() }
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw Failure(description: "bmad (\(label)) did not exit within 60 s")
        }
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Failure(description: "bmad (\(label)) exited with \(process.terminationStatus):\n\(text.suffix(2000))")
        }
        return try PcapCapture.read(path: out).records
    }
}
