import BMAContract
import CDPDK
import Testing

/// SipHash-2-4 in Swift and in C against the reference vectors, and the C encoder's
/// authentication option against the contract's MAC.
@Suite("authenticated mirror metadata: SipHash and the option")
struct MirrorAuthenticationTests {
    /// The reference test vectors of SipHash-2-4 (key 00 01 .. 0f, message 00 01 .. of length 0-63).
    static let vectors: [UInt64] = [
        0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
        0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
        0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
        0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
        0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
        0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
        0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
        0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
        0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
        0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
        0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
        0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
        0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
        0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
        0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
        0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
    ]
    static let key = MirrorKey(id: 1, hex: "000102030405060708090a0b0c0d0e0f")!

    @Test("Swift and C give the reference vectors for every length 0-63")
    func vectors() {
        #expect(Self.key.k0 == 0x0706050403020100 && Self.key.k1 == 0x0f0e0d0c0b0a0908)
        let message = (0..<64).map { UInt8($0) }
        for length in 0..<64 {
            let m = Array(message.prefix(length))
            #expect(SipHash24.hash(k0: Self.key.k0, k1: Self.key.k1, m) == Self.vectors[length], "Swift, length \(length)")
            let c = m.withUnsafeBufferPointer { bma_siphash24(Self.key.k0, Self.key.k1, $0.baseAddress, $0.count) }
            #expect(c == Self.vectors[length], "C, length \(length)")
        }
    }

    @Test("Swift and C agree on long and random messages")
    func agreement() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
        for _ in 0..<300 {
            let bytes = (0..<Int(next() % 300)).map { _ in UInt8(truncatingIfNeeded: next()) }
            let (k0, k1) = (next(), next())
            let c = bytes.withUnsafeBufferPointer { bma_siphash24(k0, k1, $0.baseAddress, $0.count) }
            #expect(SipHash24.hash(k0: k0, k1: k1, bytes) == c)
        }
    }

    @Test("keys: 32 hex digits and an id 1-255")
    func keys() {
        #expect(MirrorKey(id: 0, hex: "000102030405060708090a0b0c0d0e0f") == nil)
        #expect(MirrorKey(id: 256, hex: "000102030405060708090a0b0c0d0e0f") == nil)
        #expect(MirrorKey(id: 1, hex: "000102030405060708090a0b0c0d0e0") == nil)
        #expect(MirrorKey(id: 1, hex: "000102030405060708090a0b0c0d0e0g") == nil)
        #expect(MirrorKey(id: 9, hex: "000102030405060708090A0B0C0D0E0F") == MirrorKey(id: 9, k0: Self.key.k0, k1: Self.key.k1))
    }

    @Test("the contract's numbers are bma_auth.h's")
    func constants() {
        #expect(MirrorAuthentication.optionType == UInt8(BMA_GENEVE_AUTH_OPT_TYPE))
        #expect(MirrorAuthentication.dataLength == Int(BMA_GENEVE_AUTH_DATA_LEN))
        #expect(MirrorAuthentication.frameBytes == Int(BMA_AUTH_FRAME_BYTES))
    }

    static func be16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
    static func be(_ b: [UInt8], _ at: Int, _ n: Int) -> UInt64 { b[at..<at + n].reduce(0) { $0 << 8 | UInt64($1) } }

    @Test("bma_encap_build and bma_auth_seal write the option the contract describes, for copies of 0-200 bytes", arguments: [0, 1, 14, 63, 64, 65, 200])
    func sealedOption(copyLength: Int) {
        var e = bma_encap_t()
        e.kind = UInt32(BMA_ENCAP_GENEVE)
        e.src_ip = 0x0a00_0001
        e.n_collectors = 1
        withUnsafeMutableBytes(of: &e.collectors) { $0.storeBytes(of: UInt32(0x0a00_0002), as: UInt32.self) }
        let key = MirrorKey(id: 7, hex: "0f1e2d3c4b5a69788796a5b4c3d2e1f0")!
        e.auth_key_id = key.id
        e.auth_k0 = key.k0
        e.auth_k1 = key.k1
        #expect(bma_encap_header_len(&e) == 102)
        var plain = e
        plain.auth_key_id = 0
        #expect(bma_encap_max_inner(&e) == bma_encap_max_inner(&plain) - 24)

        var m = bma_mirror_meta_t()
        m.vm_id = 0xABCDE
        m.flags = UInt16(BMA_MF_STICKY)
        m.reasons = 0b1000
        m.score_milli = 1234
        m.policy_id = 42
        m.ts_ns = 1_700_000_000_123_456_789
        let frame = (0..<copyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        var out = [UInt8](repeating: 0xEE, count: 102)
        #expect(bma_encap_build(&e, &m, UInt32(copyLength), 300, &out, 102) == 102)
        #expect(out[42] & 0x3F == 13, "Geneve options: 13 words")
        let option = 78, auth = 82 // after Ethernet, IPv4, UDP, Geneve base and the metadata option
        #expect(Self.be16(out, option) == GeneveOption.optionClass && out[option + 2] == MirrorAuthentication.optionType)
        #expect(Int(out[option + 3] & 0x1F) * 4 == MirrorAuthentication.dataLength)
        #expect(out[auth] == 7 && out[(auth + 1)...].allSatisfy { $0 == 0 }, "key id, the rest left for the seal")

        let sealed = frame.withUnsafeBufferPointer { f in
            bma_auth_seal(&out, 102, f.baseAddress, UInt32(f.count), UInt32(copyLength), 3, 0x0102_0304_0506_0708, key.k0, key.k1)
        }
        #expect(sealed == 0)
        #expect(out[auth + 1] == 3 && Self.be(out, auth + 4, 8) == 0x0102_0304_0506_0708)
        let expected = MirrorAuthentication.mac(key: key, vniWord: UInt32(Self.be(out, 46, 4)), metadata: Array(out[54..<78]),
                                                stream: 3, sequence: 0x0102_0304_0506_0708, frame: frame)
        #expect(Self.be(out, auth + 12, 8) == expected)
        // Only the first 64 bytes of the copy are read.
        if copyLength > 64 {
            #expect(frame.withUnsafeBufferPointer { bma_auth_seal(&out, 102, $0.baseAddress, 64, UInt32(copyLength), 3, 1, key.k0, key.k1) } == 0)
        } else if copyLength > 0 {
            #expect(frame.withUnsafeBufferPointer { bma_auth_seal(&out, 102, $0.baseAddress, UInt32(copyLength - 1), UInt32(copyLength), 3, 1, key.k0, key.k1) } == -1,
                    "fewer bytes at hand than the MAC covers")
        }
        // A header without the option is refused.
        var short = [UInt8](repeating: 0, count: 78)
        #expect(bma_encap_build(&plain, &m, 10, 10, &short, 78) == 78)
        #expect(bma_auth_seal(&short, 78, nil, 0, 0, 0, 0, 0, 0) == -1)
    }
}
