import Foundation

/// Reads a capture file (classic pcap or pcapng) as mirrored packets: pcapng files written by
/// the analyzer keep their metadata; mirror traffic (Geneve, VXLAN, ERSPAN II as seen on a
/// collector's wire) is decapsulated; any other frame is taken as VM `vm`'s own traffic.
public enum CaptureImport {
    public struct ImportError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(path: String, vm: UInt32) throws -> [MirroredPacket] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ImportError(description: "no such file")
        }
        if isDirectory.boolValue { throw ImportError(description: "is a directory, not a capture file") }
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
        let pcapMagics: Set<[UInt8]> = [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]]
        guard pcapMagics.contains(head) else {
            let magic = head.map { String(format: "%02x", $0) }.joined()
            throw ImportError(description: "not a capture file: unknown magic number 0x\(magic) (neither pcap nor pcapng)")
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
