import Analysis
import Foundation

/// One VM: what bmad mirrored and why (reasons over time, flags, scores, destinations), its
/// alerts, and the TCP performance of its mirrored flows (the performance module run over them).
enum VMPage {
    static func render(_ c: PageContext, vm id: UInt32) throws -> String {
        let performance = PerformanceModule(alerts: AlertBuilder(vmNames: c.store.vmNames))
        let activity = try Activity.read(c.store, range: c.range, vm: id) { packet in
            performance.inspect(packet, PacketView(packet: packet), emit: { _ in })
        }
        let vm = activity.vms[id]
        let names = Set([c.store.vmName(id), "vm\(id)"])
        let alerts = try c.alerts().filter { names.contains($0.alert.vm) }
        var body = c.rangeBar(action: "/vm/\(id)") + "<p class=\"note\">The baseline this VM is judged against lives in bmad on its host: <code>bmactl baseline show \(HTML.escape(c.store.vmName(id)))</code>.</p>"
        body += HTML.cards([("mirrored packets", HTML.count(vm?.packets ?? 0)), ("mirrored bytes", HTML.bytes(vm?.bytes ?? 0)),
                            ("alerts", HTML.count(alerts.count))])
        body += "<p>Mirrored by: \(HTML.escape((vm?.sensors.sorted() ?? []).joined(separator: ", ").ifEmpty("—")))</p>"
        if activity.truncated { body += "<p class=\"note\">Only the first \(HTML.count(c.store.packetLimit)) packets of the range were read.</p>" }
        let unit = "packets per \(OverviewPage.bucketText(activity.bucketNs))"
        let reasons = (vm?.reasons ?? [:]).sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        let reasonSeries = reasons.prefix(8).map { SVGPlot.Series(name: $0.key, values: (vm?.reasonBuckets[$0.key] ?? []).map(Double.init)) }
        body += "<div class=\"grid\">"
        body += "<div><h2>Mirrored packets over time</h2><div class=\"plot\">"
            + SVGPlot.lines([SVGPlot.Series(name: c.vmLabel(id), values: (vm?.perBucket ?? []).map(Double.init))],
                            starts: activity.bucketStarts, bucketNs: activity.bucketNs, unit: unit) + "</div></div>"
        body += "<div><h2>Why: reasons over time</h2><div class=\"plot\">"
            + SVGPlot.lines(reasonSeries, starts: activity.bucketStarts, bucketNs: activity.bucketNs, unit: unit,
                            empty: (vm?.packets ?? 0) > 0 ? "no reasons: the copies carried no bmad metadata" : "nothing in this range")
            + "</div></div>"
        body += "<div><h2>Reasons</h2><div class=\"plot\">"
            + SVGPlot.bars(reasons.map { (label: $0.key, value: Double($0.value), color: nil) }) + "</div>"
        if let vm, vm.withoutMetadata > 0 {
            body += "<p class=\"note\">\(HTML.count(vm.withoutMetadata)) packets came without bmad's metadata (VXLAN, ERSPAN or an imported capture): no reason is known for them.</p>"
        }
        let flags = (vm?.flags ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(HTML.count($0.value))" }.joined(separator: ", ")
        body += "<p>Flags: \(HTML.escape(flags.ifEmpty("none"))) <span class=\"note\">(sticky: the rest of a flagged conversation; pre-trigger: packets just before a trigger; forced: bmactl mirror force)</span></p></div>"
        let scoreBars = (vm?.scores ?? []).enumerated().map { i, n in
            (label: i == 10 ? "≥ 5" : String(format: "%.1f – %.1f", Double(i) / 2, Double(i + 1) / 2), value: Double(n), color: Optional("#2f6fd6"))
        }
        body += "<div><h2>Scores</h2><div class=\"plot\">" + SVGPlot.bars(scoreBars) + "</div><p class=\"note\">1 is the threshold at sensitivity 1.</p></div>"
        body += "</div>"

        body += "<h2>Destinations of its mirrored packets</h2>"
        let destinations = (vm?.destinations ?? [:]).sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        body += HTML.table(["Destination", "#Packets"], destinations.prefix(20).map { [HTML.escape($0.key), HTML.count($0.value)] },
                           empty: "No IP packets.")
        if destinations.count > 20 { body += "<p class=\"note\">20 of \(HTML.count(destinations.count)) destinations.</p>" }

        body += "<h2 id=\"alerts\">Alerts</h2>" + c.alertTable(alerts)

        body += "<h2>Network performance of its mirrored TCP flows</h2>"
        let entries = performance.report().entries.sorted { ($0.flows, $1.destination) > ($1.flows, $0.destination) }
        body += HTML.table(
            ["Destination", "#Flows", "#Handshakes", "#RTT mean ms", "#RTT min–max ms", "#Retransmissions", "#Resets", "#Zero windows",
             "#Throughput to", "#Throughput from"],
            entries.prefix(50).map { e in
                [HTML.escape(e.destination), HTML.count(e.flows), HTML.count(e.handshakes),
                 e.rtt.map { String(format: "%.2f", $0.mean_ms) } ?? "—",
                 e.rtt.map { String(format: "%.2f – %.2f", $0.min_ms, $0.max_ms) } ?? "—",
                 "\(HTML.count(e.retransmissions)) (\(String(format: "%.1f", e.retransmission_rate * 100)) %)",
                 HTML.count(e.resets), HTML.count(e.zero_windows), rate(e.throughput_to_bps), rate(e.throughput_from_bps)]
            }, empty: "No TCP flows among its mirrored packets.")
        body += "<p class=\"note\">Measured on the mirrored copies only: a flow bmad did not mirror whole is measured in part.</p>"
        return HTML.page(title: "VM \(c.vmLabel(id))", links: c.links, current: "", body: body, footer: c.footer)
    }

    /// The report's throughput is in bytes per second; shown in bits.
    static func rate(_ bytesPerSecond: Double) -> String {
        let bps = bytesPerSecond * 8
        if bps >= 1e6 { return String(format: "%.1f Mbit/s", bps / 1e6) }
        if bps >= 1e3 { return String(format: "%.1f kbit/s", bps / 1e3) }
        return String(format: "%.0f bit/s", bps)
    }
}

extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
