import BMAContract
import Foundation
import Testing
@testable import Analysis

/// What a real bmad sends, decoded: the mirror port's capture (as a tcpdump of the collector's NIC
/// would hold it) through `decodeOuterFrame`.
@Suite("Ingest: a real bmad's mirror output", .serialized, .timeLimit(.minutes(5)),
       .enabled(if: IngestBmad.available, "needs root and a built bmad (.build/debug/bmad or $BMA_BIN_DIR)"))
struct IngestRealBmadTests {
    struct Run: Sendable, CustomStringConvertible {
        var encapsulation: MirroredPacket.Encapsulation
        var snaplen: Int
        var description: String { "\(encapsulation.rawValue), snaplen \(snaplen)" }
    }

    static let t0: UInt64 = 1_700_000_000 * 1_000_000_000

    /// 20 TCP SYNs (74 bytes), each to a new port: with no learning, every one is mirrored.
    static func vmCapture(in directory: TemporaryDirectory) throws -> (path: String, frames: [[UInt8]], times: [UInt64]) {
        let frames = (0..<20).map { index in
            FrameBuilder.tcpFrame(source: [10, 1, 0, 5], destination: [198, 51, 100, 7], sourcePort: 40000 + UInt16(index),
                                  destinationPort: 1000 + 7 * UInt16(index), payload: [UInt8](repeating: 0x61, count: 20))
        }
        let times = frames.indices.map { t0 + UInt64($0) * 1_000_000 }
        let path = directory.file("vm.pcap")
        try PcapCapture(header: PcapFileHeader(byteOrder: .littleEndian, resolution: .microseconds),
                        records: zip(frames, times).map { PcapRecord(timestampNanoseconds: $1, data: $0) }).write(path: path)
        return (path, frames, times)
    }

    @Test("Every copy decodes to the frame bmad mirrored", arguments: [
        Run(encapsulation: .geneve, snaplen: 0), Run(encapsulation: .geneve, snaplen: 60),
        Run(encapsulation: .vxlan, snaplen: 0), Run(encapsulation: .erspan2, snaplen: 60),
    ])
    func decode(run: Run) throws {
        let directory = try TemporaryDirectory()
        let vm = try Self.vmCapture(in: directory)
        #expect(vm.frames.allSatisfy { $0.count == 74 })
        let records = try IngestBmad.mirror(encapsulation: run.encapsulation.rawValue, snaplen: run.snaplen,
                                            capture: vm.path, in: directory)
        #expect(records.count == vm.frames.count, "\(run): copies")
        let kept = run.snaplen == 0 ? 74 : min(74, run.snaplen)
        for (index, record) in records.enumerated() where index < vm.frames.count {
            let packet = try MirrorDecoder.decodeOuterFrame(record.data, receivedNs: record.timestampNanoseconds)
            #expect(packet.encapsulation == run.encapsulation, "\(run) #\(index)")
            #expect(packet.sensor == IngestBmad.sourceIP, "\(run) #\(index)")
            #expect(packet.vmID == UInt32(IngestBmad.vmID), "\(run) #\(index)")
            #expect(packet.frame == Array(vm.frames[index].prefix(kept)), "\(run) #\(index)")
            #expect(packet.receivedNs == record.timestampNanoseconds)
            if run.encapsulation == .geneve {
                let metadata = try #require(packet.metadata, "\(run) #\(index)")
                #expect(metadata.version == 1)
                #expect(metadata.flags.contains(.truncated) == (kept < 74), "\(run) #\(index): flags \(metadata.flags.names)")
                #expect(metadata.reasons.names.contains("new-service"), "\(run) #\(index): \(metadata.reasons.names)")
                #expect(metadata.scoreMilli >= 1000)
                #expect(metadata.originalLength == 74)
                #expect(packet.originalLength == 74)
                // net_pcap stamps each frame with its capture time: the metadata carries it.
                #expect(packet.timestampNs == vm.times[index], "\(run) #\(index)")
            } else {
                #expect(packet.metadata == nil)
                #expect(packet.originalLength == UInt32(kept))
                #expect(packet.timestampNs == record.timestampNanoseconds)
            }
        }
    }

    @Test("With a key configured, every Geneve copy bmad sends verifies, with consecutive sequence numbers")
    func authenticated() throws {
        let directory = try TemporaryDirectory()
        let vm = try Self.vmCapture(in: directory)
        let keyFile = directory.file("mirror.key")
        try "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let key = try #require(MirrorKey(id: 3, hex: "0f1e2d3c4b5a69788796a5b4c3d2e1f0"))
        let before = SystemClock.wallNanoseconds()
        let records = try IngestBmad.mirror(encapsulation: "geneve", snaplen: 0, capture: vm.path, in: directory,
                                            mirrorExtra: "  authentication: {key_id: 3, key_file: '\(keyFile)'}", label: "auth")
        #expect(records.count == vm.frames.count)
        let authenticator = try MirrorAuthenticator(keys: [IngestBmad.sourceIP: [key]])
        let wrongKey = try MirrorAuthenticator(keys: [IngestBmad.sourceIP: [MirrorKey(id: 3, k0: key.k0 ^ 1, k1: key.k1)]])
        var sequences: [UInt64] = []
        for (index, record) in records.enumerated() {
            #expect(record.data.count == 102 + 74, "#\(index): headers of 102 bytes")
            let packet = try MirrorDecoder.decodeOuterFrame(record.data, receivedNs: record.timestampNanoseconds)
            let tag = try #require(packet.authentication, "#\(index)")
            #expect(tag.keyID == 3)
            #expect(packet.frame == vm.frames[index])
            #expect(throws: Never.self, "#\(index)") { try authenticator.verify(packet) }
            #expect(throws: MirrorDecodeError.self) { try wrongKey.verify(packet) }
            sequences.append(tag.sequence)
        }
        #expect(sequences.first.map { $0 >= before } == true, "starts at the wall clock: \(sequences.first ?? 0) >= \(before)")
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 + 1 }, "\(sequences)")
        // Replaying the capture is refused.
        #expect(throws: MirrorDecodeError.self) {
            try authenticator.verify(try MirrorDecoder.decodeOuterFrame(records[5].data, receivedNs: 0))
        }
    }
}
