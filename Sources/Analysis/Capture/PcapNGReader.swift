import Foundation

/// Reads pcapng files back into `MirroredPacket`s: BMA's own segments and exports, and pcapng
/// files written by other tools.
///
/// Reads Section Header, Interface Description and Enhanced Packet Blocks in either byte order
/// (each section may have its own), and skips every other block type. A packet's VM comes from
/// its interface's name (`vm<ID>`, else 0); sensor, encapsulation, received time and metadata
/// from BMA's custom option when present (else the sensor named in the interface description or
/// the file, `.pcap`, the packet time, no metadata). Every length is checked before it is used:
/// corrupt input gives a `PcapNGError`, never a crash.
public struct PcapNGReader: Sendable {
    /// An interface of the current section.
    public struct Interface: Sendable, Equatable {
        public var linkType: UInt16
        public var snapLength: UInt32
        public var name: String?
        public var description: String?
        /// if_tsresol as stored (default 6: microseconds).
        public var timestampResolution: UInt8 = 6
        /// if_tsoffset in seconds.
        public var timestampOffset: Int64 = 0

        /// The VM id of an interface named `vm<ID>`.
        public var vmID: UInt32? {
            guard let name, name.hasPrefix(PcapNGFormat.interfaceNamePrefix) else { return nil }
            return UInt32(name.dropFirst(PcapNGFormat.interfaceNamePrefix.count))
        }

        /// The sensor in a BMA interface description (`... sensor=<sensor>`).
        var sensor: String? {
            guard let description, let range = description.range(of: "sensor=") else { return nil }
            return String(description[range.upperBound...])
        }
    }

    /// One packet with what the file says around it.
    public struct Record: Sendable {
        public var packet: MirroredPacket
        /// Index of the packet in the file (0-based).
        public var index: Int
        /// The interface's index in its section.
        public var interfaceID: UInt32
        public var comments: [String]
        /// Whether BMA's custom option was present (sensor, encapsulation and metadata came from it).
        public var hasBMAOption: Bool
        /// Byte offset of the packet's block.
        public var blockOffset: Int
    }

    /// Named in packets of files without BMA's option (the path, or "" for bytes in memory).
    public let source: String
    /// Byte order of the current section.
    public private(set) var byteOrder: PcapByteOrder = .littleEndian
    public private(set) var interfaces: [Interface] = []
    /// Byte offset of the next block.
    public private(set) var offset = 0
    /// Index the next packet will have.
    public private(set) var packetIndex = 0
    private let storage: Data

    /// Opens and memory-maps the file at `path`. The file must not shrink while it is read.
    public init(path: String) throws(PcapNGError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .cannotOpen(path: path, reason: Self.reason(error, path: path))
        }
        try self.init(data: data, source: path)
    }

    public init(bytes: [UInt8], source: String = "") throws(PcapNGError) {
        try self.init(data: Data(bytes), source: source)
    }

    /// Checks that `data` starts with a valid Section Header Block.
    public init(data: Data, source: String = "") throws(PcapNGError) {
        storage = data
        self.source = source
        guard !data.isEmpty else { throw .emptyFile }
        let type = try Self.withBytes(of: data) { (buffer) throws(PcapNGError) -> UInt32 in
            guard buffer.count >= PcapNGFormat.minimumBlockLength else { throw .truncatedBlock(offset: 0) }
            return PcapByteOrder.littleEndian.uint32(in: buffer, at: 0)
        }
        // The SHB type reads the same in both byte orders.
        guard type == PcapNGFormat.sectionHeaderBlock else { throw .notPcapNG(firstBlockType: type) }
        var state = State(byteOrder: byteOrder, interfaces: [], offset: 0, packetIndex: 0)
        // Read (and apply) the first SHB now, so a bad header fails at open.
        _ = try Self.withBytes(of: data) { (buffer) throws(PcapNGError) in
            try Self.step(buffer, &state, decode: false, source: source)
        }
        (byteOrder, interfaces, offset) = (state.byteOrder, state.interfaces, state.offset)
    }

    /// The next packet, or nil at the end of the file.
    public mutating func next() throws(PcapNGError) -> MirroredPacket? {
        try nextRecord()?.packet
    }

    /// The next packet with its comments and block details, or nil at the end of the file.
    public mutating func nextRecord() throws(PcapNGError) -> Record? {
        try advance(decode: true)
    }

    /// Walks past the next packet without decoding its data and options; false at the end.
    public mutating func skipPacket() throws(PcapNGError) -> Bool {
        try advance(decode: false) != nil
    }

    /// Every remaining packet.
    public mutating func readAll() throws(PcapNGError) -> [MirroredPacket] {
        var packets: [MirroredPacket] = []
        while let packet = try next() { packets.append(packet) }
        return packets
    }

    /// Reads blocks until one is a packet. With `decode` false the returned record is a stub
    /// (only `index` and `blockOffset` are meaningful).
    private mutating func advance(decode: Bool) throws(PcapNGError) -> Record? {
        var state = State(byteOrder: byteOrder, interfaces: interfaces, offset: offset, packetIndex: packetIndex)
        // Only a block read whole moves the reader on: after an error, `offset` names the bad block.
        defer { (byteOrder, interfaces, offset, packetIndex) = (state.byteOrder, state.interfaces, state.offset, state.packetIndex) }
        let source = source
        return try Self.withBytes(of: storage) { (buffer) throws(PcapNGError) -> Record? in
            while state.offset < buffer.count {
                if let record = try Self.step(buffer, &state, decode: decode, source: source) { return record }
            }
            return nil
        }
    }

    // MARK: Blocks

    private struct State {
        var byteOrder: PcapByteOrder
        var interfaces: [Interface]
        var offset: Int
        var packetIndex: Int
    }

    /// Reads the block at `state.offset`; returns a record for a packet block, nil for others.
    private static func step(_ buffer: UnsafeRawBufferPointer, _ state: inout State, decode: Bool,
                             source: String) throws(PcapNGError) -> Record? {
        let start = state.offset
        let remaining = buffer.count - start
        guard remaining >= PcapNGFormat.minimumBlockLength else { throw .truncatedBlock(offset: start) }
        var order = state.byteOrder
        let rawType = PcapByteOrder.littleEndian.uint32(in: buffer, at: start)
        let isSection = rawType == PcapNGFormat.sectionHeaderBlock
        if isSection {
            let magic = PcapByteOrder.littleEndian.uint32(in: buffer, at: start + 8)
            switch magic {
            case PcapNGFormat.byteOrderMagic: order = .littleEndian
            case PcapNGFormat.byteOrderMagic.byteSwapped: order = .bigEndian
            default: throw .badByteOrderMagic(offset: start, magic: magic)
            }
        }
        let type = order.uint32(in: buffer, at: start)
        let length = order.uint32(in: buffer, at: start + 4)
        guard length >= UInt32(PcapNGFormat.minimumBlockLength), length % 4 == 0,
              length <= UInt32(PcapNGFormat.maximumBlockLength) else {
            throw .badBlockLength(offset: start, length: length)
        }
        guard Int(length) <= remaining else { throw .truncatedBlock(offset: start) }
        let end = start + Int(length)
        let trailing = order.uint32(in: buffer, at: end - 4)
        guard trailing == length else { throw .blockLengthMismatch(offset: start, leading: length, trailing: trailing) }
        let body = start + 8..<end - 4

        var record: Record?
        switch type {
        case PcapNGFormat.sectionHeaderBlock:
            guard body.count >= 16 else {
                throw .malformedBlock(offset: start, type: type, reason: "a section header needs 16 bytes of fields")
            }
            let major = order.uint16(in: buffer, at: body.lowerBound + 4)
            let minor = order.uint16(in: buffer, at: body.lowerBound + 6)
            guard major == PcapNGFormat.versionMajor else { throw .unsupportedVersion(offset: start, major: major, minor: minor) }
            try forEachOption(buffer, order: order, in: body.lowerBound + 16..<body.upperBound, block: start) { _, _ in }
            state.byteOrder = order
            state.interfaces = []
        case PcapNGFormat.interfaceDescriptionBlock:
            guard body.count >= 8 else {
                throw .malformedBlock(offset: start, type: type, reason: "an interface description needs 8 bytes of fields")
            }
            var interface = Interface(linkType: order.uint16(in: buffer, at: body.lowerBound),
                                      snapLength: order.uint32(in: buffer, at: body.lowerBound + 4))
            try forEachOption(buffer, order: order, in: body.lowerBound + 8..<body.upperBound, block: start) {
                (code, value) throws(PcapNGError) in
                switch code {
                case PcapNGFormat.optionIfName: interface.name = text(buffer, value)
                case PcapNGFormat.optionIfDescription: interface.description = text(buffer, value)
                case PcapNGFormat.optionIfTimestampResolution:
                    guard value.count == 1 else { throw .malformedOption(offset: start, code: code) }
                    interface.timestampResolution = buffer[value.lowerBound]
                case PcapNGFormat.optionIfTimestampOffset:
                    guard value.count == 8 else { throw .malformedOption(offset: start, code: code) }
                    interface.timestampOffset = Int64(bitPattern: uint64(buffer, order, value.lowerBound))
                default: break
                }
            }
            state.interfaces.append(interface)
        case PcapNGFormat.enhancedPacketBlock:
            record = try packet(buffer, state, order: order, body: body, block: start, decode: decode, source: source)
            state.packetIndex += 1
        default:
            break  // simple packet, name resolution, statistics, custom, ...: not ours to read
        }
        state.offset = end
        return record
    }

    private static func packet(_ buffer: UnsafeRawBufferPointer, _ state: State, order: PcapByteOrder, body: Range<Int>,
                               block: Int, decode: Bool, source: String) throws(PcapNGError) -> Record {
        let type = PcapNGFormat.enhancedPacketBlock
        guard body.count >= 20 else {
            throw .malformedBlock(offset: block, type: type, reason: "an enhanced packet needs 20 bytes of fields")
        }
        let interfaceID = order.uint32(in: buffer, at: body.lowerBound)
        guard Int(interfaceID) < state.interfaces.count else { throw .unknownInterface(offset: block, interfaceID: interfaceID) }
        let captured = Int(order.uint32(in: buffer, at: body.lowerBound + 12))
        let dataStart = body.lowerBound + 20
        guard captured <= body.upperBound - dataStart,
              PcapNGFormat.padded(captured) <= body.upperBound - dataStart else {
            throw .malformedBlock(offset: block, type: type, reason: "captured length \(captured) runs past the block")
        }
        guard decode else {
            let stub = MirroredPacket(receivedNs: 0, timestampNs: 0, sensor: "", vmID: 0, encapsulation: .pcap,
                                      metadata: nil, frame: [], originalLength: 0)
            return Record(packet: stub, index: state.packetIndex, interfaceID: interfaceID, comments: [],
                          hasBMAOption: false, blockOffset: block)
        }
        let interface = state.interfaces[Int(interfaceID)]
        let ticks = UInt64(order.uint32(in: buffer, at: body.lowerBound + 4)) << 32 | UInt64(order.uint32(in: buffer, at: body.lowerBound + 8))
        let timestamp = PcapNGTimestamp.nanoseconds(ticks: ticks, resolution: interface.timestampResolution,
                                                    offsetSeconds: interface.timestampOffset)
        let original = order.uint32(in: buffer, at: body.lowerBound + 16)
        let frame = [UInt8](buffer[dataStart..<dataStart + captured])

        var comments: [String] = []
        var bma: BMAPacketOption?
        try forEachOption(buffer, order: order, in: dataStart + PcapNGFormat.padded(captured)..<body.upperBound, block: block) {
            (code, value) throws(PcapNGError) in
            switch code {
            case PcapNGFormat.optionComment:
                comments.append(text(buffer, value))
            case PcapNGFormat.optionCustomBinary, PcapNGFormat.optionCustomBinaryNoCopy:
                guard value.count >= 4 else { throw .malformedOption(offset: block, code: code) }
                guard order.uint32(in: buffer, at: value.lowerBound) == PcapNGFormat.bmaPrivateEnterpriseNumber, bma == nil else { return }
                let payload = [UInt8](buffer[value.lowerBound + 4..<value.upperBound])
                bma = try BMAPacketOption(payload: payload[...], blockOffset: block)
            default:
                break
            }
        }
        let packet = MirroredPacket(
            receivedNs: bma?.receivedNs ?? timestamp,
            timestampNs: timestamp,
            sensor: bma?.sensor ?? interface.sensor ?? source,
            vmID: interface.vmID ?? 0,
            encapsulation: bma?.encapsulation ?? .pcap,
            metadata: bma?.metadata,
            frame: frame,
            originalLength: max(original, UInt32(captured)))
        return Record(packet: packet, index: state.packetIndex, interfaceID: interfaceID, comments: comments,
                      hasBMAOption: bma != nil, blockOffset: block)
    }

    /// Calls `body` with each option's code and value range, up to opt_endofopt or `range`'s end.
    private static func forEachOption(_ buffer: UnsafeRawBufferPointer, order: PcapByteOrder, in range: Range<Int>, block: Int,
                                      _ body: (UInt16, Range<Int>) throws(PcapNGError) -> Void) throws(PcapNGError) {
        var cursor = range.lowerBound
        while range.upperBound - cursor >= 4 {
            let code = order.uint16(in: buffer, at: cursor)
            let length = Int(order.uint16(in: buffer, at: cursor + 2))
            if code == PcapNGFormat.optionEndOfOptions { return }
            let valueStart = cursor + 4
            guard PcapNGFormat.padded(length) <= range.upperBound - valueStart else {
                throw .malformedOption(offset: block, code: code)
            }
            try body(code, valueStart..<valueStart + length)
            cursor = valueStart + PcapNGFormat.padded(length)
        }
    }

    private static func text(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        // Some writers end strings with NULs; pcapng says they must not, but drop them.
        var end = range.upperBound
        while end > range.lowerBound, buffer[end - 1] == 0 { end -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range.lowerBound..<end]), as: UTF8.self)
    }

    private static func uint64(_ buffer: UnsafeRawBufferPointer, _ order: PcapByteOrder, _ offset: Int) -> UInt64 {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        return order == .littleEndian ? UInt64(littleEndian: value) : UInt64(bigEndian: value)
    }

    /// `Data.withUnsafeBytes` only rethrows untyped errors; this keeps `PcapNGError` typed.
    private static func withBytes<T>(of data: Data, _ body: (UnsafeRawBufferPointer) throws(PcapNGError) -> T) throws(PcapNGError) -> T {
        let result: Result<T, PcapNGError> = data.withUnsafeBytes { buffer in
            Result { () throws(PcapNGError) -> T in try body(buffer) }
        }
        return try result.get()
    }

    private static func reason(_ error: any Error, path: String) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        if !FileManager.default.isReadableFile(atPath: path) { return "permission denied" }
        return error.localizedDescription
    }
}

/// Converts pcapng timestamps (units of an interface's if_tsresol) to nanoseconds.
enum PcapNGTimestamp {
    /// if_tsresol: high bit clear, 10^-v seconds; set, 2^-(v & 0x7F) seconds. Results past
    /// 2^64 ns saturate.
    static func nanoseconds(ticks: UInt64, resolution: UInt8, offsetSeconds: Int64) -> UInt64 {
        let exponent = Int(resolution & 0x7F)
        var value: UInt64
        if resolution & 0x80 == 0 {
            if exponent <= 9 {
                let (product, overflow) = ticks.multipliedReportingOverflow(by: power10(9 - exponent))
                value = overflow ? .max : product
            } else {
                value = exponent - 9 > 19 ? 0 : ticks / power10(exponent - 9)
            }
        } else {
            // ticks * 1e9 / 2^exponent, in 128 bits.
            let (high, low) = ticks.multipliedFullWidth(by: 1_000_000_000)
            if exponent == 0 {
                value = high == 0 ? low : .max
            } else if exponent >= 64 {
                value = exponent >= 128 ? 0 : high >> UInt64(exponent - 64)
            } else {
                let shifted = high >> UInt64(exponent)
                value = shifted != 0 ? .max : (high << UInt64(64 - exponent)) | (low >> UInt64(exponent))
            }
        }
        if offsetSeconds != 0 {
            let (offsetNs, overflow) = offsetSeconds.magnitude.multipliedReportingOverflow(by: 1_000_000_000)
            if offsetSeconds > 0 {
                value = overflow ? .max : value.addingReportingOverflow(offsetNs).overflow ? .max : value + offsetNs
            } else {
                value = overflow || offsetNs > value ? 0 : value - offsetNs
            }
        }
        return value
    }

    private static func power10(_ exponent: Int) -> UInt64 {
        var result: UInt64 = 1
        for _ in 0..<exponent { result &*= 10 }
        return result
    }
}
