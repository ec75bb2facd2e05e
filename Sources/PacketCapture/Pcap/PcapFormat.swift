/// Constants of the classic pcap format (not pcapng).
public enum PcapFormat {
    /// Magic of a file with microsecond timestamps, as written in the file's own byte order.
    public static let microsecondMagic: UInt32 = 0xA1B2_C3D4
    /// Magic of a file with nanosecond timestamps.
    public static let nanosecondMagic: UInt32 = 0xA1B2_3C4D
    public static let fileHeaderLength = 24
    public static let recordHeaderLength = 16
    public static let versionMajor: UInt16 = 2
    public static let versionMinor: UInt16 = 4
    /// Upper bound on a record's captured length; larger values mean a corrupt file.
    /// Matches the largest snap length libpcap and tcpdump use.
    public static let maximumCapturedLength: UInt32 = 256 * 1024
}

/// Precision of the timestamps stored in a pcap file.
public enum TimestampResolution: Sendable, Equatable {
    case microseconds
    case nanoseconds

    /// Nanoseconds per unit of the fractional timestamp field.
    var nanosecondsPerUnit: UInt64 { self == .microseconds ? 1_000 : 1 }

    var magic: UInt32 { self == .microseconds ? PcapFormat.microsecondMagic : PcapFormat.nanosecondMagic }
}

/// Byte order of the integers in a pcap file.
public enum PcapByteOrder: Sendable, Equatable {
    case littleEndian
    case bigEndian
}

/// Link-layer header type of a capture (the LINKTYPE_ registry).
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ethernet = LinkType(rawValue: 1)
    public static let raw = LinkType(rawValue: 101)
    public static let linuxCooked = LinkType(rawValue: 113)

    public var description: String {
        switch self {
        case .ethernet: return "Ethernet (1)"
        case .raw: return "raw IP (101)"
        case .linuxCooked: return "Linux cooked (113)"
        default: return "link type \(rawValue)"
        }
    }
}

/// The 24-byte header at the start of a classic pcap file.
public struct PcapFileHeader: Sendable, Equatable {
    public var byteOrder: PcapByteOrder
    public var resolution: TimestampResolution
    public var versionMajor: UInt16
    public var versionMinor: UInt16
    public var snapLength: UInt32
    /// Link type with the FCS bits of the field masked off.
    public var linkType: LinkType

    public init(
        byteOrder: PcapByteOrder = .littleEndian,
        resolution: TimestampResolution = .microseconds,
        versionMajor: UInt16 = PcapFormat.versionMajor,
        versionMinor: UInt16 = PcapFormat.versionMinor,
        snapLength: UInt32 = PcapFormat.maximumCapturedLength,
        linkType: LinkType = .ethernet
    ) {
        self.byteOrder = byteOrder
        self.resolution = resolution
        self.versionMajor = versionMajor
        self.versionMinor = versionMinor
        self.snapLength = snapLength
        self.linkType = linkType
    }
}
