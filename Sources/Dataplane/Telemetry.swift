import CDPDK

/// Publishes counters to DPDK telemetry (/bma/stats, /bma/vms, /bma/vm,NAME).
public enum Telemetry {
    public static func register() -> Bool { bma_telemetry_register() == 0 }

    /// Telemetry keys take letters, digits and '_' only.
    static func name(_ s: String) -> String { s.replacingOccurrences(of: "-", with: "_") }

    public static func publish(_ s: StatsSnapshot) {
        bma_telemetry_begin()
        defer { bma_telemetry_commit() }
        bma_telemetry_global("uptime_s", UInt64(s.uptime_s))
        for p in s.ports {
            bma_telemetry_global(name("\(p.name)_rx_packets"), p.rx_packets)
            bma_telemetry_global(name("\(p.name)_tx_packets"), p.tx_packets)
        }
        for (k, v) in s.drops.sorted(by: { $0.key < $1.key }) { bma_telemetry_global(name("drop_\(k)"), v) }
        bma_telemetry_global("mirror_sent", s.mirror.sent)
        bma_telemetry_global("mirror_nombuf", s.mirror.nombuf)
        bma_telemetry_global("mirror_ringfull", s.mirror.ringfull)
        for vm in s.vms {
            let i = bma_telemetry_vm(vm.name)
            if i < 0 { break }
            let values: [(String, UInt64)] = [
                ("id", UInt64(vm.id)), ("outgoing", vm.outgoing), ("incoming", vm.incoming),
                ("forwarded", vm.forwarded), ("learning", vm.learning), ("anomalous", vm.anomalous),
                ("sticky", vm.sticky), ("forced", vm.forced), ("mirrored", vm.mirrored),
                ("pre_trigger", vm.pre_trigger), ("budget_drops", vm.budget_drops), ("mirror_drops", vm.mirror_drops),
            ]
            for (k, v) in values { bma_telemetry_vm_value(i, k, v) }
            for (k, v) in vm.reasons.sorted(by: { $0.key < $1.key }) { bma_telemetry_vm_value(i, name("reason_\(k)"), v) }
        }
    }
}
