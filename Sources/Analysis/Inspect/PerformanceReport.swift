/// What the performance module measured, per (VM, destination): JSON-ready (field names as
/// written), sorted by VM then destination.
public struct PerformanceReport: Sendable, Codable, Equatable {
    public struct RTT: Sendable, Codable, Equatable {
        public var samples: Int
        public var min_ms: Double
        public var mean_ms: Double
        public var max_ms: Double
        public var last_ms: Double
    }

    public struct Entry: Sendable, Codable, Equatable {
        public var vm: String
        public var vm_id: UInt32
        /// The server side of the VM's TCP connections (the SYN's receiver).
        public var destination: String
        /// The client address last seen talking to it.
        public var client: String
        public var flows: Int
        /// Handshakes seen whole (SYN, SYN/ACK, ACK) and so timed.
        public var handshakes: Int
        public var rtt: RTT?
        public var data_segments: Int
        public var retransmissions: Int
        public var retransmission_rate: Double
        public var syn_retries: Int
        public var resets: Int
        public var zero_windows: Int
        public var bytes_to_destination: UInt64
        public var bytes_from_destination: UInt64
        /// Bytes per second between the first and the last packet.
        public var throughput_to_bps: Double
        public var throughput_from_bps: Double
        public var first_seen: String
        public var last_seen: String
        public var alerts: Int
    }

    /// When the report was made, in packet time.
    public var timestamp: String
    public var entries: [Entry]
}
