import Testing
@testable import Analysis

/// The ingest queue holds at most its bounds in packets and in bytes, whatever the frame sizes.
@Suite("ingest queue bounds")
struct NodeQueueTests {
    static func packet(size: Int) -> MirroredPacket {
        MirroredPacket(receivedNs: 1, timestampNs: 1, sensor: "s", vmID: 1, encapsulation: .geneve, metadata: nil,
                       frame: Array(repeating: 0, count: size), originalLength: UInt32(size))
    }

    @Test("jumbo frames fill the byte bound, small ones the packet bound; drops counted; popping frees bytes")
    func bounds() {
        let maxBytes = 1 << 20
        let queue = PacketQueue(capacity: 1_000, maxBytes: maxBytes)
        let jumbo = Self.packet(size: 9_000)
        var accepted = 0
        for _ in 0..<1_000 where queue.push(jumbo) { accepted += 1 }
        let each = 9_000 + PacketQueue.overheadBytes
        #expect(accepted == maxBytes / each)
        #expect(queue.bytes == accepted * each && queue.bytes <= maxBytes)
        #expect(queue.dropped == UInt64(1_000 - accepted))
        // Draining gives the bytes back.
        while let batch = queue.pop(max: 64, waitMs: 0), !batch.isEmpty {}
        #expect(queue.bytes == 0 && queue.isEmpty)
        // 64-byte frames: the packet bound comes first.
        let small = Self.packet(size: 64)
        var smallAccepted = 0
        for _ in 0..<2_000 where queue.push(small) { smallAccepted += 1 }
        #expect(smallAccepted == 1_000)
        #expect(queue.bytes == 1_000 * (64 + PacketQueue.overheadBytes))
    }
}
