import Analysis

/// The analyzer's Prometheus text (`serve --metrics-listen`): ingest, queue, storage, alerts
/// per module and per signature. Counters end in `_total`; everything is since the start.
enum AnalyzerMetrics {
    static func render(_ s: AnalyzerStatus, alerts: AlertSink.Statistics) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP bma_analyzer_\(name) \(help)\n# TYPE bma_analyzer_\(name) \(type)\n"
            for (labels, value) in samples { out += "bma_analyzer_\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(value)\n" }
        }
        func one<T>(_ name: String, _ type: String, _ help: String, _ value: T) { metric(name, type, help, [("", "\(value)")]) }
        func by<T>(_ label: String, _ values: [String: T]) -> [(labels: String, value: String)] {
            values.sorted { $0.key < $1.key }.map { ("\(label)=\"\(escape($0.key))\"", "\($0.value)") }
        }

        one("uptime_seconds", "gauge", "Seconds since the node started.", s.uptime_s)
        one("ingest_received_packets_total", "counter", "Mirror datagrams received.", s.ingest_received)
        one("ingest_received_bytes_total", "counter", "Bytes of mirror datagrams received.", s.ingest_bytes)
        one("ingest_decoded_packets_total", "counter", "Mirror datagrams decoded and queued.", s.ingest_decoded)
        // Every reason, zeros included: a series that appears only at its first drop defeats rate().
        var drops = Dictionary(uniqueKeysWithValues: MirrorDecodeError.Kind.allCases.map { ($0.rawValue, UInt64(0)) })
        for (reason, n) in s.ingest_drops { drops[reason] = n }
        metric("ingest_dropped_packets_total", "counter", "Mirror datagrams dropped before the queue, by reason.", by("reason", drops))
        one("queue_packets", "gauge", "Packets waiting between ingest and processing.", s.queued)
        one("queue_bytes", "gauge", "Bytes the queued packets hold.", s.queued_bytes ?? 0)
        one("queue_capacity_packets", "gauge", "The queue's bound in packets.", s.queue_capacity ?? 0)
        one("queue_dropped_packets_total", "counter", "Packets dropped because the queue was full.", s.queue_drops)
        one("processed_packets_total", "counter", "Packets stored and inspected.", s.processed)
        one("store_packets_total", "counter", "Packets accepted by the store.", s.storage.packets)
        one("store_written_packets_total", "counter", "Stored packets written to segment files.", s.storage.written_packets ?? 0)
        one("store_durable_packets_total", "counter", "Stored packets synced to disk.", s.storage.durable_packets ?? 0)
        one("store_dropped_packets_total", "counter", "Packets the store could not keep (disk full, errors).", s.storage.dropped)
        one("store_deleted_segments_total", "counter", "Segments deleted by retention.", s.storage.deleted_segments)
        one("store_segments", "gauge", "Segment files in the store.", s.storage.segments)
        one("store_bytes", "gauge", "Bytes of segment files in the store.", s.storage.bytes)
        one("store_index_bytes", "gauge", "Bytes of the store's index.", s.storage.index_bytes ?? 0)
        one("store_paused", "gauge", "1 while storing is paused (disk full), else 0.", s.storage.storage_alert == nil ? 0 : 1)
        var modules = Dictionary(uniqueKeysWithValues: s.modules.map { ($0, 0) })
        for (m, n) in s.alerts_by_module { modules[m] = n }
        metric("module_alerts_total", "counter", "Alerts raised by each inspection module.", by("module", modules))
        metric("alerts_total", "counter", "Alerts emitted (summaries included), by signature.", by("signature", alerts.emittedBySignature))
        one("alerts_folded_total", "counter", "Repeated alerts folded into summaries.", s.alerts_folded)
        one("alerts_rate_limited_total", "counter", "Alerts over the hourly limit per signature and VM.", alerts.rateLimited)
        one("eve_write_errors_total", "counter", "Alert lines that could not be written to eve.json.", alerts.writeErrors)
        return out
    }

    /// Label values: backslash, double quote and newline escaped.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
