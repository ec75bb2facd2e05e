import Foundation

/// Reads a classic pcap file record by record.
///
/// Accepts both byte orders and both microsecond and nanosecond magics. Files are memory-mapped,
/// so large captures are not copied into memory; every length is checked before it is used, so
/// corrupt input gives a `PcapError`, never a crash.
public struct PcapReader: Sendable {
    public let header: PcapFileHeader
    private let storage: Data
    /// Byte offset of the next record header.
    public private(set) var offset: Int = PcapFormat.fileHeaderLength
    /// 0-based index of the next record.
    public private(set) var recordIndex: Int = 0

    /// Opens and memory-maps the file at `path`. The file must not shrink while it is read.
    public init(path: String) throws(PcapError) {
        try self.init(data: Self.load(path: path))
    }

    public init(bytes: [UInt8]) throws(PcapError) {
        try self.init(data: Data(bytes))
    }

    public init(data: Data) throws(PcapError) {
        storage = data
        header = try Self.withBytes(of: data) { (buffer) throws(PcapError) in try Self.parseHeader(buffer) }
    }

    /// The next record, or nil at the end of the file.
    public mutating func next() throws(PcapError) -> PcapRecord? {
        try withNext { bytes, time, original in
            PcapRecord(timestampNanoseconds: time, data: [UInt8](bytes), originalLength: original)
        }
    }

    /// Calls `body` with every remaining record's bytes (valid only inside `body`), time in ns
    /// and original length, in order, without copying them: one pass over the mapped file.
    public mutating func forEachRecord(
        _ body: (UnsafeRawBufferPointer, _ timestampNanoseconds: UInt64, _ originalLength: UInt32) throws -> Void
    ) throws {
        let order = header.byteOrder
        let unit = header.resolution.nanosecondsPerUnit
        var offset = self.offset
        var index = recordIndex
        defer {
            self.offset = offset
            recordIndex = index
        }
        try storage.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws in
            while let length = try Self.capturedLength(buffer, order: order, index: index, at: offset) {
                let seconds = UInt64(order.uint32(in: buffer, at: offset))
                let fraction = UInt64(order.uint32(in: buffer, at: offset + 4))
                let original = order.uint32(in: buffer, at: offset + 12)
                let dataStart = offset + PcapFormat.recordHeaderLength
                try body(UnsafeRawBufferPointer(rebasing: buffer[dataStart..<dataStart + length]),
                         seconds * 1_000_000_000 + fraction * unit, original)
                offset = dataStart + length
                index += 1
            }
        }
    }

    /// The next record's bytes without copying them (valid only inside `body`), its time in ns
    /// and its original length; nil at the end of the file. For readers that copy only what they
    /// keep (a decapsulated inner frame).
    public mutating func withNext<T>(
        _ body: (UnsafeRawBufferPointer, _ timestampNanoseconds: UInt64, _ originalLength: UInt32) -> T
    ) throws(PcapError) -> T? {
        let start = offset
        let index = recordIndex
        let order = header.byteOrder
        let unit = header.resolution.nanosecondsPerUnit
        let result: (T, Int)? = try Self.withBytes(of: storage) { (buffer) throws(PcapError) in
            guard let length = try Self.capturedLength(buffer, order: order, index: index, at: start) else {
                return nil
            }
            let seconds = UInt64(order.uint32(in: buffer, at: start))
            let fraction = UInt64(order.uint32(in: buffer, at: start + 4))
            let original = order.uint32(in: buffer, at: start + 12)
            let dataStart = start + PcapFormat.recordHeaderLength
            let value = body(UnsafeRawBufferPointer(rebasing: buffer[dataStart..<dataStart + length]),
                             seconds * 1_000_000_000 + fraction * unit, original)
            return (value, dataStart + length)
        }
        guard let (value, nextOffset) = result else { return nil }
        offset = nextOffset
        recordIndex += 1
        return value
    }

    /// Every remaining record.
    public mutating func readAll() throws(PcapError) -> [PcapRecord] {
        var records: [PcapRecord] = []
        while let record = try next() { records.append(record) }
        return records
    }

    /// Counts the records of the file at `path` by walking the record headers only.
    public static func countRecords(path: String) throws(PcapError) -> Int {
        try countRecords(in: load(path: path))
    }

    /// Counts the records in `data`, validating every record header like `next()` does.
    public static func countRecords(in data: Data) throws(PcapError) -> Int {
        try withBytes(of: data) { (buffer) throws(PcapError) in
            let header = try parseHeader(buffer)
            var offset = PcapFormat.fileHeaderLength
            var count = 0
            while let length = try capturedLength(buffer, order: header.byteOrder, index: count, at: offset) {
                offset += PcapFormat.recordHeaderLength + length
                count += 1
            }
            return count
        }
    }

    /// `Data.withUnsafeBytes` only rethrows untyped errors; this keeps `PcapError` typed.
    private static func withBytes<T>(
        of data: Data, _ body: (UnsafeRawBufferPointer) throws(PcapError) -> T
    ) throws(PcapError) -> T {
        let result: Result<T, PcapError> = data.withUnsafeBytes { buffer in
            Result { () throws(PcapError) -> T in try body(buffer) }
        }
        return try result.get()
    }

    private static func load(path: String) throws(PcapError) -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .cannotOpen(path: path, reason: Self.reason(error, path: path))
        }
    }

    /// Foundation's messages on Linux do not say what went wrong; name the usual causes.
    private static func reason(_ error: any Error, path: String) -> String {
        var isDirectory: ObjCBool = false
        let files = FileManager.default
        if !files.fileExists(atPath: path, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        if !files.isReadableFile(atPath: path) { return "permission denied" }
        return error.localizedDescription
    }

    private static func parseHeader(_ buffer: UnsafeRawBufferPointer) throws(PcapError) -> PcapFileHeader {
        guard buffer.count >= PcapFormat.fileHeaderLength else {
            throw .truncatedHeader(available: buffer.count)
        }
        let raw = PcapByteOrder.littleEndian.uint32(in: buffer, at: 0)
        let order: PcapByteOrder
        let resolution: TimestampResolution
        switch raw {
        case PcapFormat.microsecondMagic: (order, resolution) = (.littleEndian, .microseconds)
        case PcapFormat.nanosecondMagic: (order, resolution) = (.littleEndian, .nanoseconds)
        case PcapFormat.microsecondMagic.byteSwapped: (order, resolution) = (.bigEndian, .microseconds)
        case PcapFormat.nanosecondMagic.byteSwapped: (order, resolution) = (.bigEndian, .nanoseconds)
        default: throw .badMagic(raw)
        }
        return PcapFileHeader(
            byteOrder: order,
            resolution: resolution,
            versionMajor: order.uint16(in: buffer, at: 4),
            versionMinor: order.uint16(in: buffer, at: 6),
            snapLength: order.uint32(in: buffer, at: 16),
            // The upper bits of the field may carry FCS information; the link type is the low 16.
            linkType: LinkType(rawValue: order.uint32(in: buffer, at: 20) & 0xFFFF))
    }

    /// Captured length of the record whose header starts at `offset`, after checking that the
    /// whole record lies inside `buffer`; nil at a clean end of file.
    private static func capturedLength(
        _ buffer: UnsafeRawBufferPointer, order: PcapByteOrder, index: Int, at offset: Int
    ) throws(PcapError) -> Int? {
        let remaining = buffer.count - offset
        if remaining == 0 { return nil }
        guard remaining >= PcapFormat.recordHeaderLength else {
            throw .truncatedRecord(index: index, offset: offset)
        }
        let length = order.uint32(in: buffer, at: offset + 8)
        guard length <= PcapFormat.maximumCapturedLength else {
            throw .recordTooLarge(index: index, length: length)
        }
        guard Int(length) <= remaining - PcapFormat.recordHeaderLength else {
            throw .truncatedRecord(index: index, offset: offset)
        }
        return Int(length)
    }
}
