import BMAContract
import Foundation
import SystemPackage
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives ERSPAN II copies (GRE, IP protocol 47) on a raw IPv4 socket and hands the decoded
/// packets to `sink` from its own reader thread.
///
/// A raw socket gets a copy of every GRE packet the host receives (after reassembly), starting
/// with the IPv4 header; packets that are not ERSPAN II (other GRE tunnels) are counted as dropped
/// (`unknownProtocol`). Needs root or CAP_NET_RAW. The sink runs on the reader thread, one packet
/// at a time: it must be quick (queue the packet elsewhere).
public final class GRECapture: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// A local IPv4 address: only packets sent to it are read. nil = every address.
        public var bindAddress: String?
        /// SO_RCVBUF asked for (SO_RCVBUFFORCE first, which root may use past net.core.rmem_max).
        public var receiveBufferBytes: Int
        /// Who may send: packets from anyone else are dropped as `unknownSensor`.
        public var sensors: SensorRegistry
        /// ERSPAN carries no authentication: copies from a sensor with keys are refused.
        public var authenticator: MirrorAuthenticator?

        public init(bindAddress: String? = nil, sensors: SensorRegistry = .loopback, receiveBufferBytes: Int = 8 << 20) {
            self.bindAddress = bindAddress
            self.sensors = sensors
            self.receiveBufferBytes = receiveBufferBytes
        }
    }

    public let configuration: Configuration
    private let sink: @Sendable (MirroredPacket) -> Void
    private let counters = MirrorIngestCounters()
    private let reader = Mutex<Reader?>(nil)

    /// The largest IPv4 packet.
    static let bufferBytes = 65535
    /// Packets read between two looks at the stop request.
    static let readsPerPoll = 64

    public init(configuration: Configuration = Configuration(), sink: @escaping @Sendable (MirroredPacket) -> Void) {
        self.configuration = configuration
        self.sink = sink
    }

    deinit {
        stop()
    }

    /// Counters since the capture was created (they survive stop and start).
    public var statistics: MirrorIngestStatistics { counters.snapshot }

    public var isRunning: Bool { reader.withLock { $0 != nil } }

    /// Opens the raw socket and starts the reader thread.
    public func start() throws(GRECaptureError) {
        try reader.withLock { reader throws(GRECaptureError) in
            guard reader == nil else { throw .alreadyRunning }
            let fd = try Self.openSocket(configuration)
            var pipeFDs: [Int32] = [-1, -1]
            guard pipe(&pipeFDs) == 0 else {
                let code = errno
                close(fd)
                throw .system(operation: "pipe", errno: code)
            }
            for descriptor in pipeFDs { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
            let started = Reader(socket: fd, wakeRead: pipeFDs[0], wakeWrite: pipeFDs[1])
            let (sink, counters, sensors, authenticator) = (sink, counters, configuration.sensors, configuration.authenticator)
            let thread = Thread { started.run(sink: sink, counters: counters, sensors: sensors, authenticator: authenticator) }
            thread.name = "bma-gre-capture"
            thread.start()
            reader = started
        }
    }

    /// Stops the reader thread and closes the socket; when it returns, the sink is not called
    /// again. Does nothing when not running. Called from the sink itself, it does not wait: the
    /// thread ends after the sink returns.
    public func stop() {
        guard let stopped = reader.withLock({ reader in defer { reader = nil }; return reader }) else { return }
        if stopped.isCurrentThread {
            stopped.requestStop(closeOnExit: true)
        } else {
            stopped.requestStop(closeOnExit: false)
            stopped.waitUntilFinished()
            stopped.closeDescriptors()
        }
    }

    /// One run of the reader thread and its descriptors. `stop()` closes them once the thread has
    /// ended, or the thread itself when `stop()` was called from the sink.
    private final class Reader: Sendable {
        let socket: Int32
        let wakeRead: Int32
        let wakeWrite: Int32
        private let stopRequested = Atomic<Bool>(false)
        private let closeOnExit = Atomic<Bool>(false)
        private let finished = DispatchSemaphore(value: 0)
        private let threadID = Mutex<pthread_t?>(nil)

        init(socket: Int32, wakeRead: Int32, wakeWrite: Int32) {
            self.socket = socket
            self.wakeRead = wakeRead
            self.wakeWrite = wakeWrite
        }

        var isCurrentThread: Bool {
            threadID.withLock { id in id.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
        }

        func requestStop(closeOnExit: Bool) {
            self.closeOnExit.store(closeOnExit, ordering: .sequentiallyConsistent)
            stopRequested.store(true, ordering: .sequentiallyConsistent)
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }

        func waitUntilFinished() {
            finished.wait()
        }

        func closeDescriptors() {
            close(socket)
            close(wakeRead)
            close(wakeWrite)
        }

        func run(sink: @Sendable (MirroredPacket) -> Void, counters: MirrorIngestCounters, sensors: SensorRegistry,
                 authenticator: MirrorAuthenticator?) {
            threadID.withLock { $0 = pthread_self() }
            defer {
                if closeOnExit.load(ordering: .sequentiallyConsistent) { closeDescriptors() }
                finished.signal()
            }
            var buffer = [UInt8](repeating: 0, count: GRECapture.bufferBytes)
            var descriptors = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            while !stopRequested.load(ordering: .sequentiallyConsistent) {
                guard case .success = interruptible({ poll(&descriptors, nfds_t(descriptors.count), -1) }) else {
                    counters.recordReadError()
                    return
                }
                if descriptors[1].revents != 0 { return }
                guard descriptors[0].revents != 0 else { continue }
                if descriptors[0].revents & Int16(POLLIN) == 0 {
                    // POLLERR (a queued ICMP error): reading clears it.
                    counters.recordReadError()
                }
                for _ in 0..<GRECapture.readsPerPoll {
                    guard !stopRequested.load(ordering: .sequentiallyConsistent) else { return }
                    // MSG_TRUNC: the packet's real length, even when it is longer than the buffer.
                    let received = interruptible {
                        buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC)) }
                    }
                    guard case .success(let length) = received else {
                        if case .failure(let e) = received, e != .resourceTemporarilyUnavailable { counters.recordReadError() }
                        break
                    }
                    let now = SystemClock.wallNanoseconds()
                    do throws(MirrorDecodeError) {
                        guard length <= buffer.count else {
                            throw .truncated(layer: .ipv4, needed: length, available: buffer.count)
                        }
                        var packet = try MirrorDecoder.decodeRawIPv4GRE(buffer[0..<length], receivedNs: now)
                        guard let sensor = sensors.sensor(address: packet.sensor) else { throw .unknownSensor(address: packet.sensor) }
                        packet.sensor = sensor.name
                        try authenticator?.verify(packet)
                        counters.record(bytes: length, outcome: .success(packet.encapsulation))
                        sink(packet)
                    } catch {
                        counters.record(bytes: length, outcome: .failure(error))
                    }
                }
            }
        }
    }

    private static func openSocket(_ configuration: Configuration) throws(GRECaptureError) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        if let text = configuration.bindAddress {
            guard let ip = IPv4Address(text) else { throw .invalidAddress(text) }
            address.sin_addr.s_addr = ip.rawValue.bigEndian
        }
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(MirrorDecoder.greProtocol))
        #else
        let fd = socket(AF_INET, SOCK_RAW, Int32(MirrorDecoder.greProtocol))
        #endif
        guard fd >= 0 else {
            let code = errno
            if code == EPERM || code == EACCES { throw .permissionDenied }
            throw .system(operation: "socket(AF_INET, SOCK_RAW, IPPROTO_GRE)", errno: code)
        }
        if configuration.receiveBufferBytes > 0 {
            var size = Int32(clamping: configuration.receiveBufferBytes)
            let length = socklen_t(MemoryLayout<Int32>.size)
            #if os(Linux)
            if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, length) != 0 {
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, length)
            }
            #else
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, length)
            #endif
        }
        if configuration.bindAddress != nil {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                let code = errno
                close(fd)
                throw .bindFailed(address: configuration.bindAddress ?? "", errno: code)
            }
        }
        return fd
    }
}

public enum GRECaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyRunning
    /// Raw sockets need root or CAP_NET_RAW.
    case permissionDenied
    case invalidAddress(String)
    case bindFailed(address: String, errno: Int32)
    case system(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .alreadyRunning: "the GRE capture is already running"
        case .permissionDenied: "cannot open a raw GRE socket: needs root or CAP_NET_RAW"
        case .invalidAddress(let text): "'\(text)' is not an IPv4 address"
        case .bindFailed(let address, let code): "cannot bind the raw GRE socket to \(address): \(Self.message(code))"
        case .system(let operation, let code): "\(operation) failed: \(Self.message(code))"
        }
    }

    static func message(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}

extension MirrorDecoder {
    /// An IPv4 packet as a raw IPPROTO_GRE socket returns it (header included, reassembled):
    /// sensor = the IPv4 source address.
    static func decodeRawIPv4GRE(_ packet: some Collection<UInt8>, receivedNs: UInt64) throws(MirrorDecodeError) -> MirroredPacket {
        try MirrorBytes.with(packet) { bytes throws(MirrorDecodeError) in
            let ip = try ipv4(bytes)
            guard ip.protocolNumber == greProtocol else { throw .notMirrorTraffic(.ipProtocol(ip.protocolNumber)) }
            return try erspan(ip.bytes, Context(sensor: ip.sensor, receivedNs: receivedNs, missing: ip.missing))
        }
    }
}
