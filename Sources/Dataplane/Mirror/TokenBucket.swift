/// A token bucket on packet time: `rate` tokens per second up to `burst`. Rate 0 means unlimited.
public struct TokenBucket: Sendable {
    public var rate: Double
    public var burst: Double
    var tokens: Double
    var lastNs: UInt64 = 0
    var started = false

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
    }

    /// Takes `amount` tokens at `nowNs` if there are enough; never waits.
    @inline(__always) public mutating func take(_ amount: Double, at nowNs: UInt64) -> Bool {
        if rate <= 0 { return true }
        if !started {
            started = true
            lastNs = nowNs
        } else if nowNs > lastNs {
            tokens = min(burst, tokens + Double(nowNs - lastNs) * 1e-9 * rate)
            lastNs = nowNs
        }
        if tokens >= amount {
            tokens -= amount
            return true
        }
        return false
    }

    /// Tokens available at `nowNs`, without taking any.
    public func available(at nowNs: UInt64) -> Double {
        if rate <= 0 { return .infinity }
        guard started, nowNs > lastNs else { return tokens }
        return min(burst, tokens + Double(nowNs - lastNs) * 1e-9 * rate)
    }
}

/// Mirror budget: packets per second and bytes per second, each a token bucket with one second
/// of burst (at least 64 KiB of bytes, so that any single frame can pass). A copy is sent only when both buckets have room; otherwise it is dropped and counted.
public struct MirrorBudget: Sendable {
    var packets: TokenBucket
    var bytes: TokenBucket

    public init(packetsPerSecond: Double, bytesPerSecond: Double) {
        packets = TokenBucket(rate: packetsPerSecond, burst: packetsPerSecond)
        bytes = TokenBucket(rate: bytesPerSecond, burst: max(bytesPerSecond, 65536))
    }

    @inline(__always) public mutating func allow(bytes n: Double, at t: UInt64) -> Bool {
        guard packets.available(at: t) >= 1, bytes.available(at: t) >= n else { return false }
        _ = packets.take(1, at: t)
        _ = bytes.take(n, at: t)
        return true
    }
}
