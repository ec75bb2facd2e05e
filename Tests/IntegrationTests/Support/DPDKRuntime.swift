import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// EAL file prefixes for test processes and the files EAL leaves behind.
///
/// Every DPDK process of a test gets its own prefix `bma-itest-<test pid>-<n>-<role>`. EAL keeps
/// its hugepage files (`/dev/hugepages/<prefix>map_*`) and runtime directory
/// (`/var/run/dpdk/<prefix>`) after the process exits, and always after SIGKILL: they are removed
/// once the process is reaped.
enum DPDKRuntime {
    static let hugepageDirectory = "/dev/hugepages"
    static let runtimeDirectory = "/var/run/dpdk"
    static let prefixStem = "bma-itest-"

    private static let counter = Counter()

    /// A new prefix, unique within this test process and among concurrent test processes.
    static func newPrefix(_ role: String) -> String {
        "\(prefixStem)\(getpid())-\(counter.next())-\(role)"
    }

    /// Removes the hugepage files and runtime directory of `prefix`. Call only once the process
    /// that used it has exited.
    static func removeFiles(prefix: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: hugepageDirectory)) ?? [] where name.hasPrefix(prefix + "map_") {
            try? fm.removeItem(atPath: "\(hugepageDirectory)/\(name)")
        }
        try? fm.removeItem(atPath: "\(runtimeDirectory)/\(prefix)")
    }

    /// Removes what earlier test processes that no longer run left behind (after a crash, say).
    /// Only files named with this suite's prefix stem and a dead creator pid are touched.
    static func removeStaleFiles() {
        let fm = FileManager.default
        for dir in [hugepageDirectory, runtimeDirectory] {
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(prefixStem) {
                let rest = name.dropFirst(prefixStem.count)
                guard let creator = Int32(rest.prefix { $0.isNumber }), creator != getpid() else { continue }
                if Glibc.kill(creator, 0) != 0 && errno == ESRCH {
                    try? fm.removeItem(atPath: "\(dir)/\(name)")
                }
            }
        }
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}
