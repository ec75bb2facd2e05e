import Foundation
import Synchronization
@testable import Analysis
#if canImport(Glibc)
import Glibc
#endif

/// Plain sockets that send what a bmad host sends: UDP datagrams, and GRE packets over a raw
/// socket (the kernel writes the IPv4 header).
final class IngestSender {
    let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `udp`: a UDP socket; else a raw IPPROTO_GRE socket (root). `source`: the host-order IPv4
    /// address to send from (any loopback address works), else the kernel's choice.
    init(udp: Bool, source: UInt32? = nil) throws {
        fd = udp ? socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0) : socket(AF_INET, Int32(SOCK_RAW.rawValue), 47)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        if let source {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = source.bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(fd)
                throw Failure(description: "bind: \(String(cString: strerror(errno)))")
            }
        }
    }

    deinit {
        close(fd)
    }

    /// Sends `bytes` to 127.0.0.1 (`port` is ignored for raw sockets).
    func send(_ bytes: [UInt8], port: Int = 0) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == bytes.count else { throw Failure(description: "sendto: \(String(cString: strerror(errno)))") }
    }
}

/// What a sink received, readable from the test.
final class IngestPacketBox: Sendable {
    private let packets = Mutex<[MirroredPacket]>([])

    func append(_ packet: MirroredPacket) {
        packets.withLock { $0.append(packet) }
    }

    var all: [MirroredPacket] { packets.withLock { $0 } }
}

/// A reference a sink can reach (set after the receiver is made).
final class IngestHolder<Value: AnyObject & Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)

    var value: Value? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

enum IngestWait {
    /// Polls `condition` every 5 ms until it holds or `seconds` pass; returns whether it held.
    static func until(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    static var isRoot: Bool { geteuid() == 0 }
}
