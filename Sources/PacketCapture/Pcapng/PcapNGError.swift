/// Why a pcapng file could not be read or written. Offsets are byte offsets in the file of the
/// block concerned, so a corrupt file can be looked at with a hex dump.
public enum PcapNGError: Error, Equatable, Sendable {
    /// The file could not be opened or read.
    case cannotOpen(path: String, reason: String)
    /// The file could not be created, written, flushed or closed.
    case cannotWrite(path: String, reason: String)
    /// Zero bytes: not even a Section Header Block.
    case emptyFile
    /// The file does not start with a Section Header Block (a classic pcap, or not a capture).
    case notPcapNG(firstBlockType: UInt32)
    /// A block header or body runs past the end of the file.
    case truncatedBlock(offset: Int)
    /// A Section Header Block whose byte-order magic is 0x1A2B3C4D in neither byte order.
    case badByteOrderMagic(offset: Int, magic: UInt32)
    /// A section of a major version other than 1.
    case unsupportedVersion(offset: Int, major: UInt16, minor: UInt16)
    /// A block length below 12, not a multiple of 4, or beyond `PcapNGFormat.maximumBlockLength`.
    case badBlockLength(offset: Int, length: UInt32)
    /// The length repeated at the end of a block differs from the one at its start.
    case blockLengthMismatch(offset: Int, leading: UInt32, trailing: UInt32)
    /// A known block whose fixed fields do not fit in it, or whose packet data overruns it.
    case malformedBlock(offset: Int, type: UInt32, reason: String)
    /// An option that runs past its block, or a known option with a value of the wrong size.
    case malformedOption(offset: Int, code: UInt16)
    /// A packet block names an interface that no Interface Description Block of its section defined.
    case unknownInterface(offset: Int, interfaceID: UInt32)
    /// BMA's custom option (PEN 32473) is present but cannot be decoded.
    case badBMAOption(offset: Int, reason: String)
    /// The writer was used after `close()` or `abandon()`.
    case writerClosed
}

extension PcapNGError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open pcapng file \(path): \(reason)"
        case let .cannotWrite(path, reason): "cannot write pcapng file \(path): \(reason)"
        case .emptyFile: "not a pcapng file: it is empty"
        case let .notPcapNG(type): "not a pcapng file: first block type 0x\(String(type, radix: 16)) is not a Section Header Block"
        case let .truncatedBlock(offset): "pcapng block at byte \(offset) is cut short by the end of the file"
        case let .badByteOrderMagic(offset, magic): "pcapng section at byte \(offset) has an unknown byte-order magic 0x\(String(magic, radix: 16))"
        case let .unsupportedVersion(offset, major, minor): "pcapng section at byte \(offset) has unsupported version \(major).\(minor)"
        case let .badBlockLength(offset, length): "pcapng block at byte \(offset) has an invalid length \(length)"
        case let .blockLengthMismatch(offset, leading, trailing): "pcapng block at byte \(offset) says \(leading) bytes at its start and \(trailing) at its end"
        case let .malformedBlock(offset, type, reason): "pcapng block 0x\(String(type, radix: 16)) at byte \(offset) is malformed: \(reason)"
        case let .malformedOption(offset, code): "pcapng option \(code) in the block at byte \(offset) is malformed"
        case let .unknownInterface(offset, id): "pcapng packet at byte \(offset) names interface \(id), which its section does not define"
        case let .badBMAOption(offset, reason): "BMA option of the packet at byte \(offset) is malformed: \(reason)"
        case .writerClosed: "pcapng writer used after it was closed"
        }
    }
}
