import Foundation
import Glibc

/// One wrapper per system call the state store makes: EINTR is retried, failures become
/// `StateStoreError` naming the operation and path.
enum StateFileCalls {
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0, _ op: StateStoreError.Operation) throws(StateStoreError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw .system(op, path) }
        }
    }

    static func writeAll(_ fd: Int32, _ data: Data, _ path: String) throws(StateStoreError) {
        let result: StateStoreError? = data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n > 0 {
                    done += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return n == 0 ? StateStoreError(.write, path, "the write made no progress") : .system(.write, path)
                }
            }
            return nil
        }
        if let result { throw result }
    }

    static func readAll(_ fd: Int32, _ path: String) throws(StateStoreError) -> Data {
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                out.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                return out
            } else if errno != EINTR {
                throw .system(.read, path)
            }
        }
    }

    static func fsync(_ fd: Int32, _ path: String) throws(StateStoreError) {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw .system(.sync, path) }
        }
    }

    /// close(2) is not retried on EINTR (Linux releases the descriptor either way).
    static func close(_ fd: Int32, _ path: String, _ op: StateStoreError.Operation) throws(StateStoreError) {
        if Glibc.close(fd) != 0 && errno != EINTR { throw .system(op, path) }
    }

    static func rename(_ from: String, _ to: String) throws(StateStoreError) {
        if Glibc.rename(from, to) != 0 {
            throw StateStoreError(.rename, "\(from) to \(to)", errno: errno)
        }
    }

    static func unlink(_ path: String) throws(StateStoreError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw .system(.remove, path) }
    }

    /// Makes a directory entry durable: open the directory and fsync it.
    static func syncDirectory(_ path: String) throws(StateStoreError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY, 0, .sync)
        defer { Glibc.close(fd) }
        try fsync(fd, path)
    }
}
