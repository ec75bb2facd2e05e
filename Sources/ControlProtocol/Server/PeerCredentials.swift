import Glibc

/// Who is on the other end of a connection, as the kernel recorded it at connect (SO_PEERCRED).
public struct Peer: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}

/// `struct ucred` of <sys/socket.h>, which the Glibc module leaves out (it needs _GNU_SOURCE).
private struct KernelCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

extension UnixSocket {
    static func peerCredentials(_ fd: Int32) throws(SocketError) -> Peer {
        var cred = KernelCredentials()
        var length = socklen_t(MemoryLayout<KernelCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0 else {
            throw SocketError("getsockopt SO_PEERCRED")
        }
        guard Int(length) == MemoryLayout<KernelCredentials>.size else {
            throw SocketError("getsockopt SO_PEERCRED", code: EINVAL)
        }
        return Peer(pid: cred.pid, uid: cred.uid, gid: cred.gid)
    }
}
