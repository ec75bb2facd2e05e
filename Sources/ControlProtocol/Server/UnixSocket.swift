import BMAContract
import Glibc
import SystemPackage

/// A failed system call: which call, on what, and errno.
public struct SocketError: Error, CustomStringConvertible, Equatable, Sendable {
    public var call: String
    public var subject: String
    public var code: Int32

    public init(_ call: String, _ subject: String = "", code: Int32 = errno) {
        self.call = call
        self.subject = subject
        self.code = code
    }

    public var reason: String { String(cString: strerror(code)) }

    public var description: String {
        subject.isEmpty ? "\(call): \(reason)" : "\(call) \(subject): \(reason)"
    }
}

/// The outcome of one non-blocking read or write.
enum IOResult: Equatable {
    case transferred(Int)
    case wouldBlock
    case endOfFile
    case failed(Int32)
}

/// Thin wrappers over the socket and file system calls the control socket needs: one function
/// per call, EINTR retried (`interruptible`), failures as `SocketError`.
enum UnixSocket {
    /// sun_path holds 108 bytes including the terminating NUL.
    static let maxPathBytes = 107

    static func socket() throws(SocketError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = Glibc.socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw SocketError("socket") }
        return fd
    }

    static func address(_ path: String) throws(SocketError) -> sockaddr_un {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxPathBytes, !bytes.contains(0) else {
            throw SocketError("socket path", path, code: ENAMETOOLONG)
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return addr
    }

    static func bind(_ fd: Int32, path: String) throws(SocketError) {
        var addr = try address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw SocketError("bind", path) }
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(SocketError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw SocketError("listen") }
    }

    /// True when connected; false when the listener's backlog is full (EAGAIN: try again).
    static func connect(_ fd: Int32, path: String) throws(SocketError) -> Bool {
        var addr = try address(path)
        let result = interruptible {
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        switch result {
        case .success: return true
        case .failure(.resourceTemporarilyUnavailable), .failure(.nowInProgress): return false
        case .failure: throw SocketError("connect", path)
        }
    }

    /// A new connection, or nil when none is waiting (or it vanished before being accepted).
    static func accept(_ fd: Int32) throws(SocketError) -> Int32? {
        switch interruptible({ Glibc.accept(fd, nil, nil) }) {
        case .success(let conn): return conn
        case .failure(.resourceTemporarilyUnavailable), .failure(.connectionAbort), .failure(.protocolError): return nil
        case .failure: throw SocketError("accept")
        }
    }

    static func setNonBlocking(_ fd: Int32) throws(SocketError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SocketError("fcntl O_NONBLOCK") }
    }

    static func setCloseOnExec(_ fd: Int32) throws(SocketError) {
        let flags = fcntl(fd, F_GETFD)
        guard flags >= 0, fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0 else { throw SocketError("fcntl FD_CLOEXEC") }
    }

    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, peek: Bool = false) -> IOResult {
        switch interruptible({ recv(fd, buffer.baseAddress, buffer.count, peek ? Int32(MSG_PEEK) : 0) }) {
        case .success(0): return .endOfFile
        case .success(let n): return .transferred(n)
        case .failure(.resourceTemporarilyUnavailable): return .wouldBlock
        case .failure(let e): return .failed(e.rawValue)
        }
    }

    /// Sends without raising SIGPIPE when the peer is gone (EPIPE is returned instead).
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        guard !bytes.isEmpty else { return .transferred(0) }
        switch interruptible({ Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }) {
        case .success(let n): return .transferred(n)
        case .failure(.resourceTemporarilyUnavailable): return .wouldBlock
        case .failure(let e): return .failed(e.rawValue)
        }
    }

    /// Waits up to timeoutMs (negative: forever); an interrupted wait reports nothing ready.
    static func poll(_ fds: inout [pollfd], timeoutMs: Int32) throws(SocketError) -> Int {
        let n = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeoutMs) }
        if n >= 0 { return Int(n) }
        if errno == EINTR { return 0 }
        throw SocketError("poll")
    }

    /// The pending error of a socket (SO_ERROR).
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    // MARK: the socket file

    /// The file's status, or nil when it does not exist.
    static func lstat(_ path: String) throws(SocketError) -> stat? {
        var st = stat()
        if Glibc.lstat(path, &st) == 0 { return st }
        if errno == ENOENT { return nil }
        throw SocketError("lstat", path)
    }

    static func unlink(_ path: String) throws(SocketError) {
        guard Glibc.unlink(path) == 0 || errno == ENOENT else { throw SocketError("unlink", path) }
    }

    static func chmod(_ path: String, mode: mode_t) throws(SocketError) {
        guard Glibc.chmod(path, mode) == 0 else { throw SocketError("chmod", path) }
    }

    /// Changes the group only (the owner stays: root when the daemon runs as root).
    static func chgrp(_ path: String, group: gid_t) throws(SocketError) {
        guard Glibc.chown(path, uid_t.max, group) == 0 else { throw SocketError("chown", path) }
    }
}
