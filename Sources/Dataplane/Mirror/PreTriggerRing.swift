import CDPDK

/// The last packets of a VM that were not mirrored, held by reference (mbuf refcount) so that a
/// trigger can send what led up to it. Fixed capacity; the oldest entries are released as new
/// ones come. References are taken and released once per burst, a burst's newest packets at a
/// time, and at most once per `refreshNs`: at high rates the ring holds the VM's latest packets
/// of at most that long before, instead of costing a reference per forwarded packet.
struct PreTriggerRing {
    let mbufs: UnsafeMutablePointer<OpaquePointer?>
    let times: UnsafeMutablePointer<UInt64>
    let hashes: UnsafeMutablePointer<UInt32>
    let lengths: UnsafeMutablePointer<UInt32>
    /// Released entries, handed to the C shim in one call.
    let released: UnsafeMutablePointer<OpaquePointer?>
    let capacity: Int
    var head = 0 // next slot to write
    var count = 0
    /// Capture/TSC time of the newest entry taken (0 = none).
    var newestNs: UInt64 = 0

    static let capacityLimit = 64
    static let refreshNs: UInt64 = 50_000

    init(capacity: Int = PreTriggerRing.capacityLimit) {
        self.capacity = max(capacity, 1)
        mbufs = .allocate(capacity: self.capacity)
        mbufs.initialize(repeating: nil, count: self.capacity)
        times = .allocate(capacity: self.capacity)
        times.initialize(repeating: 0, count: self.capacity)
        hashes = .allocate(capacity: self.capacity)
        hashes.initialize(repeating: 0, count: self.capacity)
        lengths = .allocate(capacity: self.capacity)
        lengths.initialize(repeating: 0, count: self.capacity)
        released = .allocate(capacity: self.capacity)
        released.initialize(repeating: nil, count: self.capacity)
    }

    func deallocate() {
        mbufs.deallocate()
        times.deallocate()
        hashes.deallocate()
        lengths.deallocate()
        released.deallocate()
    }

    /// Slot of the `i`-th entry, oldest first.
    @inline(__always) func slot(_ i: Int) -> Int {
        let s = head - count + i
        return s < 0 ? s + capacity : s
    }

    /// Whether a burst ending at `t` should be taken in: always when the ring is empty or its
    /// newest entry is `refreshNs` old.
    @inline(__always) func wants(at t: UInt64) -> Bool {
        count == 0 || t &- newestNs >= PreTriggerRing.refreshNs || t < newestNs
    }

    /// Takes references to the last `keep` of a burst's `n` context packets (`index[k]` into
    /// `mbufs`/`pkts`, oldest first), releasing the entries they displace.
    @inline(__always)
    mutating func take(_ index: UnsafePointer<Int32>, _ n: Int, keep: Int, mbufs burst: UnsafeMutablePointer<OpaquePointer?>,
                       pkts: UnsafePointer<bma_pkt_t>, scratch: UnsafeMutablePointer<OpaquePointer?>) {
        let k = min(n, keep, capacity)
        if k <= 0 { return }
        var dropped = 0
        for j in (n - k)..<n {
            let i = Int(index[j])
            scratch[j - (n - k)] = burst[i]
            if count == capacity {
                released[dropped] = mbufs[head]
                dropped &+= 1
            } else {
                count &+= 1
            }
            mbufs[head] = burst[i]
            times[head] = pkts[i].ts_ns
            hashes[head] = pkts[i].flow_hash
            lengths[head] = pkts[i].pkt_len
            head = head &+ 1 == capacity ? 0 : head &+ 1
        }
        bma_mbufs_ref(scratch, UInt16(k), 1)
        if dropped > 0 { bma_mbufs_free(released, UInt16(dropped)) }
        newestNs = pkts[Int(index[n - 1])].ts_ns
        // Keep no more than asked: a smaller `keep` (policies changed) trims the oldest.
        trim(to: keep)
    }

    /// Releases the oldest entries beyond `keep`.
    @inline(__always) mutating func trim(to keep: Int) {
        if count <= keep { return }
        let extra = count - keep
        for i in 0..<extra { released[i] = mbufs[slot(i)]; mbufs[slot(i)] = nil }
        count = keep
        bma_mbufs_free(released, UInt16(extra))
    }

    /// Hands every held reference to `out` (oldest first) and empties the ring; the caller
    /// releases them. Returns how many.
    @inline(__always) mutating func hand(to out: UnsafeMutablePointer<OpaquePointer?>) -> Int {
        let n = count
        for i in 0..<n {
            let s = slot(i)
            out[i] = mbufs[s]
            mbufs[s] = nil
        }
        count = 0
        head = 0
        newestNs = 0
        return n
    }

    /// Releases everything held (shutdown, reset).
    mutating func clear() {
        let n = hand(to: released)
        if n > 0 { bma_mbufs_free(released, UInt16(n)) }
    }
}
