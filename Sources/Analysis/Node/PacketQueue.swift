import Foundation

/// A bounded multi-producer, single-consumer packet queue: producers never wait (a full queue
/// drops and counts), the consumer waits up to a timeout for work. Bounded in packets and in
/// bytes (each packet's frame plus `overheadBytes` for its record and buffer headers), so that
/// an overload of jumbo copies holds no more memory than one of small ones.
final class PacketQueue: @unchecked Sendable {
    /// What a queued packet costs besides its frame: the `MirroredPacket` record in the queue's
    /// array and the frame buffer's header.
    static let overheadBytes = MemoryLayout<MirroredPacket>.stride + 32

    private let capacity: Int
    private let maxBytes: Int
    private var items: [MirroredPacket] = []
    private var head = 0
    private let condition = NSCondition()
    private(set) var dropped: UInt64 = 0
    /// Bytes held by the packets queued now (frames plus overhead).
    private var heldBytes = 0

    init(capacity: Int, maxBytes: Int = .max) {
        self.capacity = max(capacity, 1)
        self.maxBytes = max(maxBytes, 1)
        items.reserveCapacity(min(self.capacity, 4096))
    }

    var bytes: Int {
        condition.lock()
        defer { condition.unlock() }
        return heldBytes
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count - head
    }

    var isEmpty: Bool { count == 0 }

    func push(_ p: MirroredPacket) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let size = p.frame.count + Self.overheadBytes
        if items.count - head >= capacity || heldBytes + size > maxBytes {
            dropped += 1
            return false
        }
        heldBytes += size
        items.append(p)
        condition.signal()
        return true
    }

    /// Up to `max` packets, waiting up to `waitMs` when empty; nil when none came.
    func pop(max: Int, waitMs: Int) -> [MirroredPacket]? {
        condition.lock()
        defer { condition.unlock() }
        if items.count == head {
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(waitMs) / 1000))
        }
        let n = min(max, items.count - head)
        if n == 0 { return nil }
        let out = Array(items[head..<head + n])
        for p in out { heldBytes -= p.frame.count + Self.overheadBytes }
        head += n
        if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return out
    }
}
