import Foundation
import Testing
@testable import PacketCapture

@Suite("pcap round trip")
struct PcapRoundTripTests {
    static let sampleRecords: [PcapRecord] = [
        PcapRecord(timestampNanoseconds: 1_615_216_935_831_389_123, data: Array(0..<60), originalLength: 60),
        PcapRecord(timestampNanoseconds: 1_615_216_936_000_000_999, data: [], originalLength: 0),
        PcapRecord(timestampNanoseconds: 1_615_216_937_500_000_000, data: Array(repeating: 0xAB, count: 1514), originalLength: 9000),
        PcapRecord(timestampNanoseconds: 0, data: [1], originalLength: 1),
    ]

    static let formats: [(PcapByteOrder, TimestampResolution)] = [
        (.littleEndian, .microseconds), (.littleEndian, .nanoseconds),
        (.bigEndian, .microseconds), (.bigEndian, .nanoseconds),
    ]

    /// What a file of `resolution` keeps of a timestamp.
    static func stored(_ nanoseconds: UInt64, _ resolution: TimestampResolution) -> UInt64 {
        resolution == .nanoseconds ? nanoseconds : nanoseconds / 1_000 * 1_000
    }

    @Test("encode then read gives the records back", arguments: 0..<4)
    func encodeAndRead(format: Int) throws {
        let (order, resolution) = Self.formats[format]
        let header = PcapFileHeader(byteOrder: order, resolution: resolution, snapLength: 65535, linkType: .ethernet)
        let bytes = PcapEncoder(header: header).encode(Self.sampleRecords)

        var reader = try PcapReader(bytes: bytes)
        #expect(reader.header == header)
        let records = try reader.readAll()
        #expect(records.count == Self.sampleRecords.count)
        for (read, written) in zip(records, Self.sampleRecords) {
            #expect(read.data == written.data)
            #expect(read.originalLength == written.originalLength)
            #expect(read.timestampNanoseconds == Self.stored(written.timestampNanoseconds, resolution))
        }
        #expect(try reader.next() == nil)
        #expect(try PcapReader.countRecords(in: Data(bytes)) == Self.sampleRecords.count)
    }

    @Test("file header bytes follow the format in both byte orders")
    func headerBytes() {
        var little: [UInt8] = []
        PcapEncoder(header: PcapFileHeader(byteOrder: .littleEndian, resolution: .microseconds, snapLength: 65535)).appendFileHeader(to: &little)
        #expect(little == [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0, 0, 0])
        var big: [UInt8] = []
        PcapEncoder(header: PcapFileHeader(byteOrder: .bigEndian, resolution: .nanoseconds, snapLength: 65535)).appendFileHeader(to: &big)
        #expect(big == [0xA1, 0xB2, 0x3C, 0x4D, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1])
    }

    @Test("a hand-made big-endian nanosecond file reads correctly")
    func handMadeBigEndian() throws {
        let bytes: [UInt8] = [0xA1, 0xB2, 0x3C, 0x4D, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 1]
            + [0, 0, 0, 10, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 64, 0xCA, 0xFE]
        var reader = try PcapReader(bytes: bytes)
        #expect(reader.header.byteOrder == .bigEndian)
        #expect(reader.header.resolution == .nanoseconds)
        #expect(reader.header.snapLength == 1024)
        let record = try #require(try reader.next())
        #expect(record.timestampNanoseconds == 10_000_000_007)
        #expect(record.data == [0xCA, 0xFE])
        #expect(record.originalLength == 64)
    }

    @Test("the link type's FCS bits are masked off")
    func linkTypeMask() throws {
        var header = PcapFileHeader()
        header.linkType = LinkType(rawValue: 0x1000_0001)
        let bytes = PcapEncoder(header: header).encode([])
        #expect(try PcapReader(bytes: bytes).header.linkType == .ethernet)
    }

    @Test("writer writes a file the reader reads back", arguments: 0..<4)
    func writerFile(format: Int) throws {
        let (order, resolution) = Self.formats[format]
        let directory = try TemporaryDirectory()
        let path = directory.file("out.pcap")
        // A tiny buffer forces several flushes.
        let writer = try PcapWriter(path: path, resolution: resolution, byteOrder: order, bufferCapacity: 100)
        for record in Self.sampleRecords { try writer.write(record) }
        try writer.write(timestampNanoseconds: 42_000, data: [9, 9])
        #expect(writer.recordCount == Self.sampleRecords.count + 1)
        try writer.close()

        let capture = try PcapCapture.read(path: path)
        #expect(capture.header.byteOrder == order)
        #expect(capture.header.resolution == resolution)
        #expect(capture.header.linkType == .ethernet)
        #expect(capture.records.count == Self.sampleRecords.count + 1)
        #expect(capture.records.last == PcapRecord(timestampNanoseconds: 42_000, data: [9, 9], originalLength: 2))
        #expect(try PcapReader.countRecords(path: path) == Self.sampleRecords.count + 1)
    }

    @Test("records longer than the snap length are cut, keeping the original length")
    func snapLength() throws {
        let header = PcapFileHeader(snapLength: 10)
        let bytes = PcapEncoder(header: header).encode([PcapRecord(timestampNanoseconds: 1, data: Array(0..<50))])
        var reader = try PcapReader(bytes: bytes)
        let record = try #require(try reader.next())
        #expect(record.data == Array(0..<10))
        #expect(record.originalLength == 50)
    }

    @Test("a capture written with PcapCapture.write is identical when read back")
    func captureWrite() throws {
        let directory = try TemporaryDirectory()
        let capture = PcapCapture(header: PcapFileHeader(resolution: .nanoseconds), records: Self.sampleRecords)
        try capture.write(path: directory.file("c.pcap"))
        #expect(try PcapCapture.read(path: directory.file("c.pcap")) == capture)
    }

    @Test("a writer dropped without close still leaves a complete file")
    func writerDeinitFlushes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("dropped.pcap")
        do {
            let writer = try PcapWriter(path: path)
            try writer.write(Self.sampleRecords[0])
        }
        #expect(try PcapReader.countRecords(path: path) == 1)
    }
}
