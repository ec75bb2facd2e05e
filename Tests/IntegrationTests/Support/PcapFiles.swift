import PacketCapture
import Foundation
import XCTest

/// Capture files written by DPDK ports while the test watches them.
enum PcapFiles {
    /// Complete records in a classic pcap file that may still be growing: a record cut by the
    /// end of the file is not counted (`PcapReader.countRecords` would reject it). 0 when the
    /// file does not exist yet or its header is incomplete.
    static func completeRecords(path: String) -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd(), data.count >= PcapFormat.fileHeaderLength else { return 0 }
        return data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Int in
            let magic = buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            let swapped: Bool
            switch magic {
            case PcapFormat.microsecondMagic, PcapFormat.nanosecondMagic: swapped = false
            case PcapFormat.microsecondMagic.byteSwapped, PcapFormat.nanosecondMagic.byteSwapped: swapped = true
            default: return 0
            }
            var offset = PcapFormat.fileHeaderLength
            var count = 0
            while offset + PcapFormat.recordHeaderLength <= buffer.count {
                let raw = buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                let length = Int(swapped ? raw.byteSwapped : raw)
                guard offset + PcapFormat.recordHeaderLength + length <= buffer.count else { break }
                offset += PcapFormat.recordHeaderLength + length
                count += 1
            }
            return count
        }
    }

    /// The frames (captured bytes) of a finished capture, in file order.
    static func frames(path: String) throws -> [[UInt8]] {
        try PcapCapture.read(path: path).records.map(\.data)
    }

    /// Writes `frames` as a classic pcap (microsecond timestamps one millisecond apart).
    static func write(_ frames: [[UInt8]], to path: String, startNanoseconds: UInt64 = 1_700_000_000_000_000_000) throws {
        let writer = try PcapWriter(path: path)
        for (i, frame) in frames.enumerated() {
            try writer.write(timestampNanoseconds: startNanoseconds + UInt64(i) * 1_000_000, data: frame)
        }
        try writer.close()
    }
}

/// Asserts that `actual` holds exactly the frames of `expected`, byte for byte and in order; on
/// a mismatch it names the first differing frame instead of printing every frame.
func assertSameFrames(
    _ actual: [[UInt8]], _ expected: [[UInt8]], _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    if actual == expected { return }
    var message = "\(what): \(actual.count) frames, expected \(expected.count)"
    if let i = (0..<min(actual.count, expected.count)).first(where: { actual[$0] != expected[$0] }) {
        message += "; first difference at frame \(i): got \(hex(actual[i])), expected \(hex(expected[i]))"
    } else {
        message += "; the first \(min(actual.count, expected.count)) frames agree"
    }
    XCTFail(message, file: file, line: line)
}

func hex(_ bytes: [UInt8], limit: Int = 64) -> String {
    bytes.prefix(limit).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + (bytes.count > limit ? "…(\(bytes.count) bytes)" : "")
}
