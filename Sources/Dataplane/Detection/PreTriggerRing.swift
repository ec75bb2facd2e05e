import CDPDK

/// The last packets of a VM that were not mirrored, held by reference (mbuf refcount) so that a
/// trigger can send what led up to it. Fixed capacity; the oldest entry is released on overflow.
struct PreTriggerRing {
    let mbufs: UnsafeMutablePointer<OpaquePointer?>
    let times: UnsafeMutablePointer<UInt64>
    let hashes: UnsafeMutablePointer<UInt32>
    let lengths: UnsafeMutablePointer<UInt32>
    let capacity: Int
    var head = 0 // next slot to write
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        mbufs = .allocate(capacity: self.capacity)
        mbufs.initialize(repeating: nil, count: self.capacity)
        times = .allocate(capacity: self.capacity)
        times.initialize(repeating: 0, count: self.capacity)
        hashes = .allocate(capacity: self.capacity)
        hashes.initialize(repeating: 0, count: self.capacity)
        lengths = .allocate(capacity: self.capacity)
        lengths.initialize(repeating: 0, count: self.capacity)
    }

    func deallocate() {
        mbufs.deallocate()
        times.deallocate()
        hashes.deallocate()
        lengths.deallocate()
    }

    /// Holds a reference to `m`; releases the oldest entry when full.
    @inline(__always) mutating func push(_ m: OpaquePointer?, time: UInt64, hash: UInt32, length: UInt32) {
        var one = m
        bma_mbufs_ref(&one, 1, 1)
        if count == capacity {
            var old = mbufs[head]
            bma_mbufs_free(&old, 1)
        } else {
            count += 1
        }
        mbufs[head] = m
        times[head] = time
        hashes[head] = hash
        lengths[head] = length
        head = head + 1 == capacity ? 0 : head + 1
    }

    /// Visits held entries oldest first and empties the ring. `body` returns whether it took the
    /// reference over (it must then release it itself); others are released here.
    @inline(__always) mutating func drain(_ body: (OpaquePointer?, UInt64, UInt32, UInt32) -> Bool) {
        var i = (head - count + capacity) % capacity
        for _ in 0..<count {
            if !body(mbufs[i], times[i], hashes[i], lengths[i]) {
                var m = mbufs[i]
                bma_mbufs_free(&m, 1)
            }
            mbufs[i] = nil
            i = i + 1 == capacity ? 0 : i + 1
        }
        count = 0
        head = 0
    }

    /// Releases everything held (shutdown, reset).
    mutating func clear() { drain { _, _, _, _ in false } }
}
