import Foundation
import Testing
@testable import Analysis

/// A real full disk: a 2 MiB tmpfs (root only).
@Suite("store on a full disk", .serialized)
struct StoreDiskFullTests {
    @Test("a full tmpfs: no crash, drops counted, storage alert, writing resumes once space is freed", StoreTmpfs.required)
    func fullDisk() throws {
        let directory = try TemporaryDirectory()
        let mountPoint = directory.file("tmpfs")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(StoreTmpfs.mount(mountPoint, size: "2m"))
        defer { StoreTmpfs.unmount(mountPoint) }

        let clock = StoreTestClock()
        let log = StoreEventLog()
        var configuration = StoreSetup.configuration(clock: clock, segmentBytes: 64 << 10, bufferBytes: 8 << 10)
        configuration.resumeFreeBytes = 64 << 10
        configuration.resumeCheckDrops = 16
        configuration.onStorageEvent = log.handler
        let storePath = (mountPoint as NSString).appendingPathComponent("store")
        var store: CaptureStore? = try CaptureStore(directory: storePath, configuration: configuration)
        defer { store?.close() }
        var sequence: UInt32 = 0
        func next() -> MirroredPacket {
            sequence += 1
            return StorePackets.tcp(vm: 4, timestampNs: StorePackets.base + UInt64(sequence) * 1000, sequence: sequence, size: 600)
        }

        // Room to spare at first.
        for _ in 0..<150 { #expect(store!.append(next()) != nil) }

        // Another file takes all the space left.
        let ballast = (mountPoint as NSString).appendingPathComponent("ballast")
        #expect(StoreTmpfs.fill(ballast) > 0)
        var dropped = 0
        for _ in 0..<3000 where store!.append(next()) == nil { dropped += 1 }
        let alert = try #require(store!.storageAlert)
        // The segment or the index meets the full disk first, depending on the sizes.
        #expect(alert.reason.contains("No space left on device") || alert.reason.contains("disk is full"), "\(alert.reason)")
        #expect(dropped > 0)
        let stats = store!.stats
        #expect(stats.dropped >= UInt64(dropped))  // packets lost from the buffer count too
        #expect(log.events.first.map { if case .paused = $0 { true } else { false } } == true)
        // Every segment left on the disk is a valid capture.
        for file in StoreFiles.segments(storePath) {
            var reader = try PcapNGReader(path: (storePath as NSString).appendingPathComponent(file))
            _ = try reader.readAll()
        }

        // Space comes back: after a few more drops the store checks, resumes and writes again.
        try FileManager.default.removeItem(atPath: ballast)
        var resumedAt: UInt32?
        for _ in 0...configuration.resumeCheckDrops {
            if store!.append(next()) != nil {
                resumedAt = sequence
                break
            }
        }
        let firstAfter = try #require(resumedAt)
        #expect(store!.storageAlert == nil)
        for _ in 0..<100 { #expect(store!.append(next()) != nil) }
        #expect(log.events.contains { if case .resumed = $0 { true } else { false } })
        let after = try store!.query(since: StorePackets.base + UInt64(firstAfter) * 1000)
        #expect(after.count == 101)
        #expect(after.first?.timestampNs == StorePackets.base + UInt64(firstAfter) * 1000)
        let check = try store!.checkIndex()
        #expect(check.isConsistent, "\(check)")

        // Reopening reads back the same state.
        let kept = try store!.query()
        store!.close()
        store = try CaptureStore(directory: storePath, configuration: configuration)
        #expect(try store!.query() == kept)
    }
}
