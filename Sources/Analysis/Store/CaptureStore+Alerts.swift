import Foundation

extension CaptureStore {
    /// Stores an alert (its JSON line, with VM, time, signature and Community ID indexed). The
    /// time indexed is the alert's `timestamp` (RFC 3339), or now when it does not parse. False
    /// when the index could not be written (counted in `stats.indexErrors`).
    @discardableResult
    public func insertAlert(_ alert: Alert) -> Bool {
        let timestamp = CaptureStoreTime.parse(alert.timestamp) ?? configuration.clock()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let json = String(decoding: try encoder.encode(alert), as: UTF8.self)
            try index.insertAlert(alert, timestampNs: timestamp, json: json)
            return true
        } catch {
            locked { indexErrors += 1 }
            return false
        }
    }

    /// Alerts of `vm` (exactly as in the alert's `vm` field) at or after `since` (ns), oldest
    /// first; empty when the index cannot be read (see `fetchAlerts` for the error).
    public func alerts(vm: String? = nil, since: UInt64? = nil) -> [Alert] {
        (try? fetchAlerts(vm: vm, since: since)) ?? []
    }

    public func fetchAlerts(vm: String? = nil, since: UInt64? = nil, signature: String? = nil, limit: Int? = nil) throws -> [Alert] {
        let lines: [String]
        do {
            lines = try index.alerts(vm: vm, since: since, signature: signature, limit: limit)
        } catch {
            throw CaptureStoreError.index("\(error)")
        }
        let decoder = JSONDecoder()
        return try lines.map { line in
            do {
                return try decoder.decode(Alert.self, from: Data(line.utf8))
            } catch {
                throw CaptureStoreError.index("undecodable alert row: \(error)")
            }
        }
    }
}
