import Foundation
import Testing
@testable import PacketCapture

@Suite("real captures", RealCaptures.required)
struct RealCaptureTests {
    @Test("record counts match the captures' README", arguments: [
        (RealCaptures.benign, 24_022), (RealCaptures.masscan, 1_005), (RealCaptures.nmap, 431),
        (RealCaptures.iodine, 438), (RealCaptures.arpScan, 534), (RealCaptures.icmpScan, 37),
    ])
    func counts(name: String, expected: Int) throws {
        let capture = try RealCaptures.read(name)
        #expect(capture.header.linkType == .ethernet)
        #expect(capture.records.count == expected)
        #expect(try PcapReader.countRecords(path: CapturesDirectory.file(name)) == expected)
    }

    @Test("the benign capture starts when capinfos says")
    func benignTimes() throws {
        let capture = try RealCaptures.read(RealCaptures.benign)
        #expect(capture.header.resolution == .microseconds)
        #expect(capture.header.byteOrder == .littleEndian)
        #expect(capture.records.first?.timestampNanoseconds == 1_615_216_935_831_389_000)
        #expect(capture.records.last?.timestampNanoseconds == 1_615_822_389_368_275_000)
    }

    @Test("reading then encoding gives the files back byte for byte", arguments: RealCaptures.all)
    func reencode(name: String) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: CapturesDirectory.file(name)))
        let capture = try RealCaptures.read(name)
        #expect(PcapEncoder(header: capture.header).encode(capture.records) == [UInt8](original))
    }

    @Test("the benign capture's victim is the camera")
    func summary() throws {
        let summary = CaptureSummary(records: try RealCaptures.read(RealCaptures.benign).records)
        let camera = MACAddress("f4:b8:5e:ff:2b:1b")!
        #expect(summary.recordCount == 24_022)
        #expect(summary.outOfOrderCount == 0)
        #expect(summary.topSourceMACs(1).first?.address == camera)
        #expect(summary.topSourceMACs(1).first?.count == 14_889)
        #expect(summary.mostFrequentSourceIPv4(from: camera) == IPv4Address(192, 168, 1, 129))
        #expect(summary.topSourceIPv4Addresses(2).map(\.address) == [IPv4Address(192, 168, 1, 129), IPv4Address(3, 227, 188, 171)])
    }

    @Test("rewriting every address of every real frame keeps valid checksums valid", arguments: RealCaptures.all)
    func rewriteRealFrames(name: String) throws {
        // Addresses none of the captures use, so the two replacements cannot collide.
        let replacement = IPv4Address(100, 64, 0, 1)
        var judged = 0
        for record in try RealCaptures.read(name).records {
            var frame = EthernetFrame(record.data)
            guard let source = frame.ipv4Source, let destination = frame.ipv4Destination else {
                frame.replaceIPv4Address(IPv4Address(1, 2, 3, 4), with: replacement)
                #expect(frame.bytes == record.data)
                continue
            }
            let before = (ChecksumVerifier.ipHeaderValid(record.data), ChecksumVerifier.transportValid(record.data), ChecksumVerifier.icmpValid(record.data))
            frame.replaceIPv4Address(source, with: replacement)
            frame.replaceIPv4Address(destination, with: IPv4Address(100, 64, 0, 2))
            #expect(frame.ipv4Source == replacement)
            let after = (ChecksumVerifier.ipHeaderValid(frame.bytes), ChecksumVerifier.transportValid(frame.bytes), ChecksumVerifier.icmpValid(frame.bytes))
            #expect(before.0 == after.0)
            #expect(before.1 == after.1)
            #expect(before.2 == after.2)
            if after.1 == true || after.2 == true { judged += 1 }
        }
        if name != RealCaptures.benign {  // the camera capture is cut at 58 bytes: nothing to judge
            #expect(judged > 0)
        }
    }
}
