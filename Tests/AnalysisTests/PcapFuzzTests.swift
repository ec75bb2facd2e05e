import Foundation
import Testing
@testable import PacketCapture

/// Random corruptions with a fixed seed: the reader must answer with records or a `PcapError`,
/// never crash, and the quick count must agree with a full read.
@Suite("pcap fuzz")
struct PcapFuzzTests {
    static func baseFile(_ order: PcapByteOrder, _ resolution: TimestampResolution, _ random: inout SeededGenerator) -> [UInt8] {
        let records = (0..<12).map { index in
            PcapRecord(
                timestampNanoseconds: 1_600_000_000_000_000_000 + UInt64(index) * 1_234_567,
                data: (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
        return PcapEncoder(header: PcapFileHeader(byteOrder: order, resolution: resolution)).encode(records)
    }

    static func corrupt(_ bytes: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { break }
            let position = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0:  // flip a bit
                bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
            case 1:  // cut the file
                bytes.removeSubrange(position...)
            case 2:  // overwrite a run with garbage
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
                for index in position..<end { bytes[index] = UInt8.random(in: 0...255, using: &random) }
            case 3:  // insert garbage
                bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: position)
            case 4:  // an extreme 32-bit value, as a corrupt length would be
                let value = [UInt32.max, 0x8000_0000, PcapFormat.maximumCapturedLength + 1, 0].randomElement(using: &random)!
                for index in 0..<4 where position + index < bytes.count {
                    bytes[position + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index)))
                }
            default:  // delete a run
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &random)))
            }
        }
        return bytes
    }

    static func fullRead(_ bytes: [UInt8]) -> Result<Int, PcapError> {
        Result { () throws(PcapError) -> Int in
            var reader = try PcapReader(bytes: bytes)
            var count = 0
            while let record = try reader.next() {
                #expect(record.data.count <= Int(PcapFormat.maximumCapturedLength))
                count += 1
            }
            return count
        }
    }

    static func quickCount(_ bytes: [UInt8]) -> Result<Int, PcapError> {
        Result { () throws(PcapError) -> Int in try PcapReader.countRecords(in: Data(bytes)) }
    }

    @Test("corrupted files give records or typed errors, and count agrees with read")
    func corruptedFiles() {
        var random = SeededGenerator(seed: 0xB3A_5EED)
        let bases = [
            Self.baseFile(.littleEndian, .microseconds, &random), Self.baseFile(.bigEndian, .microseconds, &random),
            Self.baseFile(.littleEndian, .nanoseconds, &random), Self.baseFile(.bigEndian, .nanoseconds, &random),
        ]
        var outcomes: [String: Int] = [:]
        for iteration in 0..<4_000 {
            let bytes = Self.corrupt(bases[iteration % bases.count], &random)
            let read = Self.fullRead(bytes)
            #expect(read == Self.quickCount(bytes), "iteration \(iteration)")
            switch read {
            case .success: outcomes["ok", default: 0] += 1
            case let .failure(error): outcomes[String(describing: error).components(separatedBy: ":").first!, default: 0] += 1
            }
        }
        // The corruptions must reach more than one code path for the test to mean anything.
        #expect(outcomes.count >= 4, "outcomes: \(outcomes)")
    }

    @Test("random garbage never crashes the reader")
    func garbage() {
        var random = SeededGenerator(seed: 42)
        for _ in 0..<2_000 {
            var bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Half of them get a valid magic so the record parser is exercised too.
            if bytes.count >= 4, Bool.random(using: &random) {
                bytes.replaceSubrange(0..<4, with: [0xD4, 0xC3, 0xB2, 0xA1])
            }
            #expect(Self.fullRead(bytes) == Self.quickCount(bytes))
        }
    }

    @Test("random and mutated frames never crash the frame helpers")
    func frames() {
        var random = SeededGenerator(seed: 7)
        let seeds: [[UInt8]] = [
            FrameBuilder.tcpFrame(source: [10, 0, 0, 1], destination: [10, 0, 0, 2]),
            FrameBuilder.tcpFrame(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], vlans: [5, 6]),
            FrameBuilder.udpFrame(source: [10, 0, 0, 1], destination: [10, 0, 0, 2]),
            FrameBuilder.ethernet(etherType: 0x0800, payload: FrameBuilder.ipv4(
                source: [10, 0, 0, 2], destination: [10, 0, 0, 1], protocolNumber: 1,
                payload: FrameBuilder.icmpUnreachable(quoting: Array(FrameBuilder.udpFrame(source: [10, 0, 0, 1], destination: [10, 0, 0, 2]).dropFirst(14))))),
        ]
        let old = IPv4Address(10, 0, 0, 1)
        let new = IPv4Address(192, 168, 7, 9)
        for iteration in 0..<4_000 {
            var bytes = seeds[iteration % seeds.count]
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                if Bool.random(using: &random), !bytes.isEmpty {
                    bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &random)...)
                } else if !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            var frame = EthernetFrame(bytes)
            _ = (frame.sourceMAC, frame.destinationMAC, frame.etherType, frame.vlanIDs, frame.ipProtocol)
            _ = (frame.ipv4Source, frame.ipv4Destination, frame.sourcePort, frame.destinationPort)
            let wasIPv4 = frame.isIPv4
            frame.replaceIPv4Address(old, with: new)
            frame.setIPv4Destination(old)
            frame.setSourceMAC(MACAddress(rawValue: 0x02_0000_0000_FF))
            #expect(frame.bytes.count == bytes.count)
            if !wasIPv4, bytes.count >= 14 {
                #expect(frame.bytes[12...] == bytes[12...], "a non-IPv4 frame changes only its MACs")
            }
        }
    }
}
