import BMAContract

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
    /// The authentication option of a Geneve copy, when it carried one (`MirrorAuthenticator`
    /// checks it on ingest).
    public var authentication: MirrorAuthenticationTag?

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

/// BMA's per-packet metadata (the Geneve option of BMAContract's `GeneveOption`; see README
/// "Mirror wire format").
public struct BMAMetadata: Sendable, Equatable, Codable {
    public static let optionClass = GeneveOption.optionClass
    public static let optionType = GeneveOption.type
    public static let version = GeneveOption.version
    /// Option data length in bytes.
    public static let length = GeneveOption.dataLength

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

    /// The flags byte, named in the shared contract.
    public typealias Flags = MirrorFlags
    /// bmad's reason bits, named in the shared contract.
    public typealias Reasons = Reason
}
