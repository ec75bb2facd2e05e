import Glibc

/// Who may use the control socket: uid 0, the daemon's own uid, and members of its group
/// (the peer's gid, or a supplementary group of the peer's user in the group database).
public struct GroupAccess: Sendable, Equatable {
    public var gid: gid_t
    public var groupName: String
    public var ownUID: uid_t

    public init(gid: gid_t, groupName: String, ownUID: uid_t = geteuid()) {
        self.gid = gid
        self.groupName = groupName
        self.ownUID = ownUID
    }

    /// The access for a group given by name (or by number); nil means the daemon's own group.
    public static func resolve(_ name: String?) throws(ControlServerError) -> GroupAccess {
        guard let name else {
            let gid = getegid()
            return GroupAccess(gid: gid, groupName: groupName(gid) ?? String(gid))
        }
        if let gid = groupID(name) { return GroupAccess(gid: gid, groupName: name) }
        if let number = UInt32(name), number != gid_t.max { return GroupAccess(gid: number, groupName: name) }
        throw .unknownGroup(name)
    }

    public func allows(_ peer: Peer) -> Bool {
        if peer.uid == 0 || peer.uid == ownUID || peer.gid == gid { return true }
        return Self.groups(ofUID: peer.uid).contains(gid)
    }

    // MARK: group database

    static func groupID(_ name: String) -> gid_t? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        return withLookupBuffer { buffer in
            let rc = getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result)
            if rc == ERANGE { return .retry }
            return .done(rc == 0 && result != nil ? entry.gr_gid : nil)
        } ?? nil
    }

    static func groupName(_ gid: gid_t) -> String? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        return withLookupBuffer { buffer in
            let rc = getgrgid_r(gid, &entry, buffer.baseAddress!, buffer.count, &result)
            if rc == ERANGE { return .retry }
            return .done(rc == 0 && result != nil ? entry.gr_name.map { String(cString: $0) } : nil)
        } ?? nil
    }

    /// The user's primary and supplementary groups; empty for a uid without a passwd entry.
    static func groups(ofUID uid: uid_t) -> [gid_t] {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        let user: (name: String, gid: gid_t)? = withLookupBuffer { buffer in
            let rc = getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &result)
            if rc == ERANGE { return .retry }
            guard rc == 0, result != nil, let name = entry.pw_name else { return .done(nil) }
            return .done((String(cString: name), entry.pw_gid))
        } ?? nil
        guard let user else { return [] }
        var count: Int32 = 32
        for _ in 0..<8 {
            var list = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(user.name, user.gid, &list, &n) >= 0 {
                return Array(list.prefix(Int(max(0, n))))
            }
            count = max(n, count * 2)
        }
        return [user.gid]
    }

    private enum Lookup<T> {
        case done(T)
        case retry
    }

    /// Runs a reentrant lookup with a growing buffer while it answers ERANGE.
    private static func withLookupBuffer<T>(_ body: (UnsafeMutableBufferPointer<CChar>) -> Lookup<T>) -> T? {
        var size = 1024
        while size <= 1 << 20 {
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            if case .done(let value) = body(buffer) { return value }
            size *= 4
        }
        return nil
    }
}
