import Analysis

/// The fleet: every VM that had packets mirrored or alerts raised in the range, mirrored packets
/// over time, alerts by severity, the reasons bmad gave most.
enum OverviewPage {
    static func render(_ c: PageContext) throws -> String {
        let activity = try Activity.read(c.store, range: c.range, vm: c.scopeVM)
        let alerts = try c.alerts()
        var ids = Set(activity.vms.keys)
        for a in alerts { if let id = c.store.vmID(alertVM: a.alert.vm) { ids.insert(id) } }
        let alertsByVM = Dictionary(grouping: alerts, by: { c.store.vmID(alertVM: $0.alert.vm) })
        let high = alerts.filter { $0.alert.alert.severity == 1 }.count
        var body = c.rangeBar(action: "/") + "<p class=\"note\">Mirrored packets are what bmad copied to this analyzer: the traffic that deviated from each VM's baseline, and what policies mirror always.</p>"
        body += HTML.cards([("VMs", HTML.count(ids.count)), ("mirrored packets", HTML.count(activity.packets)),
                            ("mirrored bytes", HTML.bytes(activity.vms.values.reduce(0) { $0 + $1.bytes })),
                            ("alerts", HTML.count(alerts.count)), ("high severity", HTML.count(high))])
        if activity.truncated { body += "<p class=\"note\">Only the first \(HTML.count(c.store.packetLimit)) packets of the range were read: narrow it for exact counts.</p>" }

        // One line per VM (the busiest eight; the rest together).
        let busiest = activity.vms.values.sorted { ($0.packets, $1.id) > ($1.packets, $0.id) }
        var series = busiest.prefix(8).map { SVGPlot.Series(name: c.vmLabel($0.id), values: $0.perBucket.map(Double.init)) }
        if busiest.count > 8 {
            let rest = busiest.dropFirst(8).reduce(into: Array(repeating: 0.0, count: activity.bucketCount)) { s, vm in
                for i in s.indices { s[i] += Double(vm.perBucket[i]) }
            }
            series.append(SVGPlot.Series(name: "other VMs", values: rest))
        }
        let reasons = activity.reasons.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        let severities = [1, 2, 3].map { s in (label: ["high", "medium", "low"][s - 1], value: Double(alerts.filter { $0.alert.alert.severity == s }.count),
                                               color: Optional(["#b00020", "#e67700", "#8a94a3"][s - 1])) }
        body += "<div class=\"grid\">"
        body += "<div><h2>Mirrored packets over time</h2><div class=\"plot\">"
            + SVGPlot.lines(series, starts: activity.bucketStarts, bucketNs: activity.bucketNs, unit: "packets per \(bucketText(activity.bucketNs))") + "</div></div>"
        body += "<div><h2>Alerts by severity</h2><div class=\"plot\">" + SVGPlot.bars(severities) + "</div>"
        body += "<h2>Top reasons</h2><div class=\"plot\">"
            + SVGPlot.bars(reasons.prefix(8).map { (label: $0.key, value: Double($0.value), color: nil) }) + "</div></div>"
        body += "</div>"

        body += "<h2>VMs</h2>"
        body += HTML.table(
            ["VM", "#Mirrored packets", "#Bytes", "First (UTC)", "Last (UTC)", "Top reasons", "#Alerts", "Sensors"],
            ids.sorted().map { id in
                let vm = activity.vms[id]
                let top = (vm?.reasons ?? [:]).sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3)
                    .map { "\($0.key) \(HTML.count($0.value))" }.joined(separator: ", ")
                return [HTML.link(c.links.vm(id), c.vmLabel(id)), HTML.count(vm?.packets ?? 0), HTML.bytes(vm?.bytes ?? 0),
                        vm.map { HTML.time($0.firstNs) } ?? "—", vm.map { HTML.time($0.lastNs) } ?? "—",
                        HTML.escape(top.isEmpty ? "—" : top), HTML.count(alertsByVM[id]?.count ?? 0),
                        HTML.escape((vm?.sensors.sorted() ?? []).joined(separator: ", "))]
            }, empty: "No VM had packets mirrored or alerts raised in this range.")

        body += "<h2>Latest alerts</h2>" + c.alertTable(alerts, limit: 10)
        body += "<p>" + HTML.link(c.links.alerts(ConsoleFilter()), "All alerts of the range") + "</p>"
        return HTML.page(title: "Fleet", links: c.links, current: "Fleet", body: body, footer: c.footer)
    }

    static func bucketText(_ ns: UInt64) -> String {
        let s = Double(ns) / 1e9
        if s < 1 { return "\(max(1, Int((s * 1000).rounded()))) ms" }
        if s < 120 { return "\(Int(s.rounded())) s" }
        if s < 7200 { return "\(Int((s / 60).rounded())) min" }
        return String(format: "%.1f h", s / 3600)
    }
}
