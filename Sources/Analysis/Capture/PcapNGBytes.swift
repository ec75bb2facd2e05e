/// Integer access in a section's byte order, for the pcapng reader and encoder.
///
/// `PcapByteOrder` (from PacketCapture) names the order; these helpers are this module's own.
extension PcapByteOrder {
    /// Reads a 16-bit field; `offset + 2` must lie within `buffer`.
    @inline(__always)
    func ngUInt16(_ buffer: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return self == .littleEndian ? UInt16(littleEndian: value) : UInt16(bigEndian: value)
    }

    @inline(__always)
    func ngUInt32(_ buffer: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return self == .littleEndian ? UInt32(littleEndian: value) : UInt32(bigEndian: value)
    }

    @inline(__always)
    func ngAppend(_ value: UInt16, to bytes: inout [UInt8]) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    func ngAppend(_ value: UInt32, to bytes: inout [UInt8]) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    func ngAppend(_ value: UInt64, to bytes: inout [UInt8]) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites four bytes at `offset` (a block length filled in once the block is complete).
    @inline(__always)
    func ngStore(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { raw in
            for index in 0..<4 { bytes[offset + index] = raw[index] }
        }
    }
}

/// Big-endian helpers for BMA's own payloads (the Geneve option layout is network order).
enum BigEndianBytes {
    @inline(__always)
    static func append(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    @inline(__always)
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// Reads `width` bytes (at most 8) at `offset`; the caller checks the bounds.
    @inline(__always)
    static func read(_ bytes: ArraySlice<UInt8>, at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<offset + width { value = value << 8 | UInt64(bytes[index]) }
        return value
    }
}
