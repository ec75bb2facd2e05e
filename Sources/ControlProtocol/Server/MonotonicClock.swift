import BMAContract

/// Seconds on CLOCK_MONOTONIC, for deadlines.
enum MonotonicClock {
    static func now() -> Double { SystemClock.monotonicSeconds() }

    /// A poll() timeout for `seconds`: rounded up, 0 when past (or NaN), at most Int32.max.
    static func milliseconds(_ seconds: Double) -> Int32 {
        guard seconds > 0 else { return 0 }
        let ms = (seconds * 1000).rounded(.up)
        return ms >= Double(Int32.max) ? Int32.max : Int32(ms)
    }
}
