import Analysis
import Foundation

/// Human-readable status.
enum StatusText {
    static func line(_ s: AnalyzerStatus) -> String {
        let alerts = s.alerts_by_module.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "bma-analyzer: \(Int(s.uptime_s))s received \(s.ingest_received) decoded \(s.ingest_decoded) stored \(s.storage.packets) written \(s.storage.written_packets ?? 0) durable \(s.storage.durable_packets ?? 0) "
            + "(\(s.storage.bytes) bytes in \(s.storage.segments) segments) drops ingest=\(s.ingest_drops.values.reduce(0, +)) "
            + "queue=\(s.queue_drops) storage=\(s.storage.dropped) alerts \(s.alerts_emitted)\(alerts.isEmpty ? "" : " [\(alerts)]")"
            + (s.storage.storage_alert.map { " STORAGE: \($0)" } ?? "")
    }

    static func block(_ s: AnalyzerStatus) -> String {
        var out = "uptime: \(Int(s.uptime_s)) s\n"
        out += "ingest: \(s.ingest_received) datagrams (\(s.ingest_bytes) bytes), \(s.ingest_decoded) decoded\n"
        let drops = s.ingest_drops.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        out += "ingest drops: \(drops.isEmpty ? "none" : drops.joined(separator: " "))\n"
        out += "processed: \(s.processed), queued \(s.queued) (\(s.queued_bytes ?? 0) bytes; bounds \(s.queue_capacity ?? 0) packets, "
            + "\(s.queue_max_bytes ?? 0) bytes), queue drops \(s.queue_drops)\n"
        out += "storage: \(s.storage.directory): \(s.storage.packets) packets, \(s.storage.bytes) bytes in \(s.storage.segments) segments, "
            + "index \(s.storage.index_bytes ?? 0) bytes; \(s.storage.dropped) dropped, \(s.storage.deleted_segments) segments deleted by retention\n"
        out += "stored packets: \(s.storage.packets) received by the store, \(s.storage.written_packets ?? 0) written to segment files "
            + "(kept by kill -9), \(s.storage.durable_packets ?? 0) durable (synced; kept by a host crash); "
            + "flush interval \(s.storage.flush_interval_s ?? 1) s\n"
        if let a = s.storage.storage_alert { out += "storage alert: \(a)\n" }
        out += "modules: \(s.modules.joined(separator: ", "))\n"
        out += "alerts: \(s.alerts_emitted) emitted, \(s.alerts_folded) folded into summaries\n"
        for (m, n) in s.alerts_by_module.sorted(by: { $0.key < $1.key }) { out += "  \(m): \(n)\n" }
        return out
    }
}
