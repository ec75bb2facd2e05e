#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Runs a system call again while a signal interrupts it (EINTR), as swift-system's own calls do
/// with `retryOnInterrupt`: the result, or the `Errno` of a failure (a result of -1). Every tool
/// uses this for the calls swift-system does not wrap (poll, recv, send, accept, waitpid, ...).
@inlinable
public func interruptible<T: FixedWidthInteger>(_ call: () -> T) -> Result<T, Errno> {
    while true {
        let result = call()
        if result != -1 { return .success(result) }
        let error = Errno(rawValue: errno)
        if error != .interrupted { return .failure(error) }
    }
}
