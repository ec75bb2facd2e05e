/// Where a stored packet is (see `CaptureStore.PacketRef`).
public typealias PacketRef = CaptureStore.PacketRef

extension CaptureStore {
    /// Where a stored packet is: its segment file (relative to the store) and index in it.
    public struct PacketRef: Sendable, Hashable, Codable {
        public var segment: String
        public var index: Int

        public init(segment: String, index: Int) {
            self.segment = segment
            self.index = index
        }

        /// The alert's `pcap` field.
        public var pcapReference: Alert.PcapReference { Alert.PcapReference(file: segment, packet: index) }
    }

    /// What `writeQuery` writes.
    public enum ExportFormat: String, Sendable, CaseIterable {
        /// Classic pcap, nanosecond timestamps, Ethernet (metadata is lost).
        case pcap
        /// pcapng as the store writes it (metadata kept).
        case pcapng
    }

    /// The store cannot write: a full disk, a failing write, or less free space than configured.
    /// While it lasts every appended packet is dropped (and counted).
    public struct StorageAlert: Sendable, Equatable {
        public var reason: String
        /// When writing paused (store clock, ns).
        public var sinceNs: UInt64
        /// Packets dropped since then.
        public var droppedPackets: UInt64
    }

    public enum StorageEvent: Sendable, Equatable {
        /// Writing paused; packets are being dropped.
        case paused(StorageAlert)
        /// Writing resumed; the alert as it ended (with the packets dropped during the pause).
        case resumed(StorageAlert)
    }

    public struct Stats: Sendable, Equatable {
        /// Segment files, the open one included.
        public var segments: Int
        /// Their bytes (the open segment's buffered bytes included; the index is `indexBytes`).
        public var bytes: UInt64
        /// Packets accepted into them (those still buffered in memory included).
        public var packets: UInt64
        /// Packets dropped because the store could not write (since it was opened).
        public var dropped: UInt64
        /// Oldest and newest packet times (timestampNs) in the store.
        public var oldestNs: UInt64?
        public var newestNs: UInt64?
        /// Segments deleted by retention or to make room (since it was opened).
        public var deletedSegments: UInt64
        /// Index updates that failed (they are retried).
        public var indexErrors: UInt64
        public var storageAlert: StorageAlert?
        /// Of `packets`, those written to their segment file (they survive `kill -9` of the
        /// analyzer; the rest is buffered in memory for at most `flushIntervalNs`) ...
        public var writtenPackets: UInt64 = 0
        /// ... and those synced to disk (they survive a host crash).
        public var durablePackets: UInt64 = 0
        /// The index's size on disk (database, WAL, shared memory), counted by retention.
        public var indexBytes: UInt64 = 0
    }

    /// A segment as the index records it.
    public struct SegmentInfo: Sendable, Equatable {
        public var id: Int64
        public var file: String
        public var createdNs: UInt64
        public var firstNs: UInt64?
        public var lastNs: UInt64?
        public var bytes: UInt64
        public var packets: UInt64
        public var closed: Bool
    }

    /// Disagreements between the index and the directory (all empty when consistent).
    public struct IndexCheck: Sendable, Equatable {
        /// Segment rows whose file is missing.
        public var missingFiles: [String]
        /// Segment files the index does not know.
        public var unindexedFiles: [String]
        /// Flow rows of segments that have no segment row.
        public var orphanFlowRows: Int
        /// Closed segments whose flow rows do not add up to their packet count.
        public var packetCountMismatches: [String]

        public var isConsistent: Bool {
            missingFiles.isEmpty && unindexedFiles.isEmpty && orphanFlowRows == 0 && packetCountMismatches.isEmpty
        }
    }
}

/// Why a store could not be opened or read.
public enum CaptureStoreError: Error, Sendable, CustomStringConvertible {
    case cannotCreateDirectory(path: String, reason: String)
    case index(String)
    case capture(PcapNGError)
    case export(String)
    case closed

    public var description: String {
        switch self {
        case let .cannotCreateDirectory(path, reason): "cannot create capture store \(path): \(reason)"
        case let .index(reason): "capture index: \(reason)"
        case let .capture(error): error.description
        case let .export(reason): "cannot export: \(reason)"
        case .closed: "capture store is closed"
        }
    }
}

extension CaptureStore.StorageAlert {
    /// The alert the analyzer raises for this condition (EVE "alert", category "Storage").
    public func alert(host: String, directory: String) -> Alert {
        Alert(timestamp: CaptureStoreTime.alertTimestamp(sinceNs), flow_id: 0, community_id: nil, src_ip: nil, src_port: nil,
              dest_ip: nil, dest_port: nil, proto: nil, host: host, vm: "",
              alert: Alert.Signature(signature: "BMA capture storage cannot write: mirrored packets are dropped",
                                     signature_id: 9_100_001, category: "Storage", severity: 1),
              bma: Alert.BMA(module: "capture-store", reasons: ["storage-full"], count: 1,
                             details: ["reason": reason, "dropped": String(droppedPackets), "directory": directory]),
              pcap: nil)
    }
}
