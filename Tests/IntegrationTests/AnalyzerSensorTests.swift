import ControlProtocol
import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `bma-analyzer serve` takes mirror traffic only from its sensors: a forged port scan sent from
/// another address is counted and dropped (nothing stored, no alert), the same packets from a
/// configured sensor are stored and alert under the sensor's name. And by default it listens on
/// loopback only.
final class AnalyzerSensorTests: IntegrationTestCase {
    static let vmID: UInt32 = 777
    static let scanPorts = 399

    func testOnlyConfiguredSensorsAreStoredAndAlerted() throws {
        let scratch = try makeScratch()
        let store = scratch.file("store"), socket = scratch.file("an.sock")
        let port = try Self.freeUDPPort()
        let analyzer = try ChildProcess(
            name: "analyzer", executable: try TestEnvironment.binary("bma-analyzer"),
            arguments: ["serve", "--store", store, "--socket", socket, "--geneve-port", String(port), "--vxlan-port", "0",
                        "--sensor", "hv1=127.0.0.2", "--no-loopback-sensor", "--status-interval", "0"],
            directory: scratch.path)
        defer { _ = analyzer.kill(signal: SIGTERM, grace: 5) }
        try analyzer.waitForLine(containing: "bma-analyzer: listening on 127.0.0.1: geneve \(port)", timeout: 15)
        XCTAssertTrue(analyzer.stdout.contains("sensors hv1 (127.0.0.2/32)"), analyzer.outputTail())
        XCTAssertEqual(try Self.udpListeners(port: port), ["0100007F"], "the default --listen is loopback, not every address")

        // A forged port scan of VM 777 from 127.0.0.3 (not a sensor), then from 127.0.0.1 (loopback, turned off).
        let scan = Self.forgedScan()
        try Self.send(scan, from: "127.0.0.3", port: port)
        try Self.send(scan, from: "127.0.0.1", port: port)
        var status = try Self.status(socket)
        try waitUntil("\(2 * Self.scanPorts) datagrams received", timeout: 15, interval: 0.1, context: { "\(status)" }) {
            status = try Self.status(socket)
            return status.ingest_received == UInt64(2 * Self.scanPorts)
        }
        XCTAssertEqual(status.ingest_drops, ["unknownSensor": UInt64(2 * Self.scanPorts)])
        XCTAssertEqual(status.ingest_decoded, 0)
        Thread.sleep(forTimeInterval: 0.5)
        status = try Self.status(socket)
        XCTAssertEqual(status.processed, 0)
        XCTAssertEqual(status.alerts_emitted, 0, "no alert for a forged VM")
        let status1 = try AnalyzerCommand.run(try TestEnvironment.binary("bma-analyzer"), ["status", "--socket", socket],
                                              in: scratch, label: "status")
        XCTAssertTrue(status1.stdout.contains("ingest drops: unknownSensor=\(2 * Self.scanPorts)"), status1.description)

        // The same packets from the sensor: stored, and the alert names it.
        try Self.send(scan, from: "127.0.0.2", port: port)
        try waitUntil("the sensor's packets processed", timeout: 15, interval: 0.1, context: { "\(status)" }) {
            status = try Self.status(socket)
            return status.processed == UInt64(Self.scanPorts) && status.alerts_emitted > 0
        }
        XCTAssertEqual(status.ingest_decoded, UInt64(Self.scanPorts))
        let client = try ControlClient(path: socket, timeout: 5)
        defer { client.close() }
        let alerts = try client.call("alerts").decode(as: [EVEAlert].self)
        XCTAssertFalse(alerts.isEmpty)
        XCTAssertTrue(alerts.allSatisfy { $0.host == "hv1" }, "\(alerts.map(\.host))")
    }

    // MARK: Helpers

    /// One Geneve datagram per port: a SYN from 10.7.0.5 to 10.7.0.9, BMA metadata saying port-scan.
    static func forgedScan() -> [[UInt8]] {
        let vm = DetectionFrames.mac("02:00:00:00:07:05"), gw = DetectionFrames.mac("02:00:00:00:07:01")
        let src = DetectionFrames.ip("10.7.0.5"), dst = DetectionFrames.ip("10.7.0.9")
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        return (0..<scanPorts).map { i in
            let frame = DetectionFrames.tcpSyn(from: vm, to: gw, src, dst, sourcePort: 40000, destinationPort: UInt16(1 + i),
                                               sequence: UInt32(i))
            let be16 = DetectionFrames.be16, be32 = DetectionFrames.be32
            let option = be16(0xFFF0) + [0x42, 6] + [1, 0] + be16(0) + be32(1 << 3) + be32(2000)
                + be32(UInt32(frame.count)) + be32(UInt32((now + UInt64(i) * 1000) >> 32)) + be32(UInt32(truncatingIfNeeded: now + UInt64(i) * 1000))
            let header: [UInt8] = [7, 0] + be16(0x6558) + be32(vmID << 8)
            return header + option + frame
        }
    }

    static func send(_ datagrams: [[UInt8]], from source: String, port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ScratchError(message: "socket: \(errno)") }
        defer { close(fd) }
        var local = sockaddr_in(), remote = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw ScratchError(message: "bind \(source): \(errno)") }
        for datagram in datagrams {
            let sent = datagram.withUnsafeBytes { bytes in
                withUnsafePointer(to: &remote) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            guard sent == datagram.count else { throw ScratchError(message: "sendto: \(errno)") }
            usleep(200) // the analyzer's socket buffer is not the subject here
        }
    }

    static func freeUDPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw ScratchError(message: "no free UDP port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The local addresses (hex, as /proc/net/udp writes them) of the IPv4 UDP sockets bound to `port`.
    static func udpListeners(port: Int) throws -> [String] {
        let table = try String(contentsOfFile: "/proc/net/udp", encoding: .utf8)
        let suffix = ":" + String(format: "%04X", port)
        return table.split(separator: "\n").dropFirst().compactMap { line in
            let local = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
            return local.hasSuffix(suffix) ? String(local.dropLast(suffix.count)) : nil
        }
    }

    static func status(_ socket: String) throws -> AnalyzerStatusJSON {
        let client = try ControlClient(path: socket, timeout: 5)
        defer { client.close() }
        return try client.call("status").decode(as: AnalyzerStatusJSON.self)
    }
}
