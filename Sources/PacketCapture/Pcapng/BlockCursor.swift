/// Writes a pcapng block in place: integers in the section's byte order, raw bytes, and zero
/// padding to 32 bits (the memory is zeroed beforehand). The caller sized the block exactly.
public struct BlockCursor {
    public let base: UnsafeMutableRawPointer
    public let order: PcapByteOrder
    /// Bytes written from the block's start.
    public var offset = 0

    public init(base: UnsafeMutableRawPointer, order: PcapByteOrder) {
        self.base = base
        self.order = order
    }

    @inlinable
    public mutating func put16(_ value: UInt16) {
        base.storeBytes(of: order == .littleEndian ? value.littleEndian : value.bigEndian, toByteOffset: offset, as: UInt16.self)
        offset += 2
    }

    @inlinable
    public mutating func put32(_ value: UInt32) {
        base.storeBytes(of: order == .littleEndian ? value.littleEndian : value.bigEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }

    /// Big-endian whatever the section's order (the BMA option's own fields).
    @inlinable
    public mutating func putBig<T: FixedWidthInteger>(_ value: T) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    @inlinable
    public mutating func putByte(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    @inlinable
    public mutating func putBytes(_ bytes: UnsafeRawBufferPointer) {
        if let source = bytes.baseAddress, bytes.count > 0 {
            (base + offset).copyMemory(from: source, byteCount: bytes.count)
        }
        offset += bytes.count
    }

    /// Skips to the next multiple of 4 from the block's start.
    @inlinable
    public mutating func pad() { offset = (offset + 3) & ~3 }
}
