/// Authenticated mirror metadata (Sources/CDPDK/include/bma_auth.h is the C side; BMAContractTests
/// compare them). With a key configured, bmad's Geneve copies carry a second option after BMA's
/// metadata: class `GeneveOption.optionClass`, type 0x43, 20 bytes of data, big-endian:
/// key id(1, never 0) stream(1) reserved(2) sequence(8) MAC(8).
///
/// The MAC is SipHash-2-4 over: the Geneve VNI word (4) | the metadata option's 24 data bytes |
/// the authentication data's first 12 bytes | the copy's length (4) | the copy's first
/// min(length, 64) bytes. Sequence numbers increase per stream (one per bmad worker) and start at
/// the wall clock in ns.
public enum MirrorAuthentication {
    public static let optionType: UInt8 = 0x43
    /// Option data length in bytes (without the 4-byte option header).
    public static let dataLength = 20
    /// Bytes of the copied frame the MAC covers.
    public static let frameBytes = 64

    /// The MAC of one copy. `metadata` is the 24 data bytes of BMA's option as sent; `frame` the
    /// copy (only its first `frameBytes` are read). The message is assembled on the stack.
    public static func mac(key: MirrorKey, vniWord: UInt32, metadata: [UInt8], stream: UInt8, reserved: UInt16 = 0,
                           sequence: UInt64, frame: [UInt8]) -> UInt64 {
        withUnsafeTemporaryAllocation(byteCount: 44 + frameBytes, alignment: 8) { buffer in
            var n = 0
            func put(_ value: UInt64, _ bytes: Int) {
                for k in (0..<bytes).reversed() {
                    buffer[n] = UInt8(truncatingIfNeeded: value >> UInt64(8 * k))
                    n += 1
                }
            }
            put(UInt64(vniWord), 4)
            for b in metadata.prefix(24) {
                buffer[n] = b
                n += 1
            }
            put(UInt64(key.id) << 24 | UInt64(stream) << 16 | UInt64(reserved), 4)
            put(sequence, 8)
            put(UInt64(frame.count), 4)
            let take = min(frame.count, frameBytes)
            frame.withUnsafeBytes { bytes in
                if take > 0 { (buffer.baseAddress! + n).copyMemory(from: bytes.baseAddress!, byteCount: take) }
            }
            n += take
            return SipHash24.hash(k0: key.k0, k1: key.k1, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    public static func appendBE(_ value: some FixedWidthInteger, _ bytes: Int, to out: inout [UInt8]) {
        let v = UInt64(truncatingIfNeeded: value)
        for k in (0..<bytes).reversed() { out.append(UInt8(truncatingIfNeeded: v >> UInt64(8 * k))) }
    }
}

/// One mirror authentication key: an id 1-255 and 16 secret bytes.
public struct MirrorKey: Sendable, Equatable {
    public let id: UInt8
    /// The key's two halves, each read little-endian (SipHash's k0 and k1).
    public let k0: UInt64
    public let k1: UInt64

    public init(id: UInt8, k0: UInt64, k1: UInt64) {
        self.id = id
        self.k0 = k0
        self.k1 = k1
    }

    /// `id` 1-255 and 32 hex digits (the 16 key bytes in order); nil otherwise.
    public init?(id: Int, hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard (1...255).contains(id), digits.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 32, by: 2) {
            guard let hi = Self.nibble(digits[i]), let lo = Self.nibble(digits[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        var k0: UInt64 = 0, k1: UInt64 = 0
        for i in 0..<8 {
            k0 |= UInt64(bytes[i]) << UInt64(8 * i)
            k1 |= UInt64(bytes[8 + i]) << UInt64(8 * i)
        }
        self.init(id: UInt8(id), k0: k0, k1: k1)
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
