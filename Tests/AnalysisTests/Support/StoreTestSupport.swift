import Foundation
import Testing
@testable import Analysis

/// Packets for the store and pcapng tests. Every packet carries a sequence number in its
/// payload, so that lists of packets can be compared exactly.
enum StorePackets {
    static let sensor = "192.0.2.1"
    static let base: UInt64 = 1_700_000_000_000_000_000

    static let hostA: [UInt8] = [10, 0, 0, 5]
    static let hostB: [UInt8] = [203, 0, 113, 7]
    static let hostC: [UInt8] = [198, 51, 100, 9]
    static let host6A: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
    static let host6B: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [2]

    /// Reasons 0b1010: new-service and port-scan.
    static func metadata(_ sequence: UInt32, timestampNs: UInt64, originalLength: UInt32) -> BMAMetadata {
        BMAMetadata(flags: [.sticky, .truncated], policyID: UInt16(truncatingIfNeeded: sequence % 5),
                    reasons: BMAMetadata.Reasons(rawValue: 0b1010), scoreMilli: 1500 + sequence % 1000,
                    originalLength: originalLength, timestampNs: timestampNs)
    }

    static func payload(_ sequence: UInt32, size: Int) -> [UInt8] {
        var bytes = [UInt8(sequence >> 24), UInt8(truncatingIfNeeded: sequence >> 16), UInt8(truncatingIfNeeded: sequence >> 8),
                     UInt8(truncatingIfNeeded: sequence)]
        if size > 4 { bytes += (0..<size - 4).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(sequence)) } }
        return bytes
    }

    static func packet(_ frame: [UInt8], vm: UInt32, timestampNs: UInt64, sequence: UInt32, withMetadata: Bool = true,
                       encapsulation: MirroredPacket.Encapsulation = .geneve, sensor: String = sensor) -> MirroredPacket {
        let original = UInt32(frame.count) + (sequence % 3 == 0 ? 100 : 0)
        return MirroredPacket(receivedNs: timestampNs + 5_000, timestampNs: timestampNs, sensor: sensor, vmID: vm,
                              encapsulation: encapsulation,
                              metadata: withMetadata ? metadata(sequence, timestampNs: timestampNs, originalLength: original) : nil,
                              frame: frame, originalLength: original)
    }

    static func tcp(vm: UInt32, timestampNs: UInt64, sequence: UInt32, from source: [UInt8] = hostA, to destination: [UInt8] = hostB,
                    sourcePort: UInt16 = 40000, destinationPort: UInt16 = 443, size: Int = 64) -> MirroredPacket {
        let frame = FrameBuilder.tcpFrame(source: source, destination: destination, sourcePort: sourcePort,
                                          destinationPort: destinationPort, payload: payload(sequence, size: size))
        return packet(frame, vm: vm, timestampNs: timestampNs, sequence: sequence)
    }

    static func udp(vm: UInt32, timestampNs: UInt64, sequence: UInt32, from source: [UInt8] = hostA, to destination: [UInt8] = hostC,
                    sourcePort: UInt16 = 5353, destinationPort: UInt16 = 53) -> MirroredPacket {
        let frame = FrameBuilder.udpFrame(source: source, destination: destination, sourcePort: sourcePort,
                                          destinationPort: destinationPort, payload: payload(sequence, size: 20))
        return packet(frame, vm: vm, timestampNs: timestampNs, sequence: sequence, withMetadata: false, encapsulation: .vxlan)
    }

    /// ICMP echo request (type 8) or reply (type 0).
    static func icmpEcho(vm: UInt32, timestampNs: UInt64, sequence: UInt32, reply: Bool) -> MirroredPacket {
        let (source, destination) = reply ? (hostC, hostA) : (hostA, hostC)
        let message: [UInt8] = [reply ? 0 : 8, 0, 0, 0, 0, 1, 0, 1] + payload(sequence, size: 16)
        let frame = FrameBuilder.ethernet(etherType: 0x0800,
                                          payload: FrameBuilder.ipv4(source: source, destination: destination, protocolNumber: 1, payload: message))
        return packet(frame, vm: vm, timestampNs: timestampNs, sequence: sequence)
    }

    static func ipv6TCP(vm: UInt32, timestampNs: UInt64, sequence: UInt32, reverse: Bool = false) -> MirroredPacket {
        let (source, destination) = reverse ? (host6B, host6A) : (host6A, host6B)
        let (sourcePort, destinationPort): (UInt16, UInt16) = reverse ? (22, 50000) : (50000, 22)
        let segment = FrameBuilder.be16(sourcePort) + FrameBuilder.be16(destinationPort) + [0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 4, 0, 0, 0, 0, 0]
            + payload(sequence, size: 12)
        let header: [UInt8] = [0x60, 0, 0, 0] + FrameBuilder.be16(UInt16(segment.count)) + [6, 64] + source + destination
        return packet(FrameBuilder.ethernet(etherType: 0x86DD, payload: header + segment), vm: vm, timestampNs: timestampNs,
                      sequence: sequence, encapsulation: .erspan2)
    }

    static func arp(vm: UInt32, timestampNs: UInt64, sequence: UInt32) -> MirroredPacket {
        let body: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 1] + FrameBuilder.macA + hostA + Array(repeating: 0, count: 6) + hostB
        return packet(FrameBuilder.ethernet(destination: Array(repeating: 0xFF, count: 6), etherType: 0x0806,
                                            payload: body + payload(sequence, size: 8)),
                      vm: vm, timestampNs: timestampNs, sequence: sequence, withMetadata: false, encapsulation: .pcap)
    }

    /// A mixed stream: VMs 7, 8 and 9, TCP both ways, UDP, ICMP echo and reply, IPv6, ARP;
    /// packets `spacingNs` apart from `start`.
    static func mixed(count: Int, start: UInt64 = base, spacingNs: UInt64 = 1_000_000, seed: UInt64 = 7) -> [MirroredPacket] {
        var random = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            let sequence = UInt32(index)
            let time = start + UInt64(index) * spacingNs
            let vm: UInt32 = [7, 8, 9][Int.random(in: 0..<3, using: &random)]
            switch Int.random(in: 0..<8, using: &random) {
            case 0: return tcp(vm: vm, timestampNs: time, sequence: sequence, size: Int.random(in: 4...400, using: &random))
            case 1: return tcp(vm: vm, timestampNs: time, sequence: sequence, from: hostB, to: hostA, sourcePort: 443, destinationPort: 40000)
            case 2: return tcp(vm: vm, timestampNs: time, sequence: sequence, to: hostC, destinationPort: 80)
            case 3: return udp(vm: vm, timestampNs: time, sequence: sequence)
            case 4: return icmpEcho(vm: vm, timestampNs: time, sequence: sequence, reply: Bool.random(using: &random))
            case 5: return ipv6TCP(vm: vm, timestampNs: time, sequence: sequence, reverse: Bool.random(using: &random))
            case 6: return arp(vm: vm, timestampNs: time, sequence: sequence)
            default: return tcp(vm: vm, timestampNs: time, sequence: sequence, sourcePort: 40001)
            }
        }
    }
}

/// A settable clock for the store (ns since 1970).
final class StoreTestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64

    init(_ start: UInt64 = StorePackets.base) {
        value = start
    }

    var now: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func advance(seconds: UInt64) {
        lock.lock()
        value += seconds * 1_000_000_000
        lock.unlock()
    }

    var function: @Sendable () -> UInt64 { { self.now } }
}

/// A simulated disk for the free-space probe: `capacity` minus the store's segment files minus
/// what "someone else" uses (`external`).
final class StoreTestDisk: @unchecked Sendable {
    private let lock = NSLock()
    private let capacityBytes: UInt64
    private var externalBytes: UInt64 = 0

    init(capacity: UInt64) {
        capacityBytes = capacity
    }

    var external: UInt64 {
        get { lock.lock(); defer { lock.unlock() }; return externalBytes }
        set { lock.lock(); externalBytes = newValue; lock.unlock() }
    }

    var function: @Sendable (String) -> UInt64? {
        { directory in
            let used = StoreFiles.segmentBytes(directory) + self.external
            let capacity = self.capacityBytes
            return capacity > used ? capacity - used : 0
        }
    }
}

/// Collects storage events.
final class StoreEventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [CaptureStore.StorageEvent] = []

    var events: [CaptureStore.StorageEvent] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }

    var handler: @Sendable (CaptureStore.StorageEvent) -> Void {
        { event in
            self.lock.lock()
            self.list.append(event)
            self.lock.unlock()
        }
    }
}

enum StoreFiles {
    static func segments(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("seg-") && $0.hasSuffix(".pcapng") }.sorted()
    }

    static func size(_ path: String) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// Bytes of the segment files in `directory`.
    static func segmentBytes(_ directory: String) -> UInt64 {
        segments(directory).reduce(0) { $0 + size((directory as NSString).appendingPathComponent($1)) }
    }

    /// seg-YYYYMMDD-HHMMSS-NNNNNN.pcapng
    static func isSegmentName(_ name: String) -> Bool {
        name.wholeMatch(of: #/seg-\d{8}-\d{6}-\d{6}\.pcapng/#) != nil
    }
}

/// tshark, for checking that other tools read what BMA writes.
enum StoreTShark {
    static let path = "/usr/bin/tshark"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }
    static var required: ConditionTrait { .enabled(if: available, "tshark is not installed") }

    /// Runs tshark; stdout, and the exit status.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// How many packets tshark reads from `file` (nil when it fails).
    static func count(_ file: String) throws -> Int? {
        let result = try run(["-r", file, "-T", "fields", "-e", "frame.number"])
        guard result.status == 0 else { return nil }
        return result.output.split(separator: "\n").count
    }
}

enum StoreSetup {
    /// A small-store configuration: tiny segments and buffers, free-space retention off, the
    /// given clock.
    static func configuration(clock: StoreTestClock, segmentBytes: UInt64 = 64 << 10, bufferBytes: Int = 8 << 10) -> CaptureStoreConfiguration {
        var configuration = CaptureStoreConfiguration()
        configuration.maxSegmentBytes = segmentBytes
        configuration.writeBufferBytes = bufferBytes
        configuration.minFreeBytes = 0
        configuration.clock = clock.function
        return configuration
    }
}

/// Runs a program and waits; its exit status (-1 when it could not start).
enum StoreProcess {
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A small tmpfs for full-disk tests (root only).
enum StoreTmpfs {
    /// True when this process may mount a tmpfs (tried once).
    static let canMount: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
        guard let probe = try? TemporaryDirectory() else { return false }
        guard StoreProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.path]) == 0 else { return false }
        StoreProcess.run("/bin/umount", [probe.path])
        return true
    }()

    static var required: ConditionTrait { .enabled(if: canMount, "needs root and mount(8) to create a small tmpfs") }

    static func mount(_ path: String, size: String) -> Bool {
        StoreProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]) == 0
    }

    static func unmount(_ path: String) {
        if StoreProcess.run("/bin/umount", [path]) != 0 { StoreProcess.run("/bin/umount", ["-l", path]) }
    }

    /// Writes `path` until the file system is full; returns the bytes written.
    static func fill(_ path: String) -> Int {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0xA5, count: 4096)
        var total = 0
        while true {
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            total += written
        }
        return total
    }
}
