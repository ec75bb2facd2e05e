import BMAContract
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives the Geneve and VXLAN copies that bmad hosts send, on UDP sockets (SwiftNIO, one event
/// loop thread), decodes each datagram with `MirrorDecoder` and hands the packets to `sink`.
///
/// The sink runs on the listener's event loop thread, one packet at a time, in arrival order per
/// socket: it must be quick (queue the packet elsewhere). Datagrams
/// that do not decode are counted by error kind in `statistics` and otherwise dropped.
/// ERSPAN (GRE, not UDP) is received by `GRECapture`.
public final class MirrorListener: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// The local address to bind ("127.0.0.1", "192.0.2.10", "::", ...).
        public var host: String
        /// Who may send: datagrams from anyone else are dropped as `unknownSensor`.
        public var sensors: SensorRegistry
        /// Checks the copies of sensors that have keys; nil = no sensor has keys.
        public var authenticator: MirrorAuthenticator?
        /// UDP port for Geneve; 0 = an ephemeral port (see `binding`), nil = no Geneve socket.
        public var genevePort: Int?
        /// UDP port for VXLAN; 0 = an ephemeral port, nil = no VXLAN socket.
        public var vxlanPort: Int?
        /// SO_RCVBUF asked for each socket. Linux caps it at net.core.rmem_max unless the
        /// process may override that (root): `binding.receiveBufferBytes` says what was granted.
        public var receiveBufferBytes: Int
        /// The largest datagram read whole (a jumbo frame's IP MTU by default). A longer datagram
        /// is cut: a Geneve copy then fails its metadata's length check and is counted as dropped.
        public var maximumDatagramBytes: Int
        /// Datagrams read per system call (recvmmsg); 1 reads them one at a time.
        public var vectorReadMessageCount: Int

        public init(host: String = "127.0.0.1", sensors: SensorRegistry = .loopback, genevePort: Int? = Int(MirrorDecoder.genevePort),
                    vxlanPort: Int? = Int(MirrorDecoder.vxlanPort), receiveBufferBytes: Int = 8 << 20,
                    maximumDatagramBytes: Int = 9216, vectorReadMessageCount: Int = 16) {
            self.host = host
            self.sensors = sensors
            self.genevePort = genevePort
            self.vxlanPort = vxlanPort
            self.receiveBufferBytes = receiveBufferBytes
            self.maximumDatagramBytes = maximumDatagramBytes
            self.vectorReadMessageCount = vectorReadMessageCount
        }
    }

    /// Where a started listener is bound.
    public struct Binding: Sendable, Equatable {
        public var host: String
        public var genevePort: Int?
        public var vxlanPort: Int?
        /// The smallest SO_RCVBUF the kernel reports over the sockets (Linux reports twice the
        /// usable size: it counts its bookkeeping).
        public var receiveBufferBytes: Int
    }

    public let configuration: Configuration
    private let sink: @Sendable (MirroredPacket) -> Void
    private let counters = MirrorIngestCounters()
    private let state = Mutex(State())

    private struct State {
        var group: MultiThreadedEventLoopGroup?
        var channels: [any Channel] = []
        var binding: Binding?
    }

    public init(configuration: Configuration = Configuration(), sink: @escaping @Sendable (MirroredPacket) -> Void) {
        self.configuration = configuration
        self.sink = sink
    }

    deinit {
        stop()
    }

    /// Counters since the listener was created (they survive stop and start).
    public var statistics: MirrorIngestStatistics { counters.snapshot }

    /// The bound ports while running, nil otherwise.
    public var binding: Binding? { state.withLock { $0.binding } }

    public var isRunning: Bool { state.withLock { $0.group != nil } }

    /// Binds the sockets and starts receiving. Blocks until they are bound; on any failure nothing
    /// stays bound.
    public func start() throws(MirrorListenerError) {
        let configuration = configuration
        let sockets = try Self.sockets(configuration)
        try state.withLock { state throws(MirrorListenerError) in
            guard state.group == nil else { throw .alreadyRunning }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var channels: [any Channel] = []
            var bound = Binding(host: configuration.host, genevePort: nil, vxlanPort: nil, receiveBufferBytes: Int.max)
            for (encapsulation, port) in sockets {
                do {
                    let channel = try bootstrap(group: group, encapsulation: encapsulation)
                        .bind(host: configuration.host, port: port).wait()
                    channels.append(channel)
                    let boundPort = channel.localAddress?.port ?? port
                    if encapsulation == .geneve { bound.genevePort = boundPort } else { bound.vxlanPort = boundPort }
                    bound.receiveBufferBytes = min(bound.receiveBufferBytes, Self.raiseReceiveBuffer(channel, to: configuration.receiveBufferBytes))
                } catch {
                    for channel in channels { try? channel.close().wait() }
                    try? group.syncShutdownGracefully()
                    throw .bindFailed(encapsulation: encapsulation, host: configuration.host, port: port,
                                      reason: String(describing: error))
                }
            }
            state.group = group
            state.channels = channels
            state.binding = bound
        }
    }

    /// Closes the sockets and stops the event loop; when it returns, the sink is not called
    /// again. Does nothing when not running. Called from the sink itself, it does not wait: the
    /// sockets close at once and the event loop ends after the sink returns.
    public func stop() {
        let (group, channels) = state.withLock { state in
            defer { state = State() }
            return (state.group, state.channels)
        }
        guard let group else { return }
        if group.next().inEventLoop {  // one event loop: next() is it
            // On the listener's own thread: waiting here would wait for ourselves.
            for channel in channels { channel.close(promise: nil) }
            group.shutdownGracefully { _ in }
            return
        }
        for channel in channels { try? channel.close().wait() }
        try? group.syncShutdownGracefully()
    }

    /// The (encapsulation, port) pairs to bind, after checking the configuration.
    private static func sockets(_ configuration: Configuration) throws(MirrorListenerError) -> [(MirroredPacket.Encapsulation, Int)] {
        let sockets = [(MirroredPacket.Encapsulation.geneve, configuration.genevePort),
                       (.vxlan, configuration.vxlanPort)].compactMap { pair in pair.1.map { (pair.0, $0) } }
        guard !sockets.isEmpty else { throw .invalidConfiguration("neither a Geneve nor a VXLAN port is configured") }
        for (encapsulation, port) in sockets where !(0...65535).contains(port) {
            throw .invalidConfiguration("\(encapsulation.rawValue) port \(port) is not in 0...65535")
        }
        if let geneve = configuration.genevePort, let vxlan = configuration.vxlanPort, geneve == vxlan, geneve != 0 {
            throw .invalidConfiguration("Geneve and VXLAN cannot share UDP port \(geneve)")
        }
        guard (MirrorDecoder.minimumInnerFrameLength + 8...65535).contains(configuration.maximumDatagramBytes) else {
            throw .invalidConfiguration("maximumDatagramBytes \(configuration.maximumDatagramBytes) is not in 22...65535")
        }
        guard (1...1024).contains(configuration.vectorReadMessageCount) else {
            throw .invalidConfiguration("vectorReadMessageCount \(configuration.vectorReadMessageCount) is not in 1...1024")
        }
        guard configuration.receiveBufferBytes >= 0 else {
            throw .invalidConfiguration("receiveBufferBytes \(configuration.receiveBufferBytes) is negative")
        }
        return sockets
    }

    private func bootstrap(group: MultiThreadedEventLoopGroup, encapsulation: MirroredPacket.Encapsulation) -> DatagramBootstrap {
        let sink = sink
        let counters = counters
        let configuration = configuration
        let messages = configuration.vectorReadMessageCount
        // No SO_REUSEADDR: on Linux it lets a second UDP socket bind the same port and take part
        // of the traffic silently. UDP has no TIME_WAIT, so a restart does not need it.
        var bootstrap = DatagramBootstrap(group: group)
            .channelOption(.recvAllocator,
                           value: FixedSizeRecvByteBufferAllocator(capacity: configuration.maximumDatagramBytes * messages))
            .channelOption(.maxMessagesPerRead, value: 16)
        if configuration.receiveBufferBytes > 0 {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf),
                                                value: SocketOptionValue(clamping: configuration.receiveBufferBytes))
        }
        if messages > 1 {
            bootstrap = bootstrap.channelOption(.datagramVectorReadMessageCount, value: messages)
        }
        return bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    MirrorDatagramHandler(encapsulation: encapsulation, sensors: configuration.sensors,
                                          authenticator: configuration.authenticator, sink: sink, counters: counters))
            }
        }
    }

    /// Asks for `bytes` of receive buffer, past net.core.rmem_max when allowed (SO_RCVBUFFORCE,
    /// root), and returns what the kernel reports.
    private static func raiseReceiveBuffer(_ channel: any Channel, to bytes: Int) -> Int {
        let option = ChannelOptions.socketOption(.so_rcvbuf)
        let current = { Int((try? channel.getOption(option).wait()) ?? 0) }
        #if os(Linux)
        // Linux reports twice what was asked for.
        if bytes > 0 && current() < 2 * bytes {
            let force = ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: CInt(SO_RCVBUFFORCE)))
            try? channel.setOption(force, value: SocketOptionValue(clamping: bytes)).wait()
        }
        #endif
        return current()
    }
}

public enum MirrorListenerError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyRunning
    case invalidConfiguration(String)
    /// A socket could not be bound (address in use, not a local address, name not resolved...).
    case bindFailed(encapsulation: MirroredPacket.Encapsulation, host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case .alreadyRunning: "the mirror listener is already running"
        case .invalidConfiguration(let message): "invalid mirror listener configuration: \(message)"
        case .bindFailed(let encapsulation, let host, let port, let reason):
            "cannot bind the \(encapsulation.rawValue) listener to \(host):\(port): \(reason)"
        }
    }
}

/// Decodes each datagram of one socket and passes the packets on.
final class MirrorDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let encapsulation: MirroredPacket.Encapsulation
    let sensors: SensorRegistry
    let authenticator: MirrorAuthenticator?
    let sink: @Sendable (MirroredPacket) -> Void
    let counters: MirrorIngestCounters

    init(encapsulation: MirroredPacket.Encapsulation, sensors: SensorRegistry, authenticator: MirrorAuthenticator? = nil,
         sink: @escaping @Sendable (MirroredPacket) -> Void, counters: MirrorIngestCounters) {
        self.encapsulation = encapsulation
        self.sensors = sensors
        self.authenticator = authenticator
        self.sink = sink
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let payload = envelope.data.readableBytesView
        let now = SystemClock.wallNanoseconds()
        do throws(MirrorDecodeError) {
            guard let sensor = sensors.sensor(envelope.remoteAddress)?.name else {
                throw .unknownSensor(address: Self.sensor(envelope.remoteAddress))
            }
            let packet = encapsulation == .geneve
                ? try MirrorDecoder.decodeGeneve(udpPayload: payload, sensor: sensor, receivedNs: now)
                : try MirrorDecoder.decodeVXLAN(udpPayload: payload, sensor: sensor, receivedNs: now)
            try authenticator?.verify(packet)
            counters.record(bytes: payload.count, outcome: .success(packet.encapsulation))
            sink(packet)
        } catch {
            counters.record(bytes: payload.count, outcome: .failure(error))
        }
    }

    /// Read errors (an ICMP error queued on the socket, memory pressure) are counted; the socket
    /// stays open unless NIO closes it.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        counters.recordReadError()
    }

    /// The sender's address as text; an IPv4 sender on a dual-stack socket reads as IPv4.
    static func sensor(_ address: SocketAddress) -> String {
        sensor(text: address.ipAddress)
    }

    static func sensor(text: String?) -> String {
        guard let text else { return "unknown" }
        let mapped = "::ffff:"
        if text.lowercased().hasPrefix(mapped), IPv4Address(String(text.dropFirst(mapped.count))) != nil {
            return String(text.dropFirst(mapped.count))
        }
        return text
    }
}
