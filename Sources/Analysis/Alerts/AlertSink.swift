import BMAContract
import Foundation

/// Where alerts go: deduplicated and rate-limited per (signature id, VM) (see `AlertThrottle`),
/// written as EVE JSON lines to `eve.json` (appended, each line written at once, rotated by
/// size) and handed to an optional `store` closure (the index).
///
/// Thread-safe: any thread may submit. The clock is injected (wall clock by default); windows
/// close on `tick()`, which the owner calls periodically (e.g. every second), and on the next
/// submit of the same key. `store` is called outside the sink's locks, in emission order per
/// calling thread.
public final class AlertSink: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Deduplication window per (signature id, VM).
        public var windowNs: UInt64 = 60_000_000_000
        /// At most this many alerts per (signature id, VM) per hour.
        public var maxPerHour = 30
        /// The EVE file; nil writes none.
        public var evePath: String?
        /// Rotate when the file would pass this size; keep this many rotated files.
        public var rotateBytes: UInt64 = 64 * 1024 * 1024
        public var rotatedFiles = 5
        /// (signature id, VM) keys remembered at once.
        public var maxKeys = 65_536

        public init(evePath: String? = nil) {
            self.evePath = evePath
        }
    }

    public struct Statistics: Sendable, Codable, Equatable {
        public var received = 0
        public var emitted = 0
        public var summaries = 0
        public var folded = 0
        public var rateLimited = 0
        public var evictedKeys = 0
        public var linesWritten = 0
        public var writeErrors = 0
        public var rotations = 0
        /// Alerts emitted (summaries included), by signature: the analyzer's metrics.
        public var emittedBySignature: [String: Int] = [:]
        /// The last write error, as text.
        public var lastError: String?
    }

    public let configuration: Configuration
    private let clock: @Sendable () -> UInt64
    private let store: (@Sendable (Alert) -> Void)?
    private let lock = NSLock()
    private var throttle: AlertThrottle
    private let writerLock = NSLock()
    private var writer: EVEWriter?
    private var writeCounters = (lines: 0, errors: 0, rotations: 0, lastError: String?.none, bySignature: [String: Int]())

    /// Opens (creating or appending to) the EVE file if one is configured; throws if it cannot.
    public init(configuration: Configuration = Configuration(), clock: @escaping @Sendable () -> UInt64 = { SystemClock.wallNanoseconds() },
                store: (@Sendable (Alert) -> Void)? = nil) throws {
        self.configuration = configuration
        self.clock = clock
        self.store = store
        throttle = AlertThrottle(windowNs: configuration.windowNs, maxPerHour: configuration.maxPerHour,
                                 maxKeys: configuration.maxKeys)
        if let path = configuration.evePath {
            writer = try EVEWriter(path: path, rotateBytes: configuration.rotateBytes, keep: configuration.rotatedFiles)
        }
    }

    /// Submits an alert: it goes out now if it is the first of its key in the window (and the
    /// hourly limit allows), otherwise it is folded into the window's summary.
    public func submit(_ alert: Alert) {
        let out = lock.withLock { throttle.offer(alert, nowNs: clock()) }
        deliver(out)
    }

    /// Emits the summaries of windows that have ended. Call periodically.
    public func tick() {
        let out = lock.withLock { throttle.expire(nowNs: clock()) }
        deliver(out)
    }

    /// Emits every pending summary now and syncs the file (at shutdown).
    public func flush() {
        let out = lock.withLock { throttle.drain(nowNs: clock()) }
        deliver(out)
        writerLock.withLock { writer?.sync() }
    }

    /// Flushes, then closes the file; later alerts are still deduplicated and stored, not written.
    public func close() {
        flush()
        writerLock.withLock {
            writer?.close()
            writer = nil
        }
    }

    public var stats: Statistics {
        let counters = lock.withLock { throttle.counters }
        return writerLock.withLock {
            Statistics(received: counters.received, emitted: counters.emitted, summaries: counters.summaries,
                       folded: counters.folded, rateLimited: counters.rateLimited, evictedKeys: counters.evictedKeys,
                       linesWritten: writeCounters.lines, writeErrors: writeCounters.errors,
                       rotations: writeCounters.rotations, emittedBySignature: writeCounters.bySignature,
                       lastError: writeCounters.lastError)
        }
    }

    private func deliver(_ alerts: [Alert]) {
        guard !alerts.isEmpty else { return }
        writerLock.withLock {
            for alert in alerts { writeCounters.bySignature[alert.alert.signature, default: 0] += 1 }
            guard let writer else { return }
            for alert in alerts {
                do {
                    try writer.write(line: Self.eveLine(alert))
                    writeCounters.lines += 1
                } catch {
                    writeCounters.errors += 1
                    writeCounters.lastError = String(describing: error)
                }
            }
            writeCounters.rotations = writer.rotations
        }
        if let store { alerts.forEach(store) }
    }

    /// One EVE JSON line (no newline): keys sorted, absent optional fields left out.
    public static func eveLine(_ alert: Alert) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Alert holds only strings, integers, finite doubles and dictionaries of strings.
        return (try? [UInt8](encoder.encode(alert))) ?? Array("{}".utf8)
    }
}
