import Foundation

/// A bounded multi-producer, single-consumer packet queue: producers never wait (a full queue
/// drops and counts), the consumer waits up to a timeout for work.
final class PacketQueue: @unchecked Sendable {
    private let capacity: Int
    private var items: [MirroredPacket] = []
    private var head = 0
    private let condition = NSCondition()
    private(set) var dropped: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        items.reserveCapacity(min(self.capacity, 4096))
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
        if items.count - head >= capacity {
            dropped += 1
            return false
        }
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
        head += n
        if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return out
    }
}
