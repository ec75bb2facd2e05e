/// Constants of the pcapng format as BMA writes and reads it.
///
/// A BMA capture file is one section: a Section Header Block, then one Interface Description
/// Block per VM (announced just before that VM's first packet), then Enhanced Packet Blocks.
/// Every integer of the pcapng structure is in the section's byte order (little-endian when BMA
/// writes); the BMA option's own payload is big-endian (see `BMAPacketOption`).
public enum PcapNGFormat {
    // MARK: Block types

    public static let sectionHeaderBlock: UInt32 = 0x0A0D_0D0A
    public static let interfaceDescriptionBlock: UInt32 = 0x0000_0001
    public static let simplePacketBlock: UInt32 = 0x0000_0003
    public static let interfaceStatisticsBlock: UInt32 = 0x0000_0005
    public static let enhancedPacketBlock: UInt32 = 0x0000_0006

    /// Written in the section's byte order right after the SHB's length; tells the order.
    public static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
    public static let versionMajor: UInt16 = 1
    public static let versionMinor: UInt16 = 0

    /// Type, length and trailing length: the smallest block there is.
    public static let minimumBlockLength = 12
    /// Larger blocks mean a corrupt file (a packet is at most `snapLength` bytes plus options).
    public static let maximumBlockLength = 16 << 20

    // MARK: Option codes

    public static let optionEndOfOptions: UInt16 = 0
    public static let optionComment: UInt16 = 1
    /// Custom option, binary, may be copied to new files (RFC pcapng draft, "Custom Options").
    public static let optionCustomBinary: UInt16 = 2989
    /// Custom option, binary, must not be copied: read like 2989.
    public static let optionCustomBinaryNoCopy: UInt16 = 19373
    public static let optionSHBUserApplication: UInt16 = 4
    public static let optionIfName: UInt16 = 2
    public static let optionIfDescription: UInt16 = 3
    public static let optionIfTimestampResolution: UInt16 = 9
    public static let optionIfTimestampOffset: UInt16 = 14

    // MARK: What BMA writes

    /// LINKTYPE_ETHERNET.
    public static let linkTypeEthernet: UInt16 = 1
    /// Every interface's snap length; frames longer than this are cut (their original length kept).
    public static let snapLength: UInt32 = 262_144
    /// if_tsresol 9: timestamps count nanoseconds.
    public static let nanosecondResolution: UInt8 = 9
    /// The Private Enterprise Number of the BMA custom option: 32473, the documentation PEN of
    /// RFC 5612.
    public static let bmaPrivateEnterpriseNumber: UInt32 = 32473
    /// The name BMA gives a VM's interface ("vm7"); the reader takes the VM id back from it.
    public static let interfaceNamePrefix = "vm"

    /// Rounds up to a multiple of 4 (blocks and option values are padded to 32 bits).
    @inlinable
    public static func padded(_ length: Int) -> Int { (length + 3) & ~3 }
}
