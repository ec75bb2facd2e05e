import Foundation
import Testing
@testable import PacketCapture

@Suite("pcap errors")
struct PcapErrorTests {
    static let twoRecords: [UInt8] = PcapEncoder().encode([
        PcapRecord(timestampNanoseconds: 1_000, data: [1, 2, 3, 4]),
        PcapRecord(timestampNanoseconds: 2_000, data: [5, 6, 7, 8, 9]),
    ])

    /// Reads everything, returning the records read before any error, and the error.
    static func readAll(_ bytes: [UInt8]) -> (records: Int, error: PcapError?) {
        do {
            var reader = try PcapReader(bytes: bytes)
            var count = 0
            while try reader.next() != nil { count += 1 }
            return (count, nil)
        } catch {
            return (0, error)
        }
    }

    @Test("empty and short files are truncated headers", arguments: [0, 1, 4, 23])
    func truncatedHeader(length: Int) {
        #expect(throws: PcapError.truncatedHeader(available: length)) {
            try PcapReader(bytes: Array(Self.twoRecords.prefix(length)))
        }
    }

    @Test("an unknown magic is rejected, pcapng included")
    func badMagic() {
        var bytes = Self.twoRecords
        bytes[0] = 0x0A; bytes[1] = 0x0D; bytes[2] = 0x0D; bytes[3] = 0x0A  // pcapng section header
        #expect(throws: PcapError.badMagic(0x0A0D_0D0A)) { try PcapReader(bytes: bytes) }
        #expect(throws: PcapError.badMagic(0x6C6C_6548)) { try PcapReader(bytes: Array("Hello, this is not a pcap".utf8)) }
    }

    @Test("a record header cut short is a truncated record")
    func truncatedRecordHeader() throws {
        // Header of 24, first record 16 + 4 = 20: the second record's header starts at 44.
        let cut = Array(Self.twoRecords.prefix(44 + 7))
        var reader = try PcapReader(bytes: cut)
        #expect(try reader.next() != nil)
        #expect(throws: PcapError.truncatedRecord(index: 1, offset: 44)) { try reader.next() }
        #expect(throws: PcapError.truncatedRecord(index: 1, offset: 44)) { try PcapReader.countRecords(in: Data(cut)) }
    }

    @Test("record data cut short is a truncated record")
    func truncatedRecordData() {
        let cut = Array(Self.twoRecords.dropLast())
        let result = Self.readAll(cut)
        #expect(result.error == .truncatedRecord(index: 1, offset: 44))
        #expect(throws: PcapError.truncatedRecord(index: 1, offset: 44)) { try PcapReader.countRecords(in: Data(cut)) }
    }

    @Test("an absurd captured length is a record too large")
    func recordTooLarge() throws {
        var bytes = Self.twoRecords
        // Captured length of record 0 lives at bytes 32..<36 (little-endian).
        bytes.replaceSubrange(32..<36, with: [0x01, 0x00, 0x00, 0x80])
        var reader = try PcapReader(bytes: bytes)
        #expect(throws: PcapError.recordTooLarge(index: 0, length: 0x8000_0001)) { try reader.next() }
        #expect(throws: PcapError.recordTooLarge(index: 0, length: 0x8000_0001)) { try PcapReader.countRecords(in: Data(bytes)) }
    }

    @Test("the largest allowed captured length is accepted")
    func largestRecord() throws {
        let data = [UInt8](repeating: 7, count: Int(PcapFormat.maximumCapturedLength))
        let bytes = PcapEncoder().encode([PcapRecord(timestampNanoseconds: 5, data: data)])
        var reader = try PcapReader(bytes: bytes)
        #expect(try reader.next()?.data.count == data.count)
    }

    @Test("a header alone is an empty capture")
    func headerOnly() throws {
        let bytes = Array(Self.twoRecords.prefix(24))
        #expect(Self.readAll(bytes).records == 0)
        #expect(Self.readAll(bytes).error == nil)
        #expect(try PcapReader.countRecords(in: Data(bytes)) == 0)
    }

    @Test("missing files and directories cannot be opened")
    func cannotOpen() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.file("missing.pcap")
        #expect {
            try PcapReader(path: missing)
        } throws: { error in
            guard case let .cannotOpen(path, reason) = error as? PcapError else { return false }
            return path == missing && !reason.isEmpty
        }
        #expect {
            try PcapReader.countRecords(path: directory.path)
        } throws: { error in
            if case .cannotOpen = error as? PcapError { return true }
            return false
        }
    }

    @Test("a file in a missing directory cannot be written")
    func cannotWrite() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("no/such/dir/out.pcap")
        #expect {
            try PcapWriter(path: path)
        } throws: { error in
            guard case let .cannotWrite(failedPath, reason) = error as? PcapError else { return false }
            return failedPath == path && reason.contains("No such file")
        }
    }

    @Test("a closed writer refuses more work")
    func writerClosed() throws {
        let directory = try TemporaryDirectory()
        let writer = try PcapWriter(path: directory.file("closed.pcap"))
        try writer.close()
        #expect(throws: PcapError.writerClosed) { try writer.write(PcapRecord(timestampNanoseconds: 0, data: [])) }
        #expect(throws: PcapError.writerClosed) { try writer.flush() }
        #expect(throws: PcapError.writerClosed) { try writer.close() }
    }

    @Test("every error explains itself")
    func descriptions() {
        let errors: [PcapError] = [
            .cannotOpen(path: "/x", reason: "gone"), .cannotWrite(path: "/y", reason: "full"),
            .truncatedHeader(available: 3), .badMagic(0xDEAD_BEEF),
            .truncatedRecord(index: 4, offset: 99), .recordTooLarge(index: 5, length: 1 << 30), .writerClosed,
        ]
        for error in errors {
            #expect(!error.description.isEmpty)
            #expect(error.localizedDescription == error.description)
        }
        #expect(PcapError.badMagic(0xDEAD_BEEF).description.contains("0xdeadbeef"))
        #expect(PcapError.truncatedRecord(index: 4, offset: 99).description.contains("record 4"))
    }
}
