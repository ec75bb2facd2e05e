import Glibc

/// The socket's path in the file system: clearing a stale one, permissions, and removal.
enum SocketFile {
    /// Removes a socket file nothing listens on; refuses when a server answers on it, or when
    /// the path holds something other than a socket.
    static func removeStale(_ path: String) throws(ControlServerError) {
        let st: stat?
        do { st = try UnixSocket.lstat(path) } catch { throw .system(error) }
        guard let st else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path: path) }
        if try isAnswering(path) { throw .alreadyRunning(path: path) }
        do { try UnixSocket.unlink(path) } catch { throw .system(error) }
    }

    /// Whether a server is listening on the socket file (a connect succeeds or its backlog is full).
    static func isAnswering(_ path: String) throws(ControlServerError) -> Bool {
        do {
            let fd = try UnixSocket.socket()
            defer { UnixSocket.close(fd) }
            _ = try UnixSocket.connect(fd, path: path)
            return true
        } catch let e where e.code == ECONNREFUSED || e.code == ENOENT {
            return false
        } catch {
            throw .system(error)
        }
    }

    /// Mode 0660, group `gid` (the owner stays the daemon's user: root in production).
    static func setAccess(_ path: String, gid: gid_t) throws(ControlServerError) {
        do {
            try UnixSocket.chmod(path, mode: 0o660)
            try UnixSocket.chgrp(path, group: gid)
        } catch {
            throw .system(error)
        }
    }

    /// Device and inode, to remove the file at close only if it is still ours.
    static func identity(_ path: String) -> (dev: UInt64, ino: UInt64)? {
        guard let st = try? UnixSocket.lstat(path) else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }
}
