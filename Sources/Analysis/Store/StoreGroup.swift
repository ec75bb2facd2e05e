import Foundation

/// The group that may read the store (`--store-group`): the store directory and everything in it
/// are given to it, and the directory gets the setgid bit, so the segments, the index (with its
/// WAL) and eve.json created later belong to it too. Modes stay 0750 (directory, plus setgid) and
/// 0640 (files): the group reads, nobody else does.
public enum StoreGroup {
    /// A group name or number; nil when there is no such group.
    public static func gid(_ text: String) -> gid_t? {
        if let number = UInt32(text) { return gid_t(number) }
        guard let entry = getgrnam(text) else { return nil }
        return entry.pointee.gr_gid
    }

    public static func apply(gid: gid_t, to directory: String) throws(CaptureStoreError) {
        func fail(_ path: String) -> CaptureStoreError {
            .cannotCreateDirectory(path: path, reason: "cannot give it to group \(gid): \(String(cString: strerror(errno)))")
        }
        guard chown(directory, uid_t.max, gid) == 0 else { throw fail(directory) }
        guard chmod(directory, 0o2750) == 0 else { throw fail(directory) }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in entries {
            let path = directory + "/" + name
            var st = stat()
            // Never follow a link: only what is in the store itself changes hands.
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT != S_IFLNK else { continue }
            guard chown(path, uid_t.max, gid) == 0 else { throw fail(path) }
        }
    }
}
