/// An alert, written as one EVE-compatible JSON line (the event type and field names Suricata
/// uses, so that the same pipelines read both), with BMA's own fields under "bma".
public struct Alert: Sendable, Codable, Equatable {
    public struct Signature: Sendable, Codable, Equatable {
        public var signature: String
        public var signature_id: Int
        public var category: String
        /// 1 high, 2 medium, 3 low (Suricata's convention).
        public var severity: Int
        public var action: String = "allowed"

        public init(signature: String, signature_id: Int, category: String, severity: Int) {
            self.signature = signature
            self.signature_id = signature_id
            self.category = category
            self.severity = severity
        }
    }

    public struct BMA: Sendable, Codable, Equatable {
        public var module: String
        public var reasons: [String]
        public var score: Double?
        /// How many events this alert stands for (deduplication folds repeats into it).
        public var count: Int
        public var details: [String: String]

        public init(module: String, reasons: [String] = [], score: Double? = nil, count: Int = 1, details: [String: String] = [:]) {
            self.module = module
            self.reasons = reasons
            self.score = score
            self.count = count
            self.details = details
        }
    }

    public struct PcapReference: Sendable, Codable, Equatable {
        /// The capture file (relative to the store) and the packet's index in it.
        public var file: String
        public var packet: Int

        public init(file: String, packet: Int) {
            self.file = file
            self.packet = packet
        }
    }

    /// RFC 3339 with microseconds, e.g. 2021-03-11T15:22:15.831389+0000 (as Suricata writes it).
    public var timestamp: String
    public var event_type = "alert"
    public var flow_id: UInt64
    public var community_id: String?
    public var src_ip: String?
    public var src_port: UInt16?
    public var dest_ip: String?
    public var dest_port: UInt16?
    public var proto: String?
    /// The host (sensor) that mirrored the traffic.
    public var host: String
    /// The VM, by id (and name when known).
    public var vm: String
    public var alert: Signature
    public var bma: BMA
    public var pcap: PcapReference?

    public init(timestamp: String, flow_id: UInt64, community_id: String?, src_ip: String?, src_port: UInt16?,
                dest_ip: String?, dest_port: UInt16?, proto: String?, host: String, vm: String,
                alert: Signature, bma: BMA, pcap: PcapReference?) {
        self.timestamp = timestamp
        self.flow_id = flow_id
        self.community_id = community_id
        self.src_ip = src_ip
        self.src_port = src_port
        self.dest_ip = dest_ip
        self.dest_port = dest_port
        self.proto = proto
        self.host = host
        self.vm = vm
        self.alert = alert
        self.bma = bma
        self.pcap = pcap
    }
}
