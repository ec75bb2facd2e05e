import Foundation

/// Why a pcap file could not be read or written.
public enum PcapError: Error, Equatable, Sendable {
    /// The file could not be opened or read.
    case cannotOpen(path: String, reason: String)
    /// The file could not be created or written.
    case cannotWrite(path: String, reason: String)
    /// Fewer than 24 bytes: not even a complete file header.
    case truncatedHeader(available: Int)
    /// The first four bytes are not a classic pcap magic in either byte order.
    case badMagic(UInt32)
    /// Record `index` (0-based), whose header starts at byte `offset`, ends past the end of the file.
    case truncatedRecord(index: Int, offset: Int)
    /// Record `index` claims more captured bytes than any sane snap length allows.
    case recordTooLarge(index: Int, length: UInt32)
    /// The writer was used after `close()`.
    case writerClosed
}

extension PcapError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open pcap file \(path): \(reason)"
        case let .cannotWrite(path, reason):
            return "cannot write pcap file \(path): \(reason)"
        case let .truncatedHeader(available):
            return "not a pcap file: only \(available) bytes, a pcap file header needs \(PcapFormat.fileHeaderLength)"
        case let .badMagic(magic):
            return "not a classic pcap file: unknown magic number 0x\(String(magic, radix: 16)) (pcapng is not supported)"
        case let .truncatedRecord(index, offset):
            return "pcap record \(index) at byte offset \(offset) is cut short by the end of the file"
        case let .recordTooLarge(index, length):
            return "pcap record \(index) claims \(length) captured bytes, more than the \(PcapFormat.maximumCapturedLength)-byte limit: the file is corrupt"
        case .writerClosed:
            return "pcap writer used after it was closed"
        }
    }

    public var errorDescription: String? { description }
}
