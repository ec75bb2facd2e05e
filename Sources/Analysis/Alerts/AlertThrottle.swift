/// Deduplication and rate limiting of alerts per (signature id, VM), on an explicit clock.
///
/// - The first alert of a key goes out at once and opens a window of `windowNs`.
/// - Alerts of that key within the window are folded: their counts add up, the latest is kept
///   as a template, and when the window ends one summary alert (the template, with the folded
///   count and `details["summary"]`) goes out.
/// - At most `maxPerHour` alerts (first alerts and summaries) per key leave in any hour; what
///   the limit holds back is counted and carried into the key's next alert's count.
///
/// Memory is bounded by `maxKeys`: the least recently used key is dropped when full, its
/// pending summary going out first.
struct AlertThrottle {
    struct Key: Hashable, SlotKey {
        var signatureID: Int
        var vm: String

        // Per alert, not per packet: the string's own hash is fine.
        var slotHash: UInt64 { SlotHash.combine(UInt64(bitPattern: Int64(signatureID)), UInt64(bitPattern: Int64(vm.hashValue))) }
    }

    struct Counters: Sendable, Codable, Equatable {
        /// Alerts offered.
        var received = 0
        /// Alerts let out (first alerts and summaries).
        var emitted = 0
        var summaries = 0
        /// Offered alerts folded into a summary.
        var folded = 0
        /// Alerts (first alerts or summaries) held back by the hourly limit.
        var rateLimited = 0
        /// Keys dropped to keep within `maxKeys`.
        var evictedKeys = 0
    }

    private struct State {
        var windowEndNs: UInt64 = 0
        var windowStartNs: UInt64 = 0
        var foldedCount = 0
        var foldedAlerts = 0
        var firstFolded: String?
        var template: Alert?
        /// Emission times within the last hour, oldest first.
        var emissions: [UInt64] = []
        /// Events held back by the hourly limit, not yet reported.
        var carried = 0
    }

    static let hourNs: UInt64 = 3_600_000_000_000

    let windowNs: UInt64
    let maxPerHour: Int
    private var states: InspectLRU<Key, State>
    private(set) var counters = Counters()

    init(windowNs: UInt64, maxPerHour: Int, maxKeys: Int) {
        self.windowNs = max(1, windowNs)
        self.maxPerHour = max(1, maxPerHour)
        states = InspectLRU(capacity: maxKeys)
    }

    var keyCount: Int { states.count }

    /// Offers one alert at `now`; returns what goes out now (nothing, the alert, or a summary
    /// of the previous window and then the alert).
    mutating func offer(_ alert: Alert, nowNs now: UInt64) -> [Alert] {
        counters.received += 1
        var out: [Alert] = []
        let key = Key(signatureID: alert.alert.signature_id, vm: alert.vm)
        // Work on a copy: the helpers below mutate `self` too.
        var state = states.peek(key) ?? State()
        if state.windowEndNs != 0, now >= state.windowEndNs || now < state.windowStartNs {
            closeWindow(&state, nowNs: now, into: &out)
        }
        if state.windowEndNs == 0 {
            state.windowStartNs = now
            state.windowEndNs = now &+ windowNs
            state.template = alert
            release(alert, state: &state, nowNs: now, into: &out)
        } else {
            counters.folded += 1
            state.foldedAlerts += 1
            state.foldedCount += max(1, alert.bma.count)
            if state.firstFolded == nil { state.firstFolded = alert.timestamp }
            state.template = alert
        }
        var evictedState: State?
        let updated = state
        states.update(key, nowNs: now, make: { updated }, evicted: { _, old in evictedState = old }) { $0 = updated }
        if var evicted = evictedState {
            counters.evictedKeys += 1
            // Its pending summary goes out now rather than never.
            closeWindow(&evicted, nowNs: now, into: &out, ignoreLimit: true)
        }
        return out
    }

    /// Closes the windows that ended by `now` and reports what the hourly limit held back once
    /// it allows; forgets idle keys.
    mutating func expire(nowNs now: UInt64) -> [Alert] {
        var out: [Alert] = []
        for key in allKeys() {
            guard var state = states.peek(key) else { continue }
            defer { store(state, for: key) }
            if state.windowEndNs != 0, now >= state.windowEndNs {
                closeWindow(&state, nowNs: now, into: &out)
            }
            if state.windowEndNs == 0, state.carried > 0, let template = state.template {
                prune(&state, nowNs: now)
                if state.emissions.count < maxPerHour {
                    var summary = template
                    summary.bma.count = 0
                    summary.bma.details["summary"] = "held back by the hourly limit"
                    release(summary, state: &state, nowNs: now, into: &out, isSummary: true)
                }
            }
        }
        // Keys not offered anything for an hour are forgotten; a count still held back goes
        // out with them rather than never.
        var forgotten: [State] = []
        states.expire(before: now > Self.hourNs ? now - Self.hourNs : 0) { _, state in
            if state.carried > 0 { forgotten.append(state) }
        }
        for state in forgotten {
            guard var summary = state.template else { continue }
            summary.bma.count = state.carried
            summary.bma.details["summary"] = "held back by the hourly limit"
            summary.bma.details["rate_limited"] = String(state.carried)
            counters.emitted += 1
            counters.summaries += 1
            out.append(summary)
        }
        return out
    }

    /// Every pending summary, now, regardless of windows (shutdown).
    mutating func drain(nowNs now: UInt64) -> [Alert] {
        var out: [Alert] = []
        for key in allKeys() {
            guard var state = states.peek(key) else { continue }
            defer { store(state, for: key) }
            closeWindow(&state, nowNs: now, into: &out, ignoreLimit: true)
            if state.carried > 0, var summary = state.template {
                summary.bma.count = state.carried
                summary.bma.details["summary"] = "held back by the hourly limit"
                state.carried = 0
                counters.emitted += 1
                counters.summaries += 1
                out.append(summary)
            }
        }
        return out
    }

    private func allKeys() -> [Key] {
        var keys: [Key] = []
        states.forEach { key, _, _ in keys.append(key) }
        return keys
    }

    /// Writes a state back without changing its recency.
    private mutating func store(_ state: State, for key: Key) {
        states.modify(key) { $0 = state }
    }

    private mutating func closeWindow(_ state: inout State, nowNs now: UInt64, into out: inout [Alert], ignoreLimit: Bool = false) {
        defer {
            state.windowEndNs = 0
            state.foldedCount = 0
            state.foldedAlerts = 0
            state.firstFolded = nil
        }
        guard state.foldedAlerts > 0, var summary = state.template else { return }
        summary.bma.count = state.foldedCount
        summary.bma.details["summary"] = "\(state.foldedAlerts) repeats within \(InspectFormat.seconds(windowNs)) s"
        summary.bma.details["first_repeat"] = state.firstFolded
        if ignoreLimit {
            summary.bma.count += state.carried
            state.carried = 0
            counters.emitted += 1
            counters.summaries += 1
            out.append(summary)
        } else {
            release(summary, state: &state, nowNs: now, into: &out, isSummary: true)
        }
    }

    private func prune(_ state: inout State, nowNs now: UInt64) {
        let cutoff = now > Self.hourNs ? now - Self.hourNs : 0
        if let keep = state.emissions.firstIndex(where: { $0 > cutoff }) {
            state.emissions.removeFirst(keep)
        } else {
            state.emissions.removeAll()
        }
    }

    /// Lets `alert` out if the hourly limit allows, carrying held-back counts into it.
    private mutating func release(_ alert: Alert, state: inout State, nowNs now: UInt64, into out: inout [Alert],
                                  isSummary: Bool = false) {
        prune(&state, nowNs: now)
        var alert = alert
        guard state.emissions.count < maxPerHour else {
            counters.rateLimited += 1
            state.carried += max(1, alert.bma.count)
            return
        }
        if state.carried > 0 {
            alert.bma.count += state.carried
            alert.bma.details["rate_limited"] = String(state.carried)
            state.carried = 0
        }
        state.emissions.append(now)
        counters.emitted += 1
        if isSummary { counters.summaries += 1 }
        out.append(alert)
    }
}
