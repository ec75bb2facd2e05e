import Foundation

/// Reads a capture file (classic pcap or pcapng) as mirrored packets: pcapng files written by
/// the analyzer keep their metadata; mirror traffic (Geneve, VXLAN, ERSPAN II as seen on a
/// collector's wire) is decapsulated; any other frame is taken as VM `vm`'s own traffic.
public enum CaptureImport {
    public struct ImportError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(path: String, vm: UInt32) throws -> [MirroredPacket] {
        let head: [UInt8]
        do {
            let h = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? h.close() }
            head = Array(try h.read(upToCount: 4) ?? Data())
        } catch {
            throw ImportError(description: "cannot read: \(error.localizedDescription)")
        }
        guard head.count == 4 else { throw ImportError(description: "not a capture file (too short)") }
        if head == [0x0a, 0x0d, 0x0d, 0x0a] {
            var reader = try PcapNGReader(path: path)
            return try reader.readAll()
        }
        var reader = try PcapReader(path: path)
        guard reader.header.linkType == .ethernet else { throw ImportError(description: "link type is not Ethernet") }
        var out: [MirroredPacket] = []
        while let r = try reader.next() {
            if let p = try? MirrorDecoder.decodeOuterFrame(r.data, receivedNs: r.timestampNanoseconds) {
                out.append(p)
            } else {
                out.append(MirroredPacket(receivedNs: r.timestampNanoseconds, timestampNs: r.timestampNanoseconds, sensor: path,
                                          vmID: vm, encapsulation: .pcap, metadata: nil, frame: r.data,
                                          originalLength: max(r.originalLength, UInt32(r.data.count))))
            }
        }
        return out
    }
}
