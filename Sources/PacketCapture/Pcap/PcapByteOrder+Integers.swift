extension PcapByteOrder {
    /// Reads a 16-bit field stored in this byte order; `offset` must leave 2 bytes in `buffer`.
    @inline(__always)
    public func uint16(in buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return self == .littleEndian ? UInt16(littleEndian: value) : UInt16(bigEndian: value)
    }

    /// Reads a 32-bit field stored in this byte order; `offset` must leave 4 bytes in `buffer`.
    @inline(__always)
    public func uint32(in buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return self == .littleEndian ? UInt32(littleEndian: value) : UInt32(bigEndian: value)
    }

    @inline(__always)
    public func append(_ value: UInt16, to bytes: inout [UInt8]) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    public func append(_ value: UInt32, to bytes: inout [UInt8]) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    public func append(_ value: UInt64, to bytes: inout [UInt8]) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites four bytes at `offset` (a length filled in once what it measures is complete).
    @inline(__always)
    public func store(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
        let ordered = self == .littleEndian ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { raw in
            for index in 0..<4 { bytes[offset + index] = raw[index] }
        }
    }
}
