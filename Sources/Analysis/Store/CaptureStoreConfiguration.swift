import BMAContract

/// How a `CaptureStore` rotates, retains and pauses. The defaults suit a production node; tests
/// shrink the sizes and inject the clock and the free-space probe.
public struct CaptureStoreConfiguration: Sendable {
    /// A segment is closed before it would grow past this size.
    public var maxSegmentBytes: UInt64 = 64 << 20
    /// A segment is closed once it is this old (by `clock`), at the next packet or `maintain()`.
    public var maxSegmentSeconds: UInt64 = 300
    /// Retention by size: the segment files and the index (`index.sqlite` with its WAL and
    /// shared-memory files) together stay within this (the oldest segments are deleted first;
    /// the index is checkpointed and vacuumed after deletions). Nil: no limit.
    public var maxTotalBytes: UInt64?
    /// Retention by free space: while the file system has less free space than this, the oldest
    /// segments are deleted; when only the segment being written is left, writing pauses. 0: off.
    public var minFreeBytes: UInt64 = 512 << 20
    /// After a pause (full disk or too little free space) writing resumes once `minFreeBytes`
    /// plus this much is free.
    public var resumeFreeBytes: UInt64 = 4 << 20
    /// Whether every packet gets a readable opt_comment besides its binary metadata option (off:
    /// the text costs as much as storing the packet; query exports always have it).
    public var packetComments = false
    /// Bytes buffered before they are written to the segment file (one write per flush).
    public var writeBufferBytes: Int = 256 << 10
    /// The longest a packet stays buffered in memory: the buffer is written to the segment once
    /// this old (at the next packet or `maintain()`), so `kill -9` loses at most this much, and
    /// synced to disk (fdatasync) at most this often, so a host crash loses at most about twice
    /// this. Default 1 s.
    public var flushIntervalNs: UInt64 = 1_000_000_000
    /// Free space is checked after every flush once this many bytes were written since the last check.
    public var freeSpaceCheckBytes: UInt64 = 1 << 20
    /// Index rows of the open segment are committed at least this often (and at every rotation,
    /// query and `flush()`).
    public var indexCommitIntervalNs: UInt64 = 1_000_000_000
    /// While paused, whether space is back is checked this often (by `clock`) ...
    public var resumeCheckIntervalNs: UInt64 = 1_000_000_000
    /// ... or after this many dropped packets, whichever comes first.
    public var resumeCheckDrops: Int = 1024
    /// Wall clock, ns since 1970: segment names and age.
    public var clock: @Sendable () -> UInt64 = { SystemClock.wallNanoseconds() }
    /// Bytes available to the store in the file system holding `directory` (statvfs); nil if unknown.
    public var freeSpace: @Sendable (_ directory: String) -> UInt64? = CaptureStoreDisk.availableBytes
    /// Told when writing pauses and resumes (called without the store's lock held).
    public var onStorageEvent: (@Sendable (CaptureStore.StorageEvent) -> Void)?

    public init() {}

    /// The segment size used: `maxSegmentBytes`, but at most a quarter of `maxTotalBytes`, so
    /// that deleting whole segments keeps the store under its limit (and at least 16 KiB).
    public var effectiveSegmentBytes: UInt64 {
        var limit = maxSegmentBytes
        if let total = maxTotalBytes { limit = min(limit, total / 4) }
        return max(limit, 16 << 10)
    }
}
