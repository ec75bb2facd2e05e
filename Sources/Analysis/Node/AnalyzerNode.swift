import Foundation
import Synchronization

/// One analysis node: packets from the listeners (or imported files) go through a bounded queue
/// to one processing thread that stores them, runs the inspection modules and hands alerts to
/// the sink. Ingest never waits: a full queue drops and counts.
public final class AnalyzerNode: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var storeDirectory: String
        public var store = CaptureStoreConfiguration()
        /// EVE JSON lines; nil = `<store>/eve.json`.
        public var evePath: String?
        public var vmNames: [UInt32: String] = [:]
        public var externalModules: [ExternalModule.Configuration] = []
        public var queueCapacity = 65_536
        /// The sensor named in storage alerts.
        public var host = ProcessInfo.processInfo.hostName

        public init(storeDirectory: String) { self.storeDirectory = storeDirectory }
    }

    public let configuration: Configuration
    public let store: CaptureStore
    public let pipeline: InspectionPipeline
    public let sink: AlertSink
    private let queue: PacketQueue
    private let processed = Atomic<UInt64>(0)
    private let stopping = Atomic<Bool>(false)
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private var storageAlertRaised = false
    private var lastTickNs: UInt64 = 0
    private let startedNs = AnalyzerNode.now()

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        try FileManager.default.createDirectory(atPath: configuration.storeDirectory, withIntermediateDirectories: true)
        let store = try CaptureStore(directory: configuration.storeDirectory, configuration: configuration.store)
        self.store = store
        pipeline = InspectionPipeline.builtIn(vmNames: configuration.vmNames)
        for ext in configuration.externalModules {
            pipeline.add(ExternalModule(configuration: ext, alerts: AlertBuilder(vmNames: configuration.vmNames)))
        }
        var sinkConfig = AlertSink.Configuration(evePath: configuration.evePath ?? configuration.storeDirectory + "/eve.json")
        sinkConfig.windowNs = 60_000_000_000
        sink = try AlertSink(configuration: sinkConfig, store: { store.insertAlert($0) })
        queue = PacketQueue(capacity: configuration.queueCapacity)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// From any thread: queues a packet; false when the queue was full (counted).
    @discardableResult
    public func submit(_ p: MirroredPacket) -> Bool { queue.push(p) }

    /// Starts the processing thread.
    public func start() {
        let t = Thread { [self] in
            while !stopping.load(ordering: .acquiring) || !queue.isEmpty {
                if let batch = queue.pop(max: 256, waitMs: 100) {
                    for p in batch { handle(p) }
                }
                housekeeping()
            }
            finished.signal()
        }
        t.name = "bma-analyzer"
        thread = t
        t.start()
    }

    /// Drains the queue, stops the thread, flushes alerts and the store.
    public func stop() {
        guard let _ = thread else { return close() }
        stopping.store(true, ordering: .releasing)
        finished.wait()
        thread = nil
        close()
    }

    private func close() {
        pipeline.tick(nowNs: AnalyzerNode.now()) { sink.submit($0) }
        sink.flush()
        sink.close()
        store.flush()
        store.close()
    }

    /// Processes one packet on the caller's thread (imports).
    public func process(_ p: MirroredPacket) {
        handle(p)
        housekeeping()
    }

    private func handle(_ p: MirroredPacket) {
        let ref = store.append(p)
        pipeline.process(p) { alert in
            var a = alert
            if a.pcap == nil { a.pcap = ref?.pcapReference }
            sink.submit(a)
        }
        processed.add(1, ordering: .relaxed)
    }

    private func housekeeping() {
        let now = AnalyzerNode.now()
        guard now &- lastTickNs >= 1_000_000_000 else { return }
        lastTickNs = now
        pipeline.tick(nowNs: now) { sink.submit($0) }
        sink.tick()
        store.maintain()
        let storage = store.stats.storageAlert
        if let storage, !storageAlertRaised {
            sink.submit(storage.alert(host: configuration.host, directory: configuration.storeDirectory))
        }
        storageAlertRaised = storage != nil
    }

    /// Everything `bma-analyzer status` shows.
    public func status(ingest: MirrorIngestStatistics?) -> AnalyzerStatus {
        let s = store.stats
        let p = pipeline.stats
        let uptime = Double(AnalyzerNode.now() &- startedNs) / 1e9
        return AnalyzerStatus(
            uptime_s: uptime, processed: processed.load(ordering: .relaxed), queue_drops: queue.dropped,
            queued: queue.count, ingest_received: ingest?.received ?? 0, ingest_decoded: ingest?.decoded ?? 0,
            ingest_bytes: ingest?.receivedBytes ?? 0,
            ingest_drops: (ingest?.dropped ?? [:]).reduce(into: [:]) { $0[$1.key.rawValue] = $1.value },
            storage: .init(directory: configuration.storeDirectory, segments: s.segments, bytes: s.bytes, packets: s.packets,
                           dropped: s.dropped, deleted_segments: s.deletedSegments, storage_alert: s.storageAlert?.reason),
            alerts_by_module: p.alerts, alerts_emitted: sink.stats.emitted, alerts_folded: sink.stats.folded,
            modules: pipeline.moduleNames)
    }
}

/// What `bma-analyzer status` reports.
public struct AnalyzerStatus: Codable, Sendable {
    public struct Storage: Codable, Sendable {
        public var directory: String
        public var segments: Int
        public var bytes: UInt64
        public var packets: UInt64
        public var dropped: UInt64
        public var deleted_segments: UInt64
        public var storage_alert: String?
    }

    public var uptime_s: Double
    public var processed: UInt64
    public var queue_drops: UInt64
    public var queued: Int
    public var ingest_received: UInt64
    public var ingest_decoded: UInt64
    public var ingest_bytes: UInt64
    public var ingest_drops: [String: UInt64]
    public var storage: Storage
    public var alerts_by_module: [String: Int]
    public var alerts_emitted: Int
    public var alerts_folded: Int
    public var modules: [String]
}
