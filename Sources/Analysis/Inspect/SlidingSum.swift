/// A sum over a sliding time window, kept in `bucketCount` buckets of window / bucketCount each:
/// fixed space, and the window edge is exact to one bucket.
struct SlidingSum {
    private var values: [UInt64]
    private var epochs: [UInt64]
    let bucketNs: UInt64

    init(windowNs: UInt64, bucketCount: Int = 10) {
        let count = max(1, bucketCount)
        values = Array(repeating: 0, count: count)
        epochs = Array(repeating: UInt64.max, count: count)
        bucketNs = max(1, windowNs / UInt64(count))
    }

    mutating func add(_ value: UInt64, atNs now: UInt64) {
        let epoch = now / bucketNs
        let slot = Int(epoch % UInt64(values.count))
        if epochs[slot] != epoch {
            epochs[slot] = epoch
            values[slot] = 0
        }
        values[slot] &+= value
    }

    /// The sum of the buckets that cover (now - window, now].
    func total(atNs now: UInt64) -> UInt64 {
        let epoch = now / bucketNs
        let oldest = epoch >= UInt64(values.count - 1) ? epoch - UInt64(values.count - 1) : 0
        var sum: UInt64 = 0
        for index in values.indices where epochs[index] != UInt64.max && epochs[index] >= oldest && epochs[index] <= epoch {
            sum &+= values[index]
        }
        return sum
    }
}
