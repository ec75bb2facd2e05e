import Foundation
import Testing
@testable import Analysis

@Suite("pcapng round trip")
struct PcapNGRoundTripTests {
    /// A varied set: metadata or not, every encapsulation, several VMs interleaved, an empty
    /// frame, a long sensor, an original length past the frame.
    static func samples() -> [MirroredPacket] {
        let t = StorePackets.base
        var packets = [
            StorePackets.tcp(vm: 7, timestampNs: t + 1, sequence: 1),
            StorePackets.udp(vm: 8, timestampNs: t + 1_000_000_001, sequence: 2),
            StorePackets.icmpEcho(vm: 7, timestampNs: t + 2_000_000_123, sequence: 3, reply: false),
            StorePackets.ipv6TCP(vm: 9, timestampNs: t + 3_000_000_000, sequence: 4),
            StorePackets.arp(vm: 0, timestampNs: t + 4_000_000_999, sequence: 5),
            StorePackets.tcp(vm: 4_000_000_000, timestampNs: t + 5_000_000_000, sequence: 6, size: 1400),
        ]
        packets.append(MirroredPacket(receivedNs: t + 7, timestampNs: t + 6, sensor: "/captures/imported file.pcap", vmID: 8,
                                      encapsulation: .pcap, metadata: nil, frame: [], originalLength: 0))
        packets.append(MirroredPacket(receivedNs: 0, timestampNs: 0, sensor: "2001:db8::77", vmID: 7, encapsulation: .geneve,
                                      metadata: BMAMetadata(version: 1, flags: [.preTrigger, .forced], policyID: 65535,
                                                            reasons: BMAMetadata.Reasons(rawValue: 0x7F), scoreMilli: .max,
                                                            originalLength: 9000, timestampNs: .max),
                                      frame: [1, 2, 3], originalLength: 9000))
        return packets
    }

    static func write(_ packets: [MirroredPacket], to path: String, byteOrder: PcapByteOrder = .littleEndian,
                      bufferCapacity: Int = 1 << 18, comments: Bool = true) throws -> PcapNGWriter {
        let writer = try PcapNGWriter(path: path, byteOrder: byteOrder, bufferCapacity: bufferCapacity, comments: comments)
        for (index, packet) in packets.enumerated() {
            // The size announced before writing is what the file grows by.
            let prepared = writer.prepare(packet)
            let expected = writer.bytesWritten + writer.encodedLength(of: prepared)
            #expect(try writer.write(prepared) == index)
            #expect(writer.bytesWritten == expected)
        }
        return writer
    }

    @Test("writer then reader gives every packet back, in both byte orders, with and without comments",
          arguments: [PcapByteOrder.littleEndian, .bigEndian], [true, false])
    func roundTrip(order: PcapByteOrder, comments: Bool) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("round.pcapng")
        let packets = Self.samples()
        // A small buffer, so that flushes happen in the middle.
        let writer = try Self.write(packets, to: path, byteOrder: order, bufferCapacity: 4096, comments: comments)
        try writer.close()
        #expect(writer.bytesWritten == Int(StoreFiles.size(path)))
        #expect(writer.durablePacketCount == packets.count)

        var reader = try PcapNGReader(path: path)
        #expect(reader.byteOrder == order)
        var records: [PcapNGReader.Record] = []
        while let record = try reader.nextRecord() { records.append(record) }
        #expect(records.map(\.packet) == packets)
        #expect(records.map(\.index) == Array(0..<packets.count))
        #expect(records.allSatisfy { $0.hasBMAOption })
        #expect(records.map { $0.comments.first } == packets.map { comments ? BMAPacketOption.comment(for: $0) : nil })
        // The option written in place is byte for byte the documented encoding.
        let file = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        for packet in packets {
            let payload = BMAPacketOption(packet: packet).encodedPayload()
            #expect((0...(file.count - payload.count)).contains { file[$0..<$0 + payload.count].elementsEqual(payload) })
        }
        // One interface per VM, in order of first appearance.
        #expect(reader.interfaces.map(\.name) == ["vm7", "vm8", "vm9", "vm0", "vm4000000000"])
        #expect(reader.interfaces.allSatisfy { $0.timestampResolution == 9 && $0.snapLength == 262_144 && $0.linkType == 1 })
        #expect(reader.interfaces[0].description == "bma vm=7 sensor=192.0.2.1")
        #expect(try reader.next() == nil)
    }

    @Test("the comment is the readable summary")
    func comment() {
        let packet = StorePackets.tcp(vm: 7, timestampNs: 1, sequence: 0)
        #expect(BMAPacketOption.comment(for: packet)
            == "bma vm=7 sensor=192.0.2.1 reasons=new-service,port-scan score=1.500 policy=0 flags=sticky,truncated encap=geneve")
        let plain = StorePackets.udp(vm: 8, timestampNs: 1, sequence: 1)
        #expect(BMAPacketOption.comment(for: plain) == "bma vm=8 sensor=192.0.2.1 encap=vxlan")
        var quiet = packet
        quiet.metadata = BMAMetadata(flags: [], policyID: 3, reasons: [], scoreMilli: 42, originalLength: 60, timestampNs: 1)
        #expect(BMAPacketOption.comment(for: quiet)
            == "bma vm=7 sensor=192.0.2.1 reasons=none score=0.042 policy=3 flags=none encap=geneve")
    }

    @Test("the custom option is PEN 32473, the 24 metadata bytes big-endian, then the TLVs")
    func customOptionLayout() throws {
        let metadata = BMAMetadata(flags: [.sticky], policyID: 0x0102, reasons: BMAMetadata.Reasons(rawValue: 0x0A),
                                   scoreMilli: 1500, originalLength: 0x0304, timestampNs: 0x1122_3344_5566_7788)
        let packet = MirroredPacket(receivedNs: 0x0A0B, timestampNs: 5, sensor: "h", vmID: 7, encapsulation: .geneve,
                                    metadata: metadata, frame: [0xEE], originalLength: 0x0304)
        let payload = BMAPacketOption(packet: packet).encodedPayload()
        #expect(Array(payload.prefix(24)) == [1, 0x02, 0x01, 0x02, 0, 0, 0, 0x0A, 0, 0, 0x05, 0xDC, 0, 0, 0x03, 0x04,
                                              0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        #expect(Array(payload.dropFirst(24)) == [1, 0, 1, 0x68] + [2, 0, 6] + Array("geneve".utf8) + [3, 0, 8, 0, 0, 0, 0, 0, 0, 0x0A, 0x0B])
        let decoded = try BMAPacketOption(payload: payload[...], blockOffset: 0)
        #expect(decoded == BMAPacketOption(packet: packet))

        // In the file: option code 2989, then the PEN in the section's byte order.
        let directory = try TemporaryDirectory()
        for order in [PcapByteOrder.littleEndian, .bigEndian] {
            let path = directory.file("layout-\(order).pcapng")
            try Self.write([packet], to: path, byteOrder: order).close()
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let code: [UInt8] = order == .littleEndian ? [0xAD, 0x0B] : [0x0B, 0xAD]
            let pen: [UInt8] = order == .littleEndian ? [0xD9, 0x7E, 0, 0] : [0, 0, 0x7E, 0xD9]
            var found = false
            for start in 0..<(bytes.count - 8) {
                let codeBytes = Array(bytes[start..<(start + 2)])
                let penBytes = Array(bytes[(start + 4)..<(start + 8)])
                if codeBytes == code, penBytes == pen { found = true }
            }
            #expect(found, "option 2989 with PEN 32473 in \(order)")
        }
    }

    @Test("frames past the snap length are cut, the original length kept")
    func snapLength() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("snap.pcapng")
        let frame = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        let packet = MirroredPacket(receivedNs: 1, timestampNs: 1, sensor: "s", vmID: 1, encapsulation: .pcap, metadata: nil,
                                    frame: frame, originalLength: 300_000)
        try Self.write([packet], to: path).close()
        var reader = try PcapNGReader(path: path)
        let read = try #require(try reader.next())
        #expect(read.frame == Array(frame.prefix(262_144)))
        #expect(read.originalLength == 300_000)
    }

    @Test("reader converts every timestamp resolution and offset")
    func timestampResolutions() throws {
        let cases: [(resolution: UInt8?, offset: Int64?, ticks: UInt64, expected: UInt64)] = [
            (nil, nil, 1_700_000_000_123_456, 1_700_000_000_123_456_000),  // default: microseconds
            (9, nil, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789),
            (3, nil, 1_700_000_000_123, 1_700_000_000_123_000_000),
            (12, nil, 1_700_000_000_123_456_789, 1_700_000_000_123_456),
            (0x80 | 10, nil, 1024 * 5 + 512, 5_500_000_000),  // 2^-10 s
            (0x80 | 30, nil, 3 << 30, 3_000_000_000),
            (6, 100, 1_000_000, 101_000_000_000),
            (9, -5, 10_000_000_000, 5_000_000_000),
            (0, nil, UInt64.max, UInt64.max),  // saturates
        ]
        for (number, item) in cases.enumerated() {
            var options = [PcapNGOption(code: 2, text: "vm3")]
            if let resolution = item.resolution { options.append(PcapNGOption(code: 9, value: [resolution])) }
            if let offset = item.offset {
                var value: [UInt8] = []
                withUnsafeBytes(of: offset.littleEndian) { value += $0 }
                options.append(PcapNGOption(code: 14, value: value))
            }
            let encoder = PcapNGEncoder()
            var bytes: [UInt8] = []
            encoder.appendSectionHeader(options: [], to: &bytes)
            encoder.appendInterfaceDescription(linkType: 1, snapLength: 0, options: options, to: &bytes)
            encoder.appendEnhancedPacket(interfaceID: 0, timestamp: item.ticks, data: [1, 2][...], originalLength: 2, options: [], to: &bytes)
            var reader = try PcapNGReader(bytes: bytes, source: "file.pcapng")
            let packet = try #require(try reader.next())
            #expect(packet.timestampNs == item.expected, "case \(number)")
            // No BMA option: VM from the interface name, sensor from the file, time as received.
            #expect(packet.vmID == 3 && packet.sensor == "file.pcapng" && packet.encapsulation == .pcap && packet.metadata == nil)
            #expect(packet.receivedNs == packet.timestampNs)
        }
    }

    @Test("reader skips blocks it does not know and follows new sections in the other byte order")
    func skipsUnknownBlocksAndSections() throws {
        let first = Self.samples()
        var bytes: [UInt8] = []
        for (order, packets) in [(PcapByteOrder.littleEndian, Array(first.prefix(3))), (.bigEndian, Array(first.suffix(3)))] {
            let encoder = PcapNGEncoder(byteOrder: order)
            encoder.appendSectionHeader(options: [PcapNGOption(code: 1, text: "section")], to: &bytes)
            encoder.appendBlock(type: 0x0000_0BAD, options: [], to: &bytes) { $0 += [1, 2, 3, 4, 5] }  // unknown
            encoder.appendBlock(type: 4, options: [], to: &bytes) { $0 += [0, 0, 0, 0] }  // name resolution
            let directory = try TemporaryDirectory()
            let path = directory.file("part.pcapng")
            try Self.write(packets, to: path, byteOrder: order).close()
            let part = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            // Drop the part's own SHB (its first block) and append its IDBs and EPBs.
            let length = Int(order == .littleEndian
                ? UInt32(part[4]) | UInt32(part[5]) << 8 | UInt32(part[6]) << 16 | UInt32(part[7]) << 24
                : UInt32(part[7]) | UInt32(part[6]) << 8 | UInt32(part[5]) << 16 | UInt32(part[4]) << 24)
            bytes += part[length...]
            encoder.appendBlock(type: 3, options: [], to: &bytes) { $0 += [0, 0, 0, 4, 9, 9, 9, 9] }  // simple packet
            encoder.appendBlock(type: 5, options: [], to: &bytes) { $0 += [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }  // statistics
        }
        var reader = try PcapNGReader(bytes: bytes)
        #expect(try reader.readAll() == Array(first.prefix(3)) + Array(first.suffix(3)))
        #expect(reader.byteOrder == .bigEndian)
    }

    @Test("skipPacket walks past packets without decoding them")
    func skipPacket() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("skip.pcapng")
        let packets = Self.samples()
        try Self.write(packets, to: path).close()
        var reader = try PcapNGReader(path: path)
        #expect(try reader.skipPacket())
        #expect(try reader.skipPacket())
        #expect(reader.packetIndex == 2)
        #expect(try reader.next() == packets[2])
        while try reader.skipPacket() {}
        #expect(reader.packetIndex == packets.count)
    }

    @Test("writer errors: unwritable path, use after close")
    func writerErrors() throws {
        #expect(throws: PcapNGError.self) { try PcapNGWriter(path: "/nonexistent-directory/x.pcapng") }
        let directory = try TemporaryDirectory()
        let writer = try PcapNGWriter(path: directory.file("closed.pcapng"))
        try writer.close()
        #expect(throws: PcapNGError.writerClosed) { try writer.write(StorePackets.tcp(vm: 1, timestampNs: 1, sequence: 1)) }
        #expect(throws: PcapNGError.writerClosed) { try writer.close() }
    }

    @Test("tshark reads the file: frame count, comments, interface names", StoreTShark.required)
    func tsharkReads() throws {
        let directory = try TemporaryDirectory()
        let packets = Self.samples()
        for order in [PcapByteOrder.littleEndian, .bigEndian] {
            let path = directory.file("tshark-\(order).pcapng")
            try Self.write(packets, to: path, byteOrder: order).close()
            #expect(try StoreTShark.count(path) == packets.count)
            let verbose = try StoreTShark.run(["-r", path, "-V"])
            #expect(verbose.status == 0)
            for packet in packets {
                #expect(verbose.output.contains(BMAPacketOption.comment(for: packet)))
            }
            #expect(verbose.output.contains(
                "bma vm=7 sensor=192.0.2.1 reasons=new-service,port-scan score=1.501 policy=1 flags=sticky,truncated encap=geneve"))
            #expect(verbose.output.contains("vm7"))
            #expect(verbose.output.contains("Arrival Time: Nov 14, 2023 22:13:20.000000001"))
        }
    }
}
