import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The analyzer's packet store: a directory of pcapng segments with a SQLite index.
///
/// Layout of `directory`:
/// - `seg-YYYYMMDD-HHMMSS-NNNNNN.pcapng`: segments, named after their creation time (UTC, store
///   clock) and a 6-digit sequence number; written by `PcapNGWriter` (metadata kept per packet).
/// - `index.sqlite` (+ `-wal`, `-shm`): see `CaptureIndex`.
///
/// Writing: `append` buffers the packet in the open segment and returns where it will be. A
/// segment is closed before it would pass `effectiveSegmentBytes` or once it is
/// `maxSegmentSeconds` old. Retention deletes the oldest segments first: before the files and the
/// index would pass `maxTotalBytes`, and while free space is below `minFreeBytes`; the index is
/// then checkpointed and vacuumed (at the next `maintain()`), so it shrinks with the captures.
///
/// What a crash loses: packets are buffered in memory for at most `flushIntervalNs` (default
/// 1 s) before they are written to the segment file, which is synced to disk at most that often
/// and when it is closed. `Stats` counts packets accepted (`packets`), written to the file
/// (`writtenPackets`: what survives `kill -9` of the analyzer) and synced (`durablePackets`:
/// what survives a host crash). The index catches up with the files at restart.
///
/// Full disk: when a write fails with ENOSPC/EDQUOT the store deletes its oldest closed segments
/// and retries; when none are left (or the write fails otherwise), the segment keeps what reached
/// the file, the rest is dropped, and writing pauses: `storageAlert` is set, a `.paused` event is
/// sent, and every packet appended is dropped and counted until enough space is free again
/// (`.resumed`). The store never crashes or throws on this path. A `PacketRef` returned for a
/// packet still buffered when writing failed is then stale (the packet is counted as dropped).
///
/// Thread-safe: one lock serializes writers; queries read segment files outside it.
public final class CaptureStore: @unchecked Sendable {
    public static let indexFileName = "index.sqlite"

    public let directory: String
    public let configuration: CaptureStoreConfiguration
    let index: CaptureIndex
    let lock = StateLock()

    // Everything below is guarded by `lock`.
    /// Closed segments, oldest first.
    var closedSegments: [SegmentInfo] = []
    var closedBytes: UInt64 = 0
    var closedPackets: UInt64 = 0
    var current: OpenSegment?
    /// Final index state of closed segments whose last commit has not succeeded yet.
    var backlog: [Int64: (SegmentInfo, FlowAggregates)] = [:]
    /// Segments whose files are gone but whose rows could not be deleted yet.
    var orphans: Set<Int64> = []
    var nextSequence = 1
    var dropped: UInt64 = 0
    var deletedSegments: UInt64 = 0
    var indexErrors: UInt64 = 0
    var pause: StorageAlert?
    var lastResumeCheckNs: UInt64 = 0
    var dropsSinceResumeCheck = 0
    var bytesSinceSpaceCheck: UInt64 = 0
    var lastCommitNs: UInt64 = 0
    var isClosed = false
    var communityCache: [FlowTuple: String] = [:]
    /// When the oldest packet still buffered was appended (store clock).
    var bufferedSinceNs: UInt64 = 0
    var lastSyncNs: UInt64 = 0
    /// The index's size on disk, as of the last commit or compaction.
    var indexBytes: UInt64 = 0
    /// Segments were deleted since the index was last compacted.
    var needsCompaction = false

    /// Opens (or creates) the store in `directory`. Segments left open by a previous run are
    /// re-read, cut back to their last whole block and re-indexed; index rows of missing files are
    /// dropped; segment files the index does not know are indexed.
    public init(directory: String, configuration: CaptureStoreConfiguration = CaptureStoreConfiguration()) throws {
        self.directory = directory
        self.configuration = configuration
        do {
            // Captured traffic is private: the store is 0750, its files 0640.
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw CaptureStoreError.cannotCreateDirectory(path: directory, reason: "\(error)")
        }
        do {
            index = try CaptureIndex(path: (directory as NSString).appendingPathComponent(Self.indexFileName))
        } catch {
            throw CaptureStoreError.index("\(error)")
        }
        try recover()
        indexBytes = index.diskBytes()
        lastCommitNs = configuration.clock()
        lastResumeCheckNs = lastCommitNs
    }

    deinit {
        close()
    }

    // MARK: Public API

    /// Stores a packet; returns its segment and index, or nil when it was dropped (writing paused
    /// or failed, or the store is closed).
    @discardableResult
    public func append(_ packet: MirroredPacket) -> PacketRef? {
        append(packet, flow: FlowTuple(FrameHeaders(frame: packet.frame, wireLength: Int(packet.originalLength))))
    }

    /// Stores a packet whose frame was already parsed: `flow` is its 5-tuple (nil without IP).
    @discardableResult
    public func append(_ packet: MirroredPacket, flow: FlowTuple?) -> PacketRef? {
        var events: [StorageEvent] = []
        let ref = locked { appendLocked(packet, flow: flow, events: &events) }
        deliver(events)
        return ref
    }

    /// Set while the store cannot write (packets are being dropped).
    public var storageAlert: StorageAlert? {
        locked { pause }
    }

    public var stats: Stats {
        locked {
            var stats = Stats(segments: closedSegments.count, bytes: closedBytes, packets: closedPackets, dropped: dropped,
                              oldestNs: closedSegments.lazy.compactMap(\.firstNs).min(),
                              newestNs: closedSegments.lazy.compactMap(\.lastNs).max(),
                              deletedSegments: deletedSegments, indexErrors: indexErrors, storageAlert: pause,
                              writtenPackets: closedPackets, durablePackets: closedPackets, indexBytes: indexBytes)
            if let open = current {
                stats.segments += 1
                stats.bytes += UInt64(open.writer.bytesWritten)
                stats.packets += UInt64(open.writer.packetCount)
                stats.writtenPackets += UInt64(open.writer.durablePacketCount)
                stats.durablePackets += UInt64(open.writer.syncedPacketCount)
                let times = [open.info.firstNs, open.info.lastNs].compactMap { $0 } + open.pending.map(\.timestampNs)
                if let first = times.min() { stats.oldestNs = min(stats.oldestNs ?? first, first) }
                if let last = times.max() { stats.newestNs = max(stats.newestNs ?? last, last) }
            }
            return stats
        }
    }

    /// Periodic duties (call about once a second): closes a segment that has grown old without
    /// new packets, flushes buffered packets, syncs the segment when `flushIntervalNs` has passed
    /// since the last sync, commits the index, compacts it after retention deleted segments, and
    /// resumes writing after a pause when space is back.
    public func maintain() {
        var events: [StorageEvent] = []
        locked {
            guard !isClosed else { return }
            let now = configuration.clock()
            if pause != nil { _ = resumeIfPossible(now: now, force: false, events: &events) }
            if let open = current {
                if isExpired(open, now: now) {
                    closeCurrent(now: now, events: &events)
                } else if open.writer.bufferedBytes > 0 {
                    flushCurrent(now: now, events: &events)
                    checkFreeSpace(now: now, events: &events)
                }
            }
            if let open = current, now < lastSyncNs || now - lastSyncNs >= configuration.flushIntervalNs {
                lastSyncNs = now
                open.writer.sync()
            }
            commitIndex(now: now, force: false)
            compactIndex()
        }
        deliver(events)
    }

    /// Writes everything buffered to the segment and the index.
    public func flush() {
        var events: [StorageEvent] = []
        locked {
            guard !isClosed else { return }
            prepareForRead(now: configuration.clock(), events: &events)
        }
        deliver(events)
    }

    /// Closes the open segment and stops writing; later appends are dropped. Safe to call twice.
    public func close() {
        var events: [StorageEvent] = []
        locked {
            guard !isClosed else { return }
            let now = configuration.clock()
            closeCurrent(now: now, events: &events)
            commitIndex(now: now, force: true)
            isClosed = true
        }
        deliver(events)
    }

    /// The segments as the index records them (after committing what is pending), oldest first.
    public func segments() throws -> [SegmentInfo] {
        flush()
        do {
            return try index.segments()
        } catch {
            throw CaptureStoreError.index("\(error)")
        }
    }

    // MARK: Writing

    func appendLocked(_ packet: MirroredPacket, flow: FlowTuple?, events: inout [StorageEvent]) -> PacketRef? {
        guard !isClosed else {
            countDrop()
            return nil
        }
        let now = configuration.clock()
        if pause != nil, !resumeIfPossible(now: now, force: false, events: &events) {
            countDrop()
            return nil
        }
        if let open = current {
            let ready = open.writer.layout(of: packet)
            let after = UInt64(open.writer.bytesWritten + open.writer.encodedLength(of: packet, ready))
            if open.writer.packetCount == 0 || (after <= configuration.effectiveSegmentBytes && !isExpired(open, now: now)) {
                return writeLocked(ready, to: open, packet: packet, flow: flow, now: now, events: &events)
            }
            closeCurrent(now: now, events: &events)
        }
        if current == nil, pause == nil { _ = openSegment(now: now, events: &events) }
        guard pause == nil, let open = current else {
            countDrop()
            return nil
        }
        return writeLocked(open.writer.layout(of: packet), to: open, packet: packet, flow: flow, now: now, events: &events)
    }

    /// Writes a packet sized for `open`, the current segment (retention first).
    private func writeLocked(_ ready: PcapNGWriter.Layout, to open: OpenSegment, packet: MirroredPacket, flow: FlowTuple?,
                             now: UInt64, events: inout [StorageEvent]) -> PacketRef? {
        if let limit = configuration.maxTotalBytes {
            let needed = UInt64(open.writer.encodedLength(of: packet, ready))
            while closedBytes + UInt64(open.writer.bytesWritten) + needed + indexBytes > limit, let oldest = closedSegments.first {
                guard deleteSegment(oldest) else { break }
                compactIndex()
            }
        }
        if open.writer.durablePacketCount == open.writer.packetCount { bufferedSinceNs = now }
        let index: Int
        do {
            index = try open.writer.write(packet, ready)
        } catch {
            countDrop()
            return nil
        }
        open.pending.append(PendingPacket(index: index, vmID: packet.vmID, flow: flow,
                                          timestampNs: packet.timestampNs))
        if open.writer.bufferedBytes >= configuration.writeBufferBytes
            || now < bufferedSinceNs || now - bufferedSinceNs >= configuration.flushIntervalNs {
            flushCurrent(now: now, events: &events)
            checkFreeSpace(now: now, events: &events)
        }
        commitIndex(now: now, force: false)
        // Lost if writing gave up on the segment before this packet reached the file.
        if open.writer.isClosed, index >= open.writer.durablePacketCount { return nil }
        return PacketRef(segment: open.info.file, index: index)
    }

    func isExpired(_ open: OpenSegment, now: UInt64) -> Bool {
        now >= open.info.createdNs && now - open.info.createdNs >= configuration.maxSegmentSeconds &* 1_000_000_000
    }

    func openSegment(now: UInt64, events: inout [StorageEvent]) -> Bool {
        var name = Self.segmentName(now, sequence: nextSequence)
        while FileManager.default.fileExists(atPath: path(of: name)) {
            nextSequence = nextSequence % 999_999 + 1
            name = Self.segmentName(now, sequence: nextSequence)
        }
        nextSequence = nextSequence % 999_999 + 1
        let writer: PcapNGWriter
        do {
            writer = try PcapNGWriter(path: path(of: name), bufferCapacity: configuration.writeBufferBytes,
                                      comments: configuration.packetComments)
        } catch {
            enterPause(reason: "cannot create segment \(name): \(error)", now: now, events: &events)
            return false
        }
        writer.autoFlush = false
        let id: Int64
        do {
            id = try index.insertSegment(file: name, createdNs: now)
        } catch {
            writer.abandon()
            unlink(path(of: name))
            indexErrors += 1
            enterPause(reason: "cannot index segment \(name): \(error)", now: now, events: &events)
            return false
        }
        current = OpenSegment(
            info: SegmentInfo(id: id, file: name, createdNs: now, firstNs: nil, lastNs: nil, bytes: 0, packets: 0, closed: false),
            writer: writer)
        return true
    }

    /// Flushes the open segment. On ENOSPC/EDQUOT it deletes the oldest closed segments and
    /// retries; when that is not possible it gives the segment up and pauses.
    func flushCurrent(now: UInt64, events: inout [StorageEvent]) {
        guard let open = current else { return }
        let before = open.writer.durableBytes
        defer { bytesSinceSpaceCheck += UInt64(max(0, open.writer.durableBytes - before)) }
        while true {
            do {
                try open.writer.flush()
                fold(open)
                return
            } catch {
                fold(open)
                let code = open.writer.lastErrorNumber
                if code == ENOSPC || code == EDQUOT, let oldest = closedSegments.first, deleteSegment(oldest) { continue }
                let lost = open.writer.abandon()
                dropped += UInt64(lost)
                fold(open)
                current = nil
                finishSegment(open)
                commitIndex(now: now, force: true)
                enterPause(reason: "\(error)", now: now, events: &events)
                pause?.droppedPackets += UInt64(lost)
                return
            }
        }
    }

    /// Moves the packets that reached the file from `pending` into the segment's flow aggregates.
    func fold(_ open: OpenSegment) {
        let durable = open.writer.durablePacketCount
        var folded = 0
        for packet in open.pending {
            guard packet.index < durable else { break }
            folded += 1
            open.flows.add(packet, communityID: communityID)
            open.info.firstNs = min(open.info.firstNs ?? packet.timestampNs, packet.timestampNs)
            open.info.lastNs = max(open.info.lastNs ?? packet.timestampNs, packet.timestampNs)
        }
        open.pending.removeFirst(folded)
        // After `abandon()` the writer forgets what never reached the file.
        if open.writer.isClosed { open.pending.removeAll() }
        if open.info.packets != UInt64(durable) || open.info.bytes != UInt64(open.writer.durableBytes) || folded > 0 {
            open.info.packets = UInt64(durable)
            open.info.bytes = UInt64(open.writer.durableBytes)
            open.dirty = true
        }
    }

    func communityID(_ key: FlowTuple?) -> String? {
        guard let key else { return nil }
        if let known = communityCache[key] { return known }
        let id = key.communityID
        if communityCache.count >= 65_536 { communityCache.removeAll(keepingCapacity: true) }
        communityCache[key] = id
        return id
    }

    /// Flushes and closes the open segment (a rotation).
    func closeCurrent(now: UInt64, events: inout [StorageEvent]) {
        guard let open = current else { return }
        flushCurrent(now: now, events: &events)
        guard current === open else { return }  // flushing gave the segment up already
        do {
            try open.writer.close()
        } catch {
            dropped += UInt64(open.writer.abandon())
        }
        fold(open)
        current = nil
        finishSegment(open)
        commitIndex(now: now, force: true)
    }

    /// Records a segment whose writer is closed: kept as closed, or removed when it holds nothing.
    func finishSegment(_ open: OpenSegment) {
        open.info.closed = true
        open.dirty = true
        guard open.info.packets > 0 else {
            removeEmptySegment(open.info)
            return
        }
        backlog[open.info.id] = (open.info, open.flows)
        open.flows.removeAll()
        closedSegments.append(open.info)
        closedBytes += open.info.bytes
        closedPackets += open.info.packets
    }

    private func removeEmptySegment(_ info: SegmentInfo) {
        let file = path(of: info.file)
        do {
            try index.deleteSegment(id: info.id) { unlink(file) }
        } catch {
            unlink(file)
            orphans.insert(info.id)
            indexErrors += 1
        }
    }

    // MARK: Retention

    private struct RemovalFailure: Error {
        var reason: String
    }

    /// Deletes a closed segment: its rows and its file in one transaction. When the index cannot
    /// be written (full disk) the file is deleted anyway and its rows are removed later.
    /// False when the file could not be deleted.
    func deleteSegment(_ segment: SegmentInfo) -> Bool {
        let file = path(of: segment.file)
        do {
            try index.deleteSegment(id: segment.id) {
                if unlink(file) != 0, errno != ENOENT { throw RemovalFailure(reason: String(cString: strerror(errno))) }
            }
        } catch is RemovalFailure {
            return false
        } catch {
            if unlink(file) != 0, errno != ENOENT { return false }
            orphans.insert(segment.id)
            indexErrors += 1
        }
        if let position = closedSegments.firstIndex(where: { $0.id == segment.id }) {
            let removed = closedSegments.remove(at: position)
            closedBytes -= removed.bytes
            closedPackets -= removed.packets
        }
        backlog[segment.id] = nil
        deletedSegments += 1
        needsCompaction = true
        return true
    }

    /// Retention by free space, after writing: deletes the oldest closed segments while free space
    /// is below `minFreeBytes`; pauses when only the open segment is left.
    func checkFreeSpace(now: UInt64, events: inout [StorageEvent]) {
        let minimum = configuration.minFreeBytes
        guard minimum > 0, bytesSinceSpaceCheck >= configuration.freeSpaceCheckBytes else { return }
        bytesSinceSpaceCheck = 0
        guard var free = configuration.freeSpace(directory) else { return }
        while free < minimum, let oldest = closedSegments.first {
            guard deleteSegment(oldest), let remaining = configuration.freeSpace(directory) else { break }
            free = remaining
        }
        guard free < minimum else { return }
        closeCurrent(now: now, events: &events)
        enterPause(reason: "only \(free) bytes free in \(directory), below the minimum of \(minimum)", now: now, events: &events)
    }

    // MARK: Pausing

    func enterPause(reason: String, now: UInt64, events: inout [StorageEvent]) {
        guard pause == nil else { return }
        let alert = StorageAlert(reason: reason, sinceNs: now, droppedPackets: 0)
        pause = alert
        lastResumeCheckNs = now
        dropsSinceResumeCheck = 0
        events.append(.paused(alert))
    }

    /// True when writing may go on: not paused, or paused and space is back (checked at most every
    /// `resumeCheckIntervalNs` or `resumeCheckDrops` drops, unless forced).
    func resumeIfPossible(now: UInt64, force: Bool, events: inout [StorageEvent]) -> Bool {
        guard let alert = pause else { return true }
        let due = force || now < lastResumeCheckNs || now - lastResumeCheckNs >= configuration.resumeCheckIntervalNs
            || dropsSinceResumeCheck >= configuration.resumeCheckDrops
        guard due else { return false }
        lastResumeCheckNs = now
        dropsSinceResumeCheck = 0
        if let free = configuration.freeSpace(directory),
           free < configuration.minFreeBytes &+ configuration.resumeFreeBytes { return false }
        pause = nil
        bytesSinceSpaceCheck = 0
        events.append(.resumed(alert))
        return true
    }

    func countDrop() {
        dropped += 1
        if pause != nil {
            pause?.droppedPackets += 1
            dropsSinceResumeCheck += 1
        }
    }

    // MARK: Index

    /// Commits the open segment's new rows and the backlog, when due or forced. A failure keeps
    /// everything for the next attempt.
    func commitIndex(now: UInt64, force: Bool) {
        guard force || now < lastCommitNs || now - lastCommitNs >= configuration.indexCommitIntervalNs else { return }
        var updates: [(SegmentInfo, [CaptureIndex.FlowRow])] = backlog.keys.sorted().compactMap { id in
            backlog[id].map { ($0.0, Self.rows($0.1)) }
        }
        if let open = current, open.dirty { updates.append((open.info, Self.rows(open.flows))) }
        lastCommitNs = now
        guard !updates.isEmpty || !orphans.isEmpty else { return }
        do {
            try index.commit(updates, removing: orphans.sorted())
            backlog.removeAll()
            orphans.removeAll()
            current?.flows.removeAll()
            current?.dirty = false
            indexBytes = index.diskBytes()
        } catch {
            indexErrors += 1
        }
    }

    /// After retention deleted segments: frees the index's pages and empties its WAL, so that
    /// the index shrinks with the captures. A failure is retried at the next `maintain()`.
    func compactIndex() {
        guard needsCompaction else { return }
        do {
            try index.compact()
            needsCompaction = false
        } catch {
            indexErrors += 1
        }
        indexBytes = index.diskBytes()
    }

    static func rows(_ flows: FlowAggregates) -> [CaptureIndex.FlowRow] {
        var rows: [CaptureIndex.FlowRow] = []
        rows.reserveCapacity(flows.count)
        flows.forEach { key, value in
            rows.append(CaptureIndex.FlowRow(vmID: key.vmID, key: key.flow?.flowKey, communityID: value.communityID,
                                             firstNs: value.firstNs, lastNs: value.lastNs, packets: value.packets,
                                             firstIndex: value.firstIndex, lastIndex: value.lastIndex))
        }
        return rows
    }

    /// Makes everything appended so far readable from files and the index.
    func prepareForRead(now: UInt64, events: inout [StorageEvent]) {
        if let open = current, open.writer.bufferedBytes > 0 {
            flushCurrent(now: now, events: &events)
            checkFreeSpace(now: now, events: &events)
        }
        commitIndex(now: now, force: true)
    }

    // MARK: Helpers

    func path(of file: String) -> String {
        (directory as NSString).appendingPathComponent(file)
    }

    static func segmentName(_ ns: UInt64, sequence: Int) -> String {
        let number = String(sequence)
        return "seg-" + CaptureStoreTime.segmentStamp(ns) + "-" + String(repeating: "0", count: max(0, 6 - number.count)) + number + ".pcapng"
    }

    /// The sequence number in a segment's name.
    static func sequence(of name: String) -> Int? {
        guard name.hasPrefix("seg-"), name.hasSuffix(".pcapng") else { return nil }
        let stem = name.dropLast(".pcapng".count)
        guard let dash = stem.lastIndex(of: "-") else { return nil }
        return Int(stem[stem.index(after: dash)...])
    }

    func locked<T>(_ body: () -> T) -> T {
        lock.withLock(body)
    }

    func locked<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock(body)
    }

    func deliver(_ events: [StorageEvent]) {
        guard let handler = configuration.onStorageEvent else { return }
        for event in events { handler(event) }
    }
}

extension CaptureStore {
    /// The segment being written.
    final class OpenSegment {
        var info: SegmentInfo
        let writer: PcapNGWriter
        /// Packets handed to the writer that have not reached the file yet, in index order.
        var pending: [PendingPacket] = []
        /// Flow aggregates of packets in the file that are not in the index yet.
        var flows = FlowAggregates()
        /// `info` changed since the last commit.
        var dirty = true

        init(info: SegmentInfo, writer: PcapNGWriter) {
            self.info = info
            self.writer = writer
        }
    }

    struct PendingPacket {
        var index: Int
        var vmID: UInt32
        var flow: FlowTuple?
        var timestampNs: UInt64
    }

    struct FlowAggregateKey: Hashable, SlotKey {
        var vmID: UInt32
        /// Nil for frames without an IP 5-tuple.
        var flow: FlowTuple?

        var slotHash: UInt64 { SlotHash.combine(UInt64(vmID), flow?.mixed ?? 0x5bd1_e995) }
    }

    /// The index rows of one segment in the making: one aggregate per VM and flow.
    typealias FlowAggregates = SlotMap<FlowAggregateKey, FlowAggregate>

    struct FlowAggregate {
        var communityID: String?
        var firstNs: UInt64
        var lastNs: UInt64
        var packets: UInt64
        var firstIndex: Int
        var lastIndex: Int

        mutating func add(_ packet: PendingPacket) {
            firstNs = min(firstNs, packet.timestampNs)
            lastNs = max(lastNs, packet.timestampNs)
            packets += 1
            firstIndex = min(firstIndex, packet.index)
            lastIndex = max(lastIndex, packet.index)
        }
    }
}

extension CaptureStore.FlowAggregates {
    /// Counts a packet that reached the file in its flow's aggregate.
    mutating func add(_ packet: CaptureStore.PendingPacket, communityID: (FlowTuple?) -> String?) {
        update(CaptureStore.FlowAggregateKey(vmID: packet.vmID, flow: packet.flow), make: {
            CaptureStore.FlowAggregate(communityID: communityID(packet.flow), firstNs: packet.timestampNs,
                                       lastNs: packet.timestampNs, packets: 0, firstIndex: packet.index, lastIndex: packet.index)
        }) { $0.add(packet) }
    }
}
