import Foundation

/// Where a query's result is written: a temporary file in the target's directory, created with
/// O_EXCL|O_NOFOLLOW (nothing planted there can be followed or reused), renamed over the target
/// once complete. rename() replaces a symlink at the target instead of writing through it, and a
/// failed export leaves the target as it was.
struct ExportDestination {
    let target: String
    let temporary: String

    init(target: String) {
        self.target = target
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        let random = UInt64.random(in: 0...UInt64.max)
        temporary = "\(directory)/.\(url.lastPathComponent).\(getpid()).\(String(random, radix: 36)).tmp"
    }

    /// Moves the finished file into place; the temporary file is gone either way.
    func commit() throws(CaptureStoreError) {
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw .export("cannot write \(target): \(reason)")
        }
    }

    func discard() {
        unlink(temporary)
    }
}
