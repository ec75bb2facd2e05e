import BMAContract
import Control
import Foundation
import Glibc
import XCTest

final class StateStoreTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bma-state-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0, path)
        return st.st_mode & 0o7777
    }

    func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    func testCreatesTheDirectoryPrivate() throws {
        let dir = root + "/var/lib/bma"
        let old = umask(0o022)
        defer { umask(old) }
        let store = try StateStore(directory: dir + "/")
        XCTAssertEqual(store.directory, dir)
        XCTAssertEqual(mode(dir), 0o700)
        // an existing directory is used as it is
        chmod(dir, 0o750)
        _ = try StateStore(directory: dir)
        XCTAssertEqual(mode(dir), 0o750)
        XCTAssertEqual(StateStore.defaultDirectory, "/var/lib/bma")
    }

    func testDirectoryThatIsAFile() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/file", contents: Data("x".utf8)))
        XCTAssertThrowsError(try StateStore(directory: root + "/file")) { error in
            let e = error as? StateStoreError
            XCTAssertEqual(e?.operation, .createDirectory)
            XCTAssertEqual(e?.path, root + "/file")
            XCTAssertTrue(e?.description.contains("not a directory") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try StateStore(directory: root + "/file/below")) {
            XCTAssertEqual(($0 as? StateStoreError)?.operation, .createDirectory, "\($0)")
        }
        XCTAssertThrowsError(try StateStore(directory: ""))
    }

    func testWriteReadRoundTrip() throws {
        let store = try StateStore(directory: root)
        XCTAssertNil(try store.read("policies.json"))
        try store.write(Data("first".utf8), to: "policies.json")
        XCTAssertEqual(try store.read("policies.json"), Data("first".utf8))
        let big = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try store.write(big, to: "policies.json")
        XCTAssertEqual(try store.read("policies.json"), big)
        try store.write(Data(), to: "policies.json")
        XCTAssertEqual(try store.read("policies.json"), Data())
        XCTAssertEqual(mode(store.path("policies.json")), 0o600)
        XCTAssertEqual(entries(root), ["policies.json"], "no temporary file is left behind")
        try store.remove("policies.json")
        XCTAssertNil(try store.read("policies.json"))
        try store.remove("policies.json")
    }

    func testNamesMustBePlain() throws {
        let store = try StateStore(directory: root)
        for bad in ["", "../escape", "a/b", ".hidden", "policies.json.tmp-12", "sp ace", String(repeating: "x", count: 201)] {
            XCTAssertThrowsError(try store.write(Data(), to: bad), bad) { XCTAssertEqual(($0 as? StateStoreError)?.operation, .name) }
            XCTAssertThrowsError(try store.read(bad), bad)
        }
        XCTAssertEqual(entries(root), [])
    }

    func testErrorsAreTypedAndNameThePath() throws {
        let store = try StateStore(directory: root)
        try FileManager.default.createDirectory(atPath: store.path("adir"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try store.read("adir")) { error in
            let e = error as? StateStoreError
            XCTAssertEqual(e?.operation, .read)
            XCTAssertEqual(e?.path, store.path("adir"))
        }
        // renaming a file over a directory fails; the temporary file is removed
        XCTAssertThrowsError(try store.write(Data("x".utf8), to: "adir")) { error in
            let e = error as? StateStoreError
            XCTAssertEqual(e?.operation, .rename)
            XCTAssertEqual(e?.errno, EISDIR)
            XCTAssertTrue(e?.description.hasPrefix("cannot rename \(store.path("adir.tmp-"))") ?? false, "\(error)")
        }
        XCTAssertEqual(entries(root), ["adir"])
        // the directory disappears under the store
        try FileManager.default.removeItem(atPath: root)
        XCTAssertThrowsError(try store.write(Data("x".utf8), to: "a")) { error in
            XCTAssertEqual((error as? StateStoreError)?.operation, .open)
            XCTAssertEqual((error as? StateStoreError)?.errno, ENOENT)
        }
    }

    func testLeftoversOfDeadWritersAreRemoved() throws {
        let store = try StateStore(directory: root)
        let dead = pid_t.max  // above pid_max: no such process
        for name in ["policies.json.tmp-\(dead)", "policies.json.tmp-\(getpid())", "policies.json.tmp-1",
                     "other.json.tmp-\(dead)", "policies.json.tmp-x", "policies.json"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: store.path(name), contents: Data("partial".utf8)))
        }
        XCTAssertEqual(try store.removeLeftovers(of: "policies.json"), ["policies.json.tmp-\(dead)"])
        // ours (a write in progress) and pid 1's (alive) stay; so do names that are not temporary files
        XCTAssertEqual(entries(root), ["other.json.tmp-\(dead)", "policies.json", "policies.json.tmp-1",
                                       "policies.json.tmp-\(getpid())", "policies.json.tmp-x"])
        XCTAssertEqual(try store.removeLeftovers(), ["other.json.tmp-\(dead)"])
        // a leftover never hides the real file
        XCTAssertEqual(try store.read("policies.json"), Data("partial".utf8))
    }

    // MARK: - PolicyFile

    static func sampleSet() throws -> PolicySet {
        var s = PolicySet()
        try s.add(Policy(name: "dns", priority: 100,
                         match: PolicyMatch(vms: [.name("web1"), .id(7)], dstCIDR: CIDR("2001:db8::/32"), protocol: .udp,
                                            dstPorts: PortSet("53,853"), direction: .both),
                         action: PolicyAction(mirror: .always, sensitivity: 2.5, snaplen: 128,
                                              rateLimit: .init(packetsPerSecond: 100), encapsulation: "vxlan")))
        try s.add(Policy(priority: -5, match: PolicyMatch(protocol: .arp), action: PolicyAction(mirror: .never)))
        try s.add(Policy(id: 300, match: PolicyMatch(srcCIDR: CIDR("10.0.0.0/8"), sizeMin: 1000)))
        return s
    }

    func testPolicyFileRoundTrip() throws {
        let file = PolicyFile(store: try StateStore(directory: root))
        XCTAssertEqual(file.path, root + "/policies.json")
        XCTAssertNil(try file.load(), "nothing saved yet")
        let set = try Self.sampleSet()
        try file.save(set)
        let loaded = try XCTUnwrap(try file.load())
        XCTAssertEqual(loaded, set)
        XCTAssertEqual(loaded.generation, 3)

        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file.path))) as? [String: Any])
        XCTAssertEqual(object["format"] as? String, "bma-policies")
        XCTAssertEqual(object["version"] as? Int, 1)
        XCTAssertEqual(object["generation"] as? Int, 3)
        XCTAssertEqual((object["policies"] as? [Any])?.count, 3)

        // an empty set saves and loads too
        try file.save(PolicySet())
        XCTAssertEqual(try file.load(), PolicySet())
    }

    func testCorruptFilesAreReportedNotFatal() throws {
        let store = try StateStore(directory: root)
        let file = PolicyFile(store: store)
        let good = String(decoding: PolicyFile.encode(try Self.sampleSet()), as: UTF8.self)
        let cases: [(String, String)] = [
            ("", ""),
            ("{", ""),
            (String(good.prefix(good.count / 2)), ""),
            ("\u{0}\u{1}\u{2}garbage", ""),
            ("[]", ""),
            ("42", ""),
            (#"{"version": 1, "policies": []}"#, "format"),
            (#"{"format": "other", "version": 1, "policies": []}"#, "format"),
            (#"{"format": "bma-policies", "policies": []}"#, "version"),
            (#"{"format": "bma-policies", "version": 2, "policies": []}"#, "version"),
            (#"{"format": "bma-policies", "version": 1, "generation": -1, "policies": []}"#, "generation"),
            (#"{"format": "bma-policies", "version": 1, "policies": {}}"#, "policies"),
            (#"{"format": "bma-policies", "version": 1, "policies": [{"id": 1}, {"id": 2, "match": {"vlan": 5000}}]}"#,
             "policies[1].match.vlan"),
            (#"{"format": "bma-policies", "version": 1, "policies": [{"id": 1}, {"priority": 2}]}"#, "policies[1].id"),
            (#"{"format": "bma-policies", "version": 1, "policies": [{"id": 1}, {"id": 1}]}"#, "policies[1].id"),
            (#"{"format": "bma-policies", "version": 1, "policies": [], "extra": true}"#, "extra"),
        ]
        for (content, field) in cases {
            try Data(content.utf8).write(to: URL(fileURLWithPath: file.path))
            XCTAssertThrowsError(try file.load(), content) { error in
                guard let e = error as? PolicyFileError, case .invalid(let p) = e.reason else {
                    return XCTFail("\(content): \(error)")
                }
                XCTAssertEqual(p.field, field, "\(content): \(e)")
                XCTAssertEqual(e.path, file.path)
                XCTAssertTrue(e.description.hasPrefix("policy file \(file.path) is not valid: "), e.description)
            }
        }
        // unreadable: a directory in its place
        try FileManager.default.removeItem(atPath: file.path)
        try FileManager.default.createDirectory(atPath: file.path, withIntermediateDirectories: false)
        XCTAssertThrowsError(try file.load()) { error in
            guard let e = error as? PolicyFileError, case .unreadable(let s) = e.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(s.operation, .read)
        }
    }

    func testLoadIgnoresAndCleansTemporaryFiles() throws {
        let store = try StateStore(directory: root)
        let file = PolicyFile(store: store)
        let set = try Self.sampleSet()
        try file.save(set)
        let leftover = store.path("policies.json.tmp-\(pid_t.max)")
        XCTAssertTrue(FileManager.default.createFile(atPath: leftover, contents: Data("{\"format\": \"bma-pol".utf8)))
        XCTAssertEqual(try file.load(), set)
        XCTAssertEqual(entries(root), ["policies.json"])
        // a leftover without the real file: nothing saved
        try store.remove("policies.json")
        XCTAssertTrue(FileManager.default.createFile(atPath: leftover, contents: PolicyFile.encode(set)))
        XCTAssertNil(try file.load())
        XCTAssertEqual(entries(root), [])
    }
}
