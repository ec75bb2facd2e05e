import ArgumentParser
import Control

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show every counter: ports, drops, mirror, VMs.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run(StatsRequest()) { Output.lines(StatsView.lines($0)) }
    }
}

/// `stats` (the `--summary-json` object): ports table, lcores, drops, mirror, per-VM table.
enum StatsView {
    static let sections: Set<String> = ["ports", "lcores", "drops", "malformed", "vms", "mirror", "uptime_s", "broadcast_copies"]

    static func lines(_ result: JSONValue) -> [String] {
        guard let members = result.objectValue, members.keys.contains(where: { $0 == "ports" || $0 == "vms" }) else {
            return KeyValueText.lines(result)
        }
        var out: [String] = []
        if let up = Field.number(result["uptime_s"]) { out += ["uptime: \(Units.duration(up))", ""] }
        if let ports = Field.objects(result["ports"]) { out += portTable(ports) + [""] }
        if let lcores = Field.objects(result["lcores"]), !lcores.isEmpty { out += lcoreTable(lcores) + [""] }
        out.append("drops: " + counterList(result["drops"]))
        if result["malformed"] != nil { out.append("malformed (forwarded): " + counterList(result["malformed"])) }
        if let copies = result["broadcast_copies"] { out.append("broadcast copies: " + Field.count(copies)) }
        if let m = result["mirror"]?.objectValue {
            var parts = ["sent \(Field.count(m["sent"]))"]
            if m["sent_bytes"] != nil { parts[0] += " (\(Field.bytes(m["sent_bytes"])))" }
            for (key, label) in [("nombuf", "nombuf"), ("ringfull", "ringfull"), ("too_big", "too big")] where m[key] != nil {
                parts.append("\(label) \(Field.count(m[key]))")
            }
            out.append("mirror: " + parts.joined(separator: ", "))
        }
        if let vms = Field.objects(result["vms"]) { out += [""] + vmTable(vms) }
        let rest = members.filter { !sections.contains($0.key) }
        if !rest.isEmpty { out += [""] + KeyValueText.lines(.object(rest)) }
        return out
    }

    /// `a 1, b 2` with every entry (zeros included) sorted by name; "none" when empty.
    static func counterList(_ v: JSONValue?) -> String {
        guard let o = v?.objectValue else { return Field.text(v) }
        if o.isEmpty { return "none" }
        return o.keys.sorted().map { "\(Text.clean($0)) \(Field.count(o[$0]))" }.joined(separator: ", ")
    }

    static func portTable(_ ports: [[String: JSONValue]]) -> [String] {
        var t = Table([("PORT", .left), ("ROLE", .left), ("LINK", .left), ("RX PKTS", .right), ("RX BYTES", .right),
                       ("TX PKTS", .right), ("TX BYTES", .right), ("TX FULL", .right), ("MISSED", .right)])
        for p in ports {
            let device = p["device"]
            t.add([Field.text(p["name"]), Field.text(p["role"]), Field.link(p["link_up"]), Field.count(p["rx_packets"]),
                   Field.bytes(p["rx_bytes"]), Field.count(p["tx_packets"]), Field.bytes(p["tx_bytes"]),
                   Field.count(p["tx_full"]), Field.count(device?["imissed"])])
        }
        return t.lines()
    }

    static func lcoreTable(_ lcores: [[String: JSONValue]]) -> [String] {
        var t = Table([("LCORE", .right), ("WORKER", .right), ("LOOPS", .right), ("BURSTS", .right),
                       ("RX PKTS", .right), ("TX PKTS", .right)])
        for l in lcores {
            t.add([Field.text(l["lcore"]), Field.text(l["worker"]), Field.count(l["loops"]), Field.count(l["bursts"]),
                   Field.count(l["rx_packets"]), Field.count(l["tx_packets"])])
        }
        return t.lines()
    }

    /// Mirror drops of a VM: its budget, its policies' budgets, and the mirror ring.
    static func vmDrops(_ vm: [String: JSONValue]) -> Double? {
        let parts = ["budget_drops", "policy_budget_drops", "mirror_drops"].compactMap { Field.number(vm[$0]) }
        return parts.isEmpty ? nil : parts.reduce(0, +)
    }

    static func vmTable(_ vms: [[String: JSONValue]]) -> [String] {
        var t = Table([("VM", .left), ("ID", .right), ("OUTGOING", .right), ("INCOMING", .right), ("FORWARDED", .right),
                       ("LEARNING", .right), ("ANOMALOUS", .right), ("MIRRORED", .right), ("MIRR BYTES", .right),
                       ("DROPS", .right), ("TOP REASON", .left)])
        for vm in vms {
            let top = Field.counters(vm["reasons"]).first.map { "\(Text.clean($0.0)) \(Units.count($0.1))" } ?? "-"
            t.add([Field.text(vm["name"]), Field.text(vm["id"]), Field.count(vm["outgoing"]), Field.count(vm["incoming"]),
                   Field.count(vm["forwarded"]), Field.count(vm["learning"]), Field.count(vm["anomalous"]),
                   Field.count(vm["mirrored"]), Field.bytes(vm["mirrored_bytes"]),
                   vmDrops(vm).map(Units.count) ?? "-", top])
        }
        return t.lines()
    }
}
