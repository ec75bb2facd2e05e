import BMAContract
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
        /// The group that may read the store (`StoreGroup`); nil = the process's own group.
        public var storeGroup: gid_t?
        /// The ingest queue's bounds: packets, and bytes (frames plus per-packet overhead); a
        /// packet that would pass either is dropped and counted (`queue_drops`).
        public var queueCapacity = 65_536
        public var queueBytes = 64 << 20
        /// The sensor named in storage alerts.
        public var host = ProcessInfo.processInfo.hostName
        /// Called with every alert the sink delivers (after deduplication), e.g. the response engine.
        public var onAlert: (@Sendable (Alert) -> Void)?

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
    /// The newest packet time seen, and when (wall clock) the last packet arrived: the modules'
    /// clock is packet time, advanced by the wall clock only while no packets come.
    private var lastPacketNs: UInt64 = 0
    /// The latest stored packet of each recent flow (processing thread only), for alert references.
    private var lastRefs = SlotMap<FlowTuple, PacketRef>(capacity: AnalyzerNode.lastRefsCapacity)
    private var lastArrivalNs: UInt64 = 0
    private let startedNs = SystemClock.wallNanoseconds()

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        try FileManager.default.createDirectory(atPath: configuration.storeDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o750])
        if let group = configuration.storeGroup { try StoreGroup.apply(gid: group, to: configuration.storeDirectory) }
        let store = try CaptureStore(directory: configuration.storeDirectory, configuration: configuration.store)
        self.store = store
        pipeline = InspectionPipeline.builtIn(vmNames: configuration.vmNames)
        for ext in configuration.externalModules {
            pipeline.add(ExternalModule(configuration: ext, alerts: AlertBuilder(vmNames: configuration.vmNames)))
        }
        var sinkConfig = AlertSink.Configuration(evePath: configuration.evePath ?? configuration.storeDirectory + "/eve.json")
        sinkConfig.windowNs = 60_000_000_000
        let onAlert = configuration.onAlert
        sink = try AlertSink(configuration: sinkConfig, store: { alert in
            store.insertAlert(alert)
            onAlert?(alert)
        })
        queue = PacketQueue(capacity: configuration.queueCapacity, maxBytes: configuration.queueBytes)
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
                    lastArrivalNs = SystemClock.wallNanoseconds()
                }
                housekeeping(now: SystemClock.wallNanoseconds())
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
        if lastPacketNs != 0 { pipeline.tick(nowNs: lastPacketNs) { sink.submit($0) } }
        store.flush()
        checkStorage()
        sink.flush()
        sink.close()
        store.flush()
        store.close()
    }

    /// Processes one packet on the caller's thread (imports). The clock is read once every
    /// `clockEvery` packets, not per packet.
    public func process(_ p: MirroredPacket) {
        handle(p)
        sinceClock &+= 1
        if sinceClock >= AnalyzerNode.clockEvery || lastArrivalNs == 0 {
            sinceClock = 0
            let now = SystemClock.wallNanoseconds()
            lastArrivalNs = now
            housekeeping(now: now)
        }
    }

    static let clockEvery = 256
    private var sinceClock = 0

    /// Parses the packet once; storage, the index, the alert references and every module share
    /// the result.
    private func handle(_ p: MirroredPacket) {
        let view = PacketView(packet: p)
        let flow = FlowTuple(view.headers)
        let ref = store.append(p, flow: flow)
        if let ref, let flow {
            if lastRefs.count >= AnalyzerNode.lastRefsCapacity { lastRefs.removeAll() }
            lastRefs.set(flow.normalized, ref)
        }
        pipeline.process(p, view: view) { alert in
            var a = alert
            // The reference is the latest stored packet of the alert's flow.
            if a.pcap == nil, let key = AnalyzerNode.flowKey(a).flatMap(FlowTuple.init) { a.pcap = lastRefs[key.normalized]?.pcapReference }
            if a.community_id == nil { a.community_id = AnalyzerNode.communityID(a) }
            sink.submit(a)
        }
        processed.add(1, ordering: .relaxed)
        if p.timestampNs > lastPacketNs { lastPacketNs = p.timestampNs }
    }

    /// The flow an alert names, if it names one.
    static func flowKey(_ a: Alert) -> FlowKey? {
        guard let src = a.src_ip, let dst = a.dest_ip, let name = a.proto else { return nil }
        let numbers: [String: UInt8] = ["TCP": 6, "UDP": 17, "ICMP": 1, "IPV6-ICMP": 58, "ICMPV6": 58, "SCTP": 132]
        guard let proto = numbers[name.uppercased()] ?? UInt8(name) else { return nil }
        return FlowKey(srcIP: src, dstIP: dst, proto: proto, srcPort: a.src_port ?? 0, dstPort: a.dest_port ?? 0)
    }

    /// The Community ID of an alert's flow, when it names one.
    static func communityID(_ a: Alert) -> String? { flowKey(a)?.communityID }

    static let lastRefsCapacity = 65_536

    private func housekeeping(now: UInt64) {
        guard now &- lastTickNs >= 1_000_000_000 else { return }
        lastTickNs = now
        if lastPacketNs != 0 {
            pipeline.tick(nowNs: lastPacketNs &+ (now &- lastArrivalNs)) { sink.submit($0) }
        }
        sink.tick()
        store.maintain()
        checkStorage()
    }

    /// Raises a storage alert once per episode of a store that cannot write.
    private func checkStorage() {
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
        let uptime = Double(SystemClock.wallNanoseconds() &- startedNs) / 1e9
        return AnalyzerStatus(
            uptime_s: uptime, processed: processed.load(ordering: .relaxed), queue_drops: queue.dropped,
            queued: queue.count, queued_bytes: UInt64(queue.bytes), queue_capacity: configuration.queueCapacity,
            queue_max_bytes: UInt64(configuration.queueBytes), ingest_received: ingest?.received ?? 0, ingest_decoded: ingest?.decoded ?? 0,
            ingest_bytes: ingest?.receivedBytes ?? 0,
            ingest_drops: (ingest?.dropped ?? [:]).reduce(into: [:]) { $0[$1.key.rawValue] = $1.value },
            storage: .init(directory: configuration.storeDirectory, segments: s.segments, bytes: s.bytes, packets: s.packets,
                           dropped: s.dropped, deleted_segments: s.deletedSegments, storage_alert: s.storageAlert?.reason,
                           written_packets: s.writtenPackets, durable_packets: s.durablePackets, index_bytes: s.indexBytes,
                           flush_interval_s: Double(configuration.store.flushIntervalNs) / 1e9),
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
        /// Of `packets` (accepted by the store), those written to segment files (a `kill -9`
        /// keeps them) and those synced to disk (a host crash keeps them); the rest is at most
        /// `flush_interval_s` old.
        public var written_packets: UInt64?
        public var durable_packets: UInt64?
        /// The index's bytes on disk (`bytes` counts the segments), within the retention limit too.
        public var index_bytes: UInt64?
        public var flush_interval_s: Double?
    }

    public var uptime_s: Double
    public var processed: UInt64
    public var queue_drops: UInt64
    public var queued: Int
    /// Bytes the queued packets hold, and the queue's bounds.
    public var queued_bytes: UInt64?
    public var queue_capacity: Int?
    public var queue_max_bytes: UInt64?
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
