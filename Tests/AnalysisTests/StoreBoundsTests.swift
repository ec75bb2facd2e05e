import Foundation
import Testing
@testable import Analysis

/// The store within its bounds: the index counted and compacted by retention, and what a crash
/// can lose (the flush interval), as `Stats` reports it.
@Suite("store bounds: index in retention, flush interval, written and durable")
struct StoreBoundsTests {
    /// Bytes of everything in the store directory but eve.json: segments and index files.
    static func storeBytes(_ directory: String) -> UInt64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0 != "eve.json" }.reduce(0) { $0 + StoreFiles.size((directory as NSString).appendingPathComponent($1)) }
    }

    /// Packets readable from a segment file as it is on disk now.
    static func packetsOnDisk(_ file: String) throws -> Int {
        guard StoreFiles.size(file) > 0 else { return 0 }  // not even the section header yet
        var reader = try PcapNGReader(path: file)
        var count = 0
        while (try? reader.next()) != nil { count += 1 }
        return count
    }

    @Test("retention counts the index: one new flow per packet into a 2 MiB store keeps segments and index within 2 MiB, the WAL checkpointed")
    func retentionCountsIndex() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        var configuration = StoreSetup.configuration(clock: clock, segmentBytes: 64 << 20, bufferBytes: 64 << 10)
        let limit: UInt64 = 2 << 20
        configuration.maxTotalBytes = limit
        let storePath = directory.file("store")
        let store = try CaptureStore(directory: storePath, configuration: configuration)
        var largest: UInt64 = 0
        var largestWAL: UInt64 = 0
        for sequence in UInt32(0)..<60_000 {
            // Every packet its own flow: one index row each, as a scan or a fan-out makes them.
            let destination: [UInt8] = [198, 51, UInt8(truncatingIfNeeded: sequence >> 8), UInt8(truncatingIfNeeded: sequence)]
            let packet = StorePackets.tcp(vm: 1, timestampNs: clock.now, sequence: sequence, to: destination,
                                          sourcePort: UInt16(1024 + sequence % 60_000), size: 16)
            #expect(store.append(packet) != nil)
            if sequence % 1_000 == 999 {
                clock.advance(seconds: 1)
                store.maintain()
                largest = max(largest, Self.storeBytes(storePath))
                largestWAL = max(largestWAL, StoreFiles.size(storePath + "/index.sqlite-wal"))
            }
        }
        store.flush()
        store.maintain()
        let stats = store.stats
        #expect(stats.deletedSegments > 0 && stats.dropped == 0)
        let indexFiles = ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"].reduce(UInt64(0)) {
            $0 + StoreFiles.size(storePath + "/" + $1)
        }
        #expect(stats.indexBytes > 0 && stats.indexBytes == indexFiles)
        // Between two maintain() calls the index may run one commit (1,000 rows) ahead of the
        // size retention last saw: allow that, not the unbounded growth of before.
        #expect(largest <= limit + limit / 4, "the store reached \(largest) bytes for a limit of \(limit)")
        #expect(stats.bytes + stats.indexBytes <= limit + limit / 4)
        // Checkpointed after the deletions: the WAL holds at most the commits since the last
        // one, within the limit (SQLite alone lets it grow to 4 MiB, twice the store's limit).
        #expect(largestWAL < limit, "the WAL reached \(largestWAL) bytes")
        #expect(try store.checkIndex().isConsistent)
        store.close()
    }

    @Test("a packet is buffered for at most the flush interval: written and durable counts match the file on disk")
    func flushInterval() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        // A buffer far larger than the packets: only the interval makes them reach the file.
        let configuration = StoreSetup.configuration(clock: clock, segmentBytes: 64 << 20, bufferBytes: 4 << 20)
        #expect(configuration.flushIntervalNs == 1_000_000_000)
        let storePath = directory.file("store")
        let store = try CaptureStore(directory: storePath, configuration: configuration)
        var sequence: UInt32 = 0
        func append(_ count: Int) throws -> CaptureStore.PacketRef {
            var last: CaptureStore.PacketRef?
            for _ in 0..<count {
                sequence += 1
                last = store.append(StorePackets.tcp(vm: 2, timestampNs: clock.now, sequence: sequence))
            }
            return try #require(last)
        }
        let segment = storePath + "/" + (try append(10)).segment
        var stats = store.stats
        #expect(stats.packets == 10 && stats.writtenPackets == 0 && stats.durablePackets == 0)
        #expect(try Self.packetsOnDisk(segment) == 0)

        // One interval later the next packet writes the buffer: what kill -9 would keep.
        clock.advance(seconds: 1)
        _ = try append(1)
        stats = store.stats
        #expect(stats.packets == 11 && stats.writtenPackets == 11 && stats.durablePackets == 0)
        #expect(try Self.packetsOnDisk(segment) == 11)
        // maintain() syncs it (due: never synced).
        store.maintain()
        #expect(store.stats.durablePackets == 11)

        // maintain() writes what is buffered; it syncs again only one interval after the last sync.
        _ = try append(5)
        #expect(store.stats.writtenPackets == 11)
        store.maintain()
        stats = store.stats
        #expect(stats.writtenPackets == 16 && stats.durablePackets == 11)
        clock.advance(seconds: 1)
        store.maintain()
        #expect(store.stats.durablePackets == 16)
        #expect(try Self.packetsOnDisk(segment) == 16)

        store.close()
        #expect(store.stats.durablePackets == 16)
    }

    @Test("the flush interval is configurable")
    func configurableInterval() throws {
        let directory = try TemporaryDirectory()
        let clock = StoreTestClock()
        var configuration = StoreSetup.configuration(clock: clock, segmentBytes: 64 << 20, bufferBytes: 4 << 20)
        configuration.flushIntervalNs = 5_000_000_000
        let store = try CaptureStore(directory: directory.file("store"), configuration: configuration)
        for step in UInt32(0)..<5 {
            #expect(store.append(StorePackets.tcp(vm: 2, timestampNs: clock.now, sequence: step)) != nil)
            #expect(store.stats.writtenPackets == 0, "written after \(step) s with a 5 s interval")
            clock.advance(seconds: 1)
        }
        #expect(store.append(StorePackets.tcp(vm: 2, timestampNs: clock.now, sequence: 5)) != nil)
        #expect(store.stats.writtenPackets == 6)
        store.close()
    }

    @Test("status reports received, stored, written and durable packets and the index's size")
    func statusFields() throws {
        let directory = try TemporaryDirectory()
        var configuration = AnalyzerNode.Configuration(storeDirectory: directory.file("store"))
        configuration.store.minFreeBytes = 0
        configuration.store.writeBufferBytes = 4 << 20
        let node = try AnalyzerNode(configuration: configuration)
        for sequence in UInt32(0)..<20 {
            node.process(StorePackets.tcp(vm: 4, timestampNs: StorePackets.base + UInt64(sequence), sequence: sequence))
        }
        let status = node.status(ingest: nil)
        #expect(status.storage.packets == 20)
        #expect((status.storage.written_packets ?? 99) <= 20)
        #expect((status.storage.durable_packets ?? 99) <= (status.storage.written_packets ?? 0))
        #expect((status.storage.index_bytes ?? 0) > 0)
        #expect(status.storage.flush_interval_s == 1)
        node.stop()
        let after = node.status(ingest: nil)
        #expect(after.storage.written_packets == 20 && after.storage.durable_packets == 20)
    }
}
