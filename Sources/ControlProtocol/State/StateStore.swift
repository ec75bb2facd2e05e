import Foundation
import Glibc
import Synchronization

/// The state directory (policies, baselines): small files replaced atomically and durably.
///
/// `write` puts the data in `name.tmp-PID`, fsyncs it, renames it over `name` and fsyncs the
/// directory, so after a crash (or power loss) `name` holds either the old or the new content,
/// never a mix. Leftover `.tmp-PID` files of dead processes are never read and are removed by
/// `removeLeftovers`.
public struct StateStore: Sendable {
    public static let defaultDirectory = "/var/lib/bma"

    public let directory: String

    /// Writes from one process are serialised: they share the `name.tmp-PID` file.
    private static let writeLock = Mutex<Void>(())

    /// Opens the state directory, creating it (mode 0700, parents 0755) when it is missing.
    public init(directory: String = StateStore.defaultDirectory) throws(StateStoreError) {
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        guard !dir.isEmpty else { throw StateStoreError(.createDirectory, directory, "the path is empty") }
        self.directory = dir
        try StateStore.ensureDirectory(dir)
    }

    /// The full path of a file in the directory.
    public func path(_ name: String) -> String { directory == "/" ? "/" + name : directory + "/" + name }

    /// Replaces `name` with `data` atomically and durably (see the type's documentation).
    public func write(_ data: Data, to name: String) throws(StateStoreError) {
        try StateStore.checkName(name, in: directory)
        let target = path(name)
        let tmp = path("\(name).tmp-\(getpid())")
        try StateStore.writeLock.withLock { _ throws(StateStoreError) in
            try StateStore.replace(target, with: data, via: tmp, in: directory)
        }
    }

    private static func replace(_ target: String, with data: Data, via tmp: String, in directory: String) throws(StateStoreError) {
        let fd = try StateFileCalls.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600, .open)
        do {
            try StateFileCalls.writeAll(fd, data, tmp)
            try StateFileCalls.fsync(fd, tmp)
        } catch {
            Glibc.close(fd)
            Glibc.unlink(tmp)
            throw error
        }
        do {
            try StateFileCalls.close(fd, tmp, .write)
            try StateFileCalls.rename(tmp, target)
        } catch {
            Glibc.unlink(tmp)
            throw error
        }
        try StateFileCalls.syncDirectory(directory)
    }

    /// The content of `name`, or nil when there is no such file.
    public func read(_ name: String) throws(StateStoreError) -> Data? {
        try StateStore.checkName(name, in: directory)
        let p = path(name)
        let fd: Int32
        do {
            fd = try StateFileCalls.open(p, O_RDONLY | O_NOFOLLOW, 0, .read)
        } catch where error.errno == ENOENT {
            return nil
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .system(.read, p) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw StateStoreError(.read, p, "not a regular file") }
        return try StateFileCalls.readAll(fd, p)
    }

    /// Removes `name` (durably); no error when it does not exist.
    public func remove(_ name: String) throws(StateStoreError) {
        try StateStore.checkName(name, in: directory)
        try StateFileCalls.unlink(path(name))
        try StateFileCalls.syncDirectory(directory)
    }

    /// Removes the `name.tmp-PID` files left by processes that died mid-write (all names, or
    /// only `name`'s). A live process's temporary file is left alone. Returns the removed names.
    @discardableResult
    public func removeLeftovers(of name: String? = nil) throws(StateStoreError) -> [String] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StateStoreError(.list, directory, (error as NSError).localizedDescription)
        }
        var removed: [String] = []
        for entry in entries.sorted() {
            guard let (base, pid) = StateStore.temporaryFile(entry), name == nil || base == name else { continue }
            if pid == getpid() || (kill(pid, 0) == 0 || errno == EPERM) { continue }
            try StateFileCalls.unlink(path(entry))
            removed.append(entry)
        }
        if !removed.isEmpty { try StateFileCalls.syncDirectory(directory) }
        return removed
    }

    /// `policies.json.tmp-123` → ("policies.json", 123).
    static func temporaryFile(_ entry: String) -> (String, pid_t)? {
        guard let r = entry.range(of: ".tmp-", options: .backwards) else { return nil }
        let digits = entry[r.upperBound...]
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let pid = pid_t(digits), pid > 0 else {
            return nil
        }
        return (String(entry[..<r.lowerBound]), pid)
    }

    /// A plain file name: letters, digits, '.', '-', '_'; not hidden; not a temporary name.
    static func checkName(_ name: String, in directory: String) throws(StateStoreError) {
        let ok = !name.isEmpty && name.count <= 200 && !name.hasPrefix(".") && !name.contains(".tmp-")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        guard ok else {
            throw StateStoreError(.name, "'\(name)' in \(directory)", "use a plain file name (letters, digits, '.', '-', '_')")
        }
    }

    static func ensureDirectory(_ dir: String) throws(StateStoreError) {
        var st = stat()
        if stat(dir, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw StateStoreError(.createDirectory, dir, "it exists and is not a directory") }
            return
        }
        guard errno == ENOENT else { throw .system(.createDirectory, dir) }
        let parent = (dir as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != dir {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o755])
            } catch {
                throw StateStoreError(.createDirectory, parent, (error as NSError).localizedDescription)
            }
        }
        if mkdir(dir, 0o700) == 0 {
            // mkdir applies the umask; the directory is private whatever it is.
            if chmod(dir, 0o700) != 0 { throw .system(.createDirectory, dir) }
        } else if errno != EEXIST {
            throw .system(.createDirectory, dir)
        }
        if !parent.isEmpty { try? StateFileCalls.syncDirectory(parent) }
    }
}
