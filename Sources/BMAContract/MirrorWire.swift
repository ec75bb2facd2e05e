/// The numbers a collector needs to find BMA's copies on the wire.
public enum MirrorWire {
    /// VXLAN's standard UDP destination port.
    public static let vxlanPort: UInt16 = 4789
    /// Geneve's standard UDP destination port.
    public static let genevePort: UInt16 = 6081
    /// The GRE protocol of ERSPAN type II.
    public static let erspanTypeIIProtocol: UInt16 = 0x88BE
    /// VM ids are 1-16777215: the id is the VNI of the copies.
    public static let vmIDRange: ClosedRange<UInt32> = 1...16_777_215
}

/// The Geneve option carrying BMA's per-packet metadata (class in the experimental range).
/// Its data, big-endian: version(1) flags(1) policy id(2) reason bits(4) score x1000(4)
/// original length(4) timestamp ns(8).
public enum GeneveOption {
    public static let optionClass: UInt16 = 0xFFF0
    public static let type: UInt8 = 0x42
    public static let version: UInt8 = 1
    /// Option data length in bytes (without the 4-byte option header).
    public static let dataLength = 24
}
