import Synchronization

/// The lock of state that the processing thread takes for every packet (the store, the pipeline,
/// each module) and other threads only now and then (status, queries). Uncontended, it is one
/// atomic compare-and-swap each way (futex-based `Mutex`), where an `NSLock` is two library
/// calls into pthread.
final class StateLock: Sendable {
    private let mutex = Mutex<Void>(())

    init() {}

    @inline(__always)
    func withLock<R>(_ body: () -> R) -> R {
        var result: R?
        mutex.withLock { _ in result = body() }
        return result.unsafelyUnwrapped
    }

    func withLock<R>(_ body: () throws -> R) throws -> R {
        var result: Result<R, any Error>?
        mutex.withLock { _ in result = Result(catching: body) }
        return try result.unsafelyUnwrapped.get()
    }
}
