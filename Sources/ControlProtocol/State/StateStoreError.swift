import Glibc

/// Why the state directory could not be used: the operation, the path and the system's reason.
public struct StateStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Operation: String, Sendable, Equatable {
        case createDirectory = "create directory"
        case open
        case write
        case sync
        case rename
        case read
        case remove
        case list
        case name = "use the name"
    }

    public var operation: Operation
    public var path: String
    /// The errno value, or 0 when the problem is not a failed system call.
    public var errno: Int32
    public var message: String

    public init(_ operation: Operation, _ path: String, errno: Int32 = 0, _ message: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.message = message ?? (errno == 0 ? "failed" : String(cString: strerror(errno)))
    }

    /// From the calling thread's errno.
    static func system(_ operation: Operation, _ path: String) -> StateStoreError {
        StateStoreError(operation, path, errno: Glibc.errno)
    }

    public var description: String { "cannot \(operation.rawValue) \(path): \(message)" }
}
