import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One bmad per configuration: an exclusive `flock` on a file next to the control socket
/// (`/run/bma/bmad.sock` → `/run/bma/bmad.lock`), taken before EAL starts. A second bmad on the
/// same configuration stops there, before DPDK opens (and truncates) its pcap outputs or binds,
/// fails and removes its vhost-user sockets. The lock dies with the process; the file stays
/// (removing it would let a third bmad lock a different inode).
struct InstanceLock: ~Copyable {
    enum Failure: Error, CustomStringConvertible {
        case held(path: String, pid: String?)
        case system(call: String, path: String, errno: Int32)

        var description: String {
            switch self {
            case .held(let path, let pid):
                let who = pid.map { "bmad (pid \($0))" } ?? "another bmad"
                return "\(who) already runs this configuration (lock \(path) is held); stop it first, or give this one its own control.socket"
            case .system(let call, let path, let e):
                return "\(path): \(call): \(String(cString: strerror(e)))"
            }
        }
    }

    let path: String
    private let fd: Int32

    /// The lock file for a control socket path: same directory, extension replaced by `.lock`.
    static func path(forSocket socket: String) -> String {
        let url = URL(fileURLWithPath: socket)
        let stem = url.pathExtension.isEmpty ? url.lastPathComponent : url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent(stem + ".lock").path
    }

    /// Takes the lock or says who holds it. Creates the directory when missing; never truncates
    /// the file before holding the lock.
    init(path: String) throws(Failure) {
        let dir = (path as NSString).deletingLastPathComponent
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw .system(call: "mkdir", path: dir, errno: errno) }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            let holder = Self.readPid(fd)
            close(fd)
            if e == EWOULDBLOCK { throw .held(path: path, pid: holder) }
            throw .system(call: "flock", path: path, errno: e)
        }
        // Ours now: record our pid for the next one to name.
        let text = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    private static func readPid(_ fd: Int32) -> String? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buf.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text) != nil ? text : nil
    }
}
