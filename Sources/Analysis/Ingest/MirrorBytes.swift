/// A bounds-checked, big-endian view of part of a packet, used by `MirrorDecoder`.
///
/// Decoders call `require` before reading; the accessors check again (a failed check is a bug in
/// the decoder, never a property of the input), so no input can make a read leave the buffer.
struct MirrorBytes {
    let base: UnsafeBufferPointer<UInt8>

    init(_ base: UnsafeBufferPointer<UInt8>) {
        self.base = base
    }

    var count: Int { base.count }

    /// Throws `truncated` unless `needed` bytes are present.
    @inline(__always)
    func require(_ needed: Int, _ layer: MirrorDecodeError.Layer) throws(MirrorDecodeError) {
        guard needed <= count else { throw .truncated(layer: layer, needed: needed, available: count) }
    }

    // Inlined, one bounds check per read: the decoders read a dozen fields per packet.
    @inline(__always)
    func u8(_ offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < count, "MirrorBytes: read past the end")
        return base[offset]
    }

    @inline(__always)
    func u16(_ offset: Int) -> UInt16 {
        precondition(offset >= 0 && offset + 2 <= count, "MirrorBytes: read past the end")
        return UInt16(base[offset]) << 8 | UInt16(base[offset + 1])
    }

    @inline(__always)
    func u24(_ offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 3 <= count, "MirrorBytes: read past the end")
        return UInt32(base[offset]) << 16 | UInt32(base[offset + 1]) << 8 | UInt32(base[offset + 2])
    }

    @inline(__always)
    func u32(_ offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= count, "MirrorBytes: read past the end")
        return UInt32(base[offset]) << 24 | UInt32(base[offset + 1]) << 16 | UInt32(base[offset + 2]) << 8 | UInt32(base[offset + 3])
    }

    @inline(__always)
    func u64(_ offset: Int) -> UInt64 {
        UInt64(u32(offset)) << 32 | UInt64(u32(offset + 4))
    }

    /// The bytes from `start` to `end` (exclusive), as a window of their own.
    @inline(__always)
    func slice(_ start: Int, _ end: Int) -> MirrorBytes {
        precondition(start >= 0 && start <= end && end <= count, "MirrorBytes: slice out of range")
        return MirrorBytes(UnsafeBufferPointer(rebasing: base[start..<end]))
    }

    func suffix(from start: Int) -> MirrorBytes { slice(start, count) }

    /// A copy of the bytes from `start` to the end.
    func array(from start: Int) -> [UInt8] {
        precondition(start >= 0 && start <= count, "MirrorBytes: copy out of range")
        return Array(base[start...])
    }

    /// Runs `body` over the bytes of `bytes`, without copying them when they are contiguous.
    static func with<C: Collection<UInt8>, T>(
        _ bytes: C, _ body: (MirrorBytes) throws(MirrorDecodeError) -> T
    ) throws(MirrorDecodeError) -> T {
        let direct: Result<T, MirrorDecodeError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(MirrorDecodeError) -> T in try body(MirrorBytes(buffer)) }
        }
        if let direct { return try direct.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer in
            Result { () throws(MirrorDecodeError) -> T in try body(MirrorBytes(buffer)) }
        }.get()
    }
}
