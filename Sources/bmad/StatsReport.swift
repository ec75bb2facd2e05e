import Dataplane
import Foundation

/// Human-readable counters for SIGUSR1 and the live line.
enum StatsReport {
    static func table(_ s: StatsSnapshot) -> String {
        var out = "bmad counters after \(String(format: "%.1f", s.uptime_s)) s\n"
        out += pad("port", 10) + pad("role", 8) + pad("link", 6) + pad("rx pkts", 14) + pad("rx bytes", 16)
            + pad("tx pkts", 14) + pad("tx bytes", 16) + "tx full\n"
        for p in s.ports {
            let link = p.link_up.map { $0 ? "up" : "down" } ?? "?"
            out += pad(p.name, 10) + pad(p.role, 8) + pad(link, 6) + pad("\(p.rx_packets)", 14) + pad("\(p.rx_bytes)", 16)
                + pad("\(p.tx_packets)", 14) + pad("\(p.tx_bytes)", 16) + "\(p.tx_full)\n"
            for q in p.queues {
                out += pad("", 10) + pad("q\(q.queue)", 8) + pad("l\(q.lcore)", 6) + pad("\(q.rx_packets)", 14) + pad("\(q.rx_bytes)", 16)
                    + pad("\(q.tx_packets)", 14) + pad("\(q.tx_bytes)", 16) + "\(q.tx_full)\n"
            }
        }
        for l in s.lcores {
            out += "lcore \(l.lcore) (worker \(l.worker)): \(l.loops) loops, \(l.bursts) bursts, rx \(l.rx_packets), tx \(l.tx_packets)\n"
        }
        out += "drops: " + s.drops.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n"
        let mal = s.malformed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        out += "malformed (forwarded): " + (mal.isEmpty ? "none" : mal.joined(separator: " ")) + "\n"
        return out
    }

    static func line(_ s: StatsSnapshot, previous: StatsSnapshot?) -> String {
        let dt = max(s.uptime_s - (previous?.uptime_s ?? 0), 1e-9)
        let parts = s.ports.enumerated().map { i, p -> String in
            let prev = previous?.ports[i]
            let rate = Double(p.rx_packets - (prev?.rx_packets ?? 0)) / dt
            return "\(p.name) rx \(p.rx_packets) (\(Int(rate))/s) tx \(p.tx_packets)"
        }
        let drops = s.drops.values.reduce(0, +)
        return "[\(String(format: "%7.1f", s.uptime_s))s] " + parts.joined(separator: " | ") + " | drops \(drops)"
    }

    private static func pad(_ s: String, _ w: Int) -> String {
        s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count)
    }
}
