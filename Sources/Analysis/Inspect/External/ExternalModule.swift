import BMAContract
import Foundation
import NIOCore

/// An inspection module that is any program reading a classic pcap stream on stdin and writing
/// JSON lines on stdout (`tshark -l -r - -T ek`, a script...). Each output line becomes an
/// alert (see `ExternalAlertMapper` for the mapping).
///
/// The caller (ingest) never waits for the program: `inspect` only appends the packet to a
/// bounded queue (when it is full the packet is dropped and counted) and hands over the alerts
/// already parsed. A supervisor thread feeds the program in batches, reads its output, and
/// kills it (SIGKILL to its process group) when it
///
/// - hangs: input is pending (unread bytes in its stdin pipe, or a batch not finished) and it
///   neither reads nor writes for `hangTimeoutNs`;
/// - floods: more than `maxLinesPerSecond` lines in a second, or a line longer than
///   `maxLineBytes`;
///
/// and restarts it after a crash (an exit in stream mode, a non-zero exit in per-batch mode) or
/// a kill, with exponential backoff from `restartBackoffNs` to `maxRestartBackoffNs` (reset
/// once a child has run `healthyAfterNs`).
///
/// Modes: `.stream` runs one long-lived child and writes the pcap file header once, then
/// records as they come (the program must process a stream: tshark with `-l`, a script that
/// flushes per line); `.perBatch` starts one child per batch of `batchPackets` packets and
/// closes its stdin after the batch (for programs that only answer at end of file).
public final class ExternalModule: InspectionModule, @unchecked Sendable {
    public enum Mode: String, Sendable, Codable {
        case stream
        case perBatch = "per-batch"
    }

    public struct Configuration: Sendable {
        /// The module's name: alerts carry it as bma.module, wrapped output as "external:<name>".
        public var name: String
        /// argv; argv[0] is looked up in PATH. Use ["/bin/sh", "-c", "..."] for a pipeline.
        public var command: [String]
        /// Variables added to the analyzer's environment for the program.
        public var environment: [String: String] = [:]
        public var mode: Mode = .stream
        /// Packets per write (stream) or per child (per batch); a partial batch goes out after
        /// `batchDelayNs`.
        public var batchPackets = 64
        public var batchDelayNs: UInt64 = 200_000_000
        /// The input queue's bounds.
        public var queuePackets = 4_096
        public var queueBytes = 16 * 1024 * 1024
        public var hangTimeoutNs: UInt64 = 10_000_000_000
        public var maxLinesPerSecond = 2_000
        public var maxLineBytes = 64 * 1024
        public var restartBackoffNs: UInt64 = 500_000_000
        public var maxRestartBackoffNs: UInt64 = 30_000_000_000
        public var healthyAfterNs: UInt64 = 30_000_000_000
        /// Alerts parsed but not yet taken by `inspect`/`tick`; beyond it they are dropped.
        public var outboxLimit = 1_024
        /// Defaults for output that does not name them.
        public var signatureID = InspectionSignatures.externalDefaultID
        public var category = "External Module"
        public var severity = 3
        /// Where a line names the packet it is about (1-based, since the child started).
        public var packetNumberPaths: [[String]] = [
            ["packet_number"], ["frame_number"], ["frame.number"], ["layers", "frame", "frame_frame_number"],
            ["_source", "layers", "frame", "frame.number"],
        ]
        /// The line kept in details["output"] is cut to this many bytes.
        public var maxDetailBytes = 1_024
        /// Packets remembered for attributing output lines.
        public var rememberedPackets = 4_096
        /// The pcap stream's header.
        public var snapLength: UInt32 = PcapFormat.maximumCapturedLength
        public var nanosecondTimestamps = false

        public init(name: String, command: [String]) {
            self.name = name
            self.command = command
        }
    }

    public struct Statistics: Sendable, Codable, Equatable {
        public var packetsQueued = 0
        /// Dropped because the input queue was full.
        public var packetsDropped = 0
        public var packetsWritten = 0
        /// Taken from the queue but not (fully) written when their child died.
        public var packetsLost = 0
        public var bytesWritten: UInt64 = 0
        public var lines = 0
        public var invalidLines = 0
        public var ignoredLines = 0
        public var alerts = 0
        public var alertsDropped = 0
        public var starts = 0
        public var restarts = 0
        public var spawnFailures = 0
        /// Children that exited when they should not have (stream mode: any exit; per batch: a
        /// non-zero status or a signal).
        public var crashes = 0
        public var cleanExits = 0
        public var killedHung = 0
        public var killedFlooding = 0
        public var killedLongLine = 0
        public var running = false
        public var pid: Int32?
        public var lastExit: String?
        public var lastError: String?
        /// The end of the program's stderr.
        public var stderrTail = ""
    }

    public var name: String { configuration.name }
    public let configuration: Configuration
    let shared: ExternalShared
    private let supervisor: ExternalSupervisor

    /// Starts the supervisor (and, in stream mode, the program) unless `start` is false.
    public init(configuration: Configuration, alerts: AlertBuilder = AlertBuilder(), start: Bool = true) {
        self.configuration = configuration
        shared = ExternalShared(configuration: configuration)
        let mapper = ExternalAlertMapper(
            name: configuration.name, signatureID: configuration.signatureID, category: configuration.category,
            severity: configuration.severity, packetNumberPaths: configuration.packetNumberPaths,
            maxDetailBytes: configuration.maxDetailBytes, alerts: alerts)
        supervisor = ExternalSupervisor(configuration: configuration, shared: shared, mapper: mapper)
        if start { supervisor.start() }
    }

    deinit {
        supervisor.stop(timeoutNs: 5_000_000_000)
    }

    public func start() { supervisor.start() }

    /// Kills the program and ends the supervisor; waits at most `timeoutNs`. Final.
    public func stop(timeoutNs: UInt64 = 5_000_000_000) {
        supervisor.stop(timeoutNs: timeoutNs)
    }

    public var stats: Statistics { shared.lock.withLock { shared.stats } }

    /// Queues the packet for the program (never blocks) and emits the alerts parsed so far.
    public func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
        shared.enqueue(packet, view: view)
        drainAlerts().forEach(emit)
    }

    public func tick(nowNs: UInt64, emit: (Alert) -> Void) {
        drainAlerts().forEach(emit)
    }

    /// The alerts parsed from the program's output since the last call.
    public func drainAlerts() -> [Alert] {
        shared.lock.withLock {
            let alerts = shared.outbox
            shared.outbox.removeAll(keepingCapacity: true)
            return alerts
        }
    }
}

/// What the caller's threads and the supervisor thread share, under `lock`.
final class ExternalShared: @unchecked Sendable {
    struct Queued {
        var record: PcapRecord
        var reference: ExternalPacketReference
        var enqueuedNs: UInt64
    }

    let lock = NSLock()
    let queuePackets: Int
    let queueBytes: Int
    let outboxLimit: Int
    var queue = CircularBuffer<Queued>()
    var queuedBytes = 0
    var outbox: [Alert] = []
    var stats = ExternalModule.Statistics()
    var stopping = false
    /// A non-blocking pipe that wakes the supervisor's poll.
    let wakeRead: Int32
    let wakeWrite: Int32

    init(configuration: ExternalModule.Configuration) {
        queuePackets = max(1, configuration.queuePackets)
        queueBytes = max(1, configuration.queueBytes)
        outboxLimit = max(1, configuration.outboxLimit)
        var ends: [Int32] = [-1, -1]
        if makePipe(&ends, flags: O_CLOEXEC | O_NONBLOCK) != 0 { ends = [-1, -1] }
        wakeRead = ends[0]
        wakeWrite = ends[1]
    }

    deinit {
        if wakeRead >= 0 { _ = close(wakeRead) }
        if wakeWrite >= 0 { _ = close(wakeWrite) }
    }

    func enqueue(_ packet: MirroredPacket, view: PacketView) {
        var reference = packet
        reference.frame = []
        let item = Queued(
            record: PcapRecord(timestampNanoseconds: packet.timestampNs, data: packet.frame,
                               originalLength: max(packet.originalLength, UInt32(clamping: packet.frame.count))),
            reference: ExternalPacketReference(packet: reference, view: view), enqueuedNs: SystemClock.monotonicNanoseconds())
        let wake: Bool = lock.withLock {
            guard !stopping, queue.count < queuePackets, queuedBytes + packet.frame.count <= queueBytes else {
                stats.packetsDropped += 1
                return false
            }
            queue.append(item)
            queuedBytes += packet.frame.count
            stats.packetsQueued += 1
            return queue.count == 1
        }
        if wake { self.wake() }
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Up to `count` queued packets, oldest first.
    func dequeue(upTo count: Int) -> [Queued] {
        lock.withLock {
            var items: [Queued] = []
            while items.count < count, let item = queue.popFirst() {
                queuedBytes -= item.record.data.count
                items.append(item)
            }
            return items
        }
    }

    /// The number of queued packets and the enqueue time of the oldest.
    func queueState() -> (count: Int, oldestNs: UInt64?) {
        lock.withLock { (queue.count, queue.first?.enqueuedNs) }
    }

    func update(_ body: (inout ExternalModule.Statistics) -> Void) {
        lock.withLock { body(&stats) }
    }
}
