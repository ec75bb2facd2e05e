import Analysis
import BMAContract

/// What every page is rendered with: the store, where links go, the time range shown and how to
/// describe it.
struct PageContext: Sendable {
    var store: ConsoleStore
    var links: ConsoleLinks
    var range: TimeRange
    /// The footer: what was read and when.
    var footer: String
    /// A report of one VM: every page shows that VM only (and links to no other).
    var scopeVM: UInt32?

    var rangeText: String { "\(HTML.time(range.since)) – \(HTML.time(range.until)) UTC" }

    /// Alerts of the range, each with the VM id its `vm` field names.
    func alerts(vm: String? = nil, signature: String? = nil) throws -> [StoredAlert] {
        let all = try store.alerts(in: range, vm: vm, signature: signature)
        guard let scopeVM else { return all }
        let names = Set([store.vmName(scopeVM), "vm\(scopeVM)"])
        return all.filter { names.contains($0.alert.vm) }
    }

    func vmLink(alertVM name: String) -> String {
        guard let id = store.vmID(alertVM: name) else { return HTML.escape(name.isEmpty ? "—" : name) }
        return HTML.link(links.vm(id), name)
    }

    static func flowText(_ a: Alert) -> String {
        func end(_ ip: String?, _ port: UInt16?) -> String? {
            guard let ip else { return nil }
            return port.map { "\(ip):\($0)" } ?? ip
        }
        let ends = [end(a.src_ip, a.src_port), end(a.dest_ip, a.dest_port)].compactMap { $0 }
        return ends.isEmpty ? "—" : ends.joined(separator: " → ") + (a.proto.map { " \($0)" } ?? "")
    }

    /// The most alerts one table lists (the latest).
    static let alertRows = 500

    /// The alerts table of the alerts and VM pages.
    func alertTable(_ alerts: [StoredAlert], limit: Int = alertRows) -> String {
        let shown = alerts.suffix(limit).reversed()
        var html = HTML.table(
            ["Time (UTC)", "Severity", "VM", "Signature", "Flow", "#Count", "Packets"],
            shown.map { s in
                let a = s.alert
                let pcap = AlertPackets(s, vmID: store.vmID(alertVM: a.vm)) == nil ? "" : " · " + HTML.link(links.alertPcap(s.id), "pcap")
                return [HTML.escape(HTML.time(s.timestampNs)), HTML.severity(a.alert.severity), vmLink(alertVM: a.vm),
                        HTML.link(links.alert(s.id), a.alert.signature), HTML.escape(Self.flowText(a)), HTML.count(a.bma.count),
                        HTML.link(links.alert(s.id), "flow") + pcap]
            }, empty: "No alerts in this range.")
        if alerts.count > limit { html += "<p class=\"note\">The latest \(limit) of \(alerts.count) alerts.</p>" }
        return html
    }

    /// The live pages' range: quick ranges ending at the store's newest packet (a store of old
    /// captures is shown at their time) and a form for any other.
    func rangeBar(action: String) -> String {
        guard !links.isStatic else { return "<p class=\"note\">\(HTML.escape(rangeText)).</p>" }
        let stats = store.store.stats
        let newest = (stats.newestNs ?? SystemClock.wallNanoseconds()) / 1_000_000_000 + 1
        let oldest = (stats.oldestNs ?? 0) / 1_000_000_000
        let quick = [("last hour", newest > 3600 ? newest - 3600 : 0), ("last day", newest > 86_400 ? newest - 86_400 : 0),
                     ("last week", newest > 604_800 ? newest - 604_800 : 0), ("whole store", oldest)]
            .map { name, since in HTML.link("\(action)?since=\(since)&until=\(newest)", name) }.joined(separator: " · ")
        return """
        <form class="filter" method="get" action="\(HTML.escape(action))">\(HTML.escape(rangeText)) · \(quick) ·
        <label>Since <input name="since" size="16" value="\(HTML.escape(links.range.since ?? ""))" placeholder="-1h"></label>
        <label>Until <input name="until" size="16" value="\(HTML.escape(links.range.until ?? ""))" placeholder="now"></label>
        <button type="submit">Show</button></form>
        """
    }

    func vmLabel(_ id: UInt32) -> String {
        store.vmNames[id].map { "\($0) (\(id))" } ?? "vm\(id)"
    }
}
