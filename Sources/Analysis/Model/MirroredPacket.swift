/// One packet as the analysis node receives it from a host's mirror: the original (possibly
/// truncated) Ethernet frame and what bmad said about it.
public struct MirroredPacket: Sendable, Equatable {
    public enum Encapsulation: String, Sendable, Codable, CaseIterable {
        case geneve, vxlan, erspan2, pcap
    }

    /// When the analyzer received it (wall clock, ns since 1970).
    public var receivedNs: UInt64
    /// The packet's own time: the Geneve metadata timestamp, else the capture time of an
    /// imported file, else `receivedNs`.
    public var timestampNs: UInt64
    /// The host that mirrored it (outer source address), or the file it was imported from.
    public var sensor: String
    /// The VM: VNI (Geneve, VXLAN) or ERSPAN session id; 0 when unknown.
    public var vmID: UInt32
    public var encapsulation: Encapsulation
    /// BMA's metadata, when the copy carried it (Geneve).
    public var metadata: BMAMetadata?
    /// The inner Ethernet frame as received (truncated when bmad applied a snaplen).
    public var frame: [UInt8]
    /// The frame's length on the VM's wire (>= frame.count).
    public var originalLength: UInt32

    public init(receivedNs: UInt64, timestampNs: UInt64, sensor: String, vmID: UInt32, encapsulation: Encapsulation,
                metadata: BMAMetadata?, frame: [UInt8], originalLength: UInt32) {
        self.receivedNs = receivedNs
        self.timestampNs = timestampNs
        self.sensor = sensor
        self.vmID = vmID
        self.encapsulation = encapsulation
        self.metadata = metadata
        self.frame = frame
        self.originalLength = originalLength
    }
}

/// BMA's per-packet metadata (the Geneve option class 0xFFF0, type 0x42; see README "Mirror wire
/// format").
public struct BMAMetadata: Sendable, Equatable, Codable {
    public static let optionClass: UInt16 = 0xFFF0
    public static let optionType: UInt8 = 0x42
    public static let version: UInt8 = 1
    /// Option data length in bytes.
    public static let length = 24

    public var version: UInt8
    public var flags: Flags
    public var policyID: UInt16
    public var reasons: Reasons
    /// The score x 1000 as bmad sent it.
    public var scoreMilli: UInt32
    public var originalLength: UInt32
    public var timestampNs: UInt64

    public init(version: UInt8 = BMAMetadata.version, flags: Flags, policyID: UInt16, reasons: Reasons,
                scoreMilli: UInt32, originalLength: UInt32, timestampNs: UInt64) {
        self.version = version
        self.flags = flags
        self.policyID = policyID
        self.reasons = reasons
        self.scoreMilli = scoreMilli
        self.originalLength = originalLength
        self.timestampNs = timestampNs
    }

    public var score: Double { Double(scoreMilli) / 1000 }

    public struct Flags: OptionSet, Sendable, Equatable, Codable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let preTrigger = Flags(rawValue: 0x01)
        public static let sticky = Flags(rawValue: 0x02)
        public static let truncated = Flags(rawValue: 0x04)
        public static let forced = Flags(rawValue: 0x08)

        public var names: [String] {
            [(Flags.preTrigger, "pre-trigger"), (.sticky, "sticky"), (.truncated, "truncated"), (.forced, "forced")]
                .filter { contains($0.0) }.map(\.1)
        }
    }

    /// bmad's reason bits, lowest first (Sources/Dataplane/Detection/Reason.swift).
    public struct Reasons: OptionSet, Sendable, Equatable, Codable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let names = ["new-destination", "new-service", "fan-out", "port-scan", "rate-spike",
                                   "size-outlier", "protocol-shift"]

        public var names: [String] {
            Reasons.names.enumerated().filter { rawValue & (1 << UInt32($0.offset)) != 0 }.map(\.element)
        }
    }
}
