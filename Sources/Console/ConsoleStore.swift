import Analysis
import BMAContract
import Foundation

/// What the console reads: the capture store (packets, alerts) and the VM names the operator
/// gave. Every page is computed from it on request; nothing is cached, so a page shows what the
/// store holds at that moment.
public struct ConsoleStore: Sendable {
    public let store: CaptureStore
    public let vmNames: [UInt32: String]
    /// The most packets one page reads from the store; past it the page says it is partial.
    public var packetLimit = 1_000_000
    /// The most packets of one alert given as pcap.
    public var alertPacketLimit = 100_000

    public init(store: CaptureStore, vmNames: [UInt32: String]) {
        self.store = store
        self.vmNames = vmNames
    }

    public func vmName(_ id: UInt32) -> String { vmNames[id] ?? "vm\(id)" }

    /// The VM id an alert's `vm` field names (a known name, or vm<ID>).
    public func vmID(alertVM name: String) -> UInt32? {
        if let (id, _) = vmNames.first(where: { $0.value == name }) { return id }
        if name.hasPrefix("vm") { return UInt32(name.dropFirst(2)) }
        return nil
    }

    /// The range a page shows when none is asked for: the last day of what the store holds
    /// (a store filled from old captures is shown at their time, not at an empty "now").
    public func defaultRange() -> TimeRange {
        let stats = store.stats
        let newest = stats.newestNs ?? SystemClock.wallNanoseconds()
        let until = newest + 1_000_000_000
        let dayBefore = until > TimeRange.day ? until - TimeRange.day : 0
        return TimeRange(since: max(stats.oldestNs ?? dayBefore, dayBefore), until: until)
    }

    /// `range` narrowed to what the store holds of it, so that plots span the packets and not
    /// decades before the first one; a range outside the store is kept as asked.
    public func clamped(_ range: TimeRange) -> TimeRange {
        var r = range
        let stats = store.stats
        if let oldest = stats.oldestNs, oldest > r.since, oldest <= r.until { r.since = oldest }
        if let newest = stats.newestNs, newest + 1_000_000_000 < r.until, newest >= r.since { r.until = newest + 1_000_000_000 }
        return r
    }

    // MARK: Alerts

    /// Alerts in `range`, oldest first; `vm` and `signature` as in the alert's fields.
    public func alerts(in range: TimeRange, vm: String? = nil, signature: String? = nil) throws -> [StoredAlert] {
        try store.fetchAlerts(vm: vm, since: range.since, signature: signature)
            .map(StoredAlert.init)
            .filter { $0.timestampNs <= range.until }
    }

    /// The alert an id names (see `StoredAlert.id`), nil when there is none.
    public func alert(id: String) throws -> StoredAlert? {
        guard let t = StoredAlert.time(ofID: id) else { return nil }
        return try store.fetchAlerts(since: t).lazy.map(StoredAlert.init).prefix { $0.timestampNs <= t }.first { $0.id == id }
    }

    // MARK: Packets

    /// Calls `body` with the stored packets of `vm` (nil: every VM) in `range`, at most
    /// `packetLimit`; returns whether the limit cut the range short.
    @discardableResult
    public func forEachPacket(vm: UInt32?, in range: TimeRange, limit: Int? = nil, _ body: (MirroredPacket) -> Void) throws -> Bool {
        let limit = limit ?? packetLimit
        var seen = 0
        do {
            try store.forEachPacket(vm: vm, since: range.since, until: range.until) { packet, _ in
                guard seen < limit else { throw LimitReached() }
                seen += 1
                body(packet)
            }
        } catch is LimitReached {
            return true
        }
        return false
    }

    private struct LimitReached: Error {}
}

/// From `since` to `until`, both in ns since 1970, both included.
public struct TimeRange: Sendable, Equatable {
    public static let day: UInt64 = 86_400_000_000_000

    public var since: UInt64
    public var until: UInt64

    public init(since: UInt64, until: UInt64) {
        self.since = since
        self.until = max(since, until)
    }

    public var seconds: Double { Double(until - since) / 1e9 }
}
