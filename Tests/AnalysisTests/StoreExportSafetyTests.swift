import Foundation
import Testing
@testable import Analysis
#if canImport(Glibc)
import Glibc
#endif

/// `query -w` cannot be turned against another file, and the store can be given to a group.
@Suite("Store: safe exports and the store group", .serialized, .timeLimit(.minutes(1)))
struct StoreExportSafetyTests {
    static func store(_ directory: TemporaryDirectory) throws -> (CaptureStore, [MirroredPacket]) {
        let store = try CaptureStore(directory: directory.file("store"), configuration: StoreSetup.configuration(clock: StoreTestClock()))
        let packets = StorePackets.mixed(count: 50)
        for packet in packets { store.append(packet) }
        return (store, packets)
    }

    static func contents(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

    static func leftovers(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".tmp") }
    }

    @Test("A symlink planted at the output is replaced, never written through", arguments: [CaptureStore.ExportFormat.pcap, .pcapng])
    func plantedSymlink(format: CaptureStore.ExportFormat) throws {
        let directory = try TemporaryDirectory()
        let (store, packets) = try Self.store(directory)
        defer { store.close() }
        let victim = directory.file("victim")
        try "root-only data\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let out = directory.file("out")
        try FileManager.default.createSymbolicLink(atPath: out, withDestinationPath: victim)

        #expect(try store.writeQuery(to: out, format: format) == packets.count)
        #expect(Self.contents(victim) == Array("root-only data\n".utf8), "the link's target is untouched")
        var st = stat()
        #expect(lstat(out, &st) == 0 && st.st_mode & S_IFMT == S_IFREG, "the output is a regular file now")
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(Self.contents(out).count > 24 * packets.count)
        #expect(Self.leftovers(directory.path).isEmpty)
    }

    @Test("A failed export leaves the target as it was and no temporary file")
    func failureLeavesNothing() throws {
        let directory = try TemporaryDirectory()
        let (store, _) = try Self.store(directory)
        defer { store.close() }
        let target = directory.file("is-a-directory")
        try FileManager.default.createDirectory(atPath: target + "/inside", withIntermediateDirectories: true)
        #expect(throws: CaptureStoreError.self) { try store.writeQuery(to: target, format: .pcap) }
        #expect(FileManager.default.fileExists(atPath: target + "/inside"))
        #expect(Self.leftovers(directory.path).isEmpty)
        #expect(throws: CaptureStoreError.self) { try store.writeQuery(to: directory.file("no/such/dir/out.pcap"), format: .pcapng) }
    }

    @Test("--store-group: the directory (setgid) and every file belong to the group, modes 2750 and 0640",
          .enabled(if: getuid() == 0, "needs root to give files to another group"))
    func storeGroup() throws {
        let directory = try TemporaryDirectory()
        let group = try #require(StoreGroup.gid("daemon") ?? StoreGroup.gid("1"))
        #expect(StoreGroup.gid("no-such-group-bma") == nil)
        var configuration = AnalyzerNode.Configuration(storeDirectory: directory.file("store"))
        configuration.storeGroup = group
        configuration.store.minFreeBytes = 0
        let node = try AnalyzerNode(configuration: configuration)
        node.start()
        for packet in StorePackets.mixed(count: 50) { node.submit(packet) }
        node.stop()
        var st = stat()
        #expect(stat(directory.file("store"), &st) == 0)
        #expect(st.st_gid == group && st.st_mode & 0o7777 == 0o2750)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.file("store"))
        #expect(files.contains("index.sqlite") && files.contains { $0.hasSuffix(".pcapng") }, "\(files)")
        for name in files {
            #expect(lstat(directory.file("store/\(name)"), &st) == 0)
            #expect(st.st_gid == group, "\(name)")
            #expect(st.st_mode & 0o007 == 0, "\(name): nothing for other users")
        }
    }
}
