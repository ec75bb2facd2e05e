import BMAContract

/// What a policy does with the packets it matches. Every field but `mirror` is optional: nil
/// keeps the daemon's default (the configuration's `detection` and `mirror` settings).
public struct PolicyAction: Sendable, Hashable {
    public enum Mirror: String, Sendable, Hashable, Codable, CaseIterable {
        /// Mirror when the anomaly score reaches the policy's sensitivity (the default).
        case onAnomaly = "on-anomaly"
        case always
        case never
    }

    /// Mirror budget for the packets of this policy; a nil member keeps the default.
    public struct RateLimit: Sendable, Hashable {
        public var packetsPerSecond: Double?
        public var bytesPerSecond: Double?

        public init(packetsPerSecond: Double? = nil, bytesPerSecond: Double? = nil) {
            self.packetsPerSecond = packetsPerSecond
            self.bytesPerSecond = bytesPerSecond
        }
    }

    public var mirror: Mirror
    /// 0-100: the anomaly score threshold (lower mirrors more).
    public var sensitivity: Double?
    /// 0 (the whole packet) or 64-65535 bytes.
    public var snaplen: Int?
    public var rateLimit: RateLimit?
    /// 0-86400: keep mirroring a flagged flow this long.
    public var stickySeconds: Double?
    /// 0-64: also send this many packets of the VM seen before the trigger.
    public var preTriggerPackets: Int?
    /// `none`, `vxlan`, `geneve` or `erspan2`.
    public var encapsulation: String?

    public init(mirror: Mirror = .onAnomaly, sensitivity: Double? = nil, snaplen: Int? = nil,
                rateLimit: RateLimit? = nil, stickySeconds: Double? = nil, preTriggerPackets: Int? = nil,
                encapsulation: String? = nil) {
        self.mirror = mirror
        self.sensitivity = sensitivity
        self.snaplen = snaplen
        self.rateLimit = rateLimit
        self.stickySeconds = stickySeconds
        self.preTriggerPackets = preTriggerPackets
        self.encapsulation = encapsulation
    }

    /// Field names are relative (`snaplen`); `Policy.validate` puts `action.` in front.
    public func validate() throws(PolicyError) {
        if let sensitivity { try PolicyError.check("sensitivity", sensitivity, PolicyLimits.sensitivity) }
        if let snaplen, snaplen != 0, !PolicyLimits.snaplen.contains(snaplen) {
            throw PolicyError(field: "snaplen", "\(snaplen) is out of range (0 for the whole packet, or 64 to 65535)")
        }
        if let rateLimit {
            guard rateLimit.packetsPerSecond != nil || rateLimit.bytesPerSecond != nil else {
                throw PolicyError(field: "rate_limit", "needs packets_per_second, bytes_per_second or both")
            }
            if let p = rateLimit.packetsPerSecond {
                try PolicyError.check("rate_limit.packets_per_second", p, PolicyLimits.packetsPerSecond)
            }
            if let b = rateLimit.bytesPerSecond {
                try PolicyError.check("rate_limit.bytes_per_second", b, PolicyLimits.bytesPerSecond)
            }
        }
        if let stickySeconds { try PolicyError.check("sticky_seconds", stickySeconds, PolicyLimits.stickySeconds) }
        if let preTriggerPackets { try PolicyError.check("pre_trigger_packets", preTriggerPackets, PolicyLimits.preTriggerPackets) }
        if let encapsulation, !PolicyLimits.encapsulations.contains(encapsulation) {
            throw PolicyError(field: "encapsulation", "'\(encapsulation)': use \(MirrorEncapsulation.choices)")
        }
    }
}
