import Foundation
import Testing
@testable import Analysis

/// Every way the reader can find a file broken: a typed `PcapNGError`, never a crash.
@Suite("pcapng corrupt input")
struct PcapNGCorruptionTests {
    static let encoder = PcapNGEncoder()

    static func sectionHeader(_ order: PcapByteOrder = .littleEndian) -> [UInt8] {
        var bytes: [UInt8] = []
        PcapNGEncoder(byteOrder: order).appendSectionHeader(options: [], to: &bytes)
        return bytes
    }

    static func interface(options: [PcapNGOption] = [PcapNGOption(code: 2, text: "vm1")]) -> [UInt8] {
        var bytes: [UInt8] = []
        encoder.appendInterfaceDescription(linkType: 1, snapLength: 65535, options: options, to: &bytes)
        return bytes
    }

    static func packet(interfaceID: UInt32 = 0, data: [UInt8] = [1, 2, 3, 4, 5], options: [PcapNGOption] = []) -> [UInt8] {
        var bytes: [UInt8] = []
        encoder.appendEnhancedPacket(interfaceID: interfaceID, timestamp: 1, data: data[...], originalLength: UInt32(data.count),
                                     options: options, to: &bytes)
        return bytes
    }

    /// A raw block with exactly these lengths and body (no padding or checks).
    static func rawBlock(type: UInt32, length: UInt32, body: [UInt8], trailing: UInt32? = nil) -> [UInt8] {
        le32(type) + le32(length) + body + le32(trailing ?? length)
    }

    static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value >> 16), UInt8(value >> 24)]
    }

    /// Opens and reads everything: the packets read before the error, and the error.
    static func read(_ bytes: [UInt8]) -> (packets: Int, error: PcapNGError?) {
        var count = 0
        do {
            var reader = try PcapNGReader(bytes: bytes)
            while try reader.next() != nil { count += 1 }
            return (count, nil)
        } catch {
            return (count, error)
        }
    }

    static let valid = sectionHeader() + interface() + packet() + packet()

    static func bmaOption(_ payload: [UInt8]) -> PcapNGOption {
        PcapNGOption(code: 2989, value: le32(32473) + payload)
    }

    static let metadataBytes = [UInt8](repeating: 1, count: 24)

    @Test("the valid base file reads")
    func validBase() {
        #expect(Self.read(Self.valid) == (2, nil))
    }

    @Test("empty, short and non-pcapng starts")
    func badStarts() {
        #expect(Self.read([]).error == .emptyFile)
        #expect(Self.read([0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0]).error == .truncatedBlock(offset: 0))
        let classic = PcapEncoder().encode([PcapRecord(timestampNanoseconds: 1, data: [1])])
        #expect(Self.read(classic).error == .notPcapNG(firstBlockType: 0xA1B2_C3D4))
        #expect(Self.read(Self.packet()).error == .notPcapNG(firstBlockType: 6))
    }

    @Test("section header: byte-order magic, version, size")
    func sectionHeaderErrors() {
        var badMagic = Self.valid
        badMagic.replaceSubrange(8..<12, with: [1, 2, 3, 4])
        #expect(Self.read(badMagic).error == .badByteOrderMagic(offset: 0, magic: 0x0403_0201))
        var version = Self.valid
        version[12] = 2
        #expect(Self.read(version).error == .unsupportedVersion(offset: 0, major: 2, minor: 0))
        let short = Self.rawBlock(type: PcapNGFormat.sectionHeaderBlock, length: 24, body: Self.le32(0x1A2B_3C4D) + [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(Self.read(short).error == .malformedBlock(offset: 0, type: PcapNGFormat.sectionHeaderBlock,
                                                          reason: "a section header needs 16 bytes of fields"))
    }

    @Test("block lengths: too small, unaligned, huge, past the end, different at the end")
    func blockLengths() {
        let start = Self.sectionHeader().count
        let prefix = Self.sectionHeader()
        #expect(Self.read(prefix + Self.rawBlock(type: 1, length: 8, body: [])).error == .badBlockLength(offset: start, length: 8))
        #expect(Self.read(prefix + Self.rawBlock(type: 1, length: 22, body: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
            .error == .badBlockLength(offset: start, length: 22))
        #expect(Self.read(prefix + Self.rawBlock(type: 1, length: 0xFFFF_FFF0, body: [0, 0, 0, 0, 0, 0, 0, 0]))
            .error == .badBlockLength(offset: start, length: 0xFFFF_FFF0))
        #expect(Self.read(prefix + Self.rawBlock(type: 1, length: 40, body: [0, 0, 0, 0, 0, 0, 0, 0]))
            .error == .truncatedBlock(offset: start))
        #expect(Self.read(prefix + Self.rawBlock(type: 1, length: 20, body: [1, 0, 0, 0, 0, 0, 0, 0], trailing: 24))
            .error == .blockLengthMismatch(offset: start, leading: 20, trailing: 24))
        // Trailing bytes that cannot even hold a block header.
        #expect(Self.read(Self.valid + [0, 0, 0]).error == .truncatedBlock(offset: Self.valid.count))
    }

    @Test("a file cut anywhere inside a packet: earlier packets read, then truncatedBlock")
    func truncatedPacket() throws {
        let secondPacket = Self.sectionHeader().count + Self.interface().count + Self.packet().count
        for cut in secondPacket + 1..<Self.valid.count {
            let result = Self.read(Array(Self.valid.prefix(cut)))
            #expect(result.packets == 1)
            #expect(result.error == .truncatedBlock(offset: secondPacket))
        }
        // The reader's offset names the bad block, so a caller can keep the valid prefix.
        var reader = try PcapNGReader(bytes: Array(Self.valid.prefix(Self.valid.count - 1)))
        _ = try reader.next()
        #expect(throws: PcapNGError.truncatedBlock(offset: secondPacket)) { try reader.next() }
        #expect(reader.offset == secondPacket)
    }

    @Test("interface description: too short, bad if_tsresol and if_tsoffset sizes")
    func interfaceErrors() {
        let start = Self.sectionHeader().count
        let short = Self.rawBlock(type: 1, length: 16, body: [1, 0, 0, 0])
        #expect(Self.read(Self.sectionHeader() + short).error
            == .malformedBlock(offset: start, type: 1, reason: "an interface description needs 8 bytes of fields"))
        let resolution = Self.interface(options: [PcapNGOption(code: 9, value: [9, 9])])
        #expect(Self.read(Self.sectionHeader() + resolution).error == .malformedOption(offset: start, code: 9))
        let offset = Self.interface(options: [PcapNGOption(code: 14, value: [1, 2, 3, 4])])
        #expect(Self.read(Self.sectionHeader() + offset).error == .malformedOption(offset: start, code: 14))
    }

    @Test("options running past their block")
    func optionOverrun() {
        // An IDB whose option claims 200 bytes in a 4-byte space.
        let body: [UInt8] = [1, 0, 0, 0, 0xFF, 0xFF, 0, 0] + [2, 0, 200, 0]
        let block = Self.rawBlock(type: 1, length: UInt32(12 + body.count), body: body)
        #expect(Self.read(Self.sectionHeader() + block).error == .malformedOption(offset: Self.sectionHeader().count, code: 2))
        // The same in a packet's options.
        let packetStart = Self.sectionHeader().count + Self.interface().count
        let packetBody = Self.le32(0) + Self.le32(0) + Self.le32(1) + Self.le32(4) + Self.le32(4) + [9, 9, 9, 9] + [1, 0, 64, 0]
        let packet = Self.rawBlock(type: 6, length: UInt32(12 + packetBody.count), body: packetBody)
        #expect(Self.read(Self.sectionHeader() + Self.interface() + packet).error == .malformedOption(offset: packetStart, code: 1))
    }

    @Test("enhanced packet: too short, captured length past the block, unknown interface")
    func packetErrors() {
        let prefix = Self.sectionHeader() + Self.interface()
        let start = prefix.count
        let short = Self.rawBlock(type: 6, length: 24, body: Self.le32(0) + Self.le32(0) + Self.le32(0))
        #expect(Self.read(prefix + short).error
            == .malformedBlock(offset: start, type: 6, reason: "an enhanced packet needs 20 bytes of fields"))
        let body = Self.le32(0) + Self.le32(0) + Self.le32(1) + Self.le32(100) + Self.le32(100) + [1, 2, 3, 4]
        let overrun = Self.rawBlock(type: 6, length: UInt32(12 + body.count), body: body)
        #expect(Self.read(prefix + overrun).error
            == .malformedBlock(offset: start, type: 6, reason: "captured length 100 runs past the block"))
        // A huge captured length must not overflow the bounds check.
        let hugeBody = Self.le32(0) + Self.le32(0) + Self.le32(1) + Self.le32(0xFFFF_FFFF) + Self.le32(4) + [1, 2, 3, 4]
        let huge = Self.rawBlock(type: 6, length: UInt32(12 + hugeBody.count), body: hugeBody)
        #expect(Self.read(prefix + huge).error
            == .malformedBlock(offset: start, type: 6, reason: "captured length 4294967295 runs past the block"))
        #expect(Self.read(prefix + Self.packet(interfaceID: 1)).error == .unknownInterface(offset: start, interfaceID: 1))
        // Interfaces belong to their section: after a new SHB, interface 0 is unknown again.
        let second = Self.valid.count + Self.sectionHeader().count
        #expect(Self.read(Self.valid + Self.sectionHeader() + Self.packet()).error == .unknownInterface(offset: second, interfaceID: 0))
    }

    @Test("BMA option: short custom option, short metadata, broken TLVs, unknown encapsulation")
    func bmaOptionErrors() throws {
        let prefix = Self.sectionHeader() + Self.interface()
        let start = prefix.count
        func error(_ option: PcapNGOption) -> PcapNGError? {
            Self.read(prefix + Self.packet(options: [option])).error
        }
        #expect(error(PcapNGOption(code: 2989, value: [1, 2])) == .malformedOption(offset: start, code: 2989))
        #expect(error(Self.bmaOption([1, 2, 3])) == .badBMAOption(offset: start, reason: "3 bytes, the metadata alone needs 24"))
        #expect(error(Self.bmaOption(Self.metadataBytes + [1, 0])) == .badBMAOption(offset: start, reason: "a TLV header is cut short"))
        #expect(error(Self.bmaOption(Self.metadataBytes + [1, 0, 9, 65])) == .badBMAOption(offset: start, reason: "TLV 1 claims 9 bytes past the option's end"))
        #expect(error(Self.bmaOption(Self.metadataBytes + [2, 0, 3] + Array("gre".utf8))) == .badBMAOption(offset: start, reason: "unknown encapsulation 'gre'"))
        #expect(error(Self.bmaOption(Self.metadataBytes + [3, 0, 2, 1, 1])) == .badBMAOption(offset: start, reason: "received time of 2 bytes, not 8"))
        // Another organisation's custom option is not ours: ignored.
        #expect(error(PcapNGOption(code: 2989, value: Self.le32(99) + [1, 2, 3])) == nil)
        // Unknown TLVs are skipped; metadata without TLVs reads with defaults.
        var reader = try PcapNGReader(bytes: prefix + Self.packet(options: [Self.bmaOption(Self.metadataBytes + [77, 0, 1, 5])]))
        let packet = try #require(try reader.next())
        #expect(packet.metadata?.policyID == 0x0101)
        #expect(packet.encapsulation == .pcap)
    }

    @Test("unreadable paths")
    func unreadablePaths() throws {
        #expect(throws: PcapNGError.cannotOpen(path: "/nonexistent/file.pcapng", reason: "no such file")) {
            try PcapNGReader(path: "/nonexistent/file.pcapng")
        }
        let directory = try TemporaryDirectory()
        #expect(throws: PcapNGError.cannotOpen(path: directory.path, reason: "it is a directory")) {
            try PcapNGReader(path: directory.path)
        }
    }

    /// Random corruptions of a real BMA file (seeded): packets or a `PcapNGError`, never a crash.
    @Test("fuzz: 2000 random corruptions")
    func fuzz() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("fuzz.pcapng")
        let writer = try PcapNGWriter(path: path)
        for packet in StorePackets.mixed(count: 12) { try writer.write(packet) }
        try writer.close()
        let base = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var random = SeededGenerator(seed: 0x5EED)
        var outcomes = (read: 0, failed: 0)
        for _ in 0..<2000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                guard !bytes.isEmpty else { break }
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
                case 1: bytes.removeSubrange(position...)
                case 2:
                    let value = [UInt32.max, 0x8000_0000, 0xFFFF_FFF0, 0, 12, 0x0BAD].randomElement(using: &random)!
                    for index in 0..<4 where position + index < bytes.count {
                        bytes[position + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index)))
                    }
                case 3: bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: position)
                default: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &random)))
                }
            }
            let result = Self.read(bytes)
            if result.error == nil { outcomes.read += 1 } else { outcomes.failed += 1 }
        }
        #expect(outcomes.failed > 0 && outcomes.read + outcomes.failed == 2000)
    }
}
