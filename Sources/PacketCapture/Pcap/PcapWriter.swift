import SystemPackage

/// Writes a classic pcap file through an in-memory buffer.
///
/// Call `close()` to flush and learn about write errors; a writer dropped without `close()`
/// still flushes and closes its file, but can only ignore failures.
public final class PcapWriter {
    public let path: String
    public let header: PcapFileHeader
    private let encoder: PcapEncoder
    private let bufferCapacity: Int
    private var buffer: [UInt8] = []
    /// nil once closed.
    private var file: FileDescriptor?
    /// Records written so far, buffered or not.
    public private(set) var recordCount = 0

    /// Creates (or truncates) `path` and writes the file header.
    public convenience init(
        path: String,
        resolution: TimestampResolution = .microseconds,
        linkType: LinkType = .ethernet,
        snapLength: UInt32 = PcapFormat.maximumCapturedLength,
        byteOrder: PcapByteOrder = .littleEndian,
        bufferCapacity: Int = 1 << 16,
        exclusive: Bool = false
    ) throws(PcapError) {
        try self.init(
            path: path,
            header: PcapFileHeader(byteOrder: byteOrder, resolution: resolution, snapLength: snapLength, linkType: linkType),
            bufferCapacity: bufferCapacity, exclusive: exclusive)
    }

    /// `exclusive`: create `path` only if nothing (not even a symlink) is there, mode 0600.
    public init(path: String, header: PcapFileHeader, bufferCapacity: Int = 1 << 16, exclusive: Bool = false) throws(PcapError) {
        self.path = path
        self.header = header
        self.encoder = PcapEncoder(header: header)
        self.bufferCapacity = max(bufferCapacity, PcapFormat.fileHeaderLength)
        do {
            file = try FileDescriptor.open(
                FilePath(path), .writeOnly,
                options: exclusive ? [.create, .exclusiveCreate, .noFollow, .closeOnExec] : [.create, .truncate, .closeOnExec],
                permissions: exclusive ? .ownerReadWrite : [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw .cannotWrite(path: path, reason: "\(error)")
        }
        buffer.reserveCapacity(self.bufferCapacity)
        encoder.appendFileHeader(to: &buffer)
    }

    deinit {
        if let file {
            _ = try? flush()
            try? file.close()
        }
    }

    public func write(_ record: PcapRecord) throws(PcapError) {
        guard file != nil else { throw .writerClosed }
        encoder.appendRecord(record, to: &buffer)
        recordCount += 1
        if buffer.count >= bufferCapacity { try flush() }
    }

    public func write(timestampNanoseconds: UInt64, data: [UInt8], originalLength: UInt32? = nil) throws(PcapError) {
        try write(PcapRecord(timestampNanoseconds: timestampNanoseconds, data: data, originalLength: originalLength))
    }

    /// Hands every buffered byte to the kernel.
    public func flush() throws(PcapError) {
        guard let file else { throw .writerClosed }
        var written = 0
        while written < buffer.count {
            do {
                written += try buffer.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[written...])) }
            } catch {
                buffer.removeFirst(written)
                throw .cannotWrite(path: path, reason: "\(error)")
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes the file. Closing twice is an error, so a lost close shows up in tests.
    public func close() throws(PcapError) {
        guard let file else { throw .writerClosed }
        defer { self.file = nil }
        var failure: PcapError?
        do { try flush() } catch { failure = error }
        do { try file.close() } catch where failure == nil {
            failure = .cannotWrite(path: path, reason: "\(error)")
        } catch {}
        if let failure { throw failure }
    }
}
