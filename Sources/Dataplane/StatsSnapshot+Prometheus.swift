import Foundation
import CDPDK

/// The counters in Prometheus text exposition format (version 0.0.4).
extension StatsSnapshot {
    public func prometheus() -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(String, UInt64)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, v) in samples { out += labels.isEmpty ? "\(name) \(v)\n" : "\(name){\(labels)} \(v)\n" }
        }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        out += "# HELP bma_uptime_seconds Seconds since bmad started forwarding.\n# TYPE bma_uptime_seconds gauge\n"
        out += "bma_uptime_seconds \(uptime_s)\n"
        let port = { (p: Port) in "port=\"\(esc(p.name))\",role=\"\(p.role)\"" }
        family("bma_port_rx_packets_total", "counter", "Packets received per port.", ports.map { (port($0), $0.rx_packets) })
        family("bma_port_rx_bytes_total", "counter", "Bytes received per port.", ports.map { (port($0), $0.rx_bytes) })
        family("bma_port_tx_packets_total", "counter", "Packets sent per port.", ports.map { (port($0), $0.tx_packets) })
        family("bma_port_tx_bytes_total", "counter", "Bytes sent per port.", ports.map { (port($0), $0.tx_bytes) })
        family("bma_port_link_up", "gauge", "1 when the port's link is up.", ports.map { (port($0), ($0.link_up ?? false) ? 1 : 0) })
        family("bma_drops_total", "counter", "Frames not forwarded, by reason.",
               drops.sorted { $0.key < $1.key }.map { ("reason=\"\($0.key)\"", $0.value) })
        // Every reason, zeros included (the snapshot lists only those seen): a series that
        // appears only at its first frame defeats rate() and absent-series alerts.
        let malformedNames = (1..<Int(BMA_MAL_COUNT)).map { String(cString: bma_malformed_name(UInt32($0))) }
        family("bma_malformed_total", "counter", "Malformed frames (forwarded), by reason.",
               malformedNames.sorted().map { ("reason=\"\($0)\"", malformed[$0] ?? 0) })
        let vm = { (v: VM) in "vm=\"\(esc(v.name))\",vm_id=\"\(v.id)\"" }
        family("bma_vm_outgoing_packets_total", "counter", "Packets sent by the VM.", vms.map { (vm($0), $0.outgoing) })
        family("bma_vm_anomalous_packets_total", "counter", "Packets judged anomalous.", vms.map { (vm($0), $0.anomalous) })
        family("bma_vm_mirrored_packets_total", "counter", "Copies sent to the mirror port.", vms.map { (vm($0), $0.mirrored) })
        family("bma_vm_learning_packets_total", "counter", "Packets seen during the learning period.", vms.map { (vm($0), $0.learning) })
        family("bma_vm_mirror_budget_drops_total", "counter", "Copies dropped by the mirror budget.", vms.map { (vm($0), $0.budget_drops) })
        family("bma_vm_action_drops_total", "counter", "Packets a response action dropped or rate-limited.",
               vms.map { (vm($0), $0.action_drops ?? 0) })
        var acted: [(String, UInt64)] = []
        for a in actions ?? [] {
            for (outcome, n) in [("matched", a.matched), ("dropped", a.dropped), ("limited", a.limited), ("mirrored", a.mirrored), ("allowed", a.allowed)] {
                acted.append(("action=\"\(a.id)\",kind=\"\(a.kind)\",outcome=\"\(outcome)\"", n))
            }
        }
        family("bma_action_packets_total", "counter", "Packets of each response action in force, by outcome.", acted)
        var reasons: [(String, UInt64)] = []
        for v in vms { for (r, n) in v.reasons.sorted(by: { $0.key < $1.key }) { reasons.append((vm(v) + ",reason=\"\(r)\"", n)) } }
        family("bma_vm_mirror_decisions_total", "counter", "Mirror decisions by reason.", reasons)
        family("bma_mirror_copies_total", "counter", "Mirror copies by outcome.",
               [("outcome=\"sent\"", mirror.sent), ("outcome=\"nombuf\"", mirror.nombuf),
                ("outcome=\"ringfull\"", mirror.ringfull), ("outcome=\"too_big\"", mirror.too_big)])
        return out
    }
}
