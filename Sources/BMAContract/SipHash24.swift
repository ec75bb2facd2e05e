/// SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed MAC of authenticated mirror metadata;
/// the same function as bma_siphash24 in Sources/CDPDK/bma_siphash.c.
public enum SipHash24 {
    /// The hash of `bytes` under the key (k0, k1): the 16 key bytes' two halves read little-endian.
    public static func hash(k0: UInt64, k1: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var v0 = k0 ^ 0x736f_6d65_7073_6575
        var v1 = k1 ^ 0x646f_7261_6e64_6f6d
        var v2 = k0 ^ 0x6c79_6765_6e65_7261
        var v3 = k1 ^ 0x7465_6462_7974_6573
        @inline(__always) func round() {
            v0 &+= v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 &+= v3; v3 = rotl(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rotl(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        }
        let count = bytes.count
        let whole = count & ~7
        var i = 0
        while i < whole {
            let word = littleEndian(bytes, from: i, count: 8)
            v3 ^= word
            round(); round()
            v0 ^= word
            i += 8
        }
        let last = littleEndian(bytes, from: whole, count: count - whole) | UInt64(count & 0xff) << 56
        v3 ^= last
        round(); round()
        v0 ^= last
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }

    public static func hash(k0: UInt64, k1: UInt64, _ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash(k0: k0, k1: k1, $0) }
    }

    @inline(__always)
    static func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { x << b | x >> (64 - b) }

    @inline(__always)
    static func littleEndian(_ bytes: UnsafeRawBufferPointer, from start: Int, count: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<count { v |= UInt64(bytes[start + k]) << UInt64(8 * k) }
        return v
    }
}
