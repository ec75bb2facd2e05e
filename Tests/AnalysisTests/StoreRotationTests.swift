import Foundation
import Testing
@testable import Analysis

@Suite("store rotation and retention")
struct StoreRotationTests {
    @Test("rotation by size: segments stay under the limit, refs and queries find every packet")
    func rotationBySize() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        let storePath = directory.file("store")
        let store = try CaptureStore(directory: storePath, configuration: StoreSetup.configuration(clock: clock))
        let packets = (0..<400).map { StorePackets.tcp(vm: 7, timestampNs: StorePackets.base + UInt64($0) * 1000, sequence: UInt32($0), size: 600) }
        var refs: [CaptureStore.PacketRef] = []
        for packet in packets { refs.append(try #require(store.append(packet))) }
        store.flush()

        let files = StoreFiles.segments(storePath)
        #expect(files.count >= 4)
        #expect(files.allSatisfy(StoreFiles.isSegmentName))
        for file in files { #expect(StoreFiles.size((storePath as NSString).appendingPathComponent(file)) <= 64 << 10) }
        // References: segments in creation order, indexes counting from 0 in each.
        #expect(refs.map(\.segment).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } } == files)
        for (position, ref) in refs.enumerated() where position > 0 && ref.segment == refs[position - 1].segment {
            #expect(ref.index == refs[position - 1].index + 1)
        }
        #expect(refs.first?.index == 0)
        for position in stride(from: 0, to: packets.count, by: 37) {
            #expect(try store.packet(at: refs[position]) == packets[position])
        }

        #expect(try store.query() == packets)
        let segments = try store.segments()
        #expect(segments.map(\.file) == files)
        #expect(segments.dropLast().allSatisfy(\.closed) && segments.last?.closed == false)
        #expect(segments.reduce(0) { $0 + $1.packets } == 400)
        for segment in segments { #expect(segment.bytes == StoreFiles.size((storePath as NSString).appendingPathComponent(segment.file))) }
        #expect(try store.checkIndex().isConsistent)
        // The index is SQLite in WAL mode, next to the segments.
        #expect(FileManager.default.fileExists(atPath: (storePath as NSString).appendingPathComponent("index.sqlite")))
        #expect(FileManager.default.fileExists(atPath: (storePath as NSString).appendingPathComponent("index.sqlite-wal")))
        let stats = store.stats
        #expect(stats.segments == files.count && stats.packets == 400 && stats.dropped == 0)
        #expect(stats.oldestNs == packets.first?.timestampNs && stats.newestNs == packets.last?.timestampNs)
        #expect(stats.bytes == StoreFiles.segmentBytes(storePath))
        store.close()
        #expect(store.append(packets[0]) == nil)
        #expect(try store.segments().allSatisfy(\.closed))
    }

    @Test("rotation by time with an injected clock; maintain() closes an idle segment")
    func rotationByTime() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        var configuration = StoreSetup.configuration(clock: clock)
        configuration.maxSegmentSeconds = 300
        let storePath = directory.file("store")
        let store = try CaptureStore(directory: storePath, configuration: configuration)
        var sequence: UInt32 = 0
        func append() throws -> CaptureStore.PacketRef {
            sequence += 1
            return try #require(store.append(StorePackets.tcp(vm: 3, timestampNs: clock.now, sequence: sequence)))
        }
        let first = try append()
        #expect(first.segment == "seg-20231114-221320-000001.pcapng")
        clock.advance(seconds: 299)
        #expect(try append().segment == first.segment)
        clock.advance(seconds: 1)
        let second = try append()
        #expect(second.segment == "seg-" + CaptureStoreTime.segmentStamp(clock.now) + "-000002.pcapng")
        #expect(second.index == 0)
        // Idle for 300 s: maintain() closes it; the next packet opens the third segment.
        clock.advance(seconds: 300)
        store.maintain()
        #expect(try store.segments().map(\.closed) == [true, true])
        clock.advance(seconds: 5)
        let third = try append()
        #expect(third.segment == "seg-" + CaptureStoreTime.segmentStamp(clock.now) + "-000003.pcapng")
        #expect(try store.segments().map(\.packets) == [2, 1, 1])
        // A store reopened later continues the sequence.
        store.close()
        let reopened = try CaptureStore(directory: storePath, configuration: configuration)
        let fourth = try #require(reopened.append(StorePackets.tcp(vm: 3, timestampNs: clock.now, sequence: 99)))
        #expect(fourth.segment.hasSuffix("-000004.pcapng"))
        #expect(try reopened.query().count == 5)
    }

    @Test("retention by bytes: a 50 MiB stream into a 5 MiB store keeps the newest packets, at most 5 MiB")
    func retentionByBytes() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        var configuration = StoreSetup.configuration(clock: clock, segmentBytes: 64 << 20, bufferBytes: 256 << 10)
        let limit: UInt64 = 5 << 20
        configuration.maxTotalBytes = limit
        #expect(configuration.effectiveSegmentBytes == limit / 4)
        let storePath = directory.file("store")
        let store = try CaptureStore(directory: storePath, configuration: configuration)

        var written: UInt64 = 0
        var packets: [MirroredPacket] = []
        var sequence: UInt32 = 0
        while written < 50 << 20 {
            let packet = StorePackets.tcp(vm: 1 + sequence % 4, timestampNs: StorePackets.base + UInt64(sequence) * 10_000,
                                          sequence: sequence, sourcePort: UInt16(1024 + sequence % 50), size: 1400)
            #expect(store.append(packet) != nil)
            packets.append(packet)
            written += UInt64(packet.frame.count)
            sequence += 1
            if sequence % 512 == 0 {
                #expect(StoreFiles.segmentBytes(storePath) <= limit)
                #expect(store.stats.bytes <= limit)
            }
        }
        store.flush()
        let stats = store.stats
        #expect(StoreFiles.segmentBytes(storePath) <= limit)
        // The index counts within the limit too.
        #expect(stats.bytes + stats.indexBytes <= limit, "segments \(stats.bytes) + index \(stats.indexBytes)")
        #expect(stats.bytes + stats.indexBytes > limit - 2 * configuration.effectiveSegmentBytes,
                "segments \(stats.bytes) + index \(stats.indexBytes)")
        #expect(stats.deletedSegments > 0 && stats.dropped == 0)

        // Oldest first: what is left is the end of the stream, in whole segments.
        let kept = try store.query()
        #expect(kept.count == Int(stats.packets))
        #expect(kept == Array(packets.suffix(kept.count)))
        let segments = try store.segments()
        let sequences = segments.compactMap { CaptureStore.sequence(of: $0.file) }
        #expect(sequences == Array((sequences.first ?? 0)...(sequences.last ?? 0)))
        #expect(sequences.first! > 1)
        // The index knows only existing segments, and their packets are all there.
        #expect(Set(segments.map(\.file)) == Set(StoreFiles.segments(storePath)))
        let check = try store.checkIndex()
        #expect(check.isConsistent, "\(check)")
        // Queries over the deleted time range find nothing.
        let firstKept = try #require(kept.first).timestampNs
        #expect(try store.query(until: firstKept - 1).isEmpty)
        #expect(try store.query(vm: 2, until: firstKept + 100_000) == kept.filter { $0.vmID == 2 && $0.timestampNs <= firstKept + 100_000 })
    }

    @Test("retention by free space: the oldest segments go while free space is below the minimum")
    func retentionByFreeSpace() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        let disk = StoreTestDisk(capacity: 600 << 10)
        var configuration = StoreSetup.configuration(clock: clock)
        configuration.minFreeBytes = 200 << 10
        configuration.freeSpaceCheckBytes = 0
        configuration.freeSpace = disk.function
        let storePath = directory.file("store")
        let store = try CaptureStore(directory: storePath, configuration: configuration)
        let packets = (0..<3000).map { StorePackets.tcp(vm: 5, timestampNs: StorePackets.base + UInt64($0), sequence: UInt32($0), size: 600) }
        for packet in packets { #expect(store.append(packet) != nil) }
        store.flush()
        #expect(StoreFiles.segmentBytes(storePath) <= (600 - 200) << 10)
        #expect(store.storageAlert == nil && store.stats.dropped == 0 && store.stats.deletedSegments > 0)
        let kept = try store.query()
        #expect(kept == Array(packets.suffix(kept.count)))
        #expect(try store.checkIndex().isConsistent)
    }

    @Test("too little free space and nothing left to delete: writing pauses, drops are counted, it resumes when space is back")
    func pauseAndResumeOnFreeSpace() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        let disk = StoreTestDisk(capacity: 10 << 20)
        let log = StoreEventLog()
        var configuration = StoreSetup.configuration(clock: clock)
        configuration.minFreeBytes = 1 << 20
        configuration.resumeFreeBytes = 256 << 10
        configuration.freeSpaceCheckBytes = 0
        configuration.resumeCheckDrops = 8
        configuration.freeSpace = disk.function
        configuration.onStorageEvent = log.handler
        let storePath = directory.file("store")
        let store = try CaptureStore(directory: storePath, configuration: configuration)
        var sequence: UInt32 = 0
        func next() -> MirroredPacket {
            sequence += 1
            return StorePackets.tcp(vm: 2, timestampNs: StorePackets.base + UInt64(sequence) * 1000, sequence: sequence, size: 600)
        }
        for _ in 0..<300 { #expect(store.append(next()) != nil) }
        #expect(store.stats.segments > 1)

        // Someone else fills the disk: the store gives up its old segments, then pauses.
        disk.external = 10 << 20
        var dropped = 0
        for _ in 0..<100 where store.append(next()) == nil { dropped += 1 }
        let alert = try #require(store.storageAlert)
        #expect(alert.reason.contains("below the minimum"))
        #expect(dropped > 0 && store.stats.dropped == UInt64(dropped))
        #expect(alert.droppedPackets == UInt64(dropped))
        #expect(try store.segments().count == 1)  // the segment closed at the pause is kept
        // Still full: resume checks fail, drops go on.
        for _ in 0..<20 { #expect(store.append(next()) == nil) }
        dropped += 20

        disk.external = 0
        var resumedAt: UInt32?
        for _ in 0..<(configuration.resumeCheckDrops + 1) {
            let packet = next()
            if store.append(packet) != nil {
                resumedAt = sequence
                break
            }
            dropped += 1
        }
        let firstAfter = try #require(resumedAt)
        #expect(store.storageAlert == nil)
        for _ in 0..<50 { #expect(store.append(next()) != nil) }
        #expect(store.stats.dropped == UInt64(dropped))
        let events = log.events
        #expect(events.count == 2)
        if case let .paused(paused) = events.first { #expect(paused.reason == alert.reason) } else { Issue.record("no pause event") }
        if case let .resumed(resumed) = events.last { #expect(resumed.droppedPackets == UInt64(dropped)) } else { Issue.record("no resume event") }
        // What was written after the pause is all there.
        let after = try store.query(since: StorePackets.base + UInt64(firstAfter) * 1000)
        #expect(after.count == 51)
        #expect(try store.checkIndex().isConsistent)
        // The analyzer's alert for it.
        let raised = alert.alert(host: "analyzer-1", directory: storePath)
        #expect(raised.alert.category == "Storage" && raised.bma.details["dropped"] == String(alert.droppedPackets))
    }
}

@Suite("store permissions")
struct StorePermissionTests {
    /// Regression: the store was world-readable (0755 directories, 0644 files).
    @Test("the store directory is 0750 and its files 0640, whatever the umask allows")
    func privateStore() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("store")
        let old = umask(0o022)
        defer { umask(old) }
        let store = try CaptureStore(directory: path, configuration: StoreSetup.configuration(clock: StoreTestClock()))
        for sequence in 1...20 { #expect(store.append(StorePackets.tcp(vm: 1, timestampNs: StorePackets.base + UInt64(sequence), sequence: UInt32(sequence))) != nil) }
        store.flush()
        store.close()
        func mode(_ file: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode(path) == 0o750)
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        #expect(files.contains { $0.hasSuffix(".pcapng") } && files.contains(CaptureStore.indexFileName))
        for file in files {
            #expect(try mode((path as NSString).appendingPathComponent(file)) & 0o007 == 0, "\(file) is readable by others")
        }
    }
}
