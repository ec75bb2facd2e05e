#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import BMAContract

/// Writes BMA capture files in pcapng through an in-memory buffer.
///
/// The file starts with a Section Header Block; the first packet of each VM is preceded by an
/// Interface Description Block for it (if_name `vm<ID>`, if_description `bma vm=<ID>
/// sensor=<first sensor>`, Ethernet, if_tsresol 9, snap length 262144). Each packet is an Enhanced
/// Packet Block stamped with its own time (`timestampNs`) in nanoseconds, carrying the frame, its
/// original length and BMA's custom option 2989 (see `BMAPacketOption`), plus a readable
/// opt_comment when `comments` is on (off by default: formatting text per packet costs more
/// than everything else the writer does; query exports turn it on).
///
/// Blocks are encoded straight into one large buffer that goes to the file in one write() per
/// flush (like dumpcap), with no per-packet intermediate arrays.
///
/// A failed flush never leaves half a block in the file: the file is cut back to the last block
/// that was written whole, and the blocks not written stay buffered for the next `flush()`.
/// `durablePacketCount` says how many packets the kernel has. The class is not thread-safe.
public final class PcapNGWriter {
    /// A packet whose block size is known before it is written.
    public struct PreparedPacket: Sendable {
        public let packet: MirroredPacket
        let layout: Layout
        /// Length of its Enhanced Packet Block.
        public var blockLength: Int { layout.blockLength }
    }

    /// The sizes of a packet's block, without the packet (the store sizes and writes a packet it
    /// holds: no copy of it per packet).
    struct Layout: Sendable {
        /// The readable comment, when comments are on.
        let comment: [UInt8]?
        let captured: Int
        /// UTF-8 bytes of the sensor kept in the BMA option.
        let sensorBytes: Int
        /// Length of the BMA option's value (PEN, metadata, TLVs).
        let optionLength: Int
        /// Length of its Enhanced Packet Block.
        let blockLength: Int
    }

    public let path: String
    public let byteOrder: PcapByteOrder
    public let bufferCapacity: Int
    /// Whether each packet carries the readable opt_comment.
    public let comments: Bool
    /// Flush whenever the buffer reaches `bufferCapacity`. A caller that wants to handle write
    /// failures at a moment of its choosing turns it off and calls `flush()` itself.
    public var autoFlush = true
    /// Packets written, buffered or not; the index the next packet gets.
    public private(set) var packetCount = 0
    /// Packets whose blocks the kernel accepted whole.
    public private(set) var durablePacketCount = 0
    /// Bytes the kernel accepted (always whole blocks): the file's size.
    public private(set) var durableBytes = 0
    /// Packets on stable storage: in the file as of the last successful `sync()` (a host crash
    /// or power loss keeps them; `durablePacketCount` only survives the process being killed).
    public private(set) var syncedPacketCount = 0
    public var bufferedBytes: Int { buffer.count }
    /// The file's size once everything buffered is flushed.
    public var bytesWritten: Int { durableBytes + buffer.count }
    public var isClosed: Bool { descriptor < 0 }
    /// errno of the last failed write (ENOSPC, EDQUOT, EIO, ...), 0 when none failed.
    public private(set) var lastErrorNumber: Int32 = 0

    private let encoder: PcapNGEncoder
    private var buffer: [UInt8] = []
    /// Where each buffered block ends in `buffer`, and how many packets the buffer holds up to it.
    private var blockEnds: [(end: Int, packets: Int)] = []
    /// Interface index of each VM seen in this file.
    private var interfaces: [UInt32: UInt32] = [:]
    /// A direct-mapped cache in front of `interfaces` (slot: the VM id's low bits; entry: VM id
    /// + 1 in the high half, interface in the low half; 0 = empty): no hashing per packet.
    private var interfaceCache = [UInt64](repeating: 0, count: PcapNGWriter.interfaceCacheSlots)
    private static let interfaceCacheSlots = 64

    @inline(__always)
    private func cachedInterface(_ vm: UInt32) -> UInt32? {
        let entry = interfaceCache[Int(vm) & (Self.interfaceCacheSlots - 1)]
        return entry >> 32 == UInt64(vm) &+ 1 ? UInt32(truncatingIfNeeded: entry) : nil
    }

    private func cacheInterface(_ vm: UInt32, _ interface: UInt32) {
        interfaceCache[Int(vm) & (Self.interfaceCacheSlots - 1)] = (UInt64(vm) &+ 1) << 32 | UInt64(interface)
    }
    /// The last sensor sized and its UTF-8 byte count in the option (the same string object
    /// packet after packet compares by identity).
    private var lastSensor: (name: String, bytes: Int)?
    private var descriptor: Int32
    /// Set when a failed flush could not cut a partial block off the file; retried before writing.
    private var pendingTruncation = false

    /// Creates (or truncates) `path` and buffers the Section Header Block.
    public init(path: String, byteOrder: PcapByteOrder = .littleEndian, bufferCapacity: Int = 1 << 18,
                application: String = "bma-analyzer", comments: Bool = false, exclusive: Bool = false) throws(PcapNGError) {
        self.path = path
        self.comments = comments
        self.byteOrder = byteOrder
        self.bufferCapacity = max(bufferCapacity, 4096)
        encoder = PcapNGEncoder(byteOrder: byteOrder)
        // O_APPEND: after the file is cut back to a block boundary, writing resumes there.
        // exclusive: only a file this call creates (no symlink or file already there), mode 0600.
        descriptor = exclusive
            ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0o600)
            : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: Self.lastError()) }
        buffer.reserveCapacity(self.bufferCapacity + 4096)
        encoder.appendSectionHeader(options: [
            PcapNGOption(code: PcapNGFormat.optionComment,
                         text: "BMA capture: per-packet metadata in custom option \(PcapNGFormat.optionCustomBinary), PEN \(PcapNGFormat.bmaPrivateEnterpriseNumber)"),
            PcapNGOption(code: PcapNGFormat.optionSHBUserApplication, text: application),
        ], to: &buffer)
        blockEnds.append((buffer.count, 0))
    }

    deinit {
        if descriptor >= 0 {
            _ = try? flush()
            _ = closeFile(descriptor)
        }
    }

    /// Sizes the packet's block; pass the result to `write(_:)` or `encodedLength(of:)`.
    public func prepare(_ packet: MirroredPacket) -> PreparedPacket {
        PreparedPacket(packet: packet, layout: layout(of: packet))
    }

    func layout(of packet: MirroredPacket) -> Layout {
        let comment = comments ? Array(BMAPacketOption.comment(for: packet).utf8.prefix(Int(UInt16.max))) : nil
        let captured = min(packet.frame.count, Int(PcapNGFormat.snapLength))
        let sensorBytes: Int
        if let last = lastSensor, last.name == packet.sensor {
            sensorBytes = last.bytes
        } else {
            sensorBytes = BMAPacketOption.utf8Prefix(packet.sensor, maximumBytes: BMAPacketOption.maximumSensorBytes).count
            lastSensor = (packet.sensor, sensorBytes)
        }
        let optionLength = 4 + BMAOptionLayout.length(sensorBytes: sensorBytes, encapsulation: packet.encapsulation,
                                                       hasMetadata: packet.metadata != nil)
        var length = 12 + 20 + PcapNGFormat.padded(captured) + 4 + PcapNGFormat.padded(optionLength) + 4
        if let comment { length += 4 + PcapNGFormat.padded(comment.count) }
        return Layout(comment: comment, captured: captured, sensorBytes: sensorBytes, optionLength: optionLength,
                      blockLength: length)
    }

    /// Bytes writing `prepared` would add to the file (its block, and its VM's interface block
    /// when the VM is new to this file).
    public func encodedLength(of prepared: PreparedPacket) -> Int {
        encodedLength(of: prepared.packet, prepared.layout)
    }

    func encodedLength(of packet: MirroredPacket, _ layout: Layout) -> Int {
        if cachedInterface(packet.vmID) != nil { return layout.blockLength }
        guard interfaces[packet.vmID] == nil else { return layout.blockLength }
        let options = interfaceOptions(packet)
        return layout.blockLength + 12 + 8 + PcapNGEncoder.encodedLength(of: options)
    }

    /// Writes one packet; returns its index in the file (0-based, in writing order).
    @discardableResult
    public func write(_ packet: MirroredPacket) throws(PcapNGError) -> Int {
        try write(packet, layout(of: packet))
    }

    @discardableResult
    public func write(_ prepared: PreparedPacket) throws(PcapNGError) -> Int {
        try write(prepared.packet, prepared.layout)
    }

    @discardableResult
    func write(_ packet: MirroredPacket, _ layout: Layout) throws(PcapNGError) -> Int {
        guard descriptor >= 0 else { throw .writerClosed }
        let interface = interfaceIndex(for: packet)
        let buffered = blockEnds.last?.packets ?? 0
        appendEnhancedPacket(packet, layout, interface: interface)
        blockEnds.append((buffer.count, buffered + 1))
        let index = packetCount
        packetCount += 1
        if autoFlush, buffer.count >= bufferCapacity { try flush() }
        return index
    }

    /// Hands every buffered block to the kernel. On failure the file keeps only whole blocks, the
    /// rest stays buffered, and the error is thrown; calling again retries.
    public func flush() throws(PcapNGError) {
        guard descriptor >= 0 else { throw .writerClosed }
        if pendingTruncation {
            guard ftruncate(descriptor, off_t(durableBytes)) == 0 else {
                lastErrorNumber = errno
                throw .cannotWrite(path: path, reason: Self.lastError())
            }
            pendingTruncation = false
        }
        var written = 0
        var failure: String?
        while written < buffer.count {
            let outcome = interruptible {
                buffer.withUnsafeBytes { bytes in writeFile(descriptor, bytes.baseAddress! + written, bytes.count - written) }
            }
            guard case .success(let result) = outcome else {
                lastErrorNumber = errno
                failure = Self.lastError()
                break
            }
            if result == 0 {
                lastErrorNumber = EIO
                failure = "the kernel accepted no bytes"
                break
            }
            written += result
        }
        guard let failure else {
            durableBytes += buffer.count
            durablePacketCount += blockEnds.last?.packets ?? 0
            buffer.removeAll(keepingCapacity: true)
            blockEnds.removeAll(keepingCapacity: true)
            return
        }
        // Keep the blocks that went out whole; cut off a partial one.
        let whole = blockEnds.lastIndex { $0.end <= written }
        let boundary = whole.map { blockEnds[$0].end } ?? 0
        let packets = whole.map { blockEnds[$0].packets } ?? 0
        if written > boundary, ftruncate(descriptor, off_t(durableBytes + boundary)) != 0 {
            pendingTruncation = true
        }
        buffer.removeFirst(boundary)
        blockEnds.removeFirst(whole.map { $0 + 1 } ?? 0)
        for index in blockEnds.indices {
            blockEnds[index].end -= boundary
            blockEnds[index].packets -= packets
        }
        durableBytes += boundary
        durablePacketCount += packets
        throw .cannotWrite(path: path, reason: failure)
    }

    /// Puts what the kernel has on stable storage (fdatasync); false when that failed.
    @discardableResult
    public func sync() -> Bool {
        guard descriptor >= 0 else { return false }
        let packets = durablePacketCount
        guard packets > syncedPacketCount else { return true }
        guard fdatasync(descriptor) == 0 else {
            lastErrorNumber = errno
            return false
        }
        syncedPacketCount = packets
        return true
    }

    /// Flushes and closes the file. The file is closed even when the flush fails (its buffered
    /// blocks are then lost, and the error is thrown).
    public func close() throws(PcapNGError) {
        guard descriptor >= 0 else { throw .writerClosed }
        var failure: PcapNGError?
        do { try flush() } catch { failure = error }
        if failure != nil { _ = abandon(); throw failure! }
        sync()
        if closeFile(descriptor) != 0 { failure = .cannotWrite(path: path, reason: Self.lastError()) }
        descriptor = -1
        if let failure { throw failure }
    }

    /// Drops what is buffered, cuts the file back to its whole blocks and closes it. Returns the
    /// number of packets that were written to the writer but never reached the file.
    @discardableResult
    public func abandon() -> Int {
        guard descriptor >= 0 else { return 0 }
        let lost = packetCount - durablePacketCount
        buffer.removeAll()
        blockEnds.removeAll()
        _ = ftruncate(descriptor, off_t(durableBytes))
        _ = closeFile(descriptor)
        descriptor = -1
        packetCount = durablePacketCount
        return lost
    }

    // MARK: Blocks

    private func interfaceIndex(for packet: MirroredPacket) -> UInt32 {
        if let known = cachedInterface(packet.vmID) { return known }
        if let known = interfaces[packet.vmID] {
            cacheInterface(packet.vmID, known)
            return known
        }
        let index = UInt32(interfaces.count)
        cacheInterface(packet.vmID, index)
        interfaces[packet.vmID] = index
        encoder.appendInterfaceDescription(linkType: PcapNGFormat.linkTypeEthernet, snapLength: PcapNGFormat.snapLength,
                                           options: interfaceOptions(packet), to: &buffer)
        blockEnds.append((buffer.count, blockEnds.last?.packets ?? 0))
        return index
    }

    private func interfaceOptions(_ packet: MirroredPacket) -> [PcapNGOption] {
        let sensor = String(BMAPacketOption.utf8Prefix(packet.sensor, maximumBytes: BMAPacketOption.maximumSensorBytes)) ?? ""
        return [
            PcapNGOption(code: PcapNGFormat.optionIfName, text: PcapNGFormat.interfaceNamePrefix + String(packet.vmID)),
            PcapNGOption(code: PcapNGFormat.optionIfDescription, text: "bma vm=\(packet.vmID) sensor=\(sensor)"),
            PcapNGOption(code: PcapNGFormat.optionIfTimestampResolution, value: [PcapNGFormat.nanosecondResolution]),
        ]
    }

    /// One Enhanced Packet Block, written in place at the end of the buffer.
    private func appendEnhancedPacket(_ packet: MirroredPacket, _ prepared: Layout, interface: UInt32) {
        let start = buffer.count
        let length = prepared.blockLength
        buffer.append(contentsOf: repeatElement(0, count: length))
        let order = byteOrder
        buffer.withUnsafeMutableBytes { whole in
            var out = BlockCursor(base: whole.baseAddress! + start, order: order)
            out.put32(PcapNGFormat.enhancedPacketBlock)
            out.put32(UInt32(length))
            out.put32(interface)
            out.put32(UInt32(truncatingIfNeeded: packet.timestampNs >> 32))
            out.put32(UInt32(truncatingIfNeeded: packet.timestampNs))
            out.put32(UInt32(prepared.captured))
            out.put32(max(packet.originalLength, UInt32(clamping: packet.frame.count)))
            packet.frame.withUnsafeBytes { frame in out.putBytes(UnsafeRawBufferPointer(rebasing: frame[..<prepared.captured])) }
            out.pad()
            if let comment = prepared.comment {
                out.put16(PcapNGFormat.optionComment)
                out.put16(UInt16(comment.count))
                comment.withUnsafeBytes { out.putBytes($0) }
                out.pad()
            }
            out.put16(PcapNGFormat.optionCustomBinary)
            out.put16(UInt16(prepared.optionLength))
            out.put32(PcapNGFormat.bmaPrivateEnterpriseNumber)
            BMAOptionLayout.write(packet, sensorBytes: prepared.sensorBytes, to: &out)
            out.pad()
            out.put16(PcapNGFormat.optionEndOfOptions)
            out.put16(0)
            out.put32(UInt32(length))
        }
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

// File-scope wrappers: inside PcapNGWriter, `write` and `close` name its own methods.
private func closeFile(_ descriptor: Int32) -> Int32 { close(descriptor) }

private func writeFile(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
