import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for one test: configs, captures, sockets, summaries, logs.
/// Short paths on purpose (a vhost-user socket path must fit in 108 bytes).
///
/// Removed by `remove()` unless `BMA_KEEP_SCRATCH` is set; a failing test keeps it and prints
/// where it is.
final class ScratchDirectory {
    let path: String

    init(label: String) throws {
        let safe = String(label.filter { $0.isLetter || $0.isNumber }.prefix(24))
        var template = Array("/tmp/bma-itest-\(safe)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ScratchError(message: "mkdtemp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// `<path>/<name>`.
    func file(_ name: String) -> String { "\(path)/\(name)" }

    func write(_ text: String, to name: String) throws -> String {
        let target = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }

    /// Creates a named pipe.
    func fifo(_ name: String) throws -> String {
        let target = file(name)
        guard mkfifo(target, 0o600) == 0 else {
            throw ScratchError(message: "mkfifo \(target): \(String(cString: strerror(errno)))")
        }
        return target
    }

    static var keep: Bool { ProcessInfo.processInfo.environment["BMA_KEEP_SCRATCH"].map { !$0.isEmpty } ?? false }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct ScratchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
