import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Where the binaries and captures are, and whether this machine can run DPDK processes.
enum TestEnvironment {
    /// The package root, found from this file's path (Tests/IntegrationTests/Support/...).
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url
    }()

    /// `BMA_BIN_DIR`, else `<package root>/.build/debug`.
    static var binDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["BMA_BIN_DIR"], !dir.isEmpty { return dir }
        return packageRoot.appendingPathComponent(".build/debug").path
    }

    /// `BMA_PCAPS`, else `<package root>/captures`.
    static var pcapsDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["BMA_PCAPS"], !dir.isEmpty { return dir }
        return packageRoot.appendingPathComponent("captures").standardizedFileURL.path
    }

    /// The path of a built executable of this package; fails the test when it is not built.
    static func binary(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = "\(binDirectory)/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) not found: run `swift build` (or set BMA_BIN_DIR)", file: file, line: line)
            throw XCTSkip("\(name) is not built")
        }
        return path
    }

    /// The release build of an executable (what ships, and what the hot-path tests judge):
    /// `BMA_RELEASE_BIN_DIR`, else `<package root>/.build/release`. Skips when it is not built.
    static func releaseBinary(_ name: String) throws -> String {
        let env = ProcessInfo.processInfo.environment["BMA_RELEASE_BIN_DIR"] ?? ""
        let dir = env.isEmpty ? packageRoot.appendingPathComponent(".build/release").path : env
        let path = "\(dir)/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("\(path) not found: build it with `swift build -c release --product \(name)` (scripts/test does), or set BMA_RELEASE_BIN_DIR")
        }
        return path
    }

    /// The path of a capture from the shared captures directory; skips when it is absent.
    static func capture(_ name: String) throws -> String {
        let path = "\(pcapsDirectory)/\(name)"
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("capture \(name) not found in \(pcapsDirectory) (set BMA_PCAPS)")
        }
        return path
    }

    /// `dpdk-testpmd` from PATH, or nil.
    static var testpmd: String? { which("dpdk-testpmd") }

    /// `setpriv` (util-linux), used to give children a parent-death signal.
    static let setpriv: String? = which("setpriv")

    static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    // MARK: Preconditions

    /// Skips unless this process is root, hugetlbfs is mounted at /dev/hugepages with at least
    /// `hugepagesMB` free, and (when asked) dpdk-testpmd is installed.
    static func requireDPDK(hugepagesMB: Int, testpmd needsTestpmd: Bool = false) throws {
        guard geteuid() == 0 else {
            throw XCTSkip("needs root: DPDK processes map hugepages and create vhost-user sockets")
        }
        guard hugetlbfsMounted(at: "/dev/hugepages") else {
            throw XCTSkip("hugetlbfs is not mounted at /dev/hugepages (see hugepages/ in the repository)")
        }
        let (free, size) = hugepagesFree()
        guard free * size / 1024 >= hugepagesMB else {
            throw XCTSkip("needs \(hugepagesMB) MB of free hugepages, \(free) pages of \(size) kB are free")
        }
        if needsTestpmd && testpmd == nil {
            throw XCTSkip("dpdk-testpmd is not installed (Debian: dpdk); it plays the VM over vhost-user")
        }
    }

    static func hugetlbfsMounted(at path: String) -> Bool {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return false }
        return mounts.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count >= 3 && fields[1] == path && fields[2] == "hugetlbfs"
        }
    }

    /// Free hugepages and the hugepage size in kB, from /proc/meminfo.
    static func hugepagesFree() -> (pages: Int, sizeKB: Int) {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return (0, 0) }
        var free = 0, size = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard fields.count >= 2, let value = Int(fields[1]) else { continue }
            if fields[0] == "HugePages_Free" { free = value }
            if fields[0] == "Hugepagesize" { size = value }
        }
        return (free, size)
    }
}
