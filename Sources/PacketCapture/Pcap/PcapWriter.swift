#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import BMAContract

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
    private var descriptor: Int32
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
        descriptor = exclusive
            ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: Self.lastError()) }
        buffer.reserveCapacity(self.bufferCapacity)
        encoder.appendFileHeader(to: &buffer)
    }

    deinit {
        if descriptor >= 0 {
            _ = try? flush()
            _ = closeDescriptor(descriptor)
        }
    }

    public func write(_ record: PcapRecord) throws(PcapError) {
        guard descriptor >= 0 else { throw .writerClosed }
        encoder.appendRecord(record, to: &buffer)
        recordCount += 1
        if buffer.count >= bufferCapacity { try flush() }
    }

    public func write(timestampNanoseconds: UInt64, data: [UInt8], originalLength: UInt32? = nil) throws(PcapError) {
        try write(PcapRecord(timestampNanoseconds: timestampNanoseconds, data: data, originalLength: originalLength))
    }

    /// Hands every buffered byte to the kernel.
    public func flush() throws(PcapError) {
        guard descriptor >= 0 else { throw .writerClosed }
        var written = 0
        while written < buffer.count {
            let result = interruptible {
                buffer.withUnsafeBytes { bytes in writeDescriptor(descriptor, bytes.baseAddress! + written, bytes.count - written) }
            }
            guard case .success(let count) = result else {
                let reason = Self.lastError()
                buffer.removeFirst(written)
                throw .cannotWrite(path: path, reason: reason)
            }
            written += count
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes the file. Closing twice is an error, so a lost close shows up in tests.
    public func close() throws(PcapError) {
        guard descriptor >= 0 else { throw .writerClosed }
        defer { descriptor = -1 }
        var failure: PcapError?
        do { try flush() } catch { failure = error }
        if closeDescriptor(descriptor) != 0, failure == nil {
            failure = .cannotWrite(path: path, reason: Self.lastError())
        }
        if let failure { throw failure }
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

// File-scope wrappers: inside PcapWriter the names `write` and `close` mean its own methods.
private func closeDescriptor(_ descriptor: Int32) -> Int32 { close(descriptor) }

private func writeDescriptor(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
