#if canImport(Glibc)
import Glibc
#endif

/// The clocks every tool reads, in one place: wall-clock and monotonic time from clock_gettime.
/// (The dataplane's per-packet clock is the TSC or the capture time, not this.)
public enum SystemClock {
    /// Nanoseconds since 1970 (CLOCK_REALTIME).
    public static func wallNanoseconds() -> UInt64 { read(CLOCK_REALTIME) }

    /// Nanoseconds since an arbitrary start that never goes back (CLOCK_MONOTONIC).
    public static func monotonicNanoseconds() -> UInt64 { read(CLOCK_MONOTONIC) }

    /// Seconds on CLOCK_MONOTONIC, for deadlines and rates.
    public static func monotonicSeconds() -> Double { Double(monotonicNanoseconds()) / 1e9 }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
