import BMAContract
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends lines to an EVE file, rotating it by size: `eve.json` becomes `eve.json.1`, the
/// older ones shift up to `keep`, and a fresh `eve.json` is opened. Each line goes out in
/// `write(2)` calls as soon as it is given (no user-space buffer), so a reader tailing the file
/// sees whole lines; `fsync` is left to `sync()`. Not thread-safe: `AlertSink` serialises it.
final class EVEWriter {
    enum Failure: Error, CustomStringConvertible {
        case open(path: String, errno: Int32)
        case write(path: String, errno: Int32)
        case rotate(path: String, errno: Int32)

        var description: String {
            switch self {
            case let .open(path, code): "cannot open \(path): \(String(cString: strerror(code)))"
            case let .write(path, code): "cannot write \(path): \(String(cString: strerror(code)))"
            case let .rotate(path, code): "cannot rotate \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    let path: String
    let rotateBytes: UInt64
    let keep: Int
    private var fd: Int32 = -1
    private(set) var size: UInt64 = 0
    private(set) var rotations = 0

    init(path: String, rotateBytes: UInt64, keep: Int) throws(Failure) {
        self.path = path
        self.rotateBytes = max(1, rotateBytes)
        self.keep = max(0, keep)
        try openFile()
    }

    deinit {
        if fd >= 0 { _ = systemClose(fd) }
    }

    private func openFile() throws(Failure) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw .open(path: path, errno: errno) }
        var info = stat()
        size = fstat(descriptor, &info) == 0 ? UInt64(max(0, info.st_size)) : 0
        fd = descriptor
    }

    /// Writes one line (a newline is added), rotating first if it would pass the size limit.
    func write(line: [UInt8]) throws(Failure) {
        if size > 0, size + UInt64(line.count) + 1 > rotateBytes { try rotate() }
        if fd < 0 { try openFile() }
        var bytes = line
        bytes.append(0x0A)
        var written = 0
        while written < bytes.count {
            let result = interruptible {
                bytes.withUnsafeBytes { buffer in systemWrite(fd, buffer.baseAddress! + written, buffer.count - written) }
            }
            switch result {
            case .success(let count): written += count
            case .failure(let error): throw .write(path: path, errno: error.rawValue)
            }
        }
        size += UInt64(bytes.count)
    }

    func sync() {
        if fd >= 0 { _ = fsync(fd) }
    }

    func close() {
        if fd >= 0 { _ = systemClose(fd) }
        fd = -1
    }

    func rotate() throws(Failure) {
        close()
        if keep == 0 {
            if unlink(path) != 0 && errno != ENOENT { throw .rotate(path: path, errno: errno) }
        } else {
            for index in stride(from: keep - 1, through: 1, by: -1) {
                let from = "\(path).\(index)"
                if access(from, F_OK) == 0, rename(from, "\(path).\(index + 1)") != 0 {
                    throw .rotate(path: path, errno: errno)
                }
            }
            if rename(path, "\(path).1") != 0 && errno != ENOENT { throw .rotate(path: path, errno: errno) }
        }
        rotations += 1
        try openFile()
    }
}

private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
