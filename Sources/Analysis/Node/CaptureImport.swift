import Foundation

/// Reads a capture file (classic pcap or pcapng) as mirrored packets: pcapng files written by
/// the analyzer keep their metadata; mirror traffic (Geneve, VXLAN, ERSPAN II as seen on a
/// collector's wire) is decapsulated; any other frame is taken as VM `vm`'s own traffic.
public enum CaptureImport {
    public struct ImportError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Every packet of the file, in memory (small files and tests; imports stream with `forEach`).
    public static func read(path: String, vm: UInt32) throws -> [MirroredPacket] {
        var out: [MirroredPacket] = []
        try forEach(path: path, vm: vm) { out.append($0) }
        return out
    }

    /// Calls `body` with each packet of the file in order, reading it as it goes (the file is
    /// memory-mapped; only the packets' frames are copied). Returns the number of packets.
    /// A damaged file throws before `body` sees any packet: its structure is checked first.
    @discardableResult
    public static func forEach(path: String, vm: UInt32, _ body: (MirroredPacket) throws -> Void) throws -> Int {
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
        var count = 0
        if head == [0x0a, 0x0d, 0x0d, 0x0a] {
            var check = try PcapNGReader(path: path)
            while try check.next() != nil {}
            var reader = try PcapNGReader(path: path)
            while let packet = try reader.next() {
                try body(packet)
                count += 1
            }
            return count
        }
        let pcapMagics: Set<[UInt8]> = [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]]
        guard pcapMagics.contains(head) else {
            let magic = head.map { String(format: "%02x", $0) }.joined()
            throw ImportError(description: "not a capture file: unknown magic number 0x\(magic) (neither pcap nor pcapng)")
        }
        _ = try PcapReader.countRecords(path: path)
        var reader = try PcapReader(path: path)
        guard reader.header.linkType == .ethernet else { throw ImportError(description: "link type is not Ethernet") }
        // The sensor of frames that are not mirror traffic: one string for the whole file.
        let sensor = path
        let sensorNames = SensorNames()
        try reader.forEachRecord { bytes, timestampNs, originalLength in
            let packet: MirroredPacket
            if let p = try? MirrorDecoder.decodeOuterFrame(bytes, receivedNs: timestampNs, sensorNames: sensorNames) {
                packet = p
            } else {
                packet = MirroredPacket(receivedNs: timestampNs, timestampNs: timestampNs, sensor: sensor, vmID: vm,
                                        encapsulation: .pcap, metadata: nil, frame: Array(bytes),
                                        originalLength: max(originalLength, UInt32(bytes.count)))
            }
            try body(packet)
            count += 1
        }
        return count
    }
}
