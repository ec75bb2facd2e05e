import BMAContract
import Foundation
import Glibc
import SystemPackage

/// One wrapper per system call the state store makes, on swift-system's `FileDescriptor`
/// (EINTR retried); failures become `StateStoreError` naming the operation and path.
enum StateFileCalls {
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0, _ op: StateStoreError.Operation) throws(StateStoreError) -> Int32 {
        let result = interruptible { Glibc.open(path, flags | O_CLOEXEC, mode) }
        switch result {
        case .success(let fd): return fd
        case .failure(let e): throw StateStoreError(op, path, errno: e.rawValue)
        }
    }

    static func writeAll(_ fd: Int32, _ data: Data, _ path: String) throws(StateStoreError) {
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(data)
        } catch let e as Errno {
            throw StateStoreError(.write, path, errno: e.rawValue)
        } catch {
            throw StateStoreError(.write, path, "\(error)")
        }
    }

    static func readAll(_ fd: Int32, _ path: String) throws(StateStoreError) -> Data {
        let file = FileDescriptor(rawValue: fd)
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { try file.read(into: $0) }
            } catch let e as Errno {
                throw StateStoreError(.read, path, errno: e.rawValue)
            } catch {
                throw StateStoreError(.read, path, "\(error)")
            }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    static func fsync(_ fd: Int32, _ path: String) throws(StateStoreError) {
        if case .failure(let e) = interruptible({ Glibc.fsync(fd) }) { throw StateStoreError(.sync, path, errno: e.rawValue) }
    }

    /// close(2) is not retried on EINTR (Linux releases the descriptor either way).
    static func close(_ fd: Int32, _ path: String, _ op: StateStoreError.Operation) throws(StateStoreError) {
        do { try FileDescriptor(rawValue: fd).close() } catch let e as Errno where e != .interrupted {
            throw StateStoreError(op, path, errno: e.rawValue)
        } catch {}
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
